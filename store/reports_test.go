package store_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/passerelle/passerelle/gateway"
)

func TestAdminPasswordAndSessions(t *testing.T) {
	ctx := context.Background()
	s := open(t, dbPath(t), nil)
	if _, err := s.AdminPasswordHash(ctx); !errors.Is(err, gateway.ErrNotFound) {
		t.Fatalf("hash of a new store: %v", err)
	}
	const h1, h2 = "$argon2id$v=19$one", "$argon2id$v=19$two"
	if err := s.InitAdminPassword(ctx, h1, t0); err != nil {
		t.Fatal(err)
	}
	if err := s.InitAdminPassword(ctx, h2, t0); !errors.Is(err, gateway.ErrAdminPasswordSet) {
		t.Fatalf("second init: %v", err)
	}
	if h, _ := s.AdminPasswordHash(ctx); h != h1 {
		t.Fatalf("hash %q after a refused init", h)
	}
	// Only argon2id hashes are stored: a bug that stored a password would fail.
	if err := s.SetAdminPassword(ctx, "plain text", t0); err == nil {
		t.Fatal("a non-argon2id hash was stored")
	}

	sess := func(tok string, created time.Time) gateway.AdminSession {
		return gateway.AdminSession{TokenHash: gateway.HashKey(tok), CreatedAt: created, LastSeen: created,
			ExpiresAt: created.Add(time.Hour), Addr: "10.0.0.1"}
	}
	for _, tok := range []string{"a", "b"} {
		if err := s.InsertAdminSession(ctx, sess(tok, t0)); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.InsertAdminSession(ctx, sess("old", t0.Add(-2*time.Hour))); err != nil {
		t.Fatal(err)
	}
	got, err := s.AdminSession(ctx, gateway.HashKey("a"))
	if err != nil || !got.ExpiresAt.Equal(t0.Add(time.Hour)) || got.Addr != "10.0.0.1" {
		t.Fatalf("session a: %+v %v", got, err)
	}
	if err := s.TouchAdminSession(ctx, gateway.HashKey("a"), t0.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.AdminSession(ctx, gateway.HashKey("a")); !got.LastSeen.Equal(t0.Add(time.Minute)) {
		t.Fatalf("touched: %v", got.LastSeen)
	}
	if err := s.DeleteStaleAdminSessions(ctx, t0, t0.Add(-time.Hour)); err != nil {
		t.Fatal(err)
	}
	if _, err := s.AdminSession(ctx, gateway.HashKey("old")); !errors.Is(err, gateway.ErrNotFound) {
		t.Fatalf("stale session kept: %v", err)
	}
	if err := s.DeleteAdminSession(ctx, gateway.HashKey("b")); err != nil {
		t.Fatal(err)
	}
	if _, err := s.AdminSession(ctx, gateway.HashKey("b")); !errors.Is(err, gateway.ErrNotFound) {
		t.Fatalf("deleted session: %v", err)
	}
	// A new password ends every session.
	if err := s.SetAdminPassword(ctx, h2, t0); err != nil {
		t.Fatal(err)
	}
	if _, err := s.AdminSession(ctx, gateway.HashKey("a")); !errors.Is(err, gateway.ErrNotFound) {
		t.Fatalf("session after a password change: %v", err)
	}
	if h, _ := s.AdminPasswordHash(ctx); h != h2 {
		t.Fatalf("hash %q", h)
	}
	if n, err := s.DatabaseSize(ctx); err != nil || n <= 0 {
		t.Fatalf("database size %d, %v", n, err)
	}
}

func TestReportQueries(t *testing.T) {
	ctx := context.Background()
	s := open(t, dbPath(t), nil)
	till := addTill(t, s, "caisse")
	term := gateway.Terminal{ID: "trm_1", Name: "Bar", TokenHash: gateway.HashKey("tok"), PairedAt: t0}
	day := time.Date(2025, 3, 14, 0, 0, 0, 0, time.UTC)
	// 600 tickets, one every 3 minutes from the day before's 23:00: the
	// first 20 are the day before, the rest are the day's and the next's.
	const n = 600
	err := s.Update(ctx, func(tx gateway.Tx) error {
		if err := tx.InsertTerminal(ctx, &term); err != nil {
			return err
		}
		for i := 0; i < n; i++ {
			tk := ticket(till, i)
			tk.CreatedAt = day.Add(-time.Hour + time.Duration(i)*3*time.Minute)
			tk.UpdatedAt = tk.CreatedAt
			if i%2 == 0 {
				tk.Table = "7"
			}
			if err := createTicket(tx, &tk); err != nil {
				return err
			}
			p := gateway.Payment{ID: "pay_" + tk.ID, TicketID: tk.ID, DeviceID: term.ID, Terminal: term.Name,
				Requested: 100, Amount: 100, Currency: "EUR", Status: gateway.PaymentApproved,
				CreatedAt: tk.CreatedAt, Deadline: tk.CreatedAt.Add(time.Minute)}
			if err := tx.InsertPayment(ctx, &p); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	from, to := day, day.AddDate(0, 0, 1)
	// 23:00 + 3 min × i in [00:00, 24:00): i from 20 to 499.
	ts, err := s.TicketsCreated(ctx, from, to, gateway.TicketQuery{Limit: n})
	if err != nil || len(ts) != 480 || ts[0].ID != ticket(till, 20).ID {
		t.Fatalf("tickets of the day: %d (%v)", len(ts), err)
	}
	ts, _ = s.TicketsCreated(ctx, from, to, gateway.TicketQuery{Table: "7", Statuses: []gateway.TicketStatus{gateway.TicketOpen}, Limit: n})
	if len(ts) != 240 {
		t.Fatalf("table 7 that day: %d", len(ts))
	}
	ts, _ = s.TicketsCreated(ctx, from, to, gateway.TicketQuery{After: ticket(till, 489).ID, Limit: 100})
	if len(ts) != 10 {
		t.Fatalf("after a cursor: %d", len(ts))
	}
	if ts, _ := s.TicketsCreated(ctx, from, to, gateway.TicketQuery{Statuses: []gateway.TicketStatus{gateway.TicketPaid}, Limit: n}); len(ts) != 0 {
		t.Fatalf("paid that day: %d", len(ts))
	}

	ps, err := s.PaymentsBetween(ctx, from, to)
	if err != nil || len(ps) != 480 || ps[0].TicketID != ticket(till, 20).ID {
		t.Fatalf("payments of the day: %d (%v)", len(ps), err)
	}

	var ids []string
	for i := n - 1; i >= 0; i-- { // more than one chunk, in any order
		ids = append(ids, ticket(till, i).ID)
	}
	ids = append(ids, "tkt_NOPE")
	byID, err := s.TicketsByIDs(ctx, ids)
	if err != nil || len(byID) != n || byID[0].ID != ticket(till, 0).ID {
		t.Fatalf("by IDs: %d (%v)", len(byID), err)
	}
	if none, err := s.TicketsByIDs(ctx, nil); err != nil || len(none) != 0 {
		t.Fatalf("no IDs: %v %v", none, err)
	}

	evs, err := s.TicketEvents(ctx, ticket(till, 42).ID)
	if err != nil || len(evs) != 1 || evs[0].Type != gateway.EventTicketCreated || evs[0].TicketID != ticket(till, 42).ID {
		t.Fatalf("events of a ticket: %+v %v", evs, err)
	}
}
