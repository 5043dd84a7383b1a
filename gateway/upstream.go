package gateway

import (
	"net"
	"net/url"
	"strings"
	"time"
)

// Upstream is the `upstream:` section of passerelle.yaml: where the shop's
// events go (spec/sync.md). Sync is on when URL is set and Enabled is not
// false; `passerelle upstream off` writes enabled: false and keeps the
// rest, so that turning it on again needs no key.
type Upstream struct {
	Enabled *bool  `yaml:"enabled,omitempty"`
	URL     string `yaml:"url,omitempty"`
	StoreID string `yaml:"store_id,omitempty"`
	// The store key, inline or (better) in a file of the data directory
	// readable by the service's user only. Never logged.
	Key     string `yaml:"key,omitempty"`
	KeyFile string `yaml:"key_file,omitempty"`
	// A hub whose certificate no public root vouches for is pinned: by
	// the certificate's PEM (CAFile) or by the hex SHA-256 of its DER
	// (CAFingerprint).
	CAFile        string `yaml:"ca_file,omitempty"`
	CAFingerprint string `yaml:"ca_fingerprint,omitempty"`
}

// Limits of the upstream settings.
const (
	MaxUpstreamURL   = 512
	MaxStoreIDLen    = 64
	MaxUpstreamKey   = 256
	MaxUpstreamError = 512 // a last error kept and shown is cut to this
)

// On reports whether sync is to run.
func (u Upstream) On() bool {
	return u.URL != "" && (u.Enabled == nil || *u.Enabled)
}

// validate adds the section's problems to fe. An empty section is valid:
// sync is off.
func (u Upstream) validate(fe *fieldErrors) {
	if u.URL == "" && u.StoreID == "" && u.Key == "" && u.KeyFile == "" {
		return
	}
	if msg := CheckUpstreamURL(u.URL); msg != "" {
		fe.add("upstream.url", "%s", msg)
	}
	if msg := CheckText(u.StoreID, 1, MaxStoreIDLen); msg != "" {
		fe.add("upstream.store_id", "%s", msg)
	}
	switch {
	case u.Key == "" && u.KeyFile == "":
		fe.add("upstream.key", "the store key is required (key or key_file)")
	case u.Key != "" && u.KeyFile != "":
		fe.add("upstream.key", "give key or key_file, not both")
	case len(u.Key) > MaxUpstreamKey:
		fe.add("upstream.key", "must be at most %d characters", MaxUpstreamKey)
	}
	if u.CAFile != "" && u.CAFingerprint != "" {
		fe.add("upstream.ca_file", "give ca_file or ca_fingerprint, not both")
	}
}

// CheckUpstreamURL says what is wrong with a hub's URL, or "" if nothing
// is: https, or http to a loopback address only (a hub on the same box,
// tests), no user name, query or fragment.
func CheckUpstreamURL(raw string) string {
	if raw == "" {
		return "is required"
	}
	if len(raw) > MaxUpstreamURL {
		return "is too long"
	}
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return "must be an absolute URL such as https://hub.example.com"
	}
	if u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return "must have no user name, query or fragment"
	}
	switch u.Scheme {
	case "https":
		return ""
	case "http":
		if isLoopback(u.Hostname()) {
			return ""
		}
		return "must be https (http only for a hub on this box)"
	}
	return "must be https"
}

func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// UpstreamCursor is where upstream sync stands, kept in the store: the
// last event the hub acknowledged and what happened at the last attempts.
type UpstreamCursor struct {
	AckedThrough int64
	LastSuccess  time.Time // zero if never
	LastError    string    // "" after a success
	LastErrorAt  time.Time
	// NeedsAction is set when the hub refused (wrong key, bad request,
	// certificate not the pinned one): retrying alone will not fix it.
	NeedsAction bool
}

// Upstream sync states, as /healthz and `passerelle upstream status`
// name them.
const (
	UpstreamDisabled = "disabled"
	UpstreamOK       = "ok"
	UpstreamBehind   = "behind"
	UpstreamError    = "error"
)
