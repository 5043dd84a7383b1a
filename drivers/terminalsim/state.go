package terminalsim

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"time"
)

// State is what the terminal keeps on disk between runs.
type State struct {
	Serial     string `json:"serial"`
	Token      string `json:"token,omitempty"`
	TerminalID string `json:"terminal_id,omitempty"`
	Name       string `json:"name,omitempty"`
	// Fingerprint is the gateway certificate's SHA-256 (hex), pinned when
	// the terminal paired over TLS: another certificate later is an
	// impostor until the terminal is paired again.
	Fingerprint string `json:"fingerprint,omitempty"`
	// The gateway paired with: its id and name as it announces them over
	// mDNS (empty when paired by address and not heard since), and the
	// base URL that worked last. A gateway that moved is looked for by
	// its pinned certificate, else its id.
	GatewayID   string    `json:"gateway_id,omitempty"`
	GatewayName string    `json:"gateway_name,omitempty"`
	GatewayURL  string    `json:"gateway_url,omitempty"`
	Payments    []Payment `json:"payments,omitempty"`
}

// Payment steps, as the state file records them.
const (
	StepCard   = "card"   // the card step started; no result yet
	StepResult = "result" // the result is stored and waits for the gateway's ack
)

// Payment is a payment the terminal has not finished: its card step runs,
// or its result has not been acknowledged.
type Payment struct {
	PaymentID string    `json:"payment_id"`
	Step      string    `json:"step"`
	Amount    int64     `json:"amount"`
	Tip       int64     `json:"tip,omitempty"`
	Currency  string    `json:"currency"`
	TicketRef string    `json:"ticket_ref,omitempty"`
	Label     string    `json:"label,omitempty"`
	StartedAt time.Time `json:"started_at"`
	Result    *Result   `json:"result,omitempty"`
}

func (s *State) payment(id string) *Payment {
	for i := range s.Payments {
		if s.Payments[i].PaymentID == id {
			return &s.Payments[i]
		}
	}
	return nil
}

func (s *State) remove(id string) bool {
	for i := range s.Payments {
		if s.Payments[i].PaymentID == id {
			s.Payments = append(s.Payments[:i], s.Payments[i+1:]...)
			return true
		}
	}
	return false
}

func (s State) clone() State {
	c := s
	c.Payments = make([]Payment, len(s.Payments))
	copy(c.Payments, s.Payments)
	return c
}

// LoadState reads a state file. A missing file is an empty state: the
// terminal has never been paired.
func LoadState(path string) (State, error) {
	var s State
	if path == "" {
		return s, nil
	}
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return s, nil
	}
	if err != nil {
		return s, fmt.Errorf("terminalsim: read state: %w", err)
	}
	if err := json.Unmarshal(data, &s); err != nil {
		return s, fmt.Errorf("terminalsim: state file %s: %w", path, err)
	}
	return s, nil
}

// saveState writes s so that a crash leaves either the old file or the new
// one, never a mix: a temporary file in the same directory, synced, then
// renamed over the old one. Mode 0600: the file holds the token.
func saveState(path string, s State) error {
	if path == "" {
		return nil
	}
	data, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return fmt.Errorf("terminalsim: encode state: %w", err)
	}
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return fmt.Errorf("terminalsim: write state: %w", err)
	}
	tmp := f.Name()
	defer os.Remove(tmp) // after a successful rename there is nothing to remove
	if err := f.Chmod(0o600); err != nil && runtime.GOOS != "windows" {
		f.Close()
		return fmt.Errorf("terminalsim: write state: %w", err)
	}
	if _, err := f.Write(append(data, '\n')); err != nil {
		f.Close()
		return fmt.Errorf("terminalsim: write state: %w", err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("terminalsim: sync state: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("terminalsim: write state: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("terminalsim: write state: %w", err)
	}
	syncDir(dir)
	return nil
}

// syncDir makes the rename itself durable. Windows cannot open a directory
// for syncing and does not need it.
func syncDir(dir string) {
	if runtime.GOOS == "windows" {
		return
	}
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
}
