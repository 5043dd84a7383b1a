package webhook_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/passerelle/passerelle/drivers/webhook"
	"github.com/passerelle/passerelle/gateway"
	"github.com/passerelle/passerelle/store"
)

// env is a gateway wired as cmd/passerelle's serve wires it, over a real
// SQLite file.
type env struct {
	st      *store.Store
	tickets *gateway.Tickets
	tills   *gateway.Tills
	events  *gateway.EventLog
	log     *slog.Logger
	close   func()
}

func openEnv(t *testing.T, path string) *env {
	t.Helper()
	ctx := context.Background()
	log := slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelDebug}))
	bus := gateway.NewEventBus(8192)
	st, err := store.Open(ctx, path, log, bus)
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	last, err := st.LastSeq(ctx)
	if err != nil {
		t.Fatalf("last seq: %v", err)
	}
	bus.Start(last)
	e := &env{
		st:      st,
		tickets: gateway.NewTickets(st, gateway.DefaultConfig().Rules, time.Now),
		tills:   gateway.NewTills(st, time.Now),
		events:  gateway.NewEventLog(st, bus),
		log:     log,
	}
	e.tills.AllowLoopbackCallbacks = true // the receivers are httptest servers on 127.0.0.1
	var once sync.Once
	e.close = func() { once.Do(func() { st.Close() }) }
	t.Cleanup(e.close)
	return e
}

func dbPath(t *testing.T) string { return filepath.Join(t.TempDir(), "passerelle.db") }

// fast are knobs small enough that retries take milliseconds. Loopback
// is allowed: the receivers are httptest servers on 127.0.0.1.
func fast(e *env) webhook.Config {
	return webhook.Config{Store: e.st, Events: e.events, Log: e.log,
		Client:     &http.Client{Timeout: 10 * time.Second},
		MinBackoff: 2 * time.Millisecond, MaxBackoff: 20 * time.Millisecond, Rescan: 10 * time.Millisecond,
		AllowLoopback: true}
}

// run starts a deliverer and returns what stops it, which returns once Run
// has. It is also called when the test ends, before the store is closed.
func run(t *testing.T, c webhook.Config) (stop func()) {
	return runDeliverer(t, webhook.New(c))
}

// runDeliverer is run for a deliverer the test keeps.
func runDeliverer(t *testing.T, d *webhook.Deliverer) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("Run: %v", err)
			}
		})
	}
	t.Cleanup(stop)
	return stop
}

func addTill(t *testing.T, e *env, name, callback string) gateway.Till {
	t.Helper()
	till, _, err := e.tills.Add(context.Background(), gateway.NewTill{Name: name, CallbackURL: callback})
	if err != nil {
		t.Fatalf("add till %s: %v", name, err)
	}
	return till
}

// submit creates or updates ticket ref; version v gives it v coffees.
func submit(t *testing.T, e *env, till gateway.Till, ref string, v int) {
	t.Helper()
	in := gateway.TicketInput{Ref: ref, Table: "5", Lines: []gateway.Line{
		{Label: "Menu midi", Qty: 1, UnitPrice: 1590, VATRate: 1000},
		{Label: "Café", Qty: int64(v), UnitPrice: 200, VATRate: 1000},
	}, Total: 1590 + 200*int64(v)}
	if _, _, err := e.tickets.Submit(context.Background(), till, in); err != nil {
		t.Fatalf("submit %s v%d: %v", ref, v, err)
	}
}

// eventsOf returns the till's events from the store: what it must receive.
func eventsOf(t *testing.T, e *env, till gateway.Till) []gateway.Event {
	t.Helper()
	evs, err := e.st.EventsAfter(context.Background(), gateway.EventQuery{TillID: till.ID, Limit: 10000})
	if err != nil {
		t.Fatalf("events of %s: %v", till.Name, err)
	}
	return evs
}

// delivery is one POST the receiver got.
type delivery struct {
	seq    int64 // Passerelle-Event-Id, -1 if missing or not a number
	typ    string
	sig    string
	body   []byte
	status int // what the receiver answered
}

// receiver is a till's webhook endpoint. answer decides the status of the
// nth POST (from 0); nil answers 200.
type receiver struct {
	mu     sync.Mutex
	got    []delivery
	answer func(n int, d delivery) int
	notify chan struct{}
}

func newReceiver(answer func(n int, d delivery) int) *receiver {
	return &receiver{answer: answer, notify: make(chan struct{}, 1)}
}

func (r *receiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	body, err := io.ReadAll(req.Body)
	if err != nil {
		return // the sender gave up: no answer to record
	}
	d := delivery{seq: -1, typ: req.Header.Get("Passerelle-Event-Type"),
		sig: req.Header.Get("Passerelle-Signature"), body: body, status: http.StatusOK}
	if n, err := strconv.ParseInt(req.Header.Get("Passerelle-Event-Id"), 10, 64); err == nil {
		d.seq = n
	}
	if req.Method != http.MethodPost || req.Header.Get("Content-Type") != "application/json" {
		d.status = http.StatusMethodNotAllowed
	}
	r.mu.Lock()
	if r.answer != nil && d.status == http.StatusOK {
		d.status = r.answer(len(r.got), d)
	}
	r.got = append(r.got, d)
	r.mu.Unlock()
	w.WriteHeader(d.status)
	select {
	case r.notify <- struct{}{}:
	default:
	}
}

func (r *receiver) deliveries() []delivery {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.got)
}

// acked returns the deliveries answered 2xx, in arrival order.
func (r *receiver) acked() []delivery {
	var out []delivery
	for _, d := range r.deliveries() {
		if d.status >= 200 && d.status <= 299 {
			out = append(out, d)
		}
	}
	return out
}

// waitFor waits until the receiver has acknowledged the event seq.
func (r *receiver) waitFor(t *testing.T, seq int64) {
	t.Helper()
	// Not a speed check: a bound on a deliverer that stopped delivering.
	deadline := time.After(30 * time.Second)
	for {
		for _, d := range r.acked() {
			if d.seq == seq {
				return
			}
		}
		select {
		case <-r.notify:
		case <-deadline:
			t.Fatalf("event %d never delivered; got %v", seq, seqs(r.deliveries()))
		}
	}
}

// waitForPosts waits until the receiver has had n POSTs, whatever it
// answered.
func (r *receiver) waitForPosts(t *testing.T, n int) {
	t.Helper()
	deadline := time.After(30 * time.Second)
	for len(r.deliveries()) < n {
		select {
		case <-r.notify:
		case <-deadline:
			t.Fatalf("%d POSTs, never %d", len(r.deliveries()), n)
		}
	}
}

func seqs(ds []delivery) []int64 {
	out := make([]int64, len(ds))
	for i, d := range ds {
		out[i] = d.seq
	}
	return out
}

func eventSeqs(evs []gateway.Event) []int64 {
	out := make([]int64, len(evs))
	for i, e := range evs {
		out[i] = e.Seq
	}
	return out
}

// checkSignature verifies the header against the spec's formula,
// t=<unix>,v1=<hex hmac-sha256(secret, t + "." + body)>, independently of
// webhook.Sign.
func checkSignature(secret, header string, body []byte) error {
	var ts, v1 string
	for part := range strings.SplitSeq(header, ",") {
		k, v, _ := strings.Cut(part, "=")
		switch k {
		case "t":
			ts = v
		case "v1":
			v1 = v
		}
	}
	unix, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return fmt.Errorf("signature %q: bad t", header)
	}
	if d := time.Since(time.Unix(unix, 0)); d < -5*time.Minute || d > 5*time.Minute {
		return fmt.Errorf("signature %q: t is %v away from now", header, d)
	}
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(ts + "." + string(body)))
	want := hex.EncodeToString(mac.Sum(nil))
	if !hmac.Equal([]byte(v1), []byte(want)) {
		return fmt.Errorf("signature %q: v1 is not the HMAC of t and the body", header)
	}
	return nil
}

// checkDelivery checks that a delivery is signed by till, names its event,
// and carries exactly the event's stored payload.
func checkDelivery(t *testing.T, till gateway.Till, d delivery, want gateway.Event) {
	t.Helper()
	if err := checkSignature(till.WebhookSecret, d.sig, d.body); err != nil {
		t.Errorf("event %d: %v", d.seq, err)
	}
	if d.seq != want.Seq || d.typ != want.Type || string(d.body) != string(want.Data) {
		t.Errorf("delivery of event %d (%s) is not the stored event %d (%s):\n%s\nwant\n%s",
			d.seq, d.typ, want.Seq, want.Type, d.body, want.Data)
	}
	var p struct {
		Type string `json:"type"`
	}
	if err := json.Unmarshal(d.body, &p); err != nil || p.Type != d.typ {
		t.Errorf("event %d: body type %q (%v), header %q", d.seq, p.Type, err, d.typ)
	}
}

// checkInOrder checks that attempts never go back to an earlier event: a
// till's events are tried one at a time, in seq order.
func checkInOrder(t *testing.T, ds []delivery) {
	t.Helper()
	for i := 1; i < len(ds); i++ {
		if ds[i].seq < ds[i-1].seq {
			t.Errorf("attempts out of order: %v", seqs(ds))
			return
		}
	}
}

// checkExactlyOnce checks that the acknowledged deliveries are the events,
// each once, in order, each signed and intact.
func checkExactlyOnce(t *testing.T, till gateway.Till, acked []delivery, want []gateway.Event) {
	t.Helper()
	if !slices.Equal(seqs(acked), eventSeqs(want)) {
		t.Fatalf("acknowledged deliveries %v, want the till's events %v", seqs(acked), eventSeqs(want))
	}
	for i, d := range acked {
		checkDelivery(t, till, d, want[i])
	}
}

func TestRetriesUntilAcknowledged(t *testing.T) {
	const failures = 4
	e := openEnv(t, dbPath(t))
	rcv := newReceiver(func(n int, _ delivery) int {
		if n < failures {
			return http.StatusServiceUnavailable
		}
		return http.StatusOK
	})
	srv := httptest.NewServer(rcv)
	defer srv.Close()
	till := addTill(t, e, "Caisse 1", srv.URL+"/hook")

	// Some events exist before the deliverer starts (read back from the
	// store), the others come while it runs (from the bus).
	submit(t, e, till, "101", 1)
	submit(t, e, till, "102", 1)
	stop := run(t, fast(e))
	submit(t, e, till, "101", 2)
	submit(t, e, till, "103", 1)
	submit(t, e, till, "102", 3)
	want := eventsOf(t, e, till)
	if len(want) != 5 {
		t.Fatalf("%d events, want 5", len(want))
	}
	rcv.waitFor(t, want[len(want)-1].Seq)
	// The receiver answers before the deliverer records the delivery.
	cursor := waitCursor(t, e, func(c gateway.WebhookCursor) bool { return c.DeliveredSeq == want[len(want)-1].Seq })
	stop()
	if cursor.TillID != till.ID || cursor.Attempts != 0 || cursor.LastError != "" {
		t.Errorf("cursor %+v, want till %s with no pending attempt", cursor, till.ID)
	}

	all := rcv.deliveries()
	checkInOrder(t, all)
	for i, d := range all[:failures] {
		if d.seq != want[0].Seq {
			t.Errorf("attempt %d was for event %d while event %d was refused", i, d.seq, want[0].Seq)
		}
		checkDelivery(t, till, d, want[0]) // every retry is signed too
	}
	checkExactlyOnce(t, till, rcv.acked(), want)
	if len(all) != failures+len(want) {
		t.Errorf("%d attempts, want %d refused and %d accepted", len(all), failures, len(want))
	}
}

// waitCursor waits until the only till's delivery state, as stored, is ok.
func waitCursor(t *testing.T, e *env, ok func(gateway.WebhookCursor) bool) gateway.WebhookCursor {
	t.Helper()
	// Not a speed check: a bound on a deliverer that stopped.
	deadline := time.After(30 * time.Second)
	for {
		cursors, err := e.st.WebhookCursors(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if len(cursors) > 1 {
			t.Fatalf("cursors %+v, want one till's", cursors)
		}
		if len(cursors) == 1 && ok(cursors[0]) {
			return cursors[0]
		}
		select {
		case <-deadline:
			t.Fatalf("cursors %+v never got there", cursors)
		case <-time.After(2 * time.Millisecond):
		}
	}
}

// serveOn serves h on ln, a listener bound by the test.
func serveOn(ln net.Listener, h http.Handler) *httptest.Server {
	srv := httptest.NewUnstartedServer(h)
	srv.Listener.Close()
	srv.Listener = ln
	srv.Start()
	return srv
}

func TestReceiverDownThenUp(t *testing.T) {
	e := openEnv(t, dbPath(t))
	rcv := newReceiver(nil)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	srv := serveOn(ln, rcv)
	till := addTill(t, e, "Caisse 1", "http://"+addr+"/hook")
	stop := run(t, fast(e))

	submit(t, e, till, "1", 1)
	submit(t, e, till, "2", 1)
	rcv.waitFor(t, eventsOf(t, e, till)[1].Seq)

	srv.Close()
	submit(t, e, till, "3", 1)
	submit(t, e, till, "1", 2)
	submit(t, e, till, "4", 1)
	want := eventsOf(t, e, till)

	// Down until the deliverer has failed a few times, as its cursor says.
	c := waitCursor(t, e, func(c gateway.WebhookCursor) bool { return c.Attempts >= 3 })
	if c.LastError == "" || c.DeliveredSeq != want[1].Seq {
		t.Errorf("while the receiver is down: cursor %+v, want delivered up to %d and an error", c, want[1].Seq)
	}

	// Up again at the same address, which is the till's callback URL.
	ln, err = net.Listen("tcp", addr)
	if err != nil {
		t.Fatalf("listen again on %s (taken by another process meanwhile?): %v", addr, err)
	}
	srv = serveOn(ln, rcv)
	defer srv.Close()
	rcv.waitFor(t, want[len(want)-1].Seq)
	stop()

	checkInOrder(t, rcv.deliveries())
	checkExactlyOnce(t, till, rcv.acked(), want)
}

func TestResumeFromCursorAfterRestart(t *testing.T) {
	path := dbPath(t)
	e1 := openEnv(t, path)

	// The third delivery is in flight when the deliverer stops: the receiver
	// takes it, but the deliverer may not learn so.
	// The handler holds that delivery until Run has returned, so the
	// deliverer certainly stops without the answer.
	const inFlight = 2
	stopc := make(chan func(), 1)
	stopped := make(chan struct{})
	rcv := newReceiver(func(n int, _ delivery) int {
		if n == inFlight {
			stop := <-stopc
			stop()
			close(stopped)
		}
		return http.StatusOK
	})
	srv := httptest.NewServer(rcv)
	defer srv.Close()
	till := addTill(t, e1, "Caisse 1", srv.URL+"/hook")
	for i := range 5 {
		submit(t, e1, till, strconv.Itoa(i+1), 1)
	}
	stopc <- run(t, fast(e1))
	<-stopped
	e1.close()

	// A new process: a new store handle on the same file, a new bus; events
	// written while no deliverer ran must go out too.
	e2 := openEnv(t, path)
	submit(t, e2, till, "3", 2)
	submit(t, e2, till, "6", 1)
	want := eventsOf(t, e2, till)
	run(t, fast(e2))
	rcv.waitFor(t, want[len(want)-1].Seq)

	all := rcv.deliveries()
	checkInOrder(t, all)
	acked := rcv.acked()
	inFlightSeq := all[inFlight].seq
	var once []delivery
	dups := 0
	for i, d := range acked {
		if i > 0 && d.seq == acked[i-1].seq {
			dups++
			if d.seq != inFlightSeq {
				t.Errorf("event %d delivered twice; only event %d was in flight at the stop", d.seq, inFlightSeq)
			}
			continue
		}
		once = append(once, d)
	}
	if dups > 1 {
		t.Errorf("%d duplicates, want at most 1: %v", dups, seqs(acked))
	}
	checkExactlyOnce(t, till, once, want)
	t.Logf("attempts %v (event %d in flight at the stop)", seqs(all), inFlightSeq)
}

func TestOnlyTheTillsOwnEvents(t *testing.T) {
	ctx := context.Background()
	e := openEnv(t, dbPath(t))
	url := func(r *receiver) string {
		srv := httptest.NewServer(r)
		t.Cleanup(srv.Close)
		return srv.URL + "/hook"
	}
	rcvA, rcvB, rcvOld := newReceiver(nil), newReceiver(nil), newReceiver(nil)
	a := addTill(t, e, "Caisse A", url(rcvA))
	web := addTill(t, e, "Web shop", "")
	old := addTill(t, e, "Ancienne caisse", url(rcvOld))
	submit(t, e, old, "1", 1)
	if err := e.tills.Revoke(ctx, old.Name); err != nil {
		t.Fatal(err)
	}
	stop := run(t, fast(e))
	// B comes while the deliverer runs: a rescan picks it up.
	b := addTill(t, e, "Caisse B", url(rcvB))

	// The same refs in every till (refs are per till), interleaved, A last.
	for i := range 4 {
		ref := strconv.Itoa(i + 1)
		submit(t, e, b, ref, 1)
		submit(t, e, web, ref, 1)
		submit(t, e, old, ref, 2) // a revoked till's tickets may still change
		submit(t, e, a, ref, 1)
	}
	submit(t, e, a, "2", 2)
	wantA, wantB := eventsOf(t, e, a), eventsOf(t, e, b)
	rcvA.waitFor(t, wantA[len(wantA)-1].Seq)
	rcvB.waitFor(t, wantB[len(wantB)-1].Seq)
	stop()

	checkExactlyOnce(t, a, rcvA.acked(), wantA)
	checkExactlyOnce(t, b, rcvB.acked(), wantB)
	if got := rcvOld.deliveries(); len(got) != 0 {
		t.Errorf("the revoked till got events %v", seqs(got))
	}
}

// flaky is the real store with failures injected into what the deliverer
// calls: a full disk, a lock held too long.
type flaky struct {
	*store.Store
	tills, cursor, save atomic.Bool  // fail these calls while set
	failed              atomic.Int64 // calls failed so far
}

var errInjected = errors.New("injected store failure")

func (f *flaky) fail(on *atomic.Bool) error {
	if on.Load() {
		f.failed.Add(1)
		return errInjected
	}
	return nil
}

func (f *flaky) Tills(ctx context.Context) ([]gateway.Till, error) {
	if err := f.fail(&f.tills); err != nil {
		return nil, err
	}
	return f.Store.Tills(ctx)
}

func (f *flaky) WebhookCursor(ctx context.Context, tillID string) (int64, error) {
	if err := f.fail(&f.cursor); err != nil {
		return 0, err
	}
	return f.Store.WebhookCursor(ctx, tillID)
}

func (f *flaky) SaveWebhookCursor(ctx context.Context, c gateway.WebhookCursor, from int64, url string) error {
	if err := f.fail(&f.save); err != nil {
		return err
	}
	return f.Store.SaveWebhookCursor(ctx, c, from, url)
}

// waitFailed waits until n more injected failures have happened.
func (f *flaky) waitFailed(t *testing.T, n int64) {
	t.Helper()
	// Not a speed check: a bound on a deliverer that stopped calling.
	deadline := time.Now().Add(30 * time.Second)
	for target := f.failed.Load() + n; f.failed.Load() < target; {
		if time.Now().After(deadline) {
			t.Fatalf("the deliverer stopped calling the store")
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func TestStoreErrorsDoNotStopDelivery(t *testing.T) {
	e := openEnv(t, dbPath(t))
	rcv := newReceiver(nil)
	srv := httptest.NewServer(rcv)
	defer srv.Close()
	till := addTill(t, e, "Caisse 1", srv.URL+"/hook")
	st := &flaky{Store: e.st}
	cfg := fast(e)
	cfg.Store = st

	// The cursor cannot be read when delivery starts.
	st.cursor.Store(true)
	submit(t, e, till, "1", 1)
	stop := run(t, cfg)
	st.waitFailed(t, 3)
	st.cursor.Store(false)
	rcv.waitFor(t, eventsOf(t, e, till)[0].Seq)

	// Neither the till list nor the cursor can be written or read for a
	// while: deliveries go on meanwhile.
	st.tills.Store(true)
	st.save.Store(true)
	submit(t, e, till, "2", 1)
	st.waitFailed(t, 3)
	submit(t, e, till, "1", 2)
	rcv.waitFor(t, eventsOf(t, e, till)[2].Seq)
	st.tills.Store(false)
	st.save.Store(false)

	submit(t, e, till, "3", 1)
	want := eventsOf(t, e, till)
	rcv.waitFor(t, want[len(want)-1].Seq)
	waitCursor(t, e, func(c gateway.WebhookCursor) bool { return c.DeliveredSeq == want[len(want)-1].Seq })
	stop()
	checkInOrder(t, rcv.deliveries())
	checkExactlyOnce(t, till, rcv.acked(), want)
}

func TestBackoff(t *testing.T) {
	const min, max = 100 * time.Millisecond, 2 * time.Second
	tests := []struct {
		attempts int
		want     time.Duration // before jitter
	}{
		{1, 100 * time.Millisecond},
		{2, 200 * time.Millisecond},
		{3, 400 * time.Millisecond},
		{4, 800 * time.Millisecond},
		{5, 1600 * time.Millisecond},
		{6, 2 * time.Second},
		{7, 2 * time.Second},
		{1000, 2 * time.Second}, // no overflow however long the outage
	}
	for _, tt := range tests {
		t.Run(strconv.Itoa(tt.attempts), func(t *testing.T) {
			lo, mid := tt.want*8/10, tt.want*9/10
			var below, above bool
			for range 500 {
				d := webhook.Backoff(tt.attempts, min, max)
				if d < lo || d > tt.want {
					t.Fatalf("Backoff(%d) = %v, want within 20 %% below %v", tt.attempts, d, tt.want)
				}
				below, above = below || d < mid, above || d > mid
			}
			// The jitter spreads over the whole 20 %, not a fixed offset.
			if !below || !above {
				t.Errorf("Backoff(%d) never went both above and below %v: no real jitter", tt.attempts, mid)
			}
		})
	}
}
