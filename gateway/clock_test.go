package gateway_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/passerelle/passerelle/gateway"
)

// The box's clock steps back an hour (a bad RTC corrected, a manual
// change): an admin session opened before ends rather than living an hour
// longer; a step within ClockStepAllowed (NTP) changes nothing.
func TestAdminSessionClockStepsBack(t *testing.T) {
	ctx := context.Background()
	a, _, c := adminFixture(t)
	tok, err := a.Setup(ctx, "a", setupCode(t, a), goodPassword, goodPassword)
	if err != nil {
		t.Fatal(err)
	}
	c.Add(-gateway.ClockStepAllowed / 2)
	if _, err := a.Authenticate(ctx, tok); err != nil {
		t.Fatalf("after a small step back: %v", err)
	}
	c.Add(-time.Hour)
	if _, err := a.Authenticate(ctx, tok); !errors.Is(err, gateway.ErrSessionExpired) {
		t.Fatalf("after a step back of an hour: %v, want the session ended", err)
	}
	// The manager logs in again, on the clock as it is now.
	tok, err = a.Login(ctx, "a", goodPassword)
	if err != nil {
		t.Fatal(err)
	}
	c.Add(time.Hour)
	if _, err := a.Authenticate(ctx, tok); err != nil {
		t.Fatalf("a session opened after the step: %v", err)
	}
}

// A box that boots in 1970 (no RTC battery) and later gets the right time:
// a session opened in 1970 ends at the correction, whichever way it goes.
func TestAdminSessionBootIn1970(t *testing.T) {
	ctx := context.Background()
	a, _, c := adminFixture(t)
	real := c.Now()
	c.Add(time.Unix(0, 0).Sub(real))
	tok, err := a.Setup(ctx, "a", setupCode(t, a), goodPassword, goodPassword)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.Authenticate(ctx, tok); err != nil {
		t.Fatalf("in 1970: %v", err)
	}
	c.Add(real.Sub(c.Now()))
	if _, err := a.Authenticate(ctx, tok); !errors.Is(err, gateway.ErrSessionExpired) {
		t.Fatalf("once the clock is right: %v, want the 1970 session ended", err)
	}
}

// A pairing code printed before the clock stepped back an hour does not
// pair for an hour more: it is refused, and a new one works.
func TestPairingCodeClockStepsBack(t *testing.T) {
	ctx := context.Background()
	l := newLedger(t)
	code, _, err := l.terminals.NewPairingCode(ctx)
	if err != nil {
		t.Fatal(err)
	}
	l.clk.Jump(-time.Hour)
	if _, _, err := l.terminals.Connect(ctx, "10.0.0.2", gateway.Hello{Serial: "B1", PairingCode: code}); !errors.Is(err, gateway.ErrUnauthorized) {
		t.Fatalf("a code from before the step back: %v, want refused", err)
	}
	code, _, err = l.terminals.NewPairingCode(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := l.terminals.Connect(ctx, "10.0.0.2", gateway.Hello{Serial: "B1", PairingCode: code}); err != nil {
		t.Fatalf("a code drawn after the step: %v", err)
	}

	// Drawn in 1970, the code is dead once the clock is right.
	back := time.Unix(0, 0).Sub(l.clk.Now())
	l.clk.Jump(back)
	code, _, err = l.terminals.NewPairingCode(ctx)
	if err != nil {
		t.Fatal(err)
	}
	l.clk.Jump(-back)
	if _, _, err := l.terminals.Connect(ctx, "10.0.0.2", gateway.Hello{Serial: "B2", PairingCode: code}); !errors.Is(err, gateway.ErrUnauthorized) {
		t.Fatalf("a 1970 code in 2026: %v, want refused", err)
	}
}

// The event log is ordered by seq, never by the clock: events written
// after the clock stepped back an hour, then to 1970, follow the others.
func TestEventOrderClockStepsBack(t *testing.T) {
	ctx := context.Background()
	l := newLedger(t)
	from, err := l.st.LastSeq(ctx)
	if err != nil {
		t.Fatal(err)
	}
	a := l.ticket(t, "A", 1000)
	l.clk.Jump(-time.Hour)
	b := l.ticket(t, "B", 1000)
	l.clk.Jump(time.Unix(0, 0).Sub(l.clk.Now()))
	c := l.ticket(t, "C", 1000)
	evs, err := l.st.EventsAfter(ctx, gateway.EventQuery{After: from, Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	var order []string
	for i, e := range evs {
		if e.Seq != from+int64(i)+1 {
			t.Fatalf("event %d has seq %d", i, e.Seq)
		}
		order = append(order, e.TicketID)
	}
	if len(order) != 3 || order[0] != a.ID || order[1] != b.ID || order[2] != c.ID {
		t.Fatalf("events in order %v, want %s %s %s", order, a.ID, b.ID, c.ID)
	}
	if !evs[1].At.Before(evs[0].At) || evs[2].At.Year() != 1970 {
		t.Errorf("events keep the clock's stamps as they were: %v %v %v", evs[0].At, evs[1].At, evs[2].At)
	}
}

func TestClockWatch(t *testing.T) {
	c := &clock{t: time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)}
	w := gateway.NewClockWatch(c.Now)
	if _, _, off := w.Off(); off {
		t.Fatal("off with nothing heard")
	}
	w.Observe("till Caisse 1", c.Now().Add(gateway.ClockTolerance-time.Second))
	if _, _, off := w.Off(); off {
		t.Fatal("off within the tolerance")
	}
	// The box booted in 1970: the terminal's result says 2026.
	w.Observe("terminal T1", c.Now().Add(56*365*24*time.Hour))
	w.Observe("till Caisse 2", c.Now().Add(-time.Hour))
	d, who, off := w.Off()
	if !off || who != "terminal T1" || d < 50*365*24*time.Hour {
		t.Fatalf("Off = %v %q %v", d, who, off)
	}
	// They agree again: the warning goes.
	w.Observe("terminal T1", c.Now())
	if d, who, _ := w.Off(); who != "till Caisse 2" || d != -time.Hour {
		t.Fatalf("Off = %v %q", d, who)
	}
	c.Add(16 * time.Minute) // heard nothing since: it no longer counts
	if _, _, off := w.Off(); off {
		t.Fatal("an old sample still counts")
	}
	var nilWatch *gateway.ClockWatch
	nilWatch.Observe("x", c.Now())
	if _, _, off := nilWatch.Off(); off {
		t.Fatal("a nil watch is off")
	}
}
