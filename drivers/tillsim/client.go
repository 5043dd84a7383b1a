package tillsim

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/passerelle/passerelle/gateway"
)

// RequestTimeout bounds one POST, answer included.
const RequestTimeout = 30 * time.Second

// Client speaks the till API for one till key.
type Client struct {
	base    string // "https://host:port", no trailing slash
	key     string
	tlsConf *tls.Config
	http    *http.Client
}

// ClientConfig holds what NewClient needs.
type ClientConfig struct {
	URL  string // the gateway's base URL
	Key  string // the till key
	TLS  *tls.Config
	Conn int // connections to keep open: the load's concurrency, plus the event stream
}

// NewClient returns a client for the gateway at c.URL.
func NewClient(c ClientConfig) *Client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = c.TLS
	// The default keeps 2 idle connections per host: with more workers than
	// that, every request would dial anew and the load would measure TCP.
	tr.MaxIdleConns = max(c.Conn, 1) + 2
	tr.MaxIdleConnsPerHost = tr.MaxIdleConns
	return &Client{base: strings.TrimRight(c.URL, "/"), key: c.Key, tlsConf: c.TLS, http: &http.Client{Transport: tr}}
}

// TLSConfig returns how to check the gateway's certificate, which is
// self-signed: pinned by the hex SHA-256 of its DER (what the gateway logs
// at start as fingerprint=, colons allowed), not checked at all (insecure),
// or, with neither, checked against the system's roots.
func TLSConfig(fingerprint string, insecure bool) (*tls.Config, error) {
	if fingerprint != "" {
		want, err := hex.DecodeString(strings.NewReplacer(":", "", " ", "").Replace(fingerprint))
		if err != nil || len(want) != sha256.Size {
			return nil, fmt.Errorf("tillsim: fingerprint must be the 64 hex digits of a SHA-256")
		}
		return &tls.Config{
			// The chain is not checked against any root: the pin replaces it.
			InsecureSkipVerify: true,
			VerifyConnection: func(cs tls.ConnectionState) error {
				if len(cs.PeerCertificates) == 0 {
					return errors.New("tillsim: the gateway sent no certificate")
				}
				got := sha256.Sum256(cs.PeerCertificates[0].Raw)
				if !bytes.Equal(got[:], want) {
					return fmt.Errorf("tillsim: the gateway's certificate fingerprint is %x, not the pinned %x", got, want)
				}
				return nil
			},
			MinVersion: tls.VersionTLS12,
		}, nil
	}
	if insecure {
		return &tls.Config{InsecureSkipVerify: true, MinVersion: tls.VersionTLS12}, nil
	}
	return nil, nil
}

// PostResult is the gateway's answer to one POST.
type PostResult struct {
	Status  int
	Problem string // title and detail of an error answer
}

// PostTicket sends one ticket.
func (c *Client) PostTicket(ctx context.Context, body []byte) (PostResult, error) {
	ctx, cancel := context.WithTimeout(ctx, RequestTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.base+"/api/v1/tickets", bytes.NewReader(body))
	if err != nil {
		return PostResult{}, fmt.Errorf("tillsim: %w", err)
	}
	req.Header.Set("Authorization", "Bearer "+c.key)
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.http.Do(req)
	if err != nil {
		return PostResult{}, fmt.Errorf("tillsim: post ticket: %w", err)
	}
	defer resp.Body.Close()
	res := PostResult{Status: resp.StatusCode}
	if resp.StatusCode >= 300 {
		res.Problem = problemOf(resp.Body)
	}
	// Read to the end so the connection goes back to the pool.
	if _, err := io.Copy(io.Discard, resp.Body); err != nil {
		return res, fmt.Errorf("tillsim: read answer: %w", err)
	}
	return res, nil
}

// ListTickets returns the first page of the till's tickets.
func (c *Client) ListTickets(ctx context.Context, query string) ([]gateway.Ticket, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.base+"/api/v1/tickets?"+query, nil)
	if err != nil {
		return nil, fmt.Errorf("tillsim: %w", err)
	}
	req.Header.Set("Authorization", "Bearer "+c.key)
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, fmt.Errorf("tillsim: list tickets: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("tillsim: list tickets: %s: %s", resp.Status, problemOf(resp.Body))
	}
	var out struct {
		Tickets []gateway.Ticket `json:"tickets"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		return nil, fmt.Errorf("tillsim: list tickets: %w", err)
	}
	return out.Tickets, nil
}

// problemOf reads what an RFC 9457 problem says, briefly.
func problemOf(r io.Reader) string {
	var p struct {
		Title  string               `json:"title"`
		Detail string               `json:"detail"`
		Errors []gateway.FieldError `json:"errors"`
	}
	if err := json.NewDecoder(io.LimitReader(r, 16<<10)).Decode(&p); err != nil {
		return ""
	}
	s := p.Title
	if p.Detail != "" {
		s += ": " + p.Detail
	}
	if len(p.Errors) > 0 {
		s += fmt.Sprintf(" (%s: %s)", p.Errors[0].Field, p.Errors[0].Message)
	}
	return s
}
