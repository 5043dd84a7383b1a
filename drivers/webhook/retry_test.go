package webhook_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/passerelle/passerelle/drivers/webhook"
	"github.com/passerelle/passerelle/gateway"
)

// Retry, from the admin page, cuts a long backoff short: the till that came
// back gets its events now, not in minutes.
func TestRetryCutsTheBackoff(t *testing.T) {
	e := openEnv(t, dbPath(t))
	var up atomic.Bool
	rcv := newReceiver(func(int, delivery) int {
		if up.Load() {
			return http.StatusOK
		}
		return http.StatusServiceUnavailable
	})
	srv := httptest.NewServer(rcv)
	defer srv.Close()
	till := addTill(t, e, "Caisse", srv.URL)

	c := fast(e)
	c.MinBackoff, c.MaxBackoff = time.Hour, time.Hour // without Retry, no second attempt in this test
	d := webhook.New(c)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx) }()
	defer func() {
		cancel()
		<-done
	}()

	submit(t, e, till, "R1", 1)
	waitCursor(t, e, func(c gateway.WebhookCursor) bool { return c.TillID == till.ID && c.Attempts >= 1 })
	up.Store(true)
	d.Retry(till.ID)
	rcv.waitFor(t, eventsOf(t, e, till)[0].Seq)
	// Retrying a till with nothing to retry, or unknown, is harmless.
	d.Retry(till.ID)
	d.Retry("till_NOPE")
}
