package webhook_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/passerelle/passerelle/gateway"
)

// A callback that answers a redirect has not taken the event: the deliverer
// never follows it (a 301/302/303 would turn the POST into a GET without the
// body, whose 2xx would count as a delivery; a 307/308 would send the signed
// event wherever Location says), records the failure with its status and
// retries with the normal backoff, so the event waits for the till to fix
// its URL.
func TestRedirectIsAFailedDelivery(t *testing.T) {
	for _, code := range []int{
		http.StatusMovedPermanently, http.StatusFound, http.StatusSeeOther,
		http.StatusTemporaryRedirect, http.StatusPermanentRedirect,
	} {
		t.Run(fmt.Sprint(code), func(t *testing.T) {
			e := openEnv(t, dbPath(t))
			// Where Location points: it must never be reached.
			var moved atomic.Int64
			elsewhere := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				moved.Add(1)
			}))
			defer elsewhere.Close()
			var redirect atomic.Bool
			redirect.Store(true)
			rcv := newReceiver(nil)
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if redirect.Load() {
					http.Redirect(w, r, elsewhere.URL+"/new-hook", code)
					return
				}
				rcv.ServeHTTP(w, r)
			}))
			defer srv.Close()
			till := addTill(t, e, "Caisse 1", srv.URL+"/hook")
			submit(t, e, till, "101", 1)
			want := eventsOf(t, e, till)
			stop := run(t, fast(e))

			// A delivered cursor ends the wait too: the check below says why.
			c := waitCursor(t, e, func(c gateway.WebhookCursor) bool { return c.Attempts >= 3 || c.DeliveredSeq != 0 })
			if c.DeliveredSeq != 0 {
				t.Errorf("cursor %+v: a redirect counted as a delivery", c)
			}
			if !strings.Contains(c.LastError, fmt.Sprint(code)) {
				t.Errorf("last error %q does not say the status %d", c.LastError, code)
			}
			if n := moved.Load(); n != 0 {
				t.Errorf("the redirect was followed: %d requests to its Location", n)
			}

			// The till fixes its side: the event goes out, once.
			redirect.Store(false)
			rcv.waitFor(t, want[0].Seq)
			stop()
			if n := moved.Load(); n != 0 {
				t.Errorf("the redirect was followed: %d requests to its Location", n)
			}
			checkExactlyOnce(t, till, rcv.acked(), want)
		})
	}
}
