package terminalws_test

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"testing"
	"time"

	"github.com/passerelle/passerelle/gateway"
	"github.com/passerelle/passerelle/store"
)

// A till key revoked by another process (the CLI, here a second handle on
// the same database file) stops working in the gateway once its follower
// of the event log (the hub) has read the till.revoked event, though the
// gateway had its key in its cache.
func TestTillKeyRevokedByAnotherProcessIsRefused(t *testing.T) {
	e := newEnv(t, envOptions{})
	e.post(t, bill("1", "T1", 1000))
	e.post(t, bill("2", "T1", 1000)) // from the key cache

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	watched := make(chan struct{})
	go func() {
		defer close(watched)
		e.eventLog.WatchStore(ctx, 10*time.Millisecond, slog.New(slog.DiscardHandler))
	}()
	defer func() { cancel(); <-watched }()

	other, err := store.Open(ctx, e.dbPath, slog.New(slog.DiscardHandler), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	if err := gateway.NewTills(other, time.Now).Revoke(ctx, "Caisse 1"); err != nil {
		t.Fatal(err)
	}

	// Poll until refused: the watch reads the store every 10 ms, then the
	// hub tells the cache.
	deadline := time.Now().Add(wait)
	tick := time.NewTicker(time.Millisecond)
	defer tick.Stop()
	for {
		_, err := e.tills.Authenticate(ctx, e.tillKey)
		if errors.Is(err, gateway.ErrUnauthorized) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if time.Now().After(deadline) {
			t.Fatalf("the key revoked by another process is still accepted after %v", wait)
		}
		<-tick.C
	}
	if got, _ := e.postStatus(t, bill("3", "T1", 1000)); got != http.StatusUnauthorized {
		t.Fatalf("POST with the revoked key: %d, want 401", got)
	}
}
