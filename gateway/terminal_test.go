package gateway_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/passerelle/passerelle/gateway"
)

func TestPairingCode(t *testing.T) {
	ctx := context.Background()
	l := newLedger(t)
	code, exp, err := l.terminals.NewPairingCode(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(code) != 6 || strings.Trim(code, "0123456789") != "" {
		t.Fatalf("code %q, want 6 digits", code)
	}
	if d := exp.Sub(l.clk.Now()); d <= gateway.PairingCodeTTL-time.Second || d > gateway.PairingCodeTTL {
		t.Errorf("code valid for %v, want %v", d, gateway.PairingCodeTTL)
	}
	term, token, err := l.terminals.Connect(ctx, "10.0.0.2", gateway.Hello{Serial: "A1", Model: "M", PairingCode: code,
		DisplayCols: 16, DisplayRows: 8, Keys: []string{"F1"}})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(term.ID, "trm_") || !strings.HasPrefix(token, "ptt_") || len(token) < 40 {
		t.Errorf("terminal %s, token %q", term.ID, token)
	}
	// Named after its serial, which the ledger's own terminal has already.
	if term.Name != "Terminal A1 (2)" || term.PrinterCols != 0 || term.ReceiptCols() != 0 || term.LastSeen == nil {
		t.Errorf("paired terminal %+v", term)
	}
	if _, _, err := l.terminals.Connect(ctx, "10.0.0.2", gateway.Hello{PairingCode: code}); !errors.Is(err, gateway.ErrUnauthorized) {
		t.Errorf("code used twice: %v", err)
	}
	again, tok, err := l.terminals.Connect(ctx, "10.0.0.2", gateway.Hello{Token: token, PrinterCols: 48})
	if err != nil || again.ID != term.ID || tok != "" || again.PrinterCols != 48 {
		t.Fatalf("by token: %+v, %q, %v", again, tok, err)
	}
}

func TestPairingCodeExpires(t *testing.T) {
	ctx := context.Background()
	l := newLedger(t)
	code, _, err := l.terminals.NewPairingCode(ctx)
	if err != nil {
		t.Fatal(err)
	}
	l.clk.Advance(gateway.PairingCodeTTL)
	if _, _, err := l.terminals.Connect(ctx, "10.0.0.2", gateway.Hello{PairingCode: code}); !errors.Is(err, gateway.ErrUnauthorized) {
		t.Fatalf("expired code: %v", err)
	}
}

func TestBadTries(t *testing.T) {
	ctx := context.Background()
	l := newLedger(t)
	code, _, err := l.terminals.NewPairingCode(ctx)
	if err != nil {
		t.Fatal(err)
	}
	const addr = "10.0.0.9"
	for i := range gateway.BadTriesAllowed {
		h := gateway.Hello{PairingCode: "000000"}
		if i%2 == 1 {
			h = gateway.Hello{Token: "ptt_WRONG"}
		}
		if _, _, err := l.terminals.Connect(ctx, addr, h); !errors.Is(err, gateway.ErrUnauthorized) {
			t.Fatalf("bad try %d: %v", i+1, err)
		}
	}
	if _, _, err := l.terminals.Connect(ctx, addr, gateway.Hello{PairingCode: code}); !errors.Is(err, gateway.ErrTooManyTries) {
		t.Fatalf("good code after %d bad tries: %v, want too many tries", gateway.BadTriesAllowed, err)
	}
	// Another address is not held up.
	if _, _, err := l.terminals.Connect(ctx, "10.0.0.10", gateway.Hello{PairingCode: "000000"}); !errors.Is(err, gateway.ErrUnauthorized) {
		t.Fatalf("other address: %v", err)
	}
	l.clk.Advance(gateway.BadTriesWindow)
	if _, _, err := l.terminals.Connect(ctx, addr, gateway.Hello{PairingCode: code}); err != nil {
		t.Fatalf("after the wait: %v", err)
	}
}

func TestRevokeAndRename(t *testing.T) {
	ctx := context.Background()
	l := newLedger(t)
	code, _, _ := l.terminals.NewPairingCode(ctx)
	term, token, err := l.terminals.Connect(ctx, "10.0.0.2", gateway.Hello{Serial: "B2", PairingCode: code})
	if err != nil {
		t.Fatal(err)
	}
	var cerr *gateway.ConflictError
	if _, err := l.terminals.Rename(ctx, term.Name, l.term.Name); !errors.As(err, &cerr) {
		t.Errorf("rename to a taken name: %v", err)
	}
	var verr *gateway.ValidationError
	for _, bad := range []string{"", "bar\x00", strings.Repeat("x", gateway.MaxTerminalField+1)} {
		if _, err := l.terminals.Rename(ctx, term.ID, bad); !errors.As(err, &verr) {
			t.Errorf("rename to %q: %v", bad, err)
		}
	}
	if _, err := l.terminals.Rename(ctx, term.ID, "Terminal bar"); err != nil {
		t.Fatal(err)
	}
	if got, err := l.terminals.Find(ctx, "Terminal bar"); err != nil || got.ID != term.ID {
		t.Fatalf("find by the new name: %+v, %v", got, err)
	}
	if _, err := l.terminals.Revoke(ctx, "Terminal bar"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := l.terminals.Connect(ctx, "10.0.0.2", gateway.Hello{Token: token}); !errors.Is(err, gateway.ErrUnauthorized) {
		t.Errorf("revoked token: %v", err)
	}
	if _, err := l.terminals.Revoke(ctx, "Terminal nowhere"); !errors.Is(err, gateway.ErrNotFound) {
		t.Errorf("revoke of no terminal: %v", err)
	}
}

func TestHelloValidate(t *testing.T) {
	cases := []struct {
		h     gateway.Hello
		field string
	}{
		{gateway.Hello{Serial: "A1", DisplayCols: 16, DisplayRows: 8, PrinterCols: 32, Keys: []string{"F1", "F2"}}, ""},
		{gateway.Hello{}, ""},
		{gateway.Hello{Serial: strings.Repeat("9", gateway.MaxTerminalField+1)}, "serial"},
		{gateway.Hello{Model: "M\x07"}, "model"},
		{gateway.Hello{AppVersion: "\u202e1.0"}, "app_version"},
		{gateway.Hello{Serial: "4111111111111111"}, "serial"},
		{gateway.Hello{DisplayCols: 7}, "display.cols"},
		{gateway.Hello{DisplayCols: 81}, "display.cols"},
		{gateway.Hello{DisplayRows: -1}, "display.rows"},
		{gateway.Hello{DisplayRows: 41}, "display.rows"},
		{gateway.Hello{PrinterCols: 23}, ""}, // laid out at 24
		{gateway.Hello{PrinterCols: 65}, ""}, // at 64
		{gateway.Hello{PrinterCols: -1}, "printer.cols"},
		{gateway.Hello{Keys: make([]string, 33)}, "keys"},
		{gateway.Hello{Keys: []string{"F1", ""}}, "keys[1]"},
	}
	for _, tc := range cases {
		err := tc.h.Validate()
		var verr *gateway.ValidationError
		switch {
		case tc.field == "" && err != nil:
			t.Errorf("%+v: %v", tc.h, err)
		case tc.field != "" && (!errors.As(err, &verr) || verr.Fields[0].Field != tc.field):
			t.Errorf("%+v: %v, want an error on %s", tc.h, err, tc.field)
		}
	}
}

// gapStore is the real store with a hook run once, right after the next
// terminal read: what another request commits between a read and the
// write that follows it.
type gapStore struct {
	gateway.TerminalStore
	mu  sync.Mutex
	gap func()
}

func (g *gapStore) arm(fn func()) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.gap = fn
}

func (g *gapStore) fire() {
	g.mu.Lock()
	fn := g.gap
	g.gap = nil
	g.mu.Unlock()
	if fn != nil {
		fn()
	}
}

func (g *gapStore) TerminalByTokenHash(ctx context.Context, hash []byte) (gateway.Terminal, error) {
	t, err := g.TerminalStore.TerminalByTokenHash(ctx, hash)
	g.fire()
	return t, err
}

func (g *gapStore) TerminalByID(ctx context.Context, id string) (gateway.Terminal, error) {
	t, err := g.TerminalStore.TerminalByID(ctx, id)
	g.fire()
	return t, err
}

func (g *gapStore) TerminalByName(ctx context.Context, name string) (gateway.Terminal, error) {
	t, err := g.TerminalStore.TerminalByName(ctx, name)
	g.fire()
	return t, err
}

// A revoke, rename or reconnection committed while another of them runs is
// kept: each writes only what it changes, so none puts back what it read
// before the other's commit. Above all a revoked token stays revoked.
func TestTerminalWritesSurviveRaces(t *testing.T) {
	const renamed = "Terminal terrasse"
	cases := []struct {
		name string
		gap  func(l *ledger, term gateway.Terminal, token string) error
		racy func(s *gateway.Terminals, term gateway.Terminal, token string) error
		// What must hold afterwards; the app version too if not empty.
		revoked    bool
		termName   string
		appVersion string
	}{
		{
			name: "revoke while the terminal reconnects",
			gap: func(l *ledger, term gateway.Terminal, _ string) error {
				_, err := l.terminals.Revoke(context.Background(), term.ID)
				return err
			},
			racy: func(s *gateway.Terminals, _ gateway.Terminal, token string) error {
				_, _, err := s.Connect(context.Background(), "10.0.0.3", gateway.Hello{Token: token, AppVersion: "2.0"})
				if !errors.Is(err, gateway.ErrUnauthorized) {
					return fmt.Errorf("reconnection over a revoke: %v, want unauthorized", err)
				}
				return nil
			},
			revoked: true, termName: "Terminal C3",
		},
		{
			name: "revoke while the manager renames",
			gap: func(l *ledger, term gateway.Terminal, _ string) error {
				_, err := l.terminals.Revoke(context.Background(), term.ID)
				return err
			},
			racy: func(s *gateway.Terminals, term gateway.Terminal, _ string) error {
				got, err := s.Rename(context.Background(), term.ID, renamed)
				if err == nil && (got.RevokedAt == nil || got.Name != renamed) {
					return fmt.Errorf("rename returned name %q revoked at %v, not the stored terminal", got.Name, got.RevokedAt)
				}
				return err
			},
			revoked: true, termName: renamed,
		},
		{
			name: "rename while the manager revokes",
			gap: func(l *ledger, term gateway.Terminal, _ string) error {
				_, err := l.terminals.Rename(context.Background(), term.ID, renamed)
				return err
			},
			racy: func(s *gateway.Terminals, term gateway.Terminal, _ string) error {
				got, err := s.Revoke(context.Background(), term.ID)
				if err == nil && (got.RevokedAt == nil || got.Name != renamed) {
					return fmt.Errorf("revoke returned name %q revoked at %v, not the stored terminal", got.Name, got.RevokedAt)
				}
				return err
			},
			revoked: true, termName: renamed,
		},
		{
			name: "reconnection while the manager revokes",
			gap: func(l *ledger, _ gateway.Terminal, token string) error {
				_, _, err := l.terminals.Connect(context.Background(), "10.0.0.3", gateway.Hello{Token: token, AppVersion: "2.0"})
				return err
			},
			racy: func(s *gateway.Terminals, term gateway.Terminal, _ string) error {
				_, err := s.Revoke(context.Background(), term.ID)
				return err
			},
			revoked: true, termName: "Terminal C3", appVersion: "2.0",
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			l := newLedger(t)
			code, _, err := l.terminals.NewPairingCode(ctx)
			if err != nil {
				t.Fatal(err)
			}
			term, token, err := l.terminals.Connect(ctx, "10.0.0.3", gateway.Hello{Serial: "C3", PairingCode: code, AppVersion: "1.0"})
			if err != nil {
				t.Fatal(err)
			}
			g := &gapStore{TerminalStore: l.st}
			racy := gateway.NewTerminals(g, l.clk.Now)
			var gapErr error
			g.arm(func() { gapErr = tc.gap(l, term, token) })
			if err := tc.racy(racy, term, token); err != nil {
				t.Error(err)
			}
			if gapErr != nil {
				t.Fatalf("the write in the gap: %v", gapErr)
			}

			got, err := l.st.TerminalByID(ctx, term.ID)
			if err != nil {
				t.Fatal(err)
			}
			if (got.RevokedAt != nil) != tc.revoked || got.Name != tc.termName {
				t.Errorf("stored terminal: revoked at %v, name %q; want revoked %v, name %q", got.RevokedAt, got.Name, tc.revoked, tc.termName)
			}
			if tc.appVersion != "" && got.AppVersion != tc.appVersion {
				t.Errorf("stored app version %q, want %q", got.AppVersion, tc.appVersion)
			}
			if tc.revoked {
				if _, _, err := l.terminals.Connect(ctx, "10.0.0.4", gateway.Hello{Token: token}); !errors.Is(err, gateway.ErrUnauthorized) {
					t.Errorf("the revoked token connects again: %v", err)
				}
			}
		})
	}
}
