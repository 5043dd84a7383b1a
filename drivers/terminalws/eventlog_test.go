package terminalws_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/passerelle/passerelle/drivers/terminalws"
	"github.com/passerelle/passerelle/gateway"
)

// flakyLog is the real event log, made to fail: after fail(n), its next n
// reads fail, and the read after them waits until the test releases it
// (the test looks at the gateway mid-outage), then reads the real log.
// forever makes every read fail.
type flakyLog struct {
	terminalws.EventSource
	mu       sync.Mutex
	failures int
	hold     chan struct{} // closed by the test, to release the read
	held     chan struct{} // closed when a read waits on hold
	forever  bool
}

var errDisk = errors.New("disk I/O error")

func (f *flakyLog) wrap(real terminalws.EventSource) terminalws.EventSource {
	f.EventSource = real
	return f
}

// fail makes the next n reads fail; held is closed when the read after
// them waits, and closing hold lets it go on.
func (f *flakyLog) fail(n int) (held <-chan struct{}, hold chan<- struct{}) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.failures, f.hold, f.held = n, make(chan struct{}), make(chan struct{})
	return f.held, f.hold
}

func (f *flakyLog) Wait(ctx context.Context, after int64, tillID string, limit int) ([]gateway.Event, error) {
	f.mu.Lock()
	if f.forever {
		f.mu.Unlock()
		return nil, errDisk
	}
	if f.failures > 0 {
		f.failures--
		f.mu.Unlock()
		return nil, errDisk
	}
	hold, held := f.hold, f.held
	f.hold = nil
	f.mu.Unlock()
	if hold != nil {
		close(held)
		select {
		case <-hold:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	return f.EventSource.Wait(ctx, after, tillID, limit)
}

// waitItems waits until the screen shown, refreshed, lists n items.
func waitItems(t *testing.T, c *term, n int) {
	t.Helper()
	timer := time.NewTimer(wait)
	defer timer.Stop()
	for len(c.screen.Items) != n {
		select {
		case m, ok := <-c.in:
			if !ok {
				t.Fatalf("connection closed: %v", c.err)
			}
			if m.Type != "screen" || m.ScreenID != c.screen.ScreenID {
				t.Fatalf("got %s, want a refresh of %s", m, c.screen.ScreenID)
			}
			c.screen = m
		case <-timer.C:
			t.Fatalf("the screen was not refreshed to %d items in %v", n, wait)
		}
	}
}

// A failed read of the event log is retried: the terminals stay connected,
// new ones connect, the hub says it is down meanwhile, and once the log
// reads again the terminals get what happened during the outage.
func TestEventLogFailuresRetried(t *testing.T) {
	log := &flakyLog{}
	e := newEnv(t, envOptions{events: log.wrap, eventRetry: time.Millisecond})
	e.post(t, note("1", "5"))
	c := e.pair(t)
	c.start("F1")
	c.expectScreen("menu")
	waitItems(t, c, 1)
	if err := e.hub.Health(); err != nil {
		t.Fatalf("health before the outage: %v", err)
	}

	held, hold := log.fail(3)
	e.post(t, bill("2", "6", 2000)) // wakes the hub, if it waits, whose next reads fail
	select {
	case <-held:
	case <-time.After(wait):
		t.Fatal("the hub did not read the event log again after 3 failures")
	}
	// Mid-outage: the hub says so, and serves terminals all the same.
	if err := e.hub.Health(); err == nil {
		t.Error("the hub reports healthy while the event log fails")
	}
	expectState(t, c, "pay_NONE", "not_found")
	late := e.pair(t)
	e.post(t, bill("3", "7", 3000)) // during the outage
	close(hold)

	waitItems(t, c, 3)
	waitUntil(t, "the hub reports healthy again", func() bool { return e.hub.Health() == nil })
	expectState(t, late, "pay_NONE", "not_found")
	if !strings.Contains(e.logs.String(), errDisk.Error()) {
		t.Error("the failed reads were not logged")
	}
}

// An event log that stays unreadable stops the hub with an error: the
// errgroup then stops the whole gateway for the service manager to
// restart, rather than leave it half alive.
func TestEventLogOutageStopsHub(t *testing.T) {
	log := &flakyLog{}
	e := newEnv(t, envOptions{events: log.wrap, eventRetry: time.Millisecond, eventOutage: 50 * time.Millisecond})
	c := e.pair(t)
	log.mu.Lock()
	log.forever = true
	log.mu.Unlock()
	e.post(t, note("1", "5")) // wakes the hub, whose reads now fail
	select {
	case <-e.hubDone:
	case <-time.After(wait):
		t.Fatal("the hub still runs with its event log unreadable")
	}
	if e.hubErr == nil || !errors.Is(e.hubErr, errDisk) {
		t.Fatalf("the hub returned %v, want the read error", e.hubErr)
	}
	c.expectClosedQuietly()
}
