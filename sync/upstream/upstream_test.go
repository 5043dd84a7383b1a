package upstream_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/passerelle/passerelle/gateway"
	"github.com/passerelle/passerelle/store"
	"github.com/passerelle/passerelle/sync/hub"
	"github.com/passerelle/passerelle/sync/upstream"
)

// shop is a real gateway store with its till and terminal.
type shop struct {
	st       *store.Store
	events   *gateway.EventLog
	tickets  *gateway.Tickets
	payments *gateway.Payments
	till     gateway.Till
	term     gateway.Terminal
	n        int
}

func newShop(t *testing.T) *shop {
	t.Helper()
	ctx := context.Background()
	bus := gateway.NewEventBus(256)
	st, err := store.Open(ctx, filepath.Join(t.TempDir(), "passerelle.db"), slog.New(slog.DiscardHandler), bus)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	s := &shop{st: st, events: gateway.NewEventLog(st, bus),
		tickets:  gateway.NewTickets(st, gateway.DefaultConfig().Rules, time.Now),
		payments: gateway.NewPayments(st, time.Now, 0)}
	if s.till, _, err = gateway.NewTills(st, time.Now).Add(ctx, gateway.NewTill{Name: "Caisse 1"}); err != nil {
		t.Fatal(err)
	}
	terms := gateway.NewTerminals(st, time.Now)
	code, _, err := terms.NewPairingCode(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if s.term, _, err = terms.Connect(ctx, "127.0.0.1", gateway.Hello{Serial: "A1", PairingCode: code}); err != nil {
		t.Fatal(err)
	}
	return s
}

// sale makes a ticket and pays it: ticket.created, payment.started,
// payment.approved, ticket.paid.
func (s *shop) sale(t *testing.T) {
	t.Helper()
	ctx := context.Background()
	s.n++
	tk, _, err := s.tickets.Submit(ctx, s.till, gateway.TicketInput{Ref: fmt.Sprintf("T%d", s.n), Table: "5",
		Lines: []gateway.Line{{Label: "MENU", Qty: 1, UnitPrice: int64(1000 + s.n), VATRate: 1000}}, Total: int64(1000 + s.n)})
	if err != nil {
		t.Fatal(err)
	}
	p, _, err := s.payments.Start(ctx, s.term, tk.ID, tk.Total, 0)
	if err != nil {
		t.Fatal(err)
	}
	_, _, err = s.payments.Record(ctx, s.term.ID, gateway.Result{PaymentID: p.ID, Status: gateway.PaymentApproved,
		Amount: p.Amount, Currency: "EUR", Card: &gateway.Card{Scheme: "CB", MaskedPAN: "#####5743", Entry: "chip"},
		AuthCode: "185568", TransactionRef: fmt.Sprintf("TX%06d", s.n), MerchantID: "0000015000", TerminalID: "02189020000"})
	if err != nil {
		t.Fatal(err)
	}
}

// hubRig is a hub on a real SQLite file behind an httptest server.
type hubRig struct {
	db      *hub.DB
	srv     *httptest.Server
	storeID string
	key     string
}

func newHub(t *testing.T) *hubRig {
	t.Helper()
	db, err := hub.Open(context.Background(), filepath.Join(t.TempDir(), "hub.db"), time.Now)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	s, key, err := db.AddStore(context.Background(), "Chez Julie")
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(hub.NewServer(hub.Config{DB: db, Log: slog.New(slog.DiscardHandler)}).Handler())
	t.Cleanup(srv.Close)
	return &hubRig{db: db, srv: srv, storeID: s.ID, key: key}
}

// settings is the gateway's upstream settings, changed by the test.
type settings struct {
	mu    sync.Mutex
	u     gateway.Upstream
	reads atomic.Int64
}

func (s *settings) get() (gateway.Upstream, error) {
	s.reads.Add(1)
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.u, nil
}

func (s *settings) set(u gateway.Upstream) {
	s.mu.Lock()
	s.u = u
	s.mu.Unlock()
}

// run starts the client with fast timings and stops it with the test.
func run(t *testing.T, sh *shop, set *settings, tune func(*upstream.Config)) {
	t.Helper()
	c := upstream.Config{Store: sh.st, Events: sh.events, Settings: set.get, Log: slog.New(slog.DiscardHandler),
		MinBackoff: time.Millisecond, MaxBackoff: 20 * time.Millisecond, RefusedRetry: 20 * time.Millisecond,
		SettingsPoll: 20 * time.Millisecond, Timeout: 5 * time.Second}
	if tune != nil {
		tune(&c)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		upstream.New(c).Run(ctx)
	}()
	t.Cleanup(func() {
		cancel()
		<-done
	})
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func status(t *testing.T, sh *shop, set *settings) upstream.Status {
	t.Helper()
	u, _ := set.get()
	s, err := upstream.ReadStatus(context.Background(), sh.st, u, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// checkExactlyOnce compares the hub's copy with the shop's log, event by
// event, and the hub's payments with the shop's approved ones.
func checkExactlyOnce(t *testing.T, sh *shop, h *hubRig) {
	t.Helper()
	ctx := context.Background()
	last, _ := sh.st.LastSeq(ctx)
	waitFor(t, "the hub to have every event", func() bool {
		n, _ := h.db.EventCount(ctx, h.storeID)
		return n == last && status(t, sh, &settings{}).AckedThrough == last
	})
	mine, err := sh.st.EventsAfter(ctx, gateway.EventQuery{Limit: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	theirs, err := h.db.Events(ctx, h.storeID, 0, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	if len(mine) != len(theirs) {
		t.Fatalf("the shop has %d events, the hub %d", len(mine), len(theirs))
	}
	for i := range mine {
		a, b := mine[i], theirs[i]
		if a.Seq != b.Seq || a.Type != b.Type || !a.At.Equal(b.At) || !jsonEqual(a.Data, b.Data) {
			t.Fatalf("event %d differs:\nshop %d %s %s\nhub  %d %s %s", i, a.Seq, a.Type, a.Data, b.Seq, b.Type, b.Data)
		}
	}
	pays, err := h.db.Payments(ctx, h.storeID, time.Now().In(time.UTC).Format(time.DateOnly))
	if err != nil {
		t.Fatal(err)
	}
	refs := map[string]int{}
	sales := 0
	for _, p := range pays {
		if !strings.HasPrefix(p.TransactionRef, "TX") {
			continue // not one of sale's
		}
		sales++
		if p.Status != "approved" || p.AuthCode != "185568" || p.TerminalID != "02189020000" || p.Scheme != "CB" || p.MaskedPAN != "#####5743" {
			t.Fatalf("payment %+v", p)
		}
		refs[p.TransactionRef]++
	}
	for i := 1; i <= sh.n; i++ {
		if ref := fmt.Sprintf("TX%06d", i); refs[ref] != 1 {
			t.Fatalf("payment %s listed %d times at the hub", ref, refs[ref])
		}
	}
	if sales != sh.n {
		t.Fatalf("the hub lists %d payments, the shop made %d", sales, sh.n)
	}
}

func jsonEqual(a, b []byte) bool {
	var x, y any
	if json.Unmarshal(a, &x) != nil || json.Unmarshal(b, &y) != nil {
		return false
	}
	ja, _ := json.Marshal(x)
	jb, _ := json.Marshal(y)
	return bytes.Equal(ja, jb)
}

func (h *hubRig) settings(url string) *settings {
	return &settings{u: gateway.Upstream{URL: url, StoreID: h.storeID, Key: h.key}}
}

func TestPushEverythingOnce(t *testing.T) {
	sh, h := newShop(t), newHub(t)
	for range 3 {
		sh.sale(t)
	}
	set := h.settings(h.srv.URL)
	run(t, sh, set, nil)
	checkExactlyOnce(t, sh, h)
	// What happens next goes up too, and the state is ok.
	for range 2 {
		sh.sale(t)
	}
	checkExactlyOnce(t, sh, h)
	if s := status(t, sh, set); s.State != gateway.UpstreamOK || s.Queue != 0 || s.LastSuccess == nil || s.LastError != "" {
		t.Fatalf("status %+v", s)
	}
}

// TestBatchesOfAtMost500 pushes a backlog larger than a batch.
func TestBatchesOfAtMost500(t *testing.T) {
	sh, h := newShop(t), newHub(t)
	var sizes []int
	var mu sync.Mutex
	proxy := newProxy(t, h.srv.URL, func(n int, body []byte) action {
		var b struct{ Events []json.RawMessage }
		json.Unmarshal(body, &b)
		mu.Lock()
		sizes = append(sizes, len(b.Events))
		mu.Unlock()
		return pass
	})
	sh.sale(t)
	// 1 200 more events in one commit: a backlog.
	err := sh.st.Update(context.Background(), func(tx gateway.Tx) error {
		for i := range 1200 {
			e := gateway.Event{Type: gateway.EventTerminalPaired, At: time.Now(), Data: json.RawMessage(fmt.Sprintf(`{"n":%d}`, i))}
			if err := tx.AppendEvent(context.Background(), &e); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	run(t, sh, h.settings(proxy.URL), nil)
	checkExactlyOnce(t, sh, h)
	mu.Lock()
	defer mu.Unlock()
	for _, n := range sizes {
		if n > 500 {
			t.Fatalf("a batch of %d events", n)
		}
	}
	if len(sizes) < 3 {
		t.Fatalf("1 200 events in %d batches", len(sizes))
	}
}

type action int

const (
	pass       action = iota
	dropAnswer        // the hub applies the batch, the answer is lost
	fail503           // the proxy answers 503, the hub never sees it
	slow              // the hub applies it, the answer comes after the client gave up
	tooMany           // 429 with Retry-After: 0
)

// newProxy is a loopback proxy in front of the hub that does to the n-th
// request what decide says.
func newProxy(t *testing.T, target string, decide func(n int, body []byte) action) *httptest.Server {
	t.Helper()
	u, _ := url.Parse(target)
	rp := httputil.NewSingleHostReverseProxy(u)
	var count atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		n := int(count.Add(1))
		r.Body = io.NopCloser(bytes.NewReader(body))
		switch decide(n, body) {
		case pass:
			rp.ServeHTTP(w, r)
		case fail503:
			http.Error(w, "hub overloaded", http.StatusServiceUnavailable)
		case tooMany:
			w.Header().Set("Retry-After", "0")
			http.Error(w, "slow down", http.StatusTooManyRequests)
		case dropAnswer, slow:
			rec := httptest.NewRecorder()
			rp.ServeHTTP(rec, r.WithContext(context.Background()))
			if rec.Code != http.StatusOK {
				t.Errorf("the hub answered %d behind the proxy", rec.Code)
			}
			if decide(0, nil) == slow {
				<-r.Context().Done() // the client's timeout
			}
			conn, _, err := http.NewResponseController(w).Hijack()
			if err == nil {
				conn.Close()
			}
		}
	}))
	t.Cleanup(srv.Close)
	return srv
}

// TestLostAnswers503AndSlowHub: every kind of trouble between the shop and
// the hub, one request in two, and still each event once.
func TestLostAnswers503AndSlowHub(t *testing.T) {
	for _, tc := range []struct {
		name string
		a    action
	}{{"answer lost after the hub applied", dropAnswer}, {"503", fail503}, {"slow hub", slow}, {"429", tooMany}} {
		t.Run(tc.name, func(t *testing.T) {
			sh, h := newShop(t), newHub(t)
			var troubled atomic.Int64
			proxy := newProxy(t, h.srv.URL, func(n int, _ []byte) action {
				if n == 0 {
					return tc.a
				}
				if n%2 == 1 && n < 40 {
					troubled.Add(1)
					return tc.a
				}
				return pass
			})
			set := h.settings(proxy.URL)
			run(t, sh, set, func(c *upstream.Config) {
				if tc.a == slow {
					c.Timeout = 300 * time.Millisecond
				}
			})
			for range 10 {
				sh.sale(t)
			}
			checkExactlyOnce(t, sh, h)
			for range 10 {
				sh.sale(t)
			}
			checkExactlyOnce(t, sh, h)
			if troubled.Load() == 0 {
				t.Fatal("no request was troubled")
			}
		})
	}
}

// TestHubDownForAWhile: the shop works with no hub, then catches up.
func TestHubDownForAWhile(t *testing.T) {
	sh, h := newShop(t), newHub(t)
	// A port where nothing listens, then the hub behind it.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	set := h.settings("http://" + addr)
	run(t, sh, set, nil)
	for range 20 {
		sh.sale(t)
	}
	waitFor(t, "a failed attempt", func() bool { return status(t, sh, set).LastError != "" })
	s := status(t, sh, set)
	if s.State == gateway.UpstreamError || s.AckedThrough != 0 || s.Queue != s.LastSeq || s.LastSeq < 80 || s.OldestUnsent == nil {
		t.Fatalf("hub down: %+v", s)
	}
	ln, err = net.Listen("tcp", addr)
	if err != nil {
		t.Skipf("the port was taken meanwhile: %v", err)
	}
	srv := &http.Server{Handler: h.srv.Config.Handler}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	checkExactlyOnce(t, sh, h)
	if s := status(t, sh, set); s.State != gateway.UpstreamOK || s.LastError != "" {
		t.Fatalf("after: %+v", s)
	}
}

// TestGapRecovery: the shop's cursor is ahead of the hub (a new hub, a
// restored one): the 409 brings it back and everything goes up once.
func TestGapRecovery(t *testing.T) {
	sh, h := newShop(t), newHub(t)
	for range 5 {
		sh.sale(t)
	}
	if err := sh.st.SaveUpstreamCursor(context.Background(), gateway.UpstreamCursor{AckedThrough: 12}); err != nil {
		t.Fatal(err)
	}
	run(t, sh, h.settings(h.srv.URL), nil)
	checkExactlyOnce(t, sh, h)
}

// TestWrongKey: state error, shown, and no retry storm: one attempt per
// RefusedRetry, however many times the loop wakes meanwhile; a new key
// is taken at the next look at the settings.
func TestWrongKey(t *testing.T) {
	sh, h := newShop(t), newHub(t)
	var requests atomic.Int64
	proxy := newProxy(t, h.srv.URL, func(n int, _ []byte) action {
		if n > 0 {
			requests.Add(1)
		}
		return pass
	})
	set := h.settings(proxy.URL)
	good := set.u
	bad := good
	bad.Key = "phs_WRONG"
	set.set(bad)
	sh.sale(t)
	run(t, sh, set, func(c *upstream.Config) { c.RefusedRetry, c.SettingsPoll = time.Hour, 2*time.Millisecond })
	waitFor(t, "state error", func() bool { return status(t, sh, set).State == gateway.UpstreamError })
	if s := status(t, sh, set); s.LastError == "" || s.AckedThrough != 0 {
		t.Fatalf("status %+v", s)
	}
	// The loop looks at the settings every SettingsPoll: let it do so
	// many times, then count what reached the hub.
	from := set.reads.Load()
	waitFor(t, "the settings read 50 more times", func() bool { return set.reads.Load() > from+50 })
	if n := requests.Load(); n != 1 {
		t.Fatalf("%d requests with a refused key within the hour, want 1", n)
	}
	set.set(good)
	checkExactlyOnce(t, sh, h)
	if s := status(t, sh, set); s.State != gateway.UpstreamOK {
		t.Fatalf("with the right key: %+v", s)
	}
}

// TestPinnedHub: a self-signed hub is reached through its pin only.
func TestPinnedHub(t *testing.T) {
	sh, h := newShop(t), newHub(t)
	tlsHub := httptest.NewTLSServer(h.srv.Config.Handler)
	defer tlsHub.Close()
	sum := sha256.Sum256(tlsHub.Certificate().Raw)
	set := h.settings(tlsHub.URL)
	set.u.CAFingerprint = fmt.Sprintf("%x", bytes.Repeat([]byte{7}, 32)) // another certificate's
	sh.sale(t)
	run(t, sh, set, nil)
	waitFor(t, "state error", func() bool { return status(t, sh, set).State == gateway.UpstreamError })
	if s := status(t, sh, set); s.AckedThrough != 0 {
		t.Fatalf("pushed to an unpinned hub: %+v", s)
	}
	u := set.u
	u.CAFingerprint = fmt.Sprintf("%x", sum)
	set.set(u)
	checkExactlyOnce(t, sh, h)

	// Without a pin, the system's roots do not know it.
	tgt, err := upstream.Resolve(gateway.Upstream{URL: tlsHub.URL, StoreID: h.storeID, Key: h.key}, "")
	if err != nil {
		t.Fatal(err)
	}
	_, _, _, err = upstream.Post(context.Background(), upstream.NewHTTPClient(tgt, 5*time.Second), tgt, []byte(`{"events":[]}`))
	if !errors.Is(err, upstream.ErrPin) {
		t.Fatalf("an unknown self-signed hub: %v", err)
	}
}

// TestOffKeepsTheQueue: off, the shop keeps its events; on again, they go.
func TestOffKeepsTheQueue(t *testing.T) {
	sh, h := newShop(t), newHub(t)
	set := h.settings(h.srv.URL)
	on := set.u
	off := on
	no := false
	off.Enabled = &no
	set.set(off)
	run(t, sh, set, nil)
	for range 3 {
		sh.sale(t)
	}
	from := set.reads.Load()
	waitFor(t, "the settings read again", func() bool { return set.reads.Load() > from+3 })
	if n, _ := h.db.EventCount(context.Background(), h.storeID); n != 0 {
		t.Fatalf("%d events pushed while off", n)
	}
	if s := status(t, sh, set); s.State != gateway.UpstreamDisabled || s.Queue != s.LastSeq || s.Queue < 12 {
		t.Fatalf("off: %+v", s)
	}
	set.set(on)
	checkExactlyOnce(t, sh, h)
}
