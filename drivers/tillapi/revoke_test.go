package tillapi_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/passerelle/passerelle/gateway"
	"github.com/passerelle/passerelle/store"
)

// ended waits for the server to end the stream, and returns what came
// before the end.
func (s *stream) ended(t testing.TB) []sseEvent {
	t.Helper()
	var got []sseEvent
	deadline := time.After(maxWait)
	for {
		select {
		case ev := <-s.ch:
			got = append(got, ev)
		case <-s.done:
			return got
		case <-deadline:
			t.Fatalf("the stream is still open; it sent %+v", got)
		}
	}
}

// A revoked key stops at once, open event streams included: revoking a
// till (as the admin page does) ends every stream of its key, whether live
// or replaying from an old id, and no other.
func TestRevokeEndsTheKeysStreams(t *testing.T) {
	e := newEnv(t, envOptions{})
	key := e.addTill("Caisse 1", false)
	other := e.addTill("Caisse 2", false)
	admin := e.addTill("Admin", true)
	e.post(t, key, note("1"), http.StatusCreated)

	live := e.openEvents(t, key, "", nil)
	live.started(t)
	replay := e.openEvents(t, key, "?after=0", nil)
	replay.started(t)
	if ev := replay.next(t); ev.ID != 1 {
		t.Fatalf("replay: %+v", ev)
	}
	others := e.openEvents(t, other, "", nil)
	others.started(t)
	all := e.openEvents(t, admin, "", nil)
	all.started(t)

	if err := e.tills.Revoke(context.Background(), "Caisse 1"); err != nil {
		t.Fatal(err)
	}
	for name, s := range map[string]*stream{"live": live, "replay": replay} {
		for _, ev := range s.ended(t) {
			if ev.Comment == "" {
				t.Errorf("%s stream: the revoked till was sent %+v", name, ev)
			}
		}
	}
	if r := e.openStatus(t, key, "", nil); r.status != http.StatusUnauthorized {
		t.Errorf("reconnect with the revoked key: %d", r.status)
	}

	// The other till and the admin still follow, and are not told of
	// the revocation: it is no event of a ticket.
	tk := e.post(t, other, note("2"), http.StatusCreated).ticket(t)
	if ev := others.next(t); ev.TicketID != tk.ID {
		t.Errorf("other till's stream: %+v", ev)
	}
	if ev := all.next(t); ev.TicketID != tk.ID {
		t.Errorf("admin's stream: %+v", ev)
	}

	// An admin key's own revocation ends its stream, which sees every
	// till's events.
	if err := e.tills.Revoke(context.Background(), "Admin"); err != nil {
		t.Fatal(err)
	}
	for _, ev := range all.ended(t) {
		if ev.Comment == "" {
			t.Errorf("admin stream: the revoked admin was sent %+v", ev)
		}
	}
	e.post(t, other, note("3"), http.StatusCreated)
	if ev := others.next(t); ev.Type != "ticket.created" {
		t.Errorf("other till's stream after the admin's revocation: %+v", ev)
	}
}

// A key revoked in this process (the admin page, the API) is refused on
// the very next request, though the gateway had it in its key cache.
func TestRevokedKeyRefusedOnTheNextRequest(t *testing.T) {
	e := newEnv(t, envOptions{})
	key := e.addTill("Caisse 1", false)
	e.post(t, key, note("1"), http.StatusCreated)
	e.post(t, key, note("2"), http.StatusCreated) // from the key cache
	if err := e.tills.Revoke(context.Background(), "Caisse 1"); err != nil {
		t.Fatal(err)
	}
	e.post(t, key, note("3"), http.StatusUnauthorized)
}

// An event stream opened with a key another process revoked is refused,
// though the key cache has not heard of the revocation yet (nothing here
// follows the log to tell it): the stream's start checks the key in the
// store, else it would start past the till.revoked event and never end.
func TestStreamOfAKeyRevokedElsewhereIsRefused(t *testing.T) {
	e := newEnv(t, envOptions{})
	key := e.addTill("Caisse 1", false)
	e.post(t, key, note("1"), http.StatusCreated) // the key is in the cache
	ctx := context.Background()
	other, err := store.Open(ctx, e.dbPath, nil, gateway.NewEventBus(16))
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	if err := gateway.NewTills(other, time.Now).Revoke(ctx, "Caisse 1"); err != nil {
		t.Fatal(err)
	}
	if r := e.openStatus(t, key, "", nil); r.status != http.StatusUnauthorized {
		t.Fatalf("stream opened with the revoked key: %d %s", r.status, r.body)
	}
}
