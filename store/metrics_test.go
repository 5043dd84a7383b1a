package store_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/passerelle/passerelle/gateway"
)

// TestCounts: what a scrape reads, against what was written.
func TestCounts(t *testing.T) {
	ctx := context.Background()
	path := dbPath(t)
	s := open(t, path, nil)
	till := addTill(t, s, "caisse") // with a callback
	for n := 1; n <= 10; n++ {
		tk := ticket(till, n)
		if n > 7 {
			tk.Status = gateway.TicketCancelled
		}
		if err := s.Update(ctx, func(tx gateway.Tx) error { return createTicket(tx, &tk) }); err != nil {
			t.Fatal(err)
		}
	}
	// The writer tells the observer after it has answered the callers.
	var commits, callers atomic.Int64
	s.ObserveCommits(func(_ time.Duration, n int) { commits.Add(1); callers.Add(int64(n)) })
	if err := s.SaveWebhookCursor(ctx, gateway.WebhookCursor{TillID: till.ID, DeliveredSeq: 4, Attempts: 3}, 0, till.CallbackURL); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { return commits.Load() >= 1 })
	s.ObserveCommits(nil)
	c, err := s.Counts(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if c.TicketsByStatus["open"] != 7 || c.TicketsByStatus["cancelled"] != 3 || c.LastSeq != 10 {
		t.Errorf("counts %+v", c)
	}
	if len(c.Webhooks) != 1 || c.Webhooks[0].Till != "caisse" || c.Webhooks[0].Pending != 6 || c.Webhooks[0].Attempts != 3 {
		t.Errorf("webhooks %+v, want caisse with 6 pending after 3 attempts", c.Webhooks)
	}
	if c.DBBytes <= 0 {
		t.Errorf("db bytes %d", c.DBBytes)
	}
	if commits.Load() != 1 || callers.Load() != 1 {
		t.Errorf("observed %d commits of %d callers, want 1 of 1", commits.Load(), callers.Load())
	}
}
