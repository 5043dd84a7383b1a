package tillapi_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/passerelle/passerelle/gateway"
)

// A till's Date header an hour ahead of the box's clock: the watch says
// so, naming the till; a request without one says nothing.
func TestTillDateHeaderClockOff(t *testing.T) {
	boxNow := time.Date(2026, 11, 25, 19, 42, 0, 0, time.UTC)
	now := func() time.Time { return boxNow }
	watch := gateway.NewClockWatch(now)
	e := newEnv(t, envOptions{now: now, clock: watch})
	key := e.addTill("Caisse 1", false)

	e.do(t, http.MethodGet, "/api/v1/tickets", key, nil)
	if _, _, off := watch.Off(); off {
		t.Fatal("off without a Date header")
	}
	h := http.Header{"Date": {boxNow.Add(time.Hour).Format(http.TimeFormat)}}
	if r := e.doHeader(t, http.MethodGet, "/api/v1/tickets", key, nil, h); r.status != http.StatusOK {
		t.Fatalf("status %d", r.status)
	}
	d, who, off := watch.Off()
	if !off || who != "till Caisse 1" || d != time.Hour {
		t.Fatalf("Off = %v %q %v", d, who, off)
	}
	// A request refused for its key tells nothing of the time.
	bad := http.Header{"Date": {boxNow.Add(-5 * time.Hour).Format(http.TimeFormat)}}
	e.doHeader(t, http.MethodGet, "/api/v1/tickets", "ptk_nothing", nil, bad)
	if d, _, _ := watch.Off(); d != time.Hour {
		t.Fatalf("an unknown key moved the watch: %v", d)
	}
}
