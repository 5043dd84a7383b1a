package main

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"time"

	"github.com/passerelle/passerelle/gateway"
)

// listeningFile, in the data directory, is what the running gateway
// records of itself for the command line, which is another process: where
// it listens, whether with TLS and which certificate. `passerelle terminal
// code` builds its pairing link from it, as the admin page does from the
// same values.
//
// It is written 0600: nothing in it is secret (the mDNS announcement says
// as much), but the only reader, the command line, opens the database of
// the same directory and so runs as the gateway's user anyway.
const listeningFile = "listening"

// listening is the content of listeningFile.
type listening struct {
	PID         int       `json:"pid"`
	Started     time.Time `json:"started"`
	Listen      string    `json:"listen"` // the bound address: "[::]:8420", "127.0.0.1:41234"
	TLS         bool      `json:"tls"`
	Fingerprint string    `json:"fingerprint,omitempty"`
	Interfaces  []string  `json:"interfaces,omitempty"` // mdns.interfaces of the gateway's configuration
}

// recordListening writes listeningFile for the gateway bound at addr. The
// returned function removes it, at a clean stop. A gateway that is killed
// leaves it behind; the command line finds it stale (readListening).
// Failing to write it does not stop the gateway: the command line falls
// back to the configuration, and says so.
func recordListening(data string, addr net.Addr, cfg gateway.Config, fingerprint string, log *slog.Logger) (remove func()) {
	path := filepath.Join(data, listeningFile)
	rec := listening{PID: os.Getpid(), Started: time.Now().UTC(), Listen: addr.String(), TLS: fingerprint != "",
		Fingerprint: fingerprint, Interfaces: cfg.MDNS.Interfaces}
	b, _ := json.MarshalIndent(rec, "", "  ")
	if err := writeFile600(path, append(b, '\n')); err != nil {
		log.Warn("cannot record the listening address for the command line: `passerelle terminal code` will build its link from the configuration",
			"err", err)
		return func() {}
	}
	return func() {
		// Only ours: never a record a later gateway wrote.
		if now, err := readListeningFile(path); err == nil && now.PID == rec.PID && now.Started.Equal(rec.Started) {
			os.Remove(path)
		}
	}
}

// writeFile600 replaces path by a file holding b, by a rename, so that a
// reader never sees half of it.
func writeFile600(path string, b []byte) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	if err := f.Chmod(0o600); err != nil {
		f.Close()
		return err
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), path)
}

func readListeningFile(path string) (listening, error) {
	var l listening
	b, err := os.ReadFile(path)
	if err != nil {
		return l, err
	}
	if err := json.Unmarshal(b, &l); err != nil {
		return l, fmt.Errorf("%s: %w", path, err)
	}
	if _, err := netip.ParseAddrPort(l.Listen); err != nil {
		return l, fmt.Errorf("%s: listen: %w", path, err)
	}
	return l, nil
}

// errNotRunning: no gateway answers for the data directory.
var errNotRunning = errors.New("the gateway is not running")

// readListening returns the record of the gateway running on data, checked
// against the gateway itself: the file outlives a killed gateway, and its
// port may since have gone to another program. The check is the gateway's
// /healthz at the recorded address, over TLS only with the recorded
// certificate (that of the data directory); it wraps errNotRunning when
// nothing answers so.
func readListening(ctx context.Context, data string) (listening, error) {
	path := filepath.Join(data, listeningFile)
	l, err := readListeningFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return l, fmt.Errorf("%w: %s does not exist", errNotRunning, path)
	}
	if err != nil {
		return l, fmt.Errorf("%w: %w", errNotRunning, err)
	}
	if err := l.probe(ctx); err != nil {
		return l, fmt.Errorf("%w: nothing answers as this gateway at %s (%w)", errNotRunning, l.Listen, err)
	}
	return l, nil
}

// probeTimeout bounds the check of a recorded gateway: on the box itself,
// a gateway that takes longer is as good as gone for pairing.
const probeTimeout = 3 * time.Second

func (l listening) probe(ctx context.Context) error {
	ap, _ := netip.ParseAddrPort(l.Listen)
	host := ap.Addr().String()
	if ap.Addr().IsUnspecified() {
		host = "localhost" // the wildcard listener answers on loopback too
	}
	scheme := "http"
	tr := &http.Transport{Proxy: nil}
	if l.TLS {
		scheme = "https"
		tr.TLSClientConfig = &tls.Config{
			// The check is the pin below, not a CA: the certificate is
			// self-signed.
			InsecureSkipVerify: true,
			VerifyConnection: func(cs tls.ConnectionState) error {
				if len(cs.PeerCertificates) == 0 || !samePin(cs.PeerCertificates[0], l.Fingerprint) {
					return errors.New("another certificate")
				}
				return nil
			},
		}
	}
	ctx, cancel := context.WithTimeout(ctx, probeTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, scheme+"://"+net.JoinHostPort(host, fmt.Sprint(ap.Port()))+"/healthz", nil)
	if err != nil {
		return err
	}
	resp, err := (&http.Client{Transport: tr}).Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	var h struct {
		Status string `json:"status"`
	}
	// 503 is a degraded gateway, still the one that is running.
	if err := json.NewDecoder(http.MaxBytesReader(nil, resp.Body, 1<<16)).Decode(&h); err != nil || h.Status == "" {
		return fmt.Errorf("not a passerelle /healthz (%s)", resp.Status)
	}
	return nil
}

func samePin(c *x509.Certificate, fingerprint string) bool {
	sum := sha256.Sum256(c.Raw)
	return fingerprint != "" && hex.EncodeToString(sum[:]) == fingerprint
}
