package tillapi_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/passerelle/passerelle/gateway"
)

// sseEvent is one event, or one comment, read from the stream.
type sseEvent struct {
	ID       int64
	Type     string
	Data     string
	Comment  string
	TicketID string
}

// stream is an open GET /api/v1/events, read by a goroutine of its own so
// that the test can give up waiting.
type stream struct {
	cancel context.CancelFunc
	ch     chan sseEvent
	done   chan struct{}
	err    error // why the reader stopped; read after done is closed
}

// maxWait is how long a test waits for an event that must come: a guard
// against hanging, not a measure of speed.
const maxWait = 15 * time.Second

func (e *env) openEvents(t testing.TB, key, query string, header http.Header) *stream {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	req, err := http.NewRequestWithContext(ctx, "GET", e.srv.URL+"/api/v1/events"+query, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	req.Header.Set("Authorization", "Bearer "+key)
	resp, err := e.client.Do(req)
	if err != nil {
		cancel()
		t.Fatalf("open events: %v", err)
	}
	if resp.StatusCode != http.StatusOK {
		cancel()
		resp.Body.Close()
		t.Fatalf("open events: status %d", resp.StatusCode)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream" {
		t.Errorf("Content-Type = %q", ct)
	}
	s := &stream{cancel: cancel, ch: make(chan sseEvent), done: make(chan struct{})}
	go func() {
		defer close(s.done)
		defer resp.Body.Close()
		s.err = readSSE(bufio.NewReader(resp.Body), func(ev sseEvent) bool {
			select {
			case s.ch <- ev:
				return true
			case <-ctx.Done():
				return false
			}
		})
	}()
	t.Cleanup(s.close)
	return s
}

// readSSE parses the stream and hands each complete event or comment to
// emit; an event cut off by a disconnect is never emitted.
func readSSE(r *bufio.Reader, emit func(sseEvent) bool) error {
	var ev sseEvent
	var has bool
	for {
		l, err := r.ReadString('\n')
		if err != nil {
			return err
		}
		l = strings.TrimSuffix(l, "\n")
		name, value, _ := strings.Cut(l, ":")
		value = strings.TrimPrefix(value, " ")
		switch {
		case l == "":
			if has && !emit(ev) {
				return nil
			}
			ev, has = sseEvent{}, false
		case name == "":
			if !emit(sseEvent{Comment: value}) {
				return nil
			}
		case name == "id":
			n, err := strconv.ParseInt(value, 10, 64)
			if err != nil {
				return fmt.Errorf("bad id line %q", l)
			}
			ev.ID, has = n, true
		case name == "event":
			ev.Type, has = value, true
		case name == "data":
			if ev.Data != "" {
				ev.Data += "\n"
			}
			ev.Data += value
			has = true
			var d struct {
				TicketID string `json:"ticket_id"`
			}
			if err := json.Unmarshal([]byte(ev.Data), &d); err == nil {
				ev.TicketID = d.TicketID
			}
		default:
			return fmt.Errorf("unexpected line %q", l)
		}
	}
}

func (s *stream) close() {
	s.cancel()
	<-s.done
}

// nextAny returns the next event or comment.
func (s *stream) nextAny(t testing.TB) sseEvent {
	t.Helper()
	select {
	case ev := <-s.ch:
		return ev
	case <-s.done:
		t.Fatalf("event stream ended: %v", s.err)
	case <-time.After(maxWait):
		t.Fatal("no event came")
	}
	return sseEvent{}
}

// next returns the next event, skipping comments.
func (s *stream) next(t testing.TB) sseEvent {
	t.Helper()
	for {
		if ev := s.nextAny(t); ev.Comment == "" {
			return ev
		}
	}
}

// started waits for the comment the server sends once it has fixed where
// the stream starts.
func (s *stream) started(t testing.TB) {
	t.Helper()
	if ev := s.nextAny(t); ev.Comment != "passerelle events" {
		t.Fatalf("first message %+v, want the opening comment", ev)
	}
}

type eventData struct {
	Type      string         `json:"type"`
	TicketID  string         `json:"ticket_id"`
	TicketRef string         `json:"ticket_ref"`
	PaymentID string         `json:"payment_id"`
	At        time.Time      `json:"at"`
	Ticket    gateway.Ticket `json:"ticket"`
}

func TestEventsInOrder(t *testing.T) {
	e := newEnv(t, envOptions{})
	key := e.addTill("Caisse 1", false)
	tk := e.post(t, key, note("1253"), http.StatusCreated).ticket(t)
	e.post(t, key, withLine(note("1253"), line{Label: "CAFÉ", Qty: 1, UnitPrice: 180, VATRate: 1000}), http.StatusOK)
	e.do(t, "DELETE", "/api/v1/tickets/"+tk.ID, key, nil)

	s := e.openEvents(t, key, "?after=0", nil)
	want := []struct {
		typ     string
		version int64
		status  gateway.TicketStatus
		total   int64
	}{
		{gateway.EventTicketCreated, 1, gateway.TicketOpen, 5350},
		{gateway.EventTicketUpdated, 2, gateway.TicketOpen, 5530},
		{gateway.EventTicketCancelled, 2, gateway.TicketCancelled, 5530},
	}
	for i, w := range want {
		ev := s.next(t)
		if ev.ID != int64(i+1) || ev.Type != w.typ {
			t.Errorf("event %d: id %d type %q, want %d %q", i, ev.ID, ev.Type, i+1, w.typ)
		}
		var d eventData
		if err := json.Unmarshal([]byte(ev.Data), &d); err != nil {
			t.Fatalf("event %d data: %v: %s", i, err, ev.Data)
		}
		if d.Type != w.typ || d.TicketID != tk.ID || d.TicketRef != "1253" || d.At.IsZero() || d.PaymentID != "" {
			t.Errorf("event %d data = %+v", i, d)
		}
		if d.Ticket.ID != tk.ID || d.Ticket.Version != w.version || d.Ticket.Status != w.status || d.Ticket.Total != w.total {
			t.Errorf("event %d ticket: version %d status %s total %d", i, d.Ticket.Version, d.Ticket.Status, d.Ticket.Total)
		}
	}

	// Live events follow the replayed ones.
	t2 := e.post(t, key, note("1254"), http.StatusCreated).ticket(t)
	if ev := s.next(t); ev.ID != 4 || ev.TicketID != t2.ID || ev.Type != gateway.EventTicketCreated {
		t.Errorf("live event = %+v", ev)
	}
}

func TestEventsStartAtPresent(t *testing.T) {
	e := newEnv(t, envOptions{})
	key := e.addTill("Caisse 1", false)
	for i := range 3 {
		e.post(t, key, note(itoa(i)), http.StatusCreated)
	}
	s := e.openEvents(t, key, "", nil)
	s.started(t)
	tk := e.post(t, key, note("new"), http.StatusCreated).ticket(t)
	if ev := s.next(t); ev.ID != 4 || ev.TicketID != tk.ID {
		t.Errorf("first event = %+v, want id 4 about %s", ev, tk.ID)
	}
}

func TestEventsBadResumePoint(t *testing.T) {
	e := newEnv(t, envOptions{})
	key := e.addTill("Caisse 1", false)
	for _, c := range []struct{ query, lastID string }{
		{"?after=abc", ""}, {"?after=-1", ""}, {"", "x"}, {"", "-5"},
	} {
		h := http.Header{}
		if c.lastID != "" {
			h.Set("Last-Event-ID", c.lastID)
		}
		r := e.doHeader(t, "GET", "/api/v1/events"+c.query, key, nil, h)
		if r.status != http.StatusBadRequest {
			t.Errorf("%q / Last-Event-ID %q: status %d", c.query, c.lastID, r.status)
			continue
		}
		r.problem(t)
	}
}

func TestEventsHeartbeat(t *testing.T) {
	e := newEnv(t, envOptions{heartbeat: 20 * time.Millisecond})
	key := e.addTill("Caisse 1", false)
	s := e.openEvents(t, key, "", nil)
	s.started(t)
	if ev := s.nextAny(t); ev.Comment != "heartbeat" {
		t.Errorf("got %+v, want a heartbeat comment", ev)
	}
	// Heartbeats do not disturb events.
	tk := e.post(t, key, note("1"), http.StatusCreated).ticket(t)
	if ev := s.next(t); ev.ID != 1 || ev.TicketID != tk.ID {
		t.Errorf("event after heartbeats = %+v", ev)
	}
}

// TestEventsResumeUnderLoad has 4 tills' worth of writers post while a
// reader keeps dropping the connection and resuming: across all its
// connections it must see every event exactly once, in order.
func TestEventsResumeUnderLoad(t *testing.T) {
	for _, c := range []struct {
		name   string
		window int
	}{
		{"from memory", 0},
		// A window smaller than a reconnect's gap sends resumes to the store.
		{"from store", 4},
	} {
		t.Run(c.name, func(t *testing.T) {
			e := newEnv(t, envOptions{window: c.window})
			key := e.addTill("Caisse 1", false)
			const writers, perWriter = 4, 20
			var posted atomic.Int64 // events the writers caused
			var wg sync.WaitGroup
			for w := range writers {
				wg.Go(func() {
					for i := range perWriter {
						ref := fmt.Sprintf("w%d-%d", w, i)
						r := e.do(t, "POST", "/api/v1/tickets", key, note(ref))
						if r.status != http.StatusCreated {
							t.Errorf("post %s: %d %s", ref, r.status, r.body)
							return
						}
						posted.Add(1)
						if i%5 == 0 { // an update now and then
							r = e.do(t, "POST", "/api/v1/tickets", key, withLine(note(ref), line{Label: "EAU", Qty: 1, UnitPrice: 300, VATRate: 550}))
							if r.status != http.StatusOK {
								t.Errorf("update %s: %d %s", ref, r.status, r.body)
								return
							}
							posted.Add(1)
						}
					}
				})
			}
			writing := make(chan struct{})
			go func() { wg.Wait(); close(writing) }()

			rng := rand.New(rand.NewPCG(1, 2))
			var got []int64
			last := int64(0)
			for conn := 0; ; conn++ {
				if conn > 10000 {
					t.Fatal("the reader never caught up")
				}
				var s *stream
				if conn%2 == 0 {
					s = e.openEvents(t, key, "?after="+strconv.FormatInt(last, 10), nil)
				} else {
					s = e.openEvents(t, key, "", http.Header{"Last-Event-ID": {strconv.FormatInt(last, 10)}})
				}
				if caughtUp := readSome(t, s, 1+rng.IntN(7), writing, &posted, &got, &last); caughtUp {
					break
				}
			}
			n := posted.Load()
			if n != writers*perWriter+writers*(perWriter/5) {
				t.Fatalf("writers caused %d events", n)
			}
			if int64(len(got)) != n {
				t.Errorf("read %d events, want %d", len(got), n)
			}
			for i, id := range got {
				if id != int64(i+1) {
					t.Fatalf("event #%d has id %d: lost or repeated events (ids %v…)", i, id, got[max(0, i-3):min(len(got), i+3)])
				}
			}
			if !slices.IsSorted(got) {
				t.Error("events out of order")
			}
		})
	}
}

// readSome reads up to n events from s into got, then closes s. It reports
// whether the reader has caught up with writers that are done.
func readSome(t *testing.T, s *stream, n int, writing <-chan struct{}, posted *atomic.Int64, got *[]int64, last *int64) bool {
	t.Helper()
	defer s.close()
	finished := false
	for read := 0; read < n; {
		select {
		case ev := <-s.ch:
			if ev.Comment != "" {
				continue
			}
			*got = append(*got, ev.ID)
			*last = ev.ID
			read++
			if finished && *last >= posted.Load() {
				return true
			}
		case <-writing:
			if *last >= posted.Load() {
				return true
			}
			finished, writing = true, nil // done writing, but there is more to read
		case <-s.done:
			t.Fatalf("event stream ended: %v", s.err)
		case <-time.After(maxWait):
			t.Fatal("no event came")
		}
	}
	return false
}

// A till resumed from an id older than the bus's window, with nothing new
// for it, reads the store once: it then waits on the bus like a live
// stream, and other tills' commits cost it no read of the store each.
func TestResumedStreamDoesNotRereadTheStore(t *testing.T) {
	var reads atomic.Int64
	e := newEnv(t, envOptions{window: 64, eventReads: &reads})
	busy := e.addTill("Caisse 1", false)
	quiet := e.addTill("Caisse 2", false)
	for i := range 100 { // the log goes past the window
		e.post(t, busy, note(itoa(i)), http.StatusCreated)
	}
	s := e.openEvents(t, quiet, "?after=0", nil)
	s.started(t)
	deadline := time.Now().Add(maxWait)
	for reads.Load() == 0 {
		if time.Now().After(deadline) {
			t.Fatal("the stream never read the store")
		}
		time.Sleep(time.Millisecond)
	}
	before := reads.Load()
	const others = 30
	for i := range others {
		e.post(t, busy, note("n"+itoa(i)), http.StatusCreated)
	}
	tk := e.post(t, quiet, note("q"), http.StatusCreated).ticket(t)
	if ev := s.next(t); ev.TicketID != tk.ID {
		t.Fatalf("quiet till's event: %+v", ev)
	}
	if n := reads.Load() - before; n > 1 {
		t.Errorf("the resumed stream read the store %d times for %d commits of another till", n, others)
	}
}
