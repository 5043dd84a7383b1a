package tillapi_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/passerelle/passerelle/gateway"
)

// BenchmarkPostTicket measures the whole POST /api/v1/tickets path over
// real HTTP on loopback: decode, validate, the durable group commit, the
// event, the answer. Client and server share the CPU, as with a till on
// the box itself.
func BenchmarkPostTicket(b *testing.B) {
	for _, conc := range []int{1, 16, 64} {
		b.Run(fmt.Sprintf("concurrency=%d", conc), func(b *testing.B) {
			e := newEnv(b, envOptions{})
			key := e.addTill("Caisse bench", false)
			var n atomic.Int64
			b.SetParallelism((conc + 1) / 2) // GOMAXPROCS is 2 here
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					i := n.Add(1)
					body := fmt.Sprintf(`{"ref":"B%d","table":"%d","lines":[{"label":"PLAT N°4","qty":1,"unit_price":2350,"vat_rate":1000},{"label":"PICHET","qty":1,"unit_price":3000,"vat_rate":2000}],"total":5350}`, i, i%30)
					req, _ := http.NewRequest("POST", e.srv.URL+"/api/v1/tickets", bytes.NewBufferString(body))
					req.Header.Set("Authorization", "Bearer "+key)
					resp, err := e.client.Do(req)
					if err != nil {
						b.Error(err)
						return
					}
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					if resp.StatusCode != http.StatusCreated {
						b.Errorf("status %d", resp.StatusCode)
						return
					}
				}
			})
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "tickets/s")
		})
	}
}

// fillTickets records n tickets of the till named name straight into the
// store, a minute apart from start, one in 100 still open: a busy shop's
// year. It returns the time of the last one.
func (e *env) fillTickets(tb testing.TB, name string, n int, start time.Time) time.Time {
	tb.Helper()
	ctx := context.Background()
	till, err := e.tills.Find(ctx, name)
	if err != nil {
		tb.Fatal(err)
	}
	at := start
	const chunk = 5000
	for done := 0; done < n; done += chunk {
		err := e.st.Update(ctx, func(tx gateway.Tx) error {
			for i := done; i < min(done+chunk, n); i++ {
				at = at.Add(time.Minute)
				in := note("F" + strconv.Itoa(i))
				in.Currency = "EUR"
				tk := gateway.Ticket{ID: gateway.NewID("tkt", at), Ref: in.Ref, Table: in.Table, Covers: in.Covers,
					Server: in.Server, Loyalty: in.Loyalty, Currency: in.Currency, Lines: in.Lines, Total: in.Total,
					Status: gateway.TicketPaid, Paid: in.Total, VAT: gateway.VATBreakdown(in.Lines), Version: 1,
					Source: "till", Till: till.Name, TillID: till.ID, Hash: in.ContentHash(), CreatedAt: at, UpdatedAt: at}
				if i%100 == 0 {
					tk.Status, tk.Paid = gateway.TicketOpen, 0
				}
				if err := tx.InsertTicket(ctx, &tk); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			tb.Fatal(err)
		}
	}
	return at
}

// BenchmarkListPages reads pages of GET /api/v1/tickets over real HTTP
// from 160 000 tickets, most of them one till's: its first page, a page
// from the middle (by cursor), what changed in the last hour, its open
// tickets, and the admin key's first page for comparison.
func BenchmarkListPages(b *testing.B) {
	e := newEnv(b, envOptions{})
	key := e.addTill("Caisse 1", false)
	e.addTill("Caisse 2", false)
	admin := e.addTill("Admin", true)
	start := time.Date(2025, 11, 25, 0, 0, 0, 0, time.UTC)
	e.fillTickets(b, "Caisse 2", 10_000, start)
	last := e.fillTickets(b, "Caisse 1", 150_000, start)

	middle := e.list(b, key, "limit=1000")
	for range 75 {
		middle = e.list(b, key, "limit=1000&cursor="+middle.NextCursor)
	}
	recent := url.QueryEscape(last.Add(-time.Hour).Format(time.RFC3339))
	month := url.QueryEscape(last.Add(-30 * 24 * time.Hour).Format(time.RFC3339))
	always := url.QueryEscape(start.Format(time.RFC3339))
	for _, c := range []struct{ name, key, query string }{
		{"till/first", key, "limit=100"},
		{"till/middle", key, "limit=100&cursor=" + middle.NextCursor},
		{"till/open", key, "limit=100&status=open"},
		{"till/since-last-hour", key, "limit=100&since=" + recent},
		{"till/since-last-month", key, "limit=100&since=" + month},
		{"till/since-start", key, "limit=100&since=" + always},
		{"till/since-start-middle", key, "limit=100&since=" + always + "&cursor=" + middle.NextCursor},
		{"till/since-start-open", key, "limit=100&status=open&since=" + always},
		{"admin/first", admin, "limit=100"},
		{"admin/since-last-hour", admin, "limit=100&since=" + recent},
		{"admin/since-start", admin, "limit=100&since=" + always},
	} {
		b.Run(c.name, func(b *testing.B) {
			for b.Loop() {
				if l := e.list(b, c.key, c.query); len(l.Tickets) == 0 {
					b.Fatal("empty page")
				}
			}
		})
	}
}

// BenchmarkPostWithResumedStreams measures POST /api/v1/tickets while
// tills with nothing new are following their events from an id older than
// the bus's window, as tills do after a night off. Each such stream must
// not read the store at every commit of another till.
func BenchmarkPostWithResumedStreams(b *testing.B) {
	for _, streams := range []int{0, 50} {
		b.Run(fmt.Sprintf("streams=%d", streams), func(b *testing.B) {
			e := newEnv(b, envOptions{window: 64})
			key := e.addTill("Caisse bench", false)
			quiet := e.addTill("Caisse fermée", false)
			for i := range 100 {
				e.post(b, key, note("old"+itoa(i)), http.StatusCreated)
			}
			for range streams {
				e.openEvents(b, quiet, "?after=0", nil).started(b)
			}
			var n atomic.Int64
			b.SetParallelism(8) // 16 clients: GOMAXPROCS is 2 here
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					in := note("B" + strconv.FormatInt(n.Add(1), 10))
					if r := e.do(b, "POST", "/api/v1/tickets", key, in); r.status != http.StatusCreated {
						b.Errorf("status %d", r.status)
						return
					}
				}
			})
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "tickets/s")
		})
	}
}
