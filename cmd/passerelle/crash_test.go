package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/passerelle/passerelle/drivers/terminalsim"
	"github.com/passerelle/passerelle/gateway"
	"github.com/passerelle/passerelle/store"
)

// TestCrashLosesNothingAcknowledged kills the real gateway with SIGKILL
// while four tills post tickets to it and two terminals pay tickets of a
// fifth, over and over on the same data directory, and checks after each
// kill that every ticket that got a 2xx is there once, at least as new as
// its last acknowledged version, that every payment the gateway
// acknowledged is there approved once, that no ticket is paid twice, that
// the event log has no gap and that SQLite finds the file sound. Some
// cycles (where strace is installed) die inside a write of the database:
// strace sends SIGKILL on entry to a random pwrite64.
//
// `make soak` runs it with PASSERELLE_SOAK_CYCLES=500; `make test` runs 20.
func TestCrashLosesNothingAcknowledged(t *testing.T) {
	bin := buildPasserelle(t)
	data := t.TempDir()
	key := addTill(t, bin, data, "Caisse 1")
	payKey := addTill(t, bin, data, "Caisse terminaux")
	addr := freeAddr(t)

	cycles := soakCycles(t)
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d, %d cycles", seed, cycles)
	rng := rand.New(rand.NewPCG(seed, 1))
	clients := make([]*crashClient, 4)
	for i := range clients {
		clients[i] = &crashClient{id: i, rng: rand.New(rand.NewPCG(seed, uint64(i)+2)), key: key}
	}
	payers := make([]*crashPayer, 2)
	for i := range payers {
		payers[i] = &crashPayer{id: i, key: payKey, state: filepath.Join(t.TempDir(), "terminal.json"),
			approved: map[string]bool{}, posted: map[string]bool{}}
	}
	tracer := newWriteKiller(t)

	began := time.Now()
	var inFlight, landed, injected, startupDeaths int
	for cycle := range cycles {
		inject := 0
		if tracer != nil && cycle%4 == 3 {
			inject = 1 + rng.IntN(80)
		}
		g, started := startCrashGateway(t, bin, data, addr, tracer, inject)
		if started {
			runCrashCycle(t, rng, g, bin, data, clients, payers)
		} else {
			startupDeaths++
		}
		if g.killedByInjection() {
			injected++
		}
		if t.Failed() {
			t.Fatalf("cycle %d: gateway output:\n%s", cycle, g.log.String())
		}
		in, l := checkAfterCrash(t, data, clients, payers)
		inFlight, landed = inFlight+in, landed+l
		if t.Failed() {
			t.Fatalf("cycle %d failed (seed %d); gateway output:\n%s", cycle, seed, g.log.String())
		}
	}
	acked := 0
	for _, c := range clients {
		acked += c.acks
	}
	approved := map[string]bool{}
	for _, p := range payers {
		for id := range p.approved {
			approved[id] = true
		}
	}
	t.Logf("%d cycles in %s: %d ticket requests acknowledged; %d in flight at a kill, of which %d had landed; "+
		"%d payments approved; %d cycles killed by strace inside a write (%d of them before the gateway had started)",
		cycles, time.Since(began).Round(time.Second), acked, inFlight, landed, len(approved), injected, startupDeaths)

	// Last, the restarted gateway itself serves what the store holds, and
	// once the terminals are back every payment is settled.
	g := startGatewayAt(t, bin, data, addr)
	checkListing(t, g.url, key, clients)
	for _, p := range payers {
		if p.state != "" && p.paired() {
			p.term = dialTerminal(t, terminalsim.Options{URL: g.url, StateFile: p.state})
		}
	}
	waitSettled(t, g, payers)
	for _, p := range payers {
		if p.term != nil {
			p.term.Close()
		}
	}
	g.kill(t)
	ids := make([]string, 0, len(approved))
	for id := range approved {
		ids = append(ids, id)
	}
	checkPayments(t, filepath.Join(data, dbFile), ids)
}

// tillPace is the time between two requests of one crash till.
const tillPace = 40 * time.Millisecond

// killDelay is how long after the first acknowledgement the test kills the
// gateway; under strace it leaves strace time to kill it inside a write.
func killDelay(rng *rand.Rand, g *gatewayProc) time.Duration {
	if g.traced {
		return 5 * time.Second
	}
	return 50*time.Millisecond + time.Duration(rng.Int64N(int64(600*time.Millisecond)))
}

// soakCycles is how many kills: PASSERELLE_SOAK_CYCLES (make soak), else
// 20, or 3 with -short.
func soakCycles(t *testing.T) int {
	if s := os.Getenv("PASSERELLE_SOAK_CYCLES"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			t.Fatalf("PASSERELLE_SOAK_CYCLES=%q: want a positive number", s)
		}
		return n
	}
	if testing.Short() {
		return 3
	}
	return 20
}

// runCrashCycle runs the tills and the terminals against g and kills it at
// a random moment after the first acknowledgement (unless strace killed it
// first).
func runCrashCycle(t *testing.T, rng *rand.Rand, g *gatewayProc, bin, data string, clients []*crashClient, payers []*crashPayer) {
	t.Helper()
	hc := &http.Client{Timeout: 30 * time.Second}
	defer hc.CloseIdleConnections()
	// The terminals come back from their state files and resend what was
	// not acknowledged; the gateway settles it before they pay again.
	for _, p := range payers {
		if !p.connect(t, g, bin, data) {
			g.kill(t)
			return
		}
	}
	defer func() {
		for _, p := range payers {
			if p.term != nil {
				p.term.Close()
				p.term = nil
			}
		}
	}()
	if !waitSettledOrGone(t, g, payers) {
		return
	}
	// The kill's random delay runs from the first acknowledgement, so
	// that every cycle kills a gateway under load, not one starting up.
	busy := make(chan struct{})
	var once sync.Once
	ack := func() { once.Do(func() { close(busy) }) }
	var wg sync.WaitGroup
	for _, c := range clients {
		wg.Go(func() {
			defer ack() // a client that gives up must not keep the kill waiting
			c.run(t, hc, g.url, ack)
		})
	}
	for _, p := range payers {
		wg.Go(func() {
			defer ack()
			p.run(t, hc, g, ack)
		})
	}
	select {
	case <-busy:
		select {
		case <-time.After(killDelay(rng, g)):
		case <-g.exited: // strace killed it inside a write
		}
	case <-g.exited:
	}
	g.kill(t)
	wg.Wait()
}

// addTill runs `passerelle till add` and returns the key, its last line.
func addTill(t *testing.T, bin, data, name string) string {
	t.Helper()
	out, err := exec.Command(bin, "till", "add", name, "--data", data).Output()
	if err != nil {
		t.Fatalf("till add: %v", err)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	key := strings.TrimSpace(lines[len(lines)-1])
	if !strings.HasPrefix(key, "ptk_") {
		t.Fatalf("till add: no key on the last line of:\n%s", out)
	}
	return key
}

// gatewayProc is a running `passerelle run`.
type gatewayProc struct {
	cmd    *exec.Cmd
	url    string
	log    *procLog
	exited chan struct{}
	// traced: cmd is strace (or faketime), in a process group of its own
	// with the gateway; killed: the test killed it rather than strace.
	traced, killed bool
}

var startedLine = regexp.MustCompile(`msg="passerelle started"[^\n]* url=(\S+)[^\n]*\n`)

// procLog keeps what the process writes and hands over the URL of its
// "passerelle started" line.
type procLog struct {
	mu   sync.Mutex
	buf  bytes.Buffer
	url  chan string
	sent bool
}

func (p *procLog) Write(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.buf.Write(b)
	if !p.sent {
		if m := startedLine.FindSubmatch(p.buf.Bytes()); m != nil {
			p.sent = true
			p.url <- string(m[1])
		}
	}
	return len(b), nil
}

func (p *procLog) String() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.buf.String()
}

func startGateway(t *testing.T, bin, data string) *gatewayProc {
	t.Helper()
	g := startSimGateway(t, bin, data, "--no-tls")
	g.url = strings.TrimSuffix(g.url, "/")
	return g
}

// kill sends SIGKILL and waits for the process to be gone.
func (g *gatewayProc) kill(t *testing.T) {
	select {
	case <-g.exited:
	default:
		g.killed = true
		if g.traced {
			killGroup(g.cmd.Process.Pid)
		} else {
			g.cmd.Process.Kill()
		}
		<-g.exited
	}
	if strings.Contains(g.log.String(), "DATA RACE") {
		t.Errorf("the gateway reported a data race:\n%s", g.log.String())
	}
}

// refState is what a till sent for one ticket ref: sent[v-1] is the content
// of version v. Versions are sent one at a time: v+1 only once v is acked.
type refState struct {
	ref   string
	sent  []gateway.TicketInput
	acked int // highest acknowledged version, 0 for none
}

// crashClient is one till. Its refs are its own, so that "the last
// acknowledged version" of a ref is well defined.
type crashClient struct {
	id      int
	rng     *rand.Rand
	key     string
	refs    []*refState
	byRef   map[string]*refState
	pending *refState // its newest version was in flight at a kill
	acks    int
}

// content is version v of ref: each version differs from the others.
func content(ref string, v int) gateway.TicketInput {
	lines := []gateway.Line{
		{Label: "Plat du jour", Qty: 1, UnitPrice: 1250, VATRate: 1000},
		{Label: fmt.Sprintf("Café crème v%d", v), Qty: int64(v), UnitPrice: 180, VATRate: 1000},
	}
	return gateway.TicketInput{Ref: ref, Table: fmt.Sprint(v%40 + 1), Currency: "EUR", Lines: lines, Total: 1250 + 180*int64(v)}
}

// run posts until the gateway goes away. Each loop it first retries what
// was in flight at the last kill, as a real till does; otherwise it updates
// one of its acknowledged tickets or creates a new one.
func (c *crashClient) run(t *testing.T, hc *http.Client, url string, ack func()) {
	if c.byRef == nil {
		c.byRef = map[string]*refState{}
	}
	// A busy till's pace, not a flood: each kill still lands among
	// commits (four tills and two terminals), and the database grows
	// slowly enough for the soak's checks of all of it after each kill.
	pace := time.NewTicker(tillPace)
	defer pace.Stop()
	for ; ; <-pace.C {
		r, retry := c.pending, c.pending != nil
		switch {
		case retry:
		case len(c.refs) > 0 && c.rng.IntN(3) == 0:
			r = c.refs[c.rng.IntN(len(c.refs))]
			r.sent = append(r.sent, content(r.ref, len(r.sent)+1))
		default:
			r = &refState{ref: fmt.Sprintf("T%d-%d", c.id, len(c.refs)+1)}
			r.sent = append(r.sent, content(r.ref, 1))
			c.refs = append(c.refs, r)
			c.byRef[r.ref] = r
		}
		v := len(r.sent)
		c.pending = r
		status, err := postTicket(hc, url, c.key, r.sent[v-1])
		if err != nil {
			return // killed: r stays pending
		}
		want := []int{http.StatusOK}
		switch {
		case v == 1 && retry:
			want = []int{http.StatusCreated, http.StatusOK} // the first try may have landed
		case v == 1:
			want = []int{http.StatusCreated}
		}
		if !containsInt(want, status) {
			t.Errorf("POST %s version %d (retry %v): status %d, want %v", r.ref, v, retry, status, want)
			return
		}
		r.acked, c.pending = v, nil
		c.acks++
		ack()
	}
}

func containsInt(list []int, v int) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}

// postTicket returns the status as soon as it is known: a 2xx is the
// acknowledgement, even if the body is then cut by the kill.
func postTicket(hc *http.Client, url, key string, in gateway.TicketInput) (int, error) {
	body, err := json.Marshal(in)
	if err != nil {
		return 0, err
	}
	req, err := http.NewRequest(http.MethodPost, url+"/api/v1/tickets", bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Authorization", "Bearer "+key)
	req.Header.Set("Content-Type", "application/json")
	resp, err := hc.Do(req)
	if err != nil {
		return 0, err
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode, nil
}

// checkAfterCrash opens the dead gateway's database and checks it against
// what the clients were told. It returns how many requests were in flight at
// the kill and how many of those had landed.
func checkAfterCrash(t *testing.T, data string, clients []*crashClient, payers []*crashPayer) (inFlight, landed int) {
	t.Helper()
	ctx := context.Background()
	st, err := store.Open(ctx, filepath.Join(data, dbFile), slog.New(slog.DiscardHandler), nil)
	if err != nil {
		t.Fatalf("open store after kill: %v", err)
	}
	defer st.Close()

	if res, err := st.IntegrityCheck(ctx); err != nil || res != "ok" {
		t.Errorf("integrity check: %q, %v", res, err)
	}

	// The event log: gapless from 1, and per ticket how many events tell of
	// a content change, and the last such event's ticket.
	type history struct {
		created, changes int
		last             gateway.Ticket
	}
	hist := map[string]*history{}
	pays := &payLog{approvedByPayment: map[string]int{}, approvedByTicket: map[string]int{}}
	var seq int64
	for {
		evs, err := st.EventsAfter(ctx, gateway.EventQuery{After: seq, Limit: 1000})
		if err != nil {
			t.Fatalf("read events: %v", err)
		}
		if len(evs) == 0 {
			break
		}
		for _, e := range evs {
			if e.Seq != seq+1 {
				t.Fatalf("event log: seq %d follows %d", e.Seq, seq)
			}
			seq = e.Seq
			if !strings.HasPrefix(e.Type, "ticket.") || strings.HasPrefix(e.TicketRef, "P") {
				pays.see(e) // the payers' tickets, their payments and the terminals
				continue
			}
			var p struct {
				Type   string         `json:"type"`
				Ticket gateway.Ticket `json:"ticket"`
			}
			if err := json.Unmarshal(e.Data, &p); err != nil {
				t.Fatalf("event %d: %v", e.Seq, err)
			}
			h := hist[e.TicketID]
			if h == nil {
				h = &history{}
				hist[e.TicketID] = h
			}
			switch p.Type {
			case gateway.EventTicketCreated:
				h.created++
			case gateway.EventTicketUpdated:
			default:
				t.Errorf("event %d: unexpected type %q", e.Seq, p.Type)
				continue
			}
			h.changes++
			h.last = p.Ticket
		}
	}
	if last, err := st.LastSeq(ctx); err != nil || last != seq {
		t.Errorf("LastSeq = %d, %v; the log read ends at %d", last, err, seq)
	}

	var tickets []gateway.Ticket
	for after := ""; ; {
		page, err := st.Tickets(ctx, gateway.TicketQuery{After: after, Limit: 500})
		if err != nil {
			t.Fatalf("list tickets: %v", err)
		}
		if len(page) == 0 {
			break
		}
		tickets = append(tickets, page...)
		after = page[len(page)-1].ID
	}

	owner := map[string]*crashClient{}
	for _, c := range clients {
		for ref := range c.byRef {
			owner[ref] = c
		}
	}
	seen := map[string]bool{}
	payRefs := map[string]bool{}
	for _, tk := range tickets {
		if strings.HasPrefix(tk.Ref, "P") {
			if payRefs[tk.Ref] {
				t.Errorf("ref %s is stored more than once", tk.Ref)
			}
			payRefs[tk.Ref] = true
			continue
		}
		if seen[tk.Ref] {
			t.Errorf("ref %s is stored more than once", tk.Ref)
			continue
		}
		seen[tk.Ref] = true
		c := owner[tk.Ref]
		if c == nil {
			t.Errorf("ref %s is stored but was never sent", tk.Ref)
			continue
		}
		r := c.byRef[tk.Ref]
		v := matchVersion(r, tk.Input())
		switch {
		case v == 0:
			t.Errorf("ref %s: stored content matches nothing that was sent: %+v", tk.Ref, tk.Input())
			continue
		case v < r.acked:
			t.Errorf("ref %s: stored version %d is older than the acknowledged %d", tk.Ref, v, r.acked)
		case v > r.acked && c.pending != r:
			t.Errorf("ref %s: stored version %d was never sent before the acknowledged %d", tk.Ref, v, r.acked)
		case v > r.acked:
			landed++ // the version in flight at the kill had landed
		}
		if int64(v) != tk.Version {
			t.Errorf("ref %s: holds content %d but says version %d", tk.Ref, v, tk.Version)
		}
		h := hist[tk.ID]
		switch {
		case h == nil || h.created != 1:
			t.Errorf("ref %s: %v ticket.created events, want 1", tk.Ref, h)
		case int64(h.changes) != tk.Version:
			t.Errorf("ref %s: version %d but %d events of its changes", tk.Ref, tk.Version, h.changes)
		case !reflect.DeepEqual(h.last.Input(), tk.Input()):
			t.Errorf("ref %s: its last event shows %+v, the ticket is %+v", tk.Ref, h.last.Input(), tk.Input())
		}
	}
	for _, c := range clients {
		for _, r := range c.refs {
			if r.acked > 0 && !seen[r.ref] {
				t.Errorf("ref %s: acknowledged version %d is lost", r.ref, r.acked)
			}
		}
		if c.pending != nil {
			inFlight++
		}
	}
	stored := map[string]bool{}
	for _, tk := range tickets {
		stored[tk.ID] = true
	}
	for id := range hist {
		if !stored[id] {
			t.Errorf("events tell of ticket %s, which is not stored", id)
		}
	}
	checkPayers(t, pays, payRefs, payers)
	return inFlight, landed
}

// matchVersion returns the version of r whose content in is, or 0.
func matchVersion(r *refState, in gateway.TicketInput) int {
	for i, s := range r.sent {
		if reflect.DeepEqual(s, in) {
			return i + 1
		}
	}
	return 0
}

// checkListing pages through GET /api/v1/tickets and checks that every
// acknowledged ticket is served once, at least as new as acknowledged.
func checkListing(t *testing.T, url, key string, clients []*crashClient) {
	t.Helper()
	hc := &http.Client{Timeout: 30 * time.Second}
	listed := map[string]gateway.Ticket{}
	pages := 0
	for cursor := ""; ; pages++ {
		req, err := http.NewRequest(http.MethodGet, url+"/api/v1/tickets?limit=50&cursor="+cursor, nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Authorization", "Bearer "+key)
		resp, err := hc.Do(req)
		if err != nil {
			t.Fatalf("list tickets: %v", err)
		}
		var page struct {
			Tickets    []gateway.Ticket `json:"tickets"`
			NextCursor string           `json:"next_cursor"`
		}
		err = json.NewDecoder(resp.Body).Decode(&page)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || err != nil {
			t.Fatalf("list tickets: status %d, %v", resp.StatusCode, err)
		}
		for _, tk := range page.Tickets {
			if _, dup := listed[tk.Ref]; dup {
				t.Errorf("ref %s listed twice", tk.Ref)
			}
			listed[tk.Ref] = tk
		}
		if page.NextCursor == "" {
			break
		}
		if _, err := base64.RawURLEncoding.DecodeString(page.NextCursor); err != nil {
			t.Fatalf("next_cursor %q: %v", page.NextCursor, err)
		}
		cursor = page.NextCursor
	}
	for _, c := range clients {
		for _, r := range c.refs {
			if r.acked == 0 {
				continue
			}
			tk, ok := listed[r.ref]
			if !ok {
				t.Errorf("ref %s: not listed", r.ref)
				continue
			}
			if v := matchVersion(r, tk.Input()); v < r.acked {
				t.Errorf("ref %s: listed at version %d, acknowledged %d", r.ref, v, r.acked)
			}
		}
	}
	t.Logf("the restarted gateway listed %d tickets in %d pages", len(listed), pages+1)
}
