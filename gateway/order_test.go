package gateway_test

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/passerelle/passerelle/gateway"
)

// A terminal's ticket list follows the order the tickets were created in,
// and stays right when the wall clock was set back meanwhile: the ticket
// created before the step (whose ID sorts after every later one) comes
// first, and once paid it leaves the list although the list was full.
func TestSessionMenuIgnoresWallClock(t *testing.T) {
	ctx := context.Background()
	l := newLedger(t)
	first := l.ticket(t, "100", 1000)
	l.clk.Advance(-time.Hour)
	for i := range gateway.MaxMenuTickets {
		l.ticket(t, strconv.Itoa(200+i), 1000)
	}
	set, err := gateway.ParseScenarios(gateway.DefaultScenariosYAML())
	if err != nil {
		t.Fatal(err)
	}
	sessions := gateway.NewSessions(l.st, l.payments, func() gateway.ScenarioSet { return set }, linePrinter{}, l.clk.Now)
	var told int64
	changed := func(id string) { // as the hub tells the engine, of id's events since the last call
		t.Helper()
		evs, err := l.st.EventsAfter(ctx, gateway.EventQuery{After: told, Limit: 1 << 20})
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range evs {
			if e.TicketID == id {
				sessions.Changed(e)
			}
			told = e.Seq
		}
	}
	changed(first.ID)
	out := &outbox{t: t}
	s := sessions.New(l.term, out.send)
	if err := s.Start(ctx, "F1"); err != nil {
		t.Fatal(err)
	}
	m := out.screen(gateway.ScreenMenu)
	if len(m.Items) != gateway.MaxMenuTickets || m.Items[0].ID != first.ID {
		t.Fatalf("the menu of %d items starts with %v, want the first ticket created, %s", len(m.Items), m.Items[0], first.ID)
	}

	p := l.start(t, first, 1000)
	if _, _, err := l.payments.Record(ctx, l.term.ID, resultOf(p, gateway.PaymentApproved)); err != nil {
		t.Fatal(err)
	}
	changed(first.ID)
	if err := s.TicketChanged(ctx, first.ID); err != nil {
		t.Fatal(err)
	}
	for _, msg := range out.take() {
		if sc, ok := msg.(gateway.Screen); ok && sc.Kind == gateway.ScreenMenu {
			m = sc
		}
	}
	for _, it := range m.Items {
		if it.ID == first.ID {
			t.Fatalf("the paid ticket is still offered: %v", it)
		}
	}
}
