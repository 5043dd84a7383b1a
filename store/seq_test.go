package store_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/passerelle/passerelle/gateway"
	"github.com/passerelle/passerelle/store"
)

// Lists follow the order the store recorded the tickets in, whatever their
// IDs (which start with the wall clock) say, and page from a ticket's ID.
func TestTicketsInRecordedOrder(t *testing.T) {
	ctx := context.Background()
	path := dbPath(t)
	s := open(t, path, nil)
	till := addTill(t, s, "caisse")
	// IDs descending: the clock went back at each ticket.
	var want []string
	for n := 9; n >= 0; n-- {
		tk := ticket(till, n)
		tk.CreatedAt = t0.Add(-time.Duration(n) * time.Minute)
		if err := s.Update(ctx, func(tx gateway.Tx) error { return createTicket(tx, &tk) }); err != nil {
			t.Fatal(err)
		}
		want = append(want, tk.ID)
	}

	walk := func(list func(after string) ([]gateway.Ticket, error)) []string {
		var got []string
		after := ""
		for range len(want) + 1 {
			page, err := list(after)
			if err != nil {
				t.Fatal(err)
			}
			if len(page) == 0 {
				break
			}
			got = append(got, idsOf(page)...)
			after = page[len(page)-1].ID
		}
		return got
	}
	if got := walk(func(after string) ([]gateway.Ticket, error) {
		return s.Tickets(ctx, gateway.TicketQuery{After: after, Limit: 3})
	}); !slices.Equal(got, want) {
		t.Errorf("Tickets paged %v\nwant %v", got, want)
	}
	if got := walk(func(after string) ([]gateway.Ticket, error) {
		return s.TicketsCreated(ctx, t0.Add(-time.Hour), t0.Add(time.Hour), gateway.TicketQuery{After: after, Limit: 3})
	}); !slices.Equal(got, want) {
		t.Errorf("TicketsCreated paged %v\nwant %v", got, want)
	}

	for name, list := range map[string]func() ([]gateway.Ticket, error){
		"Tickets": func() ([]gateway.Ticket, error) {
			return s.Tickets(ctx, gateway.TicketQuery{After: "tkt_nowhere", Limit: 3})
		},
		"TicketsCreated": func() ([]gateway.Ticket, error) {
			return s.TicketsCreated(ctx, t0.Add(-time.Hour), t0.Add(time.Hour), gateway.TicketQuery{After: "tkt_nowhere", Limit: 3})
		},
	} {
		if _, err := list(); !errors.Is(err, gateway.ErrUnknownCursor) || !errors.Is(err, gateway.ErrNotFound) {
			t.Errorf("%s after an unknown ticket: %v, want ErrUnknownCursor", name, err)
		}
	}

	// The schema holds seq to its rule, whoever writes.
	db := rawDB(t, path)
	for _, q := range []string{
		`INSERT INTO tickets (id, till_id, ref, currency, lines, vat, total, status, version, source, content_hash, created_at, updated_at)
			VALUES ('tkt_raw', 'till_caisse', 'raw', 'EUR', '[]', '[]', 100, 'open', 1, 'till', x'00', '2025-01-01T00:00:00.000000000Z', '2025-01-01T00:00:00.000000000Z')`,
		`INSERT INTO tickets (id, till_id, ref, currency, lines, vat, total, status, version, source, content_hash, created_at, updated_at, seq)
			VALUES ('tkt_raw', 'till_caisse', 'raw', 'EUR', '[]', '[]', 100, 'open', 1, 'till', x'00', '2025-01-01T00:00:00.000000000Z', '2025-01-01T00:00:00.000000000Z', 3)`,
		`INSERT INTO tickets (id, till_id, ref, currency, lines, vat, total, status, version, source, content_hash, created_at, updated_at, seq)
			VALUES ('tkt_raw', 'till_caisse', 'raw', 'EUR', '[]', '[]', 100, 'open', 1, 'till', x'00', '2025-01-01T00:00:00.000000000Z', '2025-01-01T00:00:00.000000000Z', 0)`,
		`UPDATE tickets SET seq = 100 WHERE id = '` + want[0] + `'`,
	} {
		if _, err := db.Exec(q); err == nil || !strings.Contains(err.Error(), "constraint") {
			t.Errorf("%s\n: %v, want a constraint error", q, err)
		}
	}
	if _, err := db.Exec(`UPDATE tickets SET paid = 10, seq = seq WHERE id = ?`, want[0]); err != nil {
		t.Errorf("an update that keeps seq: %v", err)
	}
}

// A database of the schema before seq gets its tickets numbered in ID
// order, the order its lists gave; tickets recorded after come after them.
func TestTicketSeqMigration(t *testing.T) {
	ctx := context.Background()
	path := dbPath(t)
	const before = 5 // the migration that adds seq
	db := schemaAt(t, path, before-1)
	if _, err := db.Exec(`INSERT INTO tills (id, name, key_hash, created_at) VALUES ('till_caisse', 'caisse', ?, '2025-01-01T00:00:00.000000000Z')`,
		gateway.HashKey("key-caisse")); err != nil {
		t.Fatal(err)
	}
	var old []string
	for _, n := range []int{5, 2, 8, 1, 3} { // inserted out of ID order
		id := fmt.Sprintf("tkt_%010d", n)
		if _, err := db.Exec(`INSERT INTO tickets (id, till_id, ref, currency, lines, vat, total, status, version, source, content_hash, created_at, updated_at)
			VALUES (?, 'till_caisse', ?, 'EUR', '[]', '[]', 100, 'open', 1, 'till', x'00', '2025-01-01T00:00:00.000000000Z', '2025-01-01T00:00:00.000000000Z')`,
			id, id); err != nil {
			t.Fatal(err)
		}
		old = append(old, id)
	}
	slices.Sort(old)
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	s := open(t, path, nil)
	if v := userVersion(t, path); v != store.SchemaVersion() {
		t.Fatalf("user_version = %d, want %d", v, store.SchemaVersion())
	}
	till, err := s.TillByName(ctx, "caisse")
	if err != nil {
		t.Fatal(err)
	}
	tk := ticket(till, 0) // its ID sorts before every other
	if err := s.Update(ctx, func(tx gateway.Tx) error { return createTicket(tx, &tk) }); err != nil {
		t.Fatal(err)
	}
	want := append(old, tk.ID)
	got, err := s.Tickets(ctx, gateway.TicketQuery{Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(idsOf(got), want) {
		t.Errorf("after the migration: %v\nwant %v", idsOf(got), want)
	}
	if page, err := s.Tickets(ctx, gateway.TicketQuery{After: old[len(old)-1], Limit: 100}); err != nil || !slices.Equal(idsOf(page), []string{tk.ID}) {
		t.Errorf("after the last old ticket: %v, %v; want the new one", idsOf(page), err)
	}
	if res, err := s.IntegrityCheck(ctx); err != nil || res != "ok" {
		t.Errorf("integrity check: %q, %v", res, err)
	}
}
