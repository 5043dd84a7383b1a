package tillapi_test

import (
	"net/http"
	"sync/atomic"
	"testing"
	"time"
)

// TestStreamEndsBeforeCompactedEvents: a stream whose next events were
// compacted under it ends without sending them, and its reconnect from its
// last id gets 409 resume-compacted naming the horizon.
func TestStreamEndsBeforeCompactedEvents(t *testing.T) {
	var compacted atomic.Int64
	e := newEnv(t, envOptions{compacted: compacted.Load})
	key := e.addTill("Caisse 1", false)
	e.post(t, key, note("1"), http.StatusCreated)
	s := e.openEvents(t, key, "?after=1", nil)
	// The horizon passes the stream's position before its next event.
	compacted.Store(3)
	e.post(t, key, note("2"), http.StatusCreated)
	timeout := time.After(maxWait)
	for ended := false; !ended; {
		select {
		case ev := <-s.ch:
			if ev.Comment == "" {
				t.Fatalf("the stream sent event %d, at or before the horizon 3", ev.ID)
			}
		case <-s.done:
			ended = true
		case <-timeout:
			t.Fatal("the stream did not end")
		}
	}
	r := e.do(t, "GET", "/api/v1/events?after=1", key, nil)
	if r.status != http.StatusConflict {
		t.Fatalf("reconnect: %d %s", r.status, r.body)
	}
	p := r.problem(t)
	if p.Type != "urn:passerelle:problem:resume-compacted" || p.CompactedThrough == nil || *p.CompactedThrough != 3 {
		t.Errorf("reconnect: %s", r.body)
	}
	// From the horizon, the stream opens.
	e.post(t, key, note("3"), http.StatusCreated)
	e.openEvents(t, key, "?after=3", nil).close()
}
