package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/passerelle/passerelle/gateway"
	"github.com/passerelle/passerelle/store"
	"github.com/passerelle/passerelle/sync/hub"
	"github.com/passerelle/passerelle/sync/hub/hubtest"
	"github.com/passerelle/passerelle/sync/upstream"
)

// hubProc is a running `passerelle hub run`.
type hubProc struct {
	cmd    *exec.Cmd
	log    *hubLog
	exited chan struct{}
}

var hubStartedLine = regexp.MustCompile(`msg="passerelle hub started"`)

type hubLog struct {
	mu      sync.Mutex
	buf     bytes.Buffer
	started chan struct{}
	sent    bool
}

func (l *hubLog) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.buf.Write(b)
	if !l.sent && hubStartedLine.Match(l.buf.Bytes()) {
		l.sent = true
		close(l.started)
	}
	return len(b), nil
}

func (l *hubLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// startHub runs the hub on addr (a fixed port: the gateway's settings
// name it, and a restarted hub must be found there again).
func startHub(t *testing.T, bin, data, addr string, extra ...string) *hubProc {
	t.Helper()
	h := &hubProc{cmd: exec.Command(bin, append([]string{"hub", "run", "--data", data, "--listen", addr, "--no-tls"}, extra...)...),
		log: &hubLog{started: make(chan struct{})}, exited: make(chan struct{})}
	h.cmd.Stdout, h.cmd.Stderr = h.log, h.log
	if err := h.cmd.Start(); err != nil {
		t.Fatalf("start hub: %v", err)
	}
	go func() {
		h.cmd.Wait()
		close(h.exited)
	}()
	t.Cleanup(func() { h.kill(t) })
	select {
	case <-h.log.started:
	case <-h.exited:
		t.Fatalf("hub exited before starting (%v):\n%s", h.cmd.ProcessState, h.log.String())
	case <-time.After(time.Minute): // a bound on a hub that never starts, not a speed check
		t.Fatalf("hub did not start:\n%s", h.log.String())
	}
	return h
}

func (h *hubProc) kill(t *testing.T) {
	select {
	case <-h.exited:
	default:
		h.cmd.Process.Kill()
		<-h.exited
	}
	if strings.Contains(h.log.String(), "DATA RACE") {
		t.Errorf("the hub reported a data race:\n%s", h.log.String())
	}
}

// poster posts new tickets, one after the other, until stopped or the
// gateway goes away, and reports each acknowledgement.
func poster(hc *http.Client, url, key string, next *int, mu *sync.Mutex, acked chan<- struct{}, stop <-chan struct{}) {
	for {
		select {
		case <-stop:
			return
		default:
		}
		mu.Lock()
		*next++
		ref := "S" + strconv.Itoa(*next)
		mu.Unlock()
		in := gateway.TicketInput{Ref: ref, Table: "7", Currency: "EUR", Total: 1250,
			Lines: []gateway.Line{{Label: "Plat du jour", Qty: 1, UnitPrice: 1250, VATRate: 1000}}}
		status, err := postTicket(hc, url, key, in)
		if err != nil || status >= 300 {
			return
		}
		select {
		case acked <- struct{}{}:
		default:
		}
	}
}

// TestCrashSyncExactlyOnce kills the real hub and the real gateway with
// SIGKILL, in turns, while a till posts tickets and the gateway pushes
// them, then checks that the hub has each of the shop's events once, the
// same as the shop's, and that the shop answered all along.
func TestCrashSyncExactlyOnce(t *testing.T) {
	bin := buildPasserelle(t)
	gwData, hubData := t.TempDir(), t.TempDir()
	out, err := exec.Command(bin, "hub", "store", "add", "Chez Julie", "--json", "--data", hubData).Output()
	if err != nil {
		t.Fatalf("hub store add: %v", err)
	}
	var added struct{ StoreID, Key string }
	if err := json.Unmarshal(bytes.ReplaceAll(out, []byte("store_id"), []byte("storeid")), &added); err != nil || added.Key == "" {
		t.Fatalf("hub store add printed %s (%v)", out, err)
	}
	addr := freeAddr(t)
	h := startHub(t, bin, hubData, addr)
	tillKey := addTill(t, bin, gwData, "Caisse 1")
	set := exec.Command(bin, "upstream", "set", "--data", gwData, "--url", "http://"+addr, "--store", added.StoreID, "--key-stdin")
	set.Stdin = strings.NewReader(added.Key + "\n")
	if out, err := set.CombinedOutput(); err != nil || !bytes.Contains(out, []byte("connection test: ok")) {
		t.Fatalf("upstream set: %v\n%s", err, out)
	}
	g := startGateway(t, bin, gwData)

	cycles := 6
	if testing.Short() {
		cycles = 2
	}
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 3))
	hc := &http.Client{Timeout: 30 * time.Second}
	var next int
	var mu sync.Mutex
	for cycle := range cycles {
		acked := make(chan struct{}, 1)
		stop := make(chan struct{})
		var wg sync.WaitGroup
		for range 2 {
			wg.Go(func() { poster(hc, g.url, tillKey, &next, &mu, acked, stop) })
		}
		<-acked
		time.Sleep(time.Duration(rng.Int64N(int64(300 * time.Millisecond))))
		if cycle%2 == 0 {
			h.kill(t)
			// The shop works on without its hub.
			<-acked
			if resp, err := hc.Get(g.url + "/healthz"); err != nil || resp.StatusCode != 200 {
				t.Fatalf("healthz with the hub down: %v %v", resp, err)
			} else {
				resp.Body.Close()
			}
			h = startHub(t, bin, hubData, addr)
		} else {
			g.kill(t)
			g = startGateway(t, bin, gwData)
		}
		close(stop)
		wg.Wait()
		hc.CloseIdleConnections()
	}

	// Both up: the gateway catches up; then both are stopped hard and
	// their files compared.
	deadline := time.Now().Add(2 * time.Minute)
	for {
		out, err := exec.Command(bin, "upstream", "status", "--json", "--data", gwData).Output()
		var s upstream.Status
		if err == nil && json.Unmarshal(out, &s) == nil && s.Queue == 0 && s.State == gateway.UpstreamOK && s.LastSeq > 0 {
			t.Logf("in sync at %d events", s.LastSeq)
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("not in sync: %s %v\ngateway:\n%s\nhub:\n%s", out, err, g.log.String(), h.log.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	g.kill(t)
	h.kill(t)
	db, err := hub.Open(context.Background(), filepath.Join(hubData, hubDBFile), time.Now)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	compareLogs(t, gwData, db, added.StoreID)
}

// compareLogs checks the hub's copy of the shop's log against the shop's.
func compareLogs(t *testing.T, gwData string, db *hub.DB, storeID string) {
	t.Helper()
	ctx := context.Background()
	st, err := store.Open(ctx, filepath.Join(gwData, dbFile), slog.New(slog.DiscardHandler), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if res, err := db.IntegrityCheck(ctx); err != nil || res != "ok" {
		t.Fatalf("hub integrity check: %q %v", res, err)
	}
	mine, err := st.EventsAfter(ctx, gateway.EventQuery{Limit: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	theirs, err := db.Events(ctx, storeID, 0, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	if n, _ := db.EventCount(ctx, storeID); n != int64(len(mine)) || len(theirs) != len(mine) {
		t.Fatalf("the shop has %d events, the hub %d (%d listed)", len(mine), n, len(theirs))
	}
	for i := range mine {
		a, b := mine[i], theirs[i]
		if a.Seq != b.Seq || a.Type != b.Type || !a.At.Equal(b.At) || !bytes.Equal(compact(t, a.Data), compact(t, b.Data)) {
			t.Fatalf("event %d differs: shop %d %s, hub %d %s", i, a.Seq, a.Type, b.Seq, b.Type)
		}
	}
	t.Logf("%d events, each once at the hub", len(mine))
}

func compact(t *testing.T, b []byte) []byte {
	var out bytes.Buffer
	if err := json.Compact(&out, b); err != nil {
		t.Fatalf("event data: %v", err)
	}
	return out.Bytes()
}

// TestPostgresTwoHubProcesses: two hub processes on one PostgreSQL
// database behind a round-robin proxy of the test's; one of them is
// killed with SIGKILL and restarted, over and over, while a till posts and
// the gateway pushes: nothing lost or doubled.
func TestPostgresTwoHubProcesses(t *testing.T) {
	if testing.Short() {
		t.Skip("a PostgreSQL cluster takes seconds to start")
	}
	cl := hubtest.StartPostgres(t)
	dbURL := cl.NewDatabase(t, "hub")
	bin := buildPasserelle(t)
	gwData, hubData := t.TempDir(), t.TempDir()
	out, err := exec.Command(bin, "hub", "store", "add", "Chez Julie", "--json", "--data", hubData, "--database", dbURL).Output()
	if err != nil {
		t.Fatalf("hub store add: %v", err)
	}
	var added struct {
		StoreID string `json:"store_id"`
		Key     string `json:"key"`
	}
	if err := json.Unmarshal(out, &added); err != nil {
		t.Fatalf("hub store add printed %s", out)
	}
	addrs := []string{freeAddr(t), freeAddr(t)}
	hubs := []*hubProc{startHub(t, bin, hubData, addrs[0], "--database", dbURL), startHub(t, bin, hubData, addrs[1], "--database", dbURL)}
	var turn atomic.Int64
	var served [2]atomic.Int64
	proxies := make([]*httputil.ReverseProxy, 2)
	for i, a := range addrs {
		proxies[i] = httputil.NewSingleHostReverseProxy(&url.URL{Scheme: "http", Host: a})
		proxies[i].ErrorLog = log.New(io.Discard, "", 0) // a hub down is the point
	}
	lb := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		i := turn.Add(1) % 2
		served[i].Add(1)
		proxies[i].ServeHTTP(w, r) // a hub down answers 502: the gateway retries
	}))
	defer lb.Close()

	tillKey := addTill(t, bin, gwData, "Caisse 1")
	set := exec.Command(bin, "upstream", "set", "--data", gwData, "--url", lb.URL, "--store", added.StoreID, "--key-stdin")
	set.Stdin = strings.NewReader(added.Key + "\n")
	if out, err := set.CombinedOutput(); err != nil {
		t.Fatalf("upstream set: %v\n%s", err, out)
	}
	g := startGateway(t, bin, gwData)
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 5))
	hc := &http.Client{Timeout: 30 * time.Second}
	var next int
	var mu sync.Mutex
	acked := make(chan struct{}, 1)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for range 2 {
		wg.Go(func() { poster(hc, g.url, tillKey, &next, &mu, acked, stop) })
	}
	kills := 4
	if testing.Short() {
		kills = 2
	}
	for range kills {
		<-acked
		time.Sleep(time.Duration(rng.Int64N(int64(300 * time.Millisecond))))
		victim := rng.IntN(2)
		hubs[victim].kill(t)
		<-acked // the shop goes on
		hubs[victim] = startHub(t, bin, hubData, addrs[victim], "--database", dbURL)
	}
	close(stop)
	wg.Wait()
	deadline := time.Now().Add(2 * time.Minute)
	for {
		out, err := exec.Command(bin, "upstream", "status", "--json", "--data", gwData).Output()
		var s upstream.Status
		if err == nil && json.Unmarshal(out, &s) == nil && s.Queue == 0 && s.State == gateway.UpstreamOK && s.LastSeq > 0 {
			t.Logf("in sync at %d events; requests served by each hub: %d, %d", s.LastSeq, served[0].Load(), served[1].Load())
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("not in sync: %s %v\ngateway:\n%s", out, err, g.log.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	g.kill(t)
	for _, h := range hubs {
		h.kill(t)
	}
	db, err := hub.OpenPostgres(context.Background(), dbURL, time.Now)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	compareLogs(t, gwData, db, added.StoreID)
}
