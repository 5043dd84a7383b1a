package gateway_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"github.com/passerelle/passerelle/gateway"
	"github.com/passerelle/passerelle/store"
)

func seqs(evs []gateway.Event) []int64 {
	out := make([]int64, len(evs))
	for i, e := range evs {
		out[i] = e.Seq
	}
	return out
}

func events(from, to int64) []gateway.Event {
	var evs []gateway.Event
	for s := from; s <= to; s++ {
		evs = append(evs, gateway.Event{Seq: s})
	}
	return evs
}

func TestEventBusWindow(t *testing.T) {
	b := gateway.NewEventBus(4)
	b.Publish(events(1, 3))
	b.Publish(events(4, 10))
	if got, covered, _ := b.Since(6); !covered || len(got) != 4 || got[0].Seq != 7 || got[3].Seq != 10 {
		t.Fatalf("Since(6) = %v, %v; want 7..10", seqs(got), covered)
	}
	if _, covered, _ := b.Since(5); covered {
		t.Fatal("Since(5): event 6 fell out of a window of 4, yet it says covered")
	}
	if got, covered, _ := b.Since(10); !covered || len(got) != 0 {
		t.Fatalf("Since(10) = %v, %v; want nothing, covered", seqs(got), covered)
	}
	// Published twice (the writer and WatchStore): kept once.
	b.Publish(events(9, 11))
	if got, _, _ := b.Since(8); len(got) != 3 || got[2].Seq != 11 {
		t.Fatalf("after a repeated publish, Since(8) = %v; want 9 10 11", seqs(got))
	}
	// A gap empties the window: 12 is in the store only.
	b.Publish(events(13, 13))
	if _, covered, _ := b.Since(11); covered {
		t.Fatal("after a gap, Since(11) says covered")
	}
	if got, covered, _ := b.Since(12); !covered || len(got) != 1 {
		t.Fatalf("Since(12) = %v, %v; want 13", seqs(got), covered)
	}
}

// An event that another process writes (the CLI revoking a terminal) reaches
// this process's readers through WatchStore.
func TestWatchStoreSeesOtherProcesses(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	path := filepath.Join(t.TempDir(), "passerelle.db")
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	bus := gateway.NewEventBus(16)
	st, err := store.Open(ctx, path, log, bus)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	events := gateway.NewEventLog(st, bus)
	go events.WatchStore(ctx, 10*time.Millisecond, log)

	other, err := store.Open(ctx, path, log, nil) // the CLI's own handle
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	terms := gateway.NewTerminals(other, time.Now)
	code, _, err := terms.NewPairingCode(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := terms.Connect(ctx, "10.0.0.9", gateway.Hello{Serial: "S1", PairingCode: code}); err != nil {
		t.Fatal(err)
	}
	if _, err := terms.Revoke(ctx, "Terminal S1"); err != nil {
		t.Fatal(err)
	}

	wctx, wcancel := context.WithTimeout(ctx, 10*time.Second)
	defer wcancel()
	var got []string
	for after := int64(0); len(got) < 2; {
		evs, err := events.Wait(wctx, after, "", 10)
		if err != nil {
			t.Fatalf("Wait: %v (got %v)", err, got)
		}
		for _, e := range evs {
			got = append(got, e.Type)
		}
		after = evs[len(evs)-1].Seq
	}
	if got[0] != gateway.EventTerminalPaired || got[1] != gateway.EventTerminalRevoked {
		t.Fatalf("events = %v, want paired then revoked", got)
	}
	if bus.Last() != 2 {
		t.Fatalf("bus.Last() = %d, want 2: WatchStore did not publish the other process's events", bus.Last())
	}
}

// The event's data is the payload as it was encoded whole before the
// ticket was spliced in already encoded, byte for byte, and the ticket's
// Encoded is its JSON.
func TestTicketEventSplice(t *testing.T) {
	at := time.Date(2026, 12, 2, 15, 0, 0, 123000000, time.UTC)
	tk := &gateway.Ticket{ID: "tkt_1", Ref: `R<"1">&`, Table: "5", Currency: "EUR", Total: 250, Status: gateway.TicketOpen,
		Lines: []gateway.Line{{Label: "CAFÉ \u2028", Qty: 1, UnitPrice: 250, VATRate: 1000}}, Due: 250, Version: 1,
		Source: "till", Till: "Caisse 1", TillID: "till_1", CreatedAt: at, UpdatedAt: at, Payments: []gateway.Payment{}}
	for _, payment := range []string{"", "pay_1"} {
		e, err := gateway.NewTicketEvent(gateway.EventPaymentApproved, tk, payment, at)
		if err != nil {
			t.Fatal(err)
		}
		whole, err := json.Marshal(struct {
			Type      string          `json:"type"`
			TicketID  string          `json:"ticket_id"`
			TicketRef string          `json:"ticket_ref"`
			PaymentID string          `json:"payment_id,omitempty"`
			At        string          `json:"at"`
			Ticket    *gateway.Ticket `json:"ticket"`
		}{gateway.EventPaymentApproved, tk.ID, tk.Ref, payment, at.Format(time.RFC3339Nano), tk})
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(e.Data, whole) {
			t.Errorf("spliced:\n%s\nwhole:\n%s", e.Data, whole)
		}
		if mine, _ := json.Marshal(tk); !bytes.Equal(tk.Encoded, mine) {
			t.Errorf("Encoded %s, want %s", tk.Encoded, mine)
		}
	}
}
