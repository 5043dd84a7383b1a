package listener_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/passerelle/passerelle/drivers/listener"
	"github.com/passerelle/passerelle/drivers/tillapi"
	"github.com/passerelle/passerelle/gateway"
	"github.com/passerelle/passerelle/store"
)

// maxWait bounds a wait for something that must happen: a guard against a
// hang, not a measure of speed.
const maxWait = 15 * time.Second

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

// holdStore is the real store, with a hook run on the way into the next
// Update: the test holds a request there, before its commit.
type holdStore struct {
	*store.Store
	mu   sync.Mutex
	hold func(ctx context.Context)
}

func (h *holdStore) Update(ctx context.Context, fn func(gateway.Tx) error) error {
	h.mu.Lock()
	f := h.hold
	h.hold = nil
	h.mu.Unlock()
	if f != nil {
		f(ctx)
	}
	return h.Store.Update(ctx, fn)
}

func (h *holdStore) holdNext(f func(ctx context.Context)) {
	h.mu.Lock()
	h.hold = f
	h.mu.Unlock()
}

// gw is the till API served by the real listener, on a real store in a
// temporary directory, wired as cmd/passerelle's serve wires it.
type gw struct {
	st    *holdStore
	url   string
	addr  string
	key   string
	logs  *syncBuffer
	stop  context.CancelFunc // starts the shutdown
	ran   chan error         // what Run returned
	store *store.Store
}

func start(t *testing.T) *gw {
	t.Helper()
	ctx := context.Background()
	logs := &syncBuffer{}
	log := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	bus := gateway.NewEventBus(64)
	st, err := store.Open(ctx, filepath.Join(t.TempDir(), "passerelle.db"), log, bus)
	if err != nil {
		t.Fatal(err)
	}
	// Closed last, after Run has returned, as serve does.
	t.Cleanup(func() { st.Close() })
	last, err := st.LastSeq(ctx)
	if err != nil {
		t.Fatal(err)
	}
	bus.Start(last)
	hs := &holdStore{Store: st}
	tills := gateway.NewTills(st, time.Now)
	_, key, err := tills.Add(ctx, gateway.NewTill{Name: "Caisse 1"})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	tillapi.New(tillapi.Config{
		Tickets: gateway.NewTickets(hs, gateway.DefaultConfig().Rules, time.Now),
		Tills:   tills, Events: gateway.NewEventLog(st, bus), Log: log,
		Health: func(context.Context) tillapi.Health { return tillapi.Health{Status: "ok"} },
	}).Register(mux)

	runCtx, stop := context.WithCancel(ctx)
	srv, err := listener.Listen(runCtx, "127.0.0.1:0", nil, mux, log)
	if err != nil {
		t.Fatal(err)
	}
	g := &gw{st: hs, store: st, addr: srv.Addr().String(), url: "http://" + srv.Addr().String(),
		key: key, logs: logs, stop: stop, ran: make(chan error, 1)}
	go func() { g.ran <- srv.Run(runCtx) }()
	t.Cleanup(func() {
		stop()
		select {
		case <-g.ran:
		case <-time.After(maxWait):
			t.Error("Run never returned")
		}
	})
	return g
}

// wait returns what Run returned once it has.
func (g *gw) wait(t *testing.T) error {
	t.Helper()
	select {
	case err := <-g.ran:
		g.ran <- err // for the cleanup
		return err
	case <-time.After(maxWait):
		t.Fatal("Run never returned")
	}
	return nil
}

// waitClosed waits until the listener refuses connections: the shutdown
// has begun.
func (g *gw) waitClosed(t *testing.T) {
	t.Helper()
	deadline := time.Now().Add(maxWait)
	for {
		c, err := net.Dial("tcp", g.addr)
		if err != nil {
			return
		}
		c.Close()
		if time.Now().After(deadline) {
			t.Fatal("the listener still accepts connections")
		}
		time.Sleep(time.Millisecond)
	}
}

// waitLog waits until the logs hold s.
func (g *gw) waitLog(t *testing.T, s string) {
	t.Helper()
	deadline := time.Now().Add(maxWait)
	for !strings.Contains(g.logs.String(), s) {
		if time.Now().After(deadline) {
			t.Fatalf("no %q in the logs:\n%s", s, g.logs)
		}
		time.Sleep(time.Millisecond)
	}
}

const ticketJSON = `{"ref":"1253","table":"5","lines":[{"label":"PLAT N°4","qty":1,"unit_price":2350,"vat_rate":1000}],"total":2350}`

func (g *gw) postTicket(ctx context.Context) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, "POST", g.url+"/api/v1/tickets", strings.NewReader(ticketJSON))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+g.key)
	req.Header.Set("Content-Type", "application/json")
	return http.DefaultClient.Do(req)
}

type result struct {
	status int
	body   []byte
	err    error
}

// A service stop while a till's POST is on its way to the commit lets it
// finish: the till gets its 201 and the ticket is stored, then the server
// stops, without cutting anything off.
func TestShutdownLetsACommitFinish(t *testing.T) {
	g := start(t)
	entered, release := make(chan struct{}), make(chan struct{})
	g.st.holdNext(func(context.Context) {
		close(entered)
		<-release
	})
	res := make(chan result, 1)
	go func() {
		resp, err := g.postTicket(context.Background())
		if err != nil {
			res <- result{err: err}
			return
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		res <- result{status: resp.StatusCode, body: b, err: err}
	}()
	<-entered
	g.stop()
	g.waitClosed(t)
	close(release)

	r := <-res
	if r.err != nil || r.status != http.StatusCreated {
		t.Fatalf("POST during the shutdown: %d %s %v, want 201", r.status, r.body, r.err)
	}
	var tk gateway.Ticket
	if err := json.Unmarshal(r.body, &tk); err != nil {
		t.Fatal(err)
	}
	if err := g.wait(t); err != nil {
		t.Errorf("Run: %v", err)
	}
	if strings.Contains(g.logs.String(), "cut off") || strings.Contains(g.logs.String(), "level=ERROR") {
		t.Errorf("logs:\n%s", g.logs)
	}
	got, err := g.store.Ticket(context.Background(), tk.ID)
	if err != nil || got.Ref != "1253" || got.Total != 2350 {
		t.Errorf("stored ticket %+v, %v", got, err)
	}
}

// An event stream never ends by itself: the shutdown ends it at once
// rather than waiting out its grace and cutting it off.
func TestShutdownEndsEventStreams(t *testing.T) {
	g := start(t)
	req, err := http.NewRequest("GET", g.url+"/api/v1/events", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+g.key)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("events: %d", resp.StatusCode)
	}
	br := bufio.NewReader(resp.Body)
	if l, err := br.ReadString('\n'); err != nil || !strings.HasPrefix(l, ":") {
		t.Fatalf("first line %q, %v", l, err)
	}
	g.stop()
	if _, err := io.Copy(io.Discard, br); err != nil {
		t.Logf("stream ended with %v", err)
	}
	if err := g.wait(t); err != nil {
		t.Errorf("Run: %v", err)
	}
	if strings.Contains(g.logs.String(), "cut off") {
		t.Errorf("the stream was cut off at the end of the grace, not ended:\n%s", g.logs)
	}
}

// A till that hangs up while its POST is on its way to the commit is not
// a gateway error: it is logged as a client gone away.
func TestClientGoneIsNotAnError(t *testing.T) {
	g := start(t)
	entered := make(chan struct{})
	g.st.holdNext(func(ctx context.Context) {
		close(entered)
		<-ctx.Done() // the server has seen the client go
	})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		if resp, err := g.postTicket(ctx); err == nil {
			resp.Body.Close()
			t.Errorf("POST answered %d after the client hung up", resp.StatusCode)
		}
	}()
	<-entered
	cancel()
	<-done
	g.waitLog(t, "client went away")
	if strings.Contains(g.logs.String(), "level=ERROR") {
		t.Errorf("a client that hung up is logged as an error:\n%s", g.logs)
	}
}
