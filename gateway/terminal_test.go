package gateway_test

import (
	"context"
	"errors"
	"strings"
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
	if term.Name != "Terminal A1 (2)" || term.PrinterCols != 32 || term.LastSeen == nil {
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
		{gateway.Hello{PrinterCols: 23}, "printer.cols"},
		{gateway.Hello{PrinterCols: 65}, "printer.cols"},
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
