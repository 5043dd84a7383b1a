package store_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/passerelle/passerelle/gateway"
	"github.com/passerelle/passerelle/store"
)

// eventsWithTicket counts the events up to seq that still carry a ticket.
func eventsWithTicket(t *testing.T, path string, through int64) (with, without int) {
	t.Helper()
	rows, err := rawDB(t, path).Query("SELECT seq, data FROM events WHERE seq <= ? ORDER BY seq", through)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var seq int64
		var data string
		if err := rows.Scan(&seq, &data); err != nil {
			t.Fatal(err)
		}
		var d map[string]json.RawMessage
		if err := json.Unmarshal([]byte(data), &d); err != nil {
			t.Fatal(err)
		}
		for _, k := range []string{"type", "ticket_id", "ticket_ref", "at"} {
			if _, ok := d[k]; !ok {
				t.Errorf("event %d lost %s: %s", seq, k, data)
			}
		}
		if _, ok := d["ticket"]; ok {
			with++
		} else {
			without++
		}
	}
	return with, without
}

// TestCompactEventsHorizon: events lose their ticket copy only when old
// enough and delivered to every webhook and the hub, in batches, the
// horizon kept across a restart; tickets are untouched.
func TestCompactEventsHorizon(t *testing.T) {
	ctx := context.Background()
	path := dbPath(t)
	s := open(t, path, nil)
	till := addTill(t, s, "caisse") // has a callback URL
	// 100 tickets: the first 80 a year old, the last 20 from now.
	now := time.Date(2026, 12, 2, 12, 0, 0, 0, time.UTC)
	for n := 1; n <= 100; n++ {
		tk := ticket(till, n)
		tk.CreatedAt, tk.UpdatedAt = now.AddDate(-1, 0, 0), now.AddDate(-1, 0, 0)
		if n > 80 {
			tk.CreatedAt, tk.UpdatedAt = now, now
		}
		if err := s.Update(ctx, func(tx gateway.Tx) error { return createTicket(tx, &tk) }); err != nil {
			t.Fatal(err)
		}
	}
	upstreamOn := false
	p := store.Retention{KeepFull: 30 * 24 * time.Hour, Batch: 7, UpstreamOn: func() bool { return upstreamOn }}

	// A till with a callback and no cursor holds the horizon at 0.
	if r, err := s.CompactEvents(ctx, p, now); err != nil || r.Through != 0 || r.Batches != 0 {
		t.Fatalf("no cursor yet: %+v %v", r, err)
	}
	// The webhook has events up to 50: the horizon is 50.
	if err := s.SaveWebhookCursor(ctx, gateway.WebhookCursor{TillID: till.ID, DeliveredSeq: 50}, 0, till.CallbackURL); err != nil {
		t.Fatal(err)
	}
	r, err := s.CompactEvents(ctx, p, now)
	if err != nil {
		t.Fatal(err)
	}
	if r.Through != 50 || r.Events != 50 || r.Batches != 8 || s.CompactedThrough() != 50 {
		t.Fatalf("first pass: %+v, horizon %d; want through 50, 50 events in 8 batches", r, s.CompactedThrough())
	}
	if with, without := eventsWithTicket(t, path, 100); with != 50 || without != 50 {
		t.Fatalf("%d events with their ticket, %d without; want 50 and 50", with, without)
	}

	// Delivered through 100, the hub set up and at 70: the hub bounds it.
	if err := s.SaveWebhookCursor(ctx, gateway.WebhookCursor{TillID: till.ID, DeliveredSeq: 100}, 50, till.CallbackURL); err != nil {
		t.Fatal(err)
	}
	if err := s.SaveUpstreamCursor(ctx, gateway.UpstreamCursor{AckedThrough: 70}); err != nil {
		t.Fatal(err)
	}
	upstreamOn = true
	if r, err = s.CompactEvents(ctx, p, now); err != nil || r.Through != 70 {
		t.Fatalf("with the hub at 70: %+v %v", r, err)
	}
	// The hub has everything: age bounds it, at the last old event (80).
	if err := s.SaveUpstreamCursor(ctx, gateway.UpstreamCursor{AckedThrough: 100}); err != nil {
		t.Fatal(err)
	}
	if r, err = s.CompactEvents(ctx, p, now); err != nil || r.Through != 80 || r.Events != 10 {
		t.Fatalf("age-bound pass: %+v %v", r, err)
	}
	// Nothing more to do: no write.
	if r, err = s.CompactEvents(ctx, p, now); err != nil || r.Batches != 0 {
		t.Fatalf("idle pass: %+v %v", r, err)
	}
	if with, without := eventsWithTicket(t, path, 100); with != 20 || without != 80 {
		t.Fatalf("%d events with their ticket, %d without; want 20 and 80", with, without)
	}
	// KeepFull 0: never.
	if r, err = s.CompactEvents(ctx, store.Retention{}, now.AddDate(5, 0, 0)); err != nil || r.Batches != 0 {
		t.Fatalf("disabled: %+v %v", r, err)
	}

	// The shop's records are whole; the horizon outlives a restart.
	var tickets int
	var linesOK bool
	db := rawDB(t, path)
	if err := db.QueryRow("SELECT count(*), min(json_array_length(lines) = 3) FROM tickets").Scan(&tickets, &linesOK); err != nil {
		t.Fatal(err)
	}
	if tickets != 100 || !linesOK {
		t.Errorf("tickets: %d, lines whole %v", tickets, linesOK)
	}
	s.Close()
	s2 := open(t, path, nil)
	if h := s2.CompactedThrough(); h != 80 {
		t.Errorf("after a restart the horizon is %d, want 80", h)
	}
}

// TestCompactEventsClockBack: an event whose time stepped back, after a
// recent one, waits for the recent one to grow old.
func TestCompactEventsClockBack(t *testing.T) {
	ctx := context.Background()
	path := dbPath(t)
	s := open(t, path, nil)
	till := addTill(t, s, "caisse")
	now := time.Date(2026, 12, 2, 12, 0, 0, 0, time.UTC)
	times := []time.Time{now.AddDate(-1, 0, 0), now, now.AddDate(-1, 0, 0)}
	for i, at := range times {
		tk := ticket(till, i+1)
		tk.CreatedAt, tk.UpdatedAt = at, at
		if err := s.Update(ctx, func(tx gateway.Tx) error { return createTicket(tx, &tk) }); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.SaveWebhookCursor(ctx, gateway.WebhookCursor{TillID: till.ID, DeliveredSeq: 3}, 0, till.CallbackURL); err != nil {
		t.Fatal(err)
	}
	r, err := s.CompactEvents(ctx, store.Retention{KeepFull: time.Hour}, now)
	if err != nil || r.Through != 1 {
		t.Fatalf("%+v %v, want through 1", r, err)
	}
}
