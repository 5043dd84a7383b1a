// Package docs holds the documents the gateway serves as they are written
// here: the OpenAPI description of the till API.
package docs

import _ "embed"

// OpenAPI is docs/openapi.yaml, served at GET /api/v1/openapi.yaml.
//
//go:embed openapi.yaml
var OpenAPI []byte
