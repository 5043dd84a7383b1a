package store_test

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/passerelle/passerelle/gateway"
	"github.com/passerelle/passerelle/store"
)

var discard = slog.New(slog.NewTextHandler(io.Discard, nil))

// recorder is a store.Publisher that keeps what it is given.
type recorder struct {
	mu     sync.Mutex
	events []gateway.Event
	calls  int  // publishes of at least one event
	count  int  // events published
	forget bool // count only, as benchmarks do
}

func (r *recorder) Publish(evs []gateway.Event) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(evs) > 0 {
		r.calls++
	}
	r.count += len(evs)
	if !r.forget {
		r.events = append(r.events, evs...)
	}
}

func (r *recorder) all() []gateway.Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]gateway.Event(nil), r.events...)
}

func dbPath(tb testing.TB) string {
	return filepath.Join(tb.TempDir(), "passerelle.db")
}

// open opens the store at path and closes it when the test ends.
func open(tb testing.TB, path string, pub store.Publisher) *store.Store {
	tb.Helper()
	s, err := store.Open(context.Background(), path, discard, pub)
	if err != nil {
		tb.Fatalf("open %s: %v", path, err)
	}
	tb.Cleanup(func() { s.Close() })
	return s
}

// rawDB opens path with plain database/sql, without the store, to look at
// or tamper with what the store wrote.
func rawDB(tb testing.TB, path string) *sql.DB {
	tb.Helper()
	q := url.Values{}
	q.Add("_pragma", "busy_timeout(10000)")
	db, err := sql.Open("sqlite", "file:"+path+"?"+q.Encode())
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { db.Close() })
	return db
}

// schemaAt makes the database at path as a passerelle of schema n left it:
// the migrations up to n applied, and nothing else. Tests of a migration
// fill it as that version would have, then open the store on it.
func schemaAt(tb testing.TB, path string, n int) *sql.DB {
	tb.Helper()
	db := rawDB(tb, path)
	files, err := filepath.Glob("migrations/*.sql")
	if err != nil {
		tb.Fatal(err)
	}
	slices.Sort(files)
	for _, f := range files {
		num, _, _ := strings.Cut(filepath.Base(f), "_")
		if v, err := strconv.Atoi(num); err != nil || v > n {
			continue
		}
		b, err := os.ReadFile(f)
		if err != nil {
			tb.Fatal(err)
		}
		if _, err := db.Exec(string(b)); err != nil {
			tb.Fatalf("%s: %v", f, err)
		}
	}
	if _, err := db.Exec(fmt.Sprintf("PRAGMA user_version = %d", n)); err != nil {
		tb.Fatal(err)
	}
	return db
}

var t0 = time.Date(2025, 3, 14, 12, 30, 45, 123456789, time.UTC)

func addTill(tb testing.TB, s *store.Store, name string) gateway.Till {
	tb.Helper()
	tl := gateway.Till{ID: "till_" + name, Name: name, KeyHash: gateway.HashKey("key-" + name),
		CallbackURL: "http://127.0.0.1:1/hook", WebhookSecret: "whsec_" + name, CreatedAt: t0}
	err := s.Update(context.Background(), func(tx gateway.Tx) error {
		return tx.InsertTill(context.Background(), &tl)
	})
	if err != nil {
		tb.Fatalf("add till %s: %v", name, err)
	}
	return tl
}

// ticket returns a valid ticket of till numbered n; IDs sort by n.
func ticket(till gateway.Till, n int) gateway.Ticket {
	in := gateway.TicketInput{
		Ref:      fmt.Sprintf("R-%07d", n),
		Table:    fmt.Sprintf("%d", n%40+1),
		Covers:   2,
		Currency: "EUR",
		Lines: []gateway.Line{
			{Label: "Menu du jour", Qty: 2, UnitPrice: 1450, VATRate: 1000},
			{Label: "Café", Qty: 2, UnitPrice: 180, VATRate: 1000},
			{Label: "Vin rouge 25cl", Qty: 1, UnitPrice: 650, VATRate: 2000},
		},
		Total: 3910,
	}
	return gateway.Ticket{
		ID: fmt.Sprintf("tkt_%010d", n), Ref: in.Ref, Table: in.Table, Covers: in.Covers,
		Currency: in.Currency, Lines: in.Lines, Total: in.Total, Status: gateway.TicketOpen,
		Due: in.Total, VAT: gateway.VATBreakdown(in.Lines), Version: 1, Source: "till",
		Till: till.Name, TillID: till.ID, Hash: in.ContentHash(),
		CreatedAt: t0, UpdatedAt: t0, Payments: []gateway.Payment{},
	}
}

// createTicket is what a ticket submission writes: the ticket and its
// ticket.created event.
func createTicket(tx gateway.Tx, tk *gateway.Ticket) error {
	ctx := context.Background()
	if err := tx.InsertTicket(ctx, tk); err != nil {
		return err
	}
	e, err := gateway.NewTicketEvent(gateway.EventTicketCreated, tk, "", tk.CreatedAt)
	if err != nil {
		return err
	}
	return tx.AppendEvent(ctx, &e)
}
