package tillapi_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/passerelle/passerelle/gateway"
	"github.com/passerelle/passerelle/store"
)

// openStatus opens GET /api/v1/events and returns its status and, unless it
// is a stream, its body; a stream is closed at once.
func (e *env) openStatus(t *testing.T, key, query string, header http.Header) response {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
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
		t.Fatalf("open events: %v", err)
	}
	defer resp.Body.Close()
	r := response{status: resp.StatusCode, header: resp.Header}
	if resp.StatusCode != http.StatusOK {
		if r.body, err = io.ReadAll(resp.Body); err != nil {
			t.Fatalf("read problem: %v", err)
		}
	}
	return r
}

// A till that resumes after an event the log does not have (its database
// was restored from a backup: the till saw events up to 5000, the log now
// ends at 3) is told so, with where the log ends, rather than kept waiting
// on heartbeats while the events 4..5000 of the new log go by unseen.
func TestEventsResumePastTheEnd(t *testing.T) {
	e := newEnv(t, envOptions{})
	key := e.addTill("Caisse 1", false)
	for i := range 3 {
		e.post(t, key, note(itoa(i)), http.StatusCreated)
	}
	for _, c := range []struct {
		name   string
		query  string
		header http.Header
	}{
		{"Last-Event-ID", "", http.Header{"Last-Event-Id": {"5000"}}},
		{"after", "?after=5000", nil},
		{"one past", "?after=4", nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := e.openStatus(t, key, c.query, c.header)
			if r.status != http.StatusConflict {
				t.Fatalf("status %d, want 409", r.status)
			}
			p := r.problem(t)
			if p.Type != "urn:passerelle:problem:resume-past-end" || !strings.Contains(p.Detail, "3") {
				t.Errorf("problem %+v does not say the resume point is past the log's end (3)", p)
			}
			var ext struct {
				LastSeq *int64 `json:"last_seq"`
			}
			if err := json.Unmarshal(r.body, &ext); err != nil || ext.LastSeq == nil || *ext.LastSeq != 3 {
				t.Errorf("problem %s: want last_seq 3", r.body)
			}
		})
	}

	// Resuming from where the log ends, as the problem says, works: the
	// next event is the next one.
	s := e.openEvents(t, key, "?after=3", nil)
	s.started(t)
	tk := e.post(t, key, note("new"), http.StatusCreated).ticket(t)
	if ev := s.next(t); ev.ID != 4 || ev.TicketID != tk.ID {
		t.Errorf("first event after resuming at the end = %+v, want id 4 about %s", ev, tk.ID)
	}
}

// An event another process wrote (the CLI), which this gateway has not yet
// published, is in the log: resuming after it is not past the end.
func TestEventsResumeAfterAnotherProcessesEvent(t *testing.T) {
	e := newEnv(t, envOptions{})
	key := e.addTill("Caisse 1", false)
	e.post(t, key, note("1"), http.StatusCreated)

	ctx := context.Background()
	other, err := store.Open(ctx, e.dbPath, nil, gateway.NewEventBus(16))
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	tills, err := other.Tills(ctx)
	if err != nil || len(tills) != 1 {
		t.Fatalf("tills %v: %v", tills, err)
	}
	if _, _, err := gateway.NewTickets(other, gateway.DefaultConfig().Rules, time.Now).Submit(ctx, tills[0], note("2")); err != nil {
		t.Fatal(err)
	}
	last := e.lastSeq(t)
	if last != 2 {
		t.Fatalf("last seq %d, want 2", last)
	}
	r := e.openStatus(t, key, "?after="+strconv.FormatInt(last, 10), nil)
	if r.status != http.StatusOK {
		t.Fatalf("resume after the other process's event: status %d %s, want 200", r.status, r.body)
	}
}
