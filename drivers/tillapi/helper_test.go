package tillapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/passerelle/passerelle/docs"
	"github.com/passerelle/passerelle/drivers/tillapi"
	"github.com/passerelle/passerelle/gateway"
	"github.com/passerelle/passerelle/store"
)

// env is a till API served over real HTTP, on a real store in a temporary
// directory, wired as cmd/passerelle's serve wires it.
type env struct {
	t      testing.TB
	srv    *httptest.Server
	client *http.Client
	st     *store.Store
	dbPath string
	tills  *gateway.Tills
	logs   *syncBuffer

	terminal gateway.Terminal // the one addPayment pays with
}

type envOptions struct {
	window    int           // event bus window; 8192 as in production when zero
	heartbeat time.Duration // SSE heartbeat; 15 s when zero

	// now is the gateway's clock; when nil, one a millisecond later at
	// each reading.
	now func() time.Time

	// clock, if set, hears the tills' Date headers.
	clock *gateway.ClockWatch

	// rules are the shop's settings, read at every write as a reload
	// would change them; the default configuration's when nil.
	rules func() gateway.Rules

	// compacted, if set, is the event log's compaction horizon.
	compacted func() int64

	// eventReads, if set, counts the event log's reads of the store.
	eventReads *atomic.Int64
}

// countingStore is the real store, counting the event log's reads.
type countingStore struct {
	*store.Store
	reads *atomic.Int64
}

func (c countingStore) EventsAfter(ctx context.Context, q gateway.EventQuery) ([]gateway.Event, error) {
	c.reads.Add(1)
	return c.Store.EventsAfter(ctx, q)
}

// syncBuffer collects the slog output of the whole stack.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// clock hands out strictly increasing times a millisecond apart, so that
// updated_at and ID order are deterministic.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(time.Millisecond)
	return c.now
}

func newEnv(t testing.TB, opt envOptions) *env {
	t.Helper()
	if opt.window == 0 {
		opt.window = 8192
	}
	ctx := context.Background()
	logs := &syncBuffer{}
	log := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	path := filepath.Join(t.TempDir(), "passerelle.db")
	bus := gateway.NewEventBus(opt.window)
	st, err := store.Open(ctx, path, log, bus)
	if err != nil {
		t.Fatalf("store.Open: %v", err)
	}
	t.Cleanup(func() { st.Close() })
	last, err := st.LastSeq(ctx)
	if err != nil {
		t.Fatalf("LastSeq: %v", err)
	}
	bus.Start(last)

	now := (&clock{now: time.Date(2026, 11, 25, 19, 42, 0, 0, time.UTC)}).Now
	if opt.now != nil {
		now = opt.now
	}
	rules := opt.rules
	if rules == nil {
		rules = gateway.DefaultConfig().Rules
	}
	tickets := gateway.NewTickets(st, rules, now)
	tills := gateway.NewTills(st, now)
	var eventStore gateway.Store = st
	if opt.eventReads != nil {
		eventStore = countingStore{Store: st, reads: opt.eventReads}
	}
	events := gateway.NewEventLog(eventStore, bus)

	mux := http.NewServeMux()
	tillapi.New(tillapi.Config{Tickets: tickets, Tills: tills, Events: events, Log: log,
		Heartbeat: opt.heartbeat, OpenAPI: docs.OpenAPI, Compacted: opt.compacted, Clock: opt.clock,
		Health: func(ctx context.Context) tillapi.Health {
			h := tillapi.Health{Status: "ok", Version: "test", Store: "ok", Upstream: "disabled"}
			if err := st.Ping(ctx); err != nil {
				h.Status, h.Store = "degraded", "error"
			}
			return h
		}}).Register(mux)
	srv := httptest.NewServer(mux)
	// Event streams never end by themselves: cut them before Close waits.
	t.Cleanup(func() {
		srv.CloseClientConnections()
		srv.Close()
	})
	return &env{t: t, srv: srv, client: srv.Client(), st: st, dbPath: path, tills: tills, logs: logs}
}

// addTill creates a till and returns its key.
func (e *env) addTill(name string, admin bool) string {
	e.t.Helper()
	_, key, err := e.tills.Add(context.Background(), gateway.NewTill{Name: name, Admin: admin})
	if err != nil {
		e.t.Fatalf("add till %s: %v", name, err)
	}
	return key
}

// response is what a request got back.
type response struct {
	status int
	header http.Header
	body   []byte
}

func (r response) ticket(t testing.TB) gateway.Ticket {
	t.Helper()
	var tk gateway.Ticket
	if err := json.Unmarshal(r.body, &tk); err != nil {
		t.Fatalf("decode ticket: %v in %s", err, r.body)
	}
	return tk
}

func (r response) problem(t testing.TB) tillapi.Problem {
	t.Helper()
	if ct := r.header.Get("Content-Type"); ct != "application/problem+json" {
		t.Errorf("Content-Type = %q, want application/problem+json (body %s)", ct, r.body)
	}
	var p tillapi.Problem
	if err := json.Unmarshal(r.body, &p); err != nil {
		t.Fatalf("decode problem: %v in %s", err, r.body)
	}
	if p.Status != r.status {
		t.Errorf("problem status %d, HTTP status %d", p.Status, r.status)
	}
	return p
}

// do sends a request with body (nil, []byte, string or a value to encode)
// and key ("" for none). t may be a subtest of the env's test.
func (e *env) do(t testing.TB, method, path, key string, body any) response {
	t.Helper()
	return e.doHeader(t, method, path, key, body, nil)
}

// doHeader does not stop the test on a failed request (status 0), so that
// it may be called from any goroutine: callers check the status.
func (e *env) doHeader(t testing.TB, method, path, key string, body any, header http.Header) response {
	t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case []byte:
		rd = bytes.NewReader(b)
	case string:
		rd = strings.NewReader(b)
	default:
		j, err := json.Marshal(b)
		if err != nil {
			t.Errorf("encode body: %v", err)
			return response{}
		}
		rd = bytes.NewReader(j)
	}
	req, err := http.NewRequest(method, e.srv.URL+path, rd)
	if err != nil {
		t.Errorf("request: %v", err)
		return response{}
	}
	for k, v := range header {
		req.Header[k] = v
	}
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := e.client.Do(req)
	if err != nil {
		t.Errorf("%s %s: %v", method, path, err)
		return response{}
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Errorf("%s %s: read body: %v", method, path, err)
		return response{}
	}
	return response{status: resp.StatusCode, header: resp.Header, body: b}
}

// post submits a ticket and fails the test unless the status is want.
func (e *env) post(t testing.TB, key string, in any, want int) response {
	t.Helper()
	r := e.do(t, "POST", "/api/v1/tickets", key, in)
	if r.status != want {
		t.Fatalf("POST ticket: status %d, want %d: %s", r.status, want, r.body)
	}
	return r
}

func (e *env) get(t testing.TB, key, id string) gateway.Ticket {
	t.Helper()
	r := e.do(t, "GET", "/api/v1/tickets/"+id, key, nil)
	if r.status != http.StatusOK {
		t.Fatalf("GET ticket %s: status %d: %s", id, r.status, r.body)
	}
	return r.ticket(t)
}

// lastSeq is the newest event in the store.
func (e *env) lastSeq(t testing.TB) int64 {
	t.Helper()
	n, err := e.st.LastSeq(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// addPayment records a payment on a ticket as a terminal would, through
// the store: tills cannot make payments. An approved one also counts in the
// ticket's paid amount and status. No event is appended, so that tests can
// count the events of what they do next.
func (e *env) addPayment(t testing.TB, ticketID string, status gateway.PaymentStatus, amount int64) {
	t.Helper()
	ctx := context.Background()
	now := time.Now().UTC()
	err := e.st.Update(ctx, func(tx gateway.Tx) error {
		if e.terminal.ID == "" {
			tm := gateway.Terminal{ID: gateway.NewID("trm", now), Name: "Terminal bar",
				TokenHash: gateway.HashKey(gateway.NewSecret("ptt", 32)), DisplayCols: 16, DisplayRows: 8,
				PrinterCols: 32, Keys: []string{}, PairedAt: now}
			if err := tx.InsertTerminal(ctx, &tm); err != nil {
				return err
			}
			e.terminal = tm
		}
		tk, err := tx.TicketByID(ctx, ticketID)
		if err != nil {
			return err
		}
		p := gateway.Payment{ID: gateway.NewID("pay", now), TicketID: ticketID, DeviceID: e.terminal.ID,
			Terminal: e.terminal.Name, Requested: amount, Amount: amount, Currency: tk.Currency,
			Status: status, CreatedAt: now, Deadline: now.Add(time.Minute)}
		if status != gateway.PaymentPending && status != gateway.PaymentUnknown {
			p.CompletedAt = &now
		}
		if err := tx.InsertPayment(ctx, &p); err != nil {
			return err
		}
		if status != gateway.PaymentApproved {
			return nil
		}
		tk.Paid += amount
		switch {
		case tk.Paid < tk.Total:
			tk.Status = gateway.TicketPartiallyPaid
		case tk.Paid == tk.Total:
			tk.Status = gateway.TicketPaid
		default:
			tk.Status = gateway.TicketOverpaid
		}
		return tx.UpdateTicket(ctx, &tk)
	})
	if err != nil {
		t.Fatalf("add payment: %v", err)
	}
}

// ticketIn is a ticket as a till sends it.
type ticketIn = gateway.TicketInput

type line = gateway.Line

// note is the brief's example bill: 23,50 + 30,00 at 10 %.
func note(ref string) ticketIn {
	return ticketIn{Ref: ref, Table: "5", Covers: 2, Server: "Julie", Loyalty: "502",
		Lines: []line{
			{Label: "PLAT N°4", Qty: 1, UnitPrice: 2350, VATRate: 1000},
			{Label: "MENU ENFANT", Qty: 1, UnitPrice: 3000, VATRate: 1000},
		},
		Total: 5350}
}

// withLine returns in with one more line, the total kept right.
func withLine(in ticketIn, l line) ticketIn {
	in.Lines = append(append([]line(nil), in.Lines...), l)
	in.Total += l.Qty * l.UnitPrice
	return in
}

func fieldsOf(p tillapi.Problem) []string {
	var out []string
	for _, f := range p.Errors {
		out = append(out, f.Field)
	}
	return out
}

func hasField(p tillapi.Problem, field string) bool {
	for _, f := range p.Errors {
		if f.Field == field {
			return true
		}
	}
	return false
}

func itoa(n int) string { return fmt.Sprint(n) }
