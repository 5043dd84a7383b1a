package store_test

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"
	"runtime"
	"sync/atomic"
	"testing"

	"github.com/passerelle/passerelle/gateway"
)

// BenchmarkBareInsertFull is the reference the store is measured against:
// one row per commit with plain database/sql, WAL and synchronous=FULL, so
// one fsync per row.
func BenchmarkBareInsertFull(b *testing.B) {
	q := url.Values{}
	for _, p := range []string{"journal_mode(WAL)", "synchronous(FULL)", "busy_timeout(10000)"} {
		q.Add("_pragma", p)
	}
	db, err := sql.Open("sqlite", "file:"+dbPath(b)+"?"+q.Encode())
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	if _, err := db.Exec("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT NOT NULL) STRICT"); err != nil {
		b.Fatal(err)
	}
	n := 0
	for b.Loop() {
		n++
		if _, err := db.Exec("INSERT INTO t (id, v) VALUES (?, ?)", n, "row"); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "rows/s")
}

// BenchmarkUpdateParallel measures the group commit: concurrent callers each
// write a ticket and its event, as a ticket submission does.
func BenchmarkUpdateParallel(b *testing.B) {
	for _, callers := range []int{16, 64} {
		b.Run(fmt.Sprintf("callers=%d", callers), func(b *testing.B) {
			rec := &recorder{forget: true}
			s := open(b, dbPath(b), rec)
			till := addTill(b, s, "bench")
			ctx := context.Background()
			var next atomic.Int64
			// RunParallel starts parallelism*GOMAXPROCS goroutines.
			procs := runtime.GOMAXPROCS(0)
			b.SetParallelism((callers + procs - 1) / procs)
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					tk := ticket(till, int(next.Add(1)))
					if err := s.Update(ctx, func(tx gateway.Tx) error { return createTicket(tx, &tk) }); err != nil {
						b.Error(err)
						return
					}
				}
			})
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "tickets/s")
			rec.mu.Lock()
			defer rec.mu.Unlock()
			// Every commit publishes: this is how many callers share one.
			b.ReportMetric(float64(rec.count)/float64(rec.calls), "tickets/commit")
		})
	}
}

// BenchmarkTicketsList lists the open tickets, as the terminals' ticket
// picker does, from a day's worth of mostly paid tickets.
func BenchmarkTicketsList(b *testing.B) {
	const total, openTickets = 100_000, 100
	s := open(b, dbPath(b), nil)
	till := addTill(b, s, "bench")
	ctx := context.Background()
	const chunk = 10_000
	for start := 0; start < total; start += chunk {
		err := s.Update(ctx, func(tx gateway.Tx) error {
			for n := start; n < start+chunk; n++ {
				tk := ticket(till, n)
				// Spread the open ones over the whole range.
				if n%(total/openTickets) != 0 {
					tk.Status, tk.Paid, tk.Due = gateway.TicketPaid, tk.Total, 0
				}
				if err := tx.InsertTicket(ctx, &tk); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	for _, brief := range []bool{false, true} {
		b.Run(fmt.Sprintf("brief=%v", brief), func(b *testing.B) {
			q := gateway.TicketQuery{Statuses: []gateway.TicketStatus{gateway.TicketOpen}, Limit: 200, Brief: brief}
			for b.Loop() {
				tks, err := s.Tickets(ctx, q)
				if err != nil {
					b.Fatal(err)
				}
				if len(tks) != openTickets {
					b.Fatalf("listed %d open tickets, want %d", len(tks), openTickets)
				}
			}
		})
	}
}

// BenchmarkTicketByID reads one ticket and its payments, as a terminal's
// scenario does at each step, and a menu of 8 open tickets, as a list
// refresh does: statements compiled once (Store.reads) or at every call.
func BenchmarkTicketByID(b *testing.B) {
	s := open(b, dbPath(b), nil)
	till := addTill(b, s, "bench")
	ctx := context.Background()
	var ids []string
	err := s.Update(ctx, func(tx gateway.Tx) error {
		for n := range 1000 {
			tk := ticket(till, n)
			if err := tx.InsertTicket(ctx, &tk); err != nil {
				return err
			}
			ids = append(ids, tk.ID)
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	b.Run("ticket", func(b *testing.B) {
		i := 0
		for b.Loop() {
			if _, err := s.Ticket(ctx, ids[i%len(ids)]); err != nil {
				b.Fatal(err)
			}
			i++
		}
	})
	b.Run("menu", func(b *testing.B) {
		q := gateway.TicketQuery{Statuses: []gateway.TicketStatus{gateway.TicketOpen}, Limit: 8, Brief: true}
		for b.Loop() {
			if _, err := s.Tickets(ctx, q); err != nil {
				b.Fatal(err)
			}
		}
	})
}
