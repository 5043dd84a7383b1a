package webhook_test

import (
	"context"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/passerelle/passerelle/gateway"
)

// The till.revoked event is the till's (its streams end on it) but, like
// in its event stream, never POSTed to it: it carries no ticket. What
// follows it until the deliverer drops the revoked till is delivered.
func TestRevocationIsNotPosted(t *testing.T) {
	e := openEnv(t, dbPath(t))
	rcv := newReceiver(nil)
	srv := httptest.NewServer(rcv)
	t.Cleanup(srv.Close)
	till := addTill(t, e, "Caisse 1", srv.URL+"/hook")
	c := fast(e)
	c.Rescan = time.Hour // the loop keeps running after the revocation
	run(t, c)

	submit(t, e, till, "1", 1)
	if err := e.tills.Revoke(context.Background(), till.Name); err != nil {
		t.Fatal(err)
	}
	submit(t, e, till, "1", 2) // a payment, say, on its ticket
	evs := eventsOf(t, e, till)
	if len(evs) != 3 || evs[1].Type != gateway.EventTillRevoked {
		t.Fatalf("events of the till: %v", evs)
	}
	rcv.waitFor(t, evs[2].Seq)
	for _, d := range rcv.deliveries() {
		if d.typ == gateway.EventTillRevoked || d.seq == evs[1].Seq {
			t.Errorf("the revocation was posted: %+v", d)
		}
	}
}
