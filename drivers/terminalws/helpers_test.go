package terminalws_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
	_ "time/tzdata" // the golden receipts are printed in Europe/Paris time on every machine

	"github.com/gorilla/websocket"

	"github.com/passerelle/passerelle/drivers/receipt"
	"github.com/passerelle/passerelle/drivers/terminalws"
	"github.com/passerelle/passerelle/drivers/tillapi"
	"github.com/passerelle/passerelle/gateway"
	"github.com/passerelle/passerelle/store"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// wait bounds every wait for the gateway: generous, so that a slow CI
// machine under -race never fails a test, while a hang still fails it.
const wait = 10 * time.Second

// clock is a settable clock. With a step, each reading advances it, so
// that IDs sort in creation order; the steps are milliseconds, far below
// what a receipt prints.
type clock struct {
	mu     sync.Mutex
	now    time.Time
	step   time.Duration
	origin time.Time // where Elapsed counts from
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(c.step)
	return c.now
}

// Elapsed is the clock as a monotonic one, for the payments' deadlines:
// the time it has moved since it was made, Advance included.
func (c *clock) Elapsed() time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.origin.IsZero() {
		c.origin = c.now
	}
	c.now = c.now.Add(c.step)
	return c.now.Sub(c.origin)
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// env is a gateway wired as cmd/passerelle's serve wires it (till API and
// terminal WebSocket on one mux), served by httptest on a real store in a
// temporary directory.
type env struct {
	t         testing.TB
	srv       *httptest.Server
	st        *store.Store
	tickets   *gateway.Tickets
	terminals *gateway.Terminals
	payments  *gateway.Payments
	hub       *terminalws.Hub
	till      gateway.Till
	tillKey   string
	tills     *gateway.Tills
	eventLog  *gateway.EventLog
	dbPath    string // for a second handle on the store, as the CLI opens it

	termClock *clock // the pairing and bad-tries clock: tests move it by hand
	payClock  *clock // the payments' clock: tests move it past deadlines
	logs      *syncBuffer

	stopHub func()        // ends the hub's Run, as the gateway's stop does
	hubDone chan struct{} // closed when the hub's Run has returned
	hubErr  error         // what it returned, once hubDone is closed
}

type envOptions struct {
	deadline time.Duration // payments' deadline; the default when zero
	// unlimited lifts the message rate limit, for tests that drive
	// terminals far faster than a waiter can.
	unlimited bool
	scenarios string // the scenarios file; the default one when ""
	// expireEvery, if set, is how often the hub sweeps payments past their
	// deadline (tests that wait for the sweep).
	expireEvery time.Duration
	// events, if set, wraps the event log the hub follows (tests that make
	// it fail); eventRetry and eventOutage replace the hub's defaults.
	events      func(terminalws.EventSource) terminalws.EventSource
	eventRetry  time.Duration
	eventOutage time.Duration
	// clock, if set, hears the time of the terminals' results.
	clock *gateway.ClockWatch
	// pingInterval, if set, replaces the hub's.
	pingInterval time.Duration
}

// Fixed times of the golden receipts: the payment is completed at 19:45:02
// and the note printed at 20:45, Paris time, on 25 November 2026.
var (
	payTime   = time.Date(2026, 11, 25, 18, 45, 2, 0, time.UTC)
	printTime = time.Date(2026, 11, 25, 19, 45, 0, 0, time.UTC)
)

func newEnv(t testing.TB, opt envOptions) *env {
	t.Helper()
	ctx := context.Background()
	logs := &syncBuffer{}
	log := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	bus := gateway.NewEventBus(8192)
	dbPath := filepath.Join(t.TempDir(), "passerelle.db")
	st, err := store.Open(ctx, dbPath, log, bus)
	if err != nil {
		t.Fatalf("store.Open: %v", err)
	}
	t.Cleanup(func() { st.Close() })
	last, err := st.LastSeq(ctx)
	if err != nil {
		t.Fatalf("LastSeq: %v", err)
	}
	bus.Start(last)

	file := gateway.DefaultScenariosYAML()
	if opt.scenarios != "" {
		file = []byte(opt.scenarios)
	}
	set, err := gateway.ParseScenarios(file)
	if err != nil {
		t.Fatalf("scenarios: %v", err)
	}
	loc, err := time.LoadLocation("Europe/Paris")
	if err != nil {
		t.Fatal(err)
	}
	ticketClock := &clock{now: time.Date(2026, 11, 25, 18, 42, 0, 0, time.UTC), step: time.Millisecond}
	payClock := &clock{now: payTime, step: time.Millisecond}
	termClock := &clock{now: time.Date(2026, 11, 25, 18, 0, 0, 0, time.UTC)}
	cfg := gateway.DefaultConfig()

	tickets := gateway.NewTickets(st, cfg.Rules, ticketClock.Now)
	tills := gateway.NewTills(st, ticketClock.Now)
	events := gateway.NewEventLog(st, bus)
	payments := gateway.NewPayments(st, payClock.Now, opt.deadline)
	payments.SetMonotonic(payClock.Elapsed)
	terminals := gateway.NewTerminals(st, termClock.Now)
	printer := receipt.Printer{Location: loc, Now: func() time.Time { return printTime },
		Shop: receipt.Header{Name: "NOM DU RESTAURANT", Address: "12 RUE DE LA RÉPUBLIQUE\n69002 LYON", Phone: "04 78 00 00 00"}}
	hc := terminalws.Config{
		Terminals: terminals,
		Payments:  payments,
		Sessions:  gateway.NewSessions(st, payments, func() gateway.ScenarioSet { return set }, printer, ticketClock.Now),
		Events:    events,
		Log:       log,
		Tills:     tills,
	}
	if opt.unlimited {
		hc.RateLimit, hc.RateBurst = 1e6, 1e6
	}
	hc.ExpireInterval = opt.expireEvery
	hc.PingInterval = opt.pingInterval
	hc.Clock = opt.clock
	hc.EventRetry, hc.EventOutage = opt.eventRetry, opt.eventOutage
	if opt.events != nil {
		hc.Events = opt.events(events)
	}
	hub := terminalws.New(hc)
	mux := http.NewServeMux()
	hub.Register(mux)
	tillapi.New(tillapi.Config{Tickets: tickets, Tills: tills, Events: events, Log: log, Abort: hub.Abort,
		Health: func(context.Context) tillapi.Health { return tillapi.Health{Status: "ok"} }}).Register(mux)
	srv := httptest.NewServer(mux)
	t.Cleanup(func() {
		srv.CloseClientConnections() // event streams never end by themselves
		srv.Close()
	})
	hctx, stop := context.WithCancel(ctx)
	e := &env{t: t, srv: srv, st: st, tickets: tickets, terminals: terminals, payments: payments, hub: hub,
		tills: tills, eventLog: events, dbPath: dbPath,
		termClock: termClock, payClock: payClock, logs: logs, stopHub: stop, hubDone: make(chan struct{})}
	go func() {
		defer close(e.hubDone)
		e.hubErr = hub.Run(hctx)
	}()
	t.Cleanup(func() {
		stop()
		<-e.hubDone // every terminal connection is closed
		if t.Failed() {
			t.Logf("gateway log:\n%s", logs.String())
		}
	})

	e.till, e.tillKey, err = tills.Add(ctx, gateway.NewTill{Name: "Caisse 1"})
	if err != nil {
		t.Fatalf("add till: %v", err)
	}
	return e
}

// syncBuffer collects the slog output of the whole gateway.
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

// note is the brief's bill for table 5: 23,50 + 30,00 at 10 %.
func note(ref, table string) gateway.TicketInput {
	return gateway.TicketInput{Ref: ref, Table: table, Covers: 2, Server: "Julie", Loyalty: "502",
		Lines: []gateway.Line{
			{Label: "PLAT N°4", Qty: 1, UnitPrice: 2350, VATRate: 1000},
			{Label: "PLAT N°1", Qty: 1, UnitPrice: 3000, VATRate: 1000},
		},
		Total: 5350}
}

// bill is a one-line ticket of total cents.
func bill(ref, table string, total int64) gateway.TicketInput {
	return gateway.TicketInput{Ref: ref, Table: table,
		Lines: []gateway.Line{{Label: "MENU", Qty: 1, UnitPrice: total, VATRate: 1000}}, Total: total}
}

// postStatus posts in as the till does, over HTTP with the till's key,
// and returns the answer's status and body.
func (e *env) postStatus(t testing.TB, in gateway.TicketInput) (int, []byte) {
	t.Helper()
	body, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	req, err := http.NewRequest("POST", e.srv.URL+"/api/v1/tickets", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+e.tillKey)
	req.Header.Set("Content-Type", "application/json")
	resp, err := e.srv.Client().Do(req)
	if err != nil {
		t.Fatalf("POST ticket: %v", err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

// post sends a ticket as the till does, over HTTP.
func (e *env) post(t testing.TB, in gateway.TicketInput) gateway.Ticket {
	t.Helper()
	status, b := e.postStatus(t, in)
	if status != http.StatusCreated {
		t.Fatalf("POST ticket: status %d: %s", status, b)
	}
	var tk gateway.Ticket
	if err := json.Unmarshal(b, &tk); err != nil {
		t.Fatalf("decode ticket: %v in %s", err, b)
	}
	return tk
}

// ticket reads a ticket, with its payments, from the store.
func (e *env) ticket(t testing.TB, id string) gateway.Ticket {
	t.Helper()
	tk, err := e.st.Ticket(context.Background(), id)
	if err != nil {
		t.Fatalf("ticket %s: %v", id, err)
	}
	return tk
}

// checkTicket fails unless the ticket stands as expected.
func (e *env) checkTicket(t testing.TB, id string, status gateway.TicketStatus, paid, due int64) gateway.Ticket {
	t.Helper()
	tk := e.ticket(t, id)
	if tk.Status != status || tk.Paid != paid || tk.Due != due {
		t.Errorf("ticket %s: status %s paid %d due %d, want %s paid %d due %d",
			tk.Ref, tk.Status, tk.Paid, tk.Due, status, paid, due)
	}
	return tk
}

// statuses counts a ticket's payments by status.
func statuses(tk gateway.Ticket) map[gateway.PaymentStatus]int {
	n := map[gateway.PaymentStatus]int{}
	for _, p := range tk.Payments {
		n[p.Status]++
	}
	return n
}

// events returns every event in the store.
func (e *env) events(t testing.TB) []gateway.Event {
	t.Helper()
	evs, err := e.st.EventsAfter(context.Background(), gateway.EventQuery{Limit: 100000})
	if err != nil {
		t.Fatal(err)
	}
	return evs
}

// countEvents counts the events of type typ about payment paymentID (all
// payments if "").
func (e *env) countEvents(t testing.TB, typ, paymentID string) int {
	t.Helper()
	n := 0
	for _, ev := range e.events(t) {
		if ev.Type == typ && (paymentID == "" || ev.PaymentID == paymentID) {
			n++
		}
	}
	return n
}

// waitUntil polls cond until it holds; it fails the test after wait.
func waitUntil(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(wait)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting until %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// sseEvent is one event of the till's stream.
type sseEvent struct {
	ID   string
	Type string
	Data struct {
		Type      string         `json:"type"`
		TicketID  string         `json:"ticket_id"`
		TicketRef string         `json:"ticket_ref"`
		PaymentID string         `json:"payment_id"`
		At        string         `json:"at"`
		Ticket    gateway.Ticket `json:"ticket"`
	}
}

// tillEvents reads the till's event stream from the start, as a till
// does (GET /api/v1/events?after=0 with its key), until it has every event
// the store holds for the till.
func (e *env) tillEvents(t testing.TB) []sseEvent {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	want, err := e.st.EventsAfter(ctx, gateway.EventQuery{TillID: e.till.ID, Limit: 100000})
	if err != nil {
		t.Fatal(err)
	}
	req, err := http.NewRequestWithContext(ctx, "GET", e.srv.URL+"/api/v1/events?after=0", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+e.tillKey)
	resp, err := e.srv.Client().Do(req)
	if err != nil {
		t.Fatalf("GET events: %v", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET events: status %d", resp.StatusCode)
	}
	var out []sseEvent
	var cur sseEvent
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for len(out) < len(want) && sc.Scan() {
		line := sc.Text()
		switch {
		case line == "":
			if cur.Type != "" {
				out = append(out, cur)
			}
			cur = sseEvent{}
		case strings.HasPrefix(line, "id: "):
			cur.ID = line[4:]
		case strings.HasPrefix(line, "event: "):
			cur.Type = line[7:]
		case strings.HasPrefix(line, "data: "):
			if err := json.Unmarshal([]byte(line[6:]), &cur.Data); err != nil {
				t.Fatalf("event data: %v in %s", err, line)
			}
		}
	}
	if len(out) < len(want) {
		t.Fatalf("event stream: %d events of %d, then %v", len(out), len(want), sc.Err())
	}
	return out
}

// goldenLines compares print jobs with testdata/name, or rewrites it
// with -update.
func goldenLines(t testing.TB, name string, jobs [][]string) {
	t.Helper()
	var b strings.Builder
	for i, lines := range jobs {
		fmt.Fprintf(&b, "=== print job %d ===\n", i+1)
		for _, l := range lines {
			b.WriteString(l + "\n")
		}
	}
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if got := b.String(); got != string(want) {
		t.Errorf("print jobs differ from %s (go test -update rewrites it):\n--- got\n%s--- want\n%s", path, got, want)
	}
}

// item is an entry of a menu or a choice of a ticket screen.
type item struct {
	ID    string `json:"id"`
	Label string `json:"label"`
}

// msg is any message the gateway sends. The client decodes strictly: a
// field that the protocol does not have fails the test.
type msg struct {
	Type       string   `json:"type"`
	ScreenID   string   `json:"screen_id"`
	Kind       string   `json:"kind"`
	Title      string   `json:"title"`
	Items      []item   `json:"items"`
	Input      string   `json:"input"`
	Min        int      `json:"min"`
	Max        int      `json:"max"`
	Lines      []string `json:"lines"`
	Total      *int64   `json:"total"`
	Due        *int64   `json:"due"`
	Choices    []item   `json:"choices"`
	TimeoutS   int      `json:"timeout_s"`
	PaymentID  string   `json:"payment_id"`
	Amount     int64    `json:"amount"`
	Tip        int64    `json:"tip"`
	Currency   string   `json:"currency"`
	TicketRef  string   `json:"ticket_ref"`
	Label      string   `json:"label"`
	JobID      string   `json:"job_id"`
	Cut        bool     `json:"cut"`
	Status     string   `json:"status"`
	Code       string   `json:"code"`
	Message    string   `json:"message"`
	TerminalID string   `json:"terminal_id"`
	Name       string   `json:"name"`
	Token      string   `json:"token"`

	raw []byte
}

func (m msg) String() string { return string(m.raw) }

// term is a test terminal: a real WebSocket client.
type term struct {
	t      testing.TB
	ws     *websocket.Conn
	in     chan msg
	err    error // why reading stopped, once in is closed
	screen msg   // the screen shown

	id, name, token string
}

// dial opens a WebSocket to the gateway; header may be nil.
func (e *env) dial(header http.Header) (*websocket.Conn, *http.Response, error) {
	d := websocket.Dialer{Subprotocols: []string{terminalws.Subprotocol}, HandshakeTimeout: wait}
	return d.Dial("ws"+strings.TrimPrefix(e.srv.URL, "http")+"/ws/terminal", header)
}

// connect dials and starts reading; it says nothing yet.
func (e *env) connect(t testing.TB) *term {
	t.Helper()
	ws, resp, err := e.dial(nil)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	if p := resp.Header.Get("Sec-WebSocket-Protocol"); p != terminalws.Subprotocol {
		t.Errorf("subprotocol %q, want %q", p, terminalws.Subprotocol)
	}
	c := &term{t: t, ws: ws, in: make(chan msg, 1024)}
	go c.read()
	t.Cleanup(func() { ws.Close() })
	return c
}

func (c *term) read() {
	defer close(c.in)
	for {
		_, data, err := c.ws.ReadMessage()
		if err != nil {
			c.err = err
			return
		}
		var m msg
		dec := json.NewDecoder(bytes.NewReader(data))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&m); err != nil {
			m.Type = "undecodable: " + err.Error()
		}
		m.raw = data
		c.in <- m
	}
}

// next returns the next message. A menu sent again with the same screen ID
// (a refresh) only updates the screen shown.
func (c *term) next() msg {
	c.t.Helper()
	timer := time.NewTimer(wait)
	defer timer.Stop()
	for {
		select {
		case m, ok := <-c.in:
			if !ok {
				c.t.Fatalf("connection closed: %v", c.err)
			}
			if m.Type == "screen" {
				refresh := m.ScreenID == c.screen.ScreenID
				c.screen = m
				if refresh {
					continue
				}
			}
			return m
		case <-timer.C:
			c.t.Fatalf("no message from the gateway in %v", wait)
		}
	}
}

// expect returns the next message, which must be of type typ.
func (c *term) expect(typ string) msg {
	c.t.Helper()
	m := c.next()
	if m.Type != typ {
		c.t.Fatalf("got %s, want a %s", m, typ)
	}
	return m
}

// expectScreen returns the next message, which must be a screen of kind.
func (c *term) expectScreen(kind string) msg {
	c.t.Helper()
	m := c.expect("screen")
	if m.Kind != kind {
		c.t.Fatalf("got %s, want a %s screen", m, kind)
	}
	return m
}

// expectError returns the next message, which must be an error of code.
func (c *term) expectError(code string) msg {
	c.t.Helper()
	m := c.expect("error")
	if m.Code != code {
		c.t.Fatalf("got %s, want error %s", m, code)
	}
	return m
}

// expectClosed waits until the gateway closes the connection, failing on
// any message but errors, and returns the read error.
func (c *term) expectClosed() error {
	c.t.Helper()
	timer := time.NewTimer(wait)
	defer timer.Stop()
	for {
		select {
		case m, ok := <-c.in:
			if !ok {
				return c.err
			}
			if m.Type != "error" {
				c.t.Fatalf("got %s, want the connection closed", m)
			}
		case <-timer.C:
			c.t.Fatalf("the gateway did not close the connection in %v", wait)
		}
	}
}

// send writes one message.
func (c *term) send(v any) {
	c.t.Helper()
	if err := c.trySend(v); err != nil {
		c.t.Fatalf("send: %v", err)
	}
}

// trySend writes one message; safe from another goroutine than the test's
// as long as it is the only one writing.
func (c *term) trySend(v any) error {
	data, ok := v.([]byte)
	if !ok {
		var err error
		if data, err = json.Marshal(v); err != nil {
			return err
		}
	}
	c.ws.SetWriteDeadline(time.Now().Add(wait))
	return c.ws.WriteMessage(websocket.TextMessage, data)
}

// drop cuts the connection as a lost link would, without a close
// message: the gateway reads EOF after what was sent.
func (c *term) drop() {
	c.t.Helper()
	if err := c.ws.NetConn().(*net.TCPConn).CloseWrite(); err != nil {
		c.t.Fatalf("drop: %v", err)
	}
	c.expectClosedQuietly()
}

// expectClosedQuietly waits for the end of the connection, whatever comes
// before it.
func (c *term) expectClosedQuietly() {
	c.t.Helper()
	timer := time.NewTimer(wait)
	defer timer.Stop()
	for {
		select {
		case _, ok := <-c.in:
			if !ok {
				c.ws.Close()
				return
			}
		case <-timer.C:
			c.t.Fatalf("the connection did not end in %v", wait)
		}
	}
}

func hello(credential, value string) map[string]any {
	return map[string]any{"type": "hello", "serial": "SIM0001", "model": "SIM-1", "app_version": "1.0.0",
		credential: value, "display": map[string]int{"cols": 16, "rows": 8}, "printer": map[string]int{"cols": 32},
		"keys": []string{"F1", "F2"}}
}

// code asks for a pairing code, as the manager does.
func (e *env) code(t testing.TB) string {
	t.Helper()
	code, _, err := e.terminals.NewPairingCode(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return code
}

// pair pairs a new terminal with a fresh code.
func (e *env) pair(t testing.TB) *term {
	t.Helper()
	c := e.connect(t)
	c.send(hello("pairing_code", e.code(t)))
	w := c.expect("welcome")
	if w.TerminalID == "" || w.Name == "" || w.Token == "" {
		t.Fatalf("welcome without terminal_id, name or token: %s", w)
	}
	c.id, c.name, c.token = w.TerminalID, w.Name, w.Token
	return c
}

// reconnect connects again with the terminal's token.
func (e *env) reconnect(t testing.TB, old *term) *term {
	t.Helper()
	c := e.connect(t)
	c.send(hello("token", old.token))
	w := c.expect("welcome")
	if w.TerminalID != old.id || w.Token != "" {
		t.Fatalf("welcome on reconnection: %s, want terminal %s and no new token", w, old.id)
	}
	c.id, c.name, c.token = old.id, old.name, old.token
	return c
}

func (c *term) start(key string) {
	c.t.Helper()
	c.send(map[string]string{"type": "start", "key": key})
}

// answer answers the screen shown.
func (c *term) answer(value string) {
	c.t.Helper()
	c.send(c.answerMsg(value))
}

func (c *term) answerMsg(value string) map[string]string {
	return map[string]string{"type": "answer", "screen_id": c.screen.ScreenID, "value": value}
}

// table runs F2 up to the ticket screen of table.
func (c *term) table(table string) msg {
	c.t.Helper()
	c.start("F2")
	if s := c.expectScreen("input"); s.Title != "NUMÉRO DE TABLE ?" {
		c.t.Fatalf("F2 asks %q", s.Title)
	}
	c.answer(table)
	return c.expectScreen("ticket")
}

// result is a payment_result as a terminal sends it.
type result struct {
	Type           string   `json:"type"`
	PaymentID      string   `json:"payment_id"`
	Status         string   `json:"status"`
	Amount         int64    `json:"amount"`
	Tip            int64    `json:"tip"`
	Currency       string   `json:"currency"`
	Card           *card    `json:"card,omitempty"`
	AuthCode       string   `json:"auth_code,omitempty"`
	TransactionRef string   `json:"transaction_ref,omitempty"`
	MerchantID     string   `json:"merchant_id,omitempty"`
	TerminalID     string   `json:"terminal_id,omitempty"`
	At             string   `json:"at,omitempty"`
	Receipt        []string `json:"receipt,omitempty"`
}

type card struct {
	Scheme    string `json:"scheme"`
	MaskedPAN string `json:"masked_pan"`
	Entry     string `json:"entry"`
}

// approved is the terminal's approval of pay, the brief's card and
// references, at a fixed time.
func approved(pay msg) result {
	return result{Type: "payment_result", PaymentID: pay.PaymentID, Status: "approved", Amount: pay.Amount,
		Currency: pay.Currency, Card: &card{Scheme: "CB", MaskedPAN: "#####5743", Entry: "chip"},
		AuthCode: "185568", TransactionRef: "185568D324964D", MerchantID: "0000015000", TerminalID: "02189020000",
		At: "2026-11-25T18:45:02Z", Receipt: []string{"CARTE BANCAIRE", "#####5743"}}
}

// declined is the terminal's refusal of pay.
func declined(pay msg) result {
	return result{Type: "payment_result", PaymentID: pay.PaymentID, Status: "declined", Amount: pay.Amount,
		Currency: pay.Currency, At: "2026-11-25T18:45:02Z"}
}

func paymentState(id, status string) map[string]string {
	return map[string]string{"type": "payment_state", "payment_id": id, "status": status}
}

// approve sends the approval of pay, expects the ack, then collects the
// print jobs (answering printed) up to the next screen or done, which it
// returns.
func (c *term) approve(pay msg) ([][]string, msg) {
	c.t.Helper()
	return c.approveWith(pay, approved(pay))
}

// approveWith is approve with the terminal's result r.
func (c *term) approveWith(pay msg, r result) ([][]string, msg) {
	c.t.Helper()
	c.send(r)
	if a := c.expect("ack"); a.PaymentID != pay.PaymentID {
		c.t.Fatalf("ack for %s, want %s", a.PaymentID, pay.PaymentID)
	}
	var jobs [][]string
	for {
		m := c.next()
		switch m.Type {
		case "print":
			if !m.Cut || m.JobID == "" {
				c.t.Errorf("print job without job_id or cut: %s", m)
			}
			jobs = append(jobs, m.Lines)
			c.send(map[string]string{"type": "printed", "job_id": m.JobID})
		case "screen", "done":
			return jobs, m
		default:
			c.t.Fatalf("got %s after an approval", m)
		}
	}
}

// expectPay expects a pay request for amount.
func (c *term) expectPay(amount int64) msg {
	c.t.Helper()
	p := c.expect("pay")
	if p.Amount != amount || p.Currency != "EUR" || p.PaymentID == "" {
		c.t.Fatalf("got %s, want a pay of %d EUR", p, amount)
	}
	return p
}

// isClosed reports whether err is the end of a connection that the test
// expected to end.
func isClosed(err error) bool {
	var ce *websocket.CloseError
	return err != nil && (errors.As(err, &ce) || errors.Is(err, io.EOF) || errors.Is(err, net.ErrClosed) ||
		strings.Contains(err.Error(), "connection reset"))
}
