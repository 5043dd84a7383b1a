package tillapi_test

import (
	"encoding/base64"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"sync"
	"testing"
	"time"
)

// wallClock is a gateway clock the test sets: it stands still between
// settings, as a real one seems to for tickets posted in one millisecond,
// and can be set back, as NTP or a manager does.
type wallClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *wallClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *wallClock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = t
}

// A till walking the list with a cursor sees every ticket once, in the
// order they were created, whatever the wall clock did meanwhile: many
// tickets in one millisecond, then the clock set back an hour in the middle
// of the walk.
func TestListCursorIgnoresWallClock(t *testing.T) {
	t0 := time.Date(2026, 11, 25, 19, 42, 0, 0, time.UTC)
	clk := &wallClock{now: t0}
	e := newEnv(t, envOptions{now: clk.Now})
	key := e.addTill("Caisse 1", false)

	var created []string
	post := func(n int) {
		for range n {
			ref := fmt.Sprintf("R%02d", len(created)+1)
			e.post(t, key, note(ref), http.StatusCreated)
			created = append(created, ref)
		}
	}
	var walked []string
	cursor, pages := "", 0
	page := func() bool {
		q := "limit=2"
		if cursor != "" {
			q += "&cursor=" + url.QueryEscape(cursor)
		}
		l := e.list(t, key, q)
		for _, tk := range l.Tickets {
			walked = append(walked, tk.Ref)
		}
		if pages++; pages > 50 {
			t.Fatal("the walk does not end")
		}
		cursor = l.NextCursor
		return cursor != ""
	}

	post(6) // all in the same millisecond
	page()
	clk.Set(t0.Add(-time.Hour))
	post(6)
	for page() {
	}
	if !slices.Equal(walked, created) {
		t.Errorf("the cursor walk saw %v, want every ticket once in creation order %v", walked, created)
	}

	// A walk from the start after the fact sees the same.
	walked, cursor, pages = nil, "", 0
	for page() {
	}
	if !slices.Equal(walked, created) {
		t.Errorf("a later walk saw %v, want %v", walked, created)
	}
}

// A cursor is the ID of a ticket, encoded: one that names no ticket is a
// bad query, not an empty page.
func TestListCursorOfNoTicket(t *testing.T) {
	e := newEnv(t, envOptions{})
	key := e.addTill("Caisse 1", false)
	e.post(t, key, note("1"), http.StatusCreated)
	cursor := base64.RawURLEncoding.EncodeToString([]byte("tkt_06H1851VH1ZV2JQXSHD9KBBDCM"))
	r := e.do(t, "GET", "/api/v1/tickets?cursor="+cursor, key, nil)
	if r.status != http.StatusBadRequest {
		t.Fatalf("unknown cursor: %d, want 400: %s", r.status, r.body)
	}
	if p := r.problem(t); !hasField(p, "cursor") {
		t.Errorf("unknown cursor: errors %+v, want one naming cursor", p.Errors)
	}
}
