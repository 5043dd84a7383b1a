package gateway_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/passerelle/passerelle/gateway"
)

func TestDiscovery(t *testing.T) {
	ctx := context.Background()
	l := newLedger(t) // its terminal A1 is paired
	online := map[string]bool{l.term.ID: true}
	d := gateway.NewDiscovery(l.st, func(id string) bool { return online[id] }, l.clk.Now)

	seen := func(serial string, addrs ...string) {
		t.Helper()
		if err := d.Seen(ctx, gateway.DiscoveredTerminal{Serial: serial, Model: "TPE-1", Instance: "TPE " + serial,
			Host: "tpe-" + strings.ToLower(serial) + ".local.", Port: 9, Addrs: addrs}); err != nil {
			t.Fatalf("Seen(%s): %v", serial, err)
		}
	}
	before := l.clk.Now()
	seen("A1", "10.0.0.5")
	l.clk.Advance(time.Minute)
	seen("B2", "10.0.0.6", "fe80::1")

	list, err := d.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 2 {
		t.Fatalf("List: %+v", list)
	}
	b, a := list[0], list[1] // most recently seen first
	if b.Serial != "B2" || b.Paired || b.Online || len(b.Addrs) != 2 || b.Addrs[1] != "fe80::1" {
		t.Errorf("B2: %+v", b)
	}
	if a.Serial != "A1" || !a.Paired || a.TerminalID != l.term.ID || a.Name != l.term.Name || !a.Online ||
		a.FirstSeen.Before(before) || !a.FirstSeen.Equal(a.LastSeen) || a.Model != "TPE-1" || a.Port != 9 {
		t.Errorf("A1: %+v", a)
	}

	// Seen again: last seen moves, first seen stays, the address is new.
	online[l.term.ID] = false
	l.clk.Advance(time.Minute)
	seen("A1", "10.0.0.7")
	list, _ = d.List(ctx)
	again := list[0]
	if again.Serial != "A1" || !again.FirstSeen.Equal(a.FirstSeen) || again.LastSeen.Sub(a.LastSeen) < 2*time.Minute ||
		again.Addrs[0] != "10.0.0.7" || again.Online {
		t.Errorf("A1 again: %+v", again)
	}

	// The same announcement again soon costs no write: last seen stays.
	l.clk.Advance(gateway.DiscoveryWriteEvery / 2)
	seen("A1", "10.0.0.7")
	if list, _ = d.List(ctx); !list[0].LastSeen.Equal(again.LastSeen) {
		t.Errorf("unchanged announcement written: %+v", list[0])
	}
	l.clk.Advance(gateway.DiscoveryWriteEvery)
	seen("A1", "10.0.0.7")
	if list, _ = d.List(ctx); list[0].LastSeen.Sub(again.LastSeen) < gateway.DiscoveryWriteEvery {
		t.Errorf("announcement after %v not written: %+v", gateway.DiscoveryWriteEvery, list[0])
	}

	// A revoked terminal's serial is not paired any more.
	if _, err := l.terminals.Revoke(ctx, l.term.ID); err != nil {
		t.Fatal(err)
	}
	if list, _ = d.List(ctx); list[0].Paired {
		t.Errorf("revoked terminal still paired: %+v", list[0])
	}
}

func TestDiscoveryRefusesBadAnnouncements(t *testing.T) {
	ctx := context.Background()
	l := newLedger(t)
	d := gateway.NewDiscovery(l.st, nil, l.clk.Now)
	many := make([]string, gateway.MaxDiscoveredAddrs+1)
	for i := range many {
		many[i] = fmt.Sprintf("10.0.0.%d", i+1)
	}
	for _, tt := range []struct {
		name  string
		t     gateway.DiscoveredTerminal
		field string
	}{
		{"no serial", gateway.DiscoveredTerminal{}, "serial"},
		{"long serial", gateway.DiscoveredTerminal{Serial: strings.Repeat("x", 65)}, "serial"},
		{"control", gateway.DiscoveredTerminal{Serial: "A\x1b[2J"}, "serial"},
		{"card number", gateway.DiscoveredTerminal{Serial: "4970101122334455"}, "serial"},
		{"bad model", gateway.DiscoveredTerminal{Serial: "A", Model: "\u202eevil"}, "model"},
		{"bad host", gateway.DiscoveredTerminal{Serial: "A", Host: "a b"}, "host"},
		{"bad port", gateway.DiscoveredTerminal{Serial: "A", Port: 70000}, "port"},
		{"bad address", gateway.DiscoveredTerminal{Serial: "A", Addrs: []string{"10.0.0.300"}}, "addrs[0]"},
		{"too many addresses", gateway.DiscoveredTerminal{Serial: "A", Addrs: many}, "addrs"},
	} {
		err := d.Seen(ctx, tt.t)
		var ve *gateway.ValidationError
		if !errors.As(err, &ve) || !strings.Contains(err.Error(), tt.field) {
			t.Errorf("%s: %v", tt.name, err)
		}
	}
	if list, err := d.List(ctx); err != nil || len(list) != 0 {
		t.Errorf("kept %+v, %v", list, err)
	}
}

// TestDiscoveryBounded: a LAN announcing ever new serials keeps at most
// MaxDiscovered of them, the most recent.
func TestDiscoveryBounded(t *testing.T) {
	ctx := context.Background()
	l := newLedger(t)
	d := gateway.NewDiscovery(l.st, nil, l.clk.Now)
	for i := range gateway.MaxDiscovered + 10 {
		l.clk.Advance(time.Second)
		if err := d.Seen(ctx, gateway.DiscoveredTerminal{Serial: fmt.Sprintf("S%04d", i)}); err != nil {
			t.Fatal(err)
		}
	}
	list, err := d.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != gateway.MaxDiscovered || list[0].Serial != fmt.Sprintf("S%04d", gateway.MaxDiscovered+9) ||
		list[len(list)-1].Serial != "S0010" {
		t.Fatalf("kept %d, from %s to %s", len(list), list[0].Serial, list[len(list)-1].Serial)
	}
	// Not seen for the retention period: forgotten at the next sighting.
	l.clk.Advance(gateway.DiscoveredRetention + time.Second)
	if err := d.Seen(ctx, gateway.DiscoveredTerminal{Serial: "NEW"}); err != nil {
		t.Fatal(err)
	}
	if list, _ = d.List(ctx); len(list) != 1 || list[0].Serial != "NEW" {
		t.Fatalf("after the retention: %+v", list)
	}
}

func TestGatewayID(t *testing.T) {
	ctx := context.Background()
	l := newLedger(t)
	id, err := gateway.GatewayID(ctx, l.st, l.clk.Now)
	if err != nil || !strings.HasPrefix(id, "gw_") {
		t.Fatalf("GatewayID = %q, %v", id, err)
	}
	l.clk.Advance(time.Hour)
	if again, err := gateway.GatewayID(ctx, l.st, l.clk.Now); err != nil || again != id {
		t.Fatalf("GatewayID again = %q, %v; want %q", again, err, id)
	}
}
