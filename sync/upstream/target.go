package upstream

import (
	"bytes"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/passerelle/passerelle/gateway"
)

// Target is where and how to push: the settings with the key and the pin
// read from their files.
type Target struct {
	URL     string // without a trailing slash
	StoreID string
	Key     string
	// Pin is the SHA-256 of the hub's certificate (DER), or nil to check
	// the certificate against the system's roots.
	Pin []byte
}

// Equal reports whether two targets are the same settings.
func (t Target) Equal(o Target) bool {
	return t.URL == o.URL && t.StoreID == o.StoreID && t.Key == o.Key && bytes.Equal(t.Pin, o.Pin)
}

// Resolve reads the key and the pinned certificate that u names, relative
// to the data directory dir.
func Resolve(u gateway.Upstream, dir string) (Target, error) {
	t := Target{URL: strings.TrimRight(u.URL, "/"), StoreID: u.StoreID, Key: u.Key}
	if msg := gateway.CheckUpstreamURL(u.URL); msg != "" {
		return t, fmt.Errorf("upstream: url %s", msg)
	}
	if u.StoreID == "" {
		return t, errors.New("upstream: store_id is required")
	}
	if u.KeyFile != "" {
		b, err := os.ReadFile(inDir(dir, u.KeyFile))
		if err != nil {
			return t, fmt.Errorf("upstream: key file: %w", err)
		}
		t.Key = strings.TrimSpace(string(b))
	}
	if err := CheckKey(t.Key); err != nil {
		return t, err
	}
	var err error
	switch {
	case u.CAFingerprint != "":
		t.Pin, err = ParseFingerprint(u.CAFingerprint)
	case u.CAFile != "":
		t.Pin, err = PinFile(inDir(dir, u.CAFile))
	}
	return t, err
}

// CheckKey refuses a key that cannot go in an Authorization header.
func CheckKey(key string) error {
	if key == "" || len(key) > gateway.MaxUpstreamKey {
		return fmt.Errorf("upstream: the store key must be 1 to %d characters", gateway.MaxUpstreamKey)
	}
	for _, r := range key {
		if r <= ' ' || r > '~' {
			return errors.New("upstream: the store key must be printable ASCII without spaces")
		}
	}
	return nil
}

func inDir(dir, path string) string {
	if filepath.IsAbs(path) {
		return path
	}
	return filepath.Join(dir, path)
}

// PinFile returns the SHA-256 of the first certificate of a PEM file.
func PinFile(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("upstream: ca file: %w", err)
	}
	return PinPEM(b)
}

// PinPEM returns the SHA-256 of the first certificate of PEM data.
func PinPEM(b []byte) ([]byte, error) {
	for {
		var blk *pem.Block
		blk, b = pem.Decode(b)
		if blk == nil {
			return nil, errors.New("upstream: ca file: no certificate in it")
		}
		if blk.Type != "CERTIFICATE" {
			continue
		}
		if _, err := x509.ParseCertificate(blk.Bytes); err != nil {
			return nil, fmt.Errorf("upstream: ca file: %w", err)
		}
		sum := sha256.Sum256(blk.Bytes)
		return sum[:], nil
	}
}

// ParseFingerprint reads a SHA-256 fingerprint: 64 hex digits, colons and
// spaces allowed, an optional "sha256:" before.
func ParseFingerprint(s string) ([]byte, error) {
	s = strings.TrimPrefix(strings.ToLower(strings.TrimSpace(s)), "sha256:")
	b, err := hex.DecodeString(strings.NewReplacer(":", "", " ", "").Replace(s))
	if err != nil || len(b) != sha256.Size {
		return nil, errors.New("upstream: a fingerprint is the 64 hex digits of a SHA-256")
	}
	return b, nil
}

// ErrPin is a hub whose certificate is not the pinned one.
var ErrPin = errors.New("upstream: the hub's certificate is not the pinned one")

// TLSConfig checks the hub's certificate: with a pin, the certificate must
// be that one (a self-signed hub: the pin replaces the chain and the name,
// which a self-signed certificate cannot prove); without, the system's
// roots and the host name, as any HTTPS client.
func (t Target) TLSConfig() *tls.Config {
	if t.Pin == nil {
		return &tls.Config{MinVersion: tls.VersionTLS12}
	}
	pin := t.Pin
	return &tls.Config{
		MinVersion: tls.VersionTLS12,
		// Not a check turned off: VerifyConnection below is the check,
		// stricter than a chain (one certificate only is accepted).
		InsecureSkipVerify: true,
		VerifyConnection: func(cs tls.ConnectionState) error {
			if len(cs.PeerCertificates) == 0 {
				return ErrPin
			}
			got := sha256.Sum256(cs.PeerCertificates[0].Raw)
			if !bytes.Equal(got[:], pin) {
				return fmt.Errorf("%w: it has fingerprint %x", ErrPin, got)
			}
			return nil
		},
	}
}
