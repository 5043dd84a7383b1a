// Package tillapi is the till HTTP API of spec/till-api.md: tickets in by
// ref, their state and payments back, the Server-Sent Events stream, and the
// health check. It maps the core's errors to application/problem+json; the
// core never sees HTTP.
package tillapi
