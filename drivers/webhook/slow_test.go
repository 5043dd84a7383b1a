package webhook_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/passerelle/passerelle/gateway"
)

// An endpoint that answers later than the client's timeout (10 s in
// production) has a failed delivery, retried with backoff, whose error says
// so; the event stays first in its queue until the till answers in time.
// Each till has its own queue: the slow one holds up nobody else's.
func TestSlowEndpointFailsAloneAndIsRetried(t *testing.T) {
	e := openEnv(t, dbPath(t))
	release := make(chan struct{})
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select { // answers once the test ends, long after the client gave up
		case <-release:
		case <-r.Context().Done():
		}
	}))
	t.Cleanup(slow.Close)
	t.Cleanup(func() { close(release) })
	rcv := newReceiver(nil)
	fine := httptest.NewServer(rcv)
	t.Cleanup(fine.Close)
	slowTill := addTill(t, e, "Caisse lente", slow.URL+"/hook")
	fineTill := addTill(t, e, "Caisse 2", fine.URL+"/hook")
	c := fast(e)
	c.Client = &http.Client{Timeout: 50 * time.Millisecond}
	run(t, c)

	submit(t, e, slowTill, "1", 1)
	for i := range 5 {
		submit(t, e, fineTill, "1", i+1)
	}
	want := eventsOf(t, e, fineTill)
	rcv.waitFor(t, want[len(want)-1].Seq)
	checkExactlyOnce(t, fineTill, rcv.acked(), want)

	deadline := time.After(30 * time.Second) // a bound on a deliverer that stopped, not a speed check
	for {
		cursors, err := e.st.WebhookCursors(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		var got gateway.WebhookCursor
		for _, cur := range cursors {
			if cur.TillID == slowTill.ID {
				got = cur
			}
		}
		if got.Attempts >= 2 {
			if got.DeliveredSeq != 0 || !strings.Contains(got.LastError, "did not answer within 50ms") {
				t.Errorf("slow till's delivery: %+v", got)
			}
			return
		}
		select {
		case <-deadline:
			t.Fatalf("slow till's delivery never retried: %+v", got)
		case <-time.After(2 * time.Millisecond):
		}
	}
}
