package hub_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/passerelle/passerelle/sync/hub"
	"github.com/passerelle/passerelle/sync/hub/hubtest"
)

// TestPostgres runs the hub's tests on a private PostgreSQL cluster, a
// database of its own for each.
func TestPostgres(t *testing.T) {
	if testing.Short() {
		t.Skip("a PostgreSQL cluster takes seconds to start")
	}
	cl := hubtest.StartPostgres(t)
	ctx := context.Background()
	n := 0
	open := func(t *testing.T) (*hub.DB, string) {
		n++
		url := cl.NewDatabase(t, fmt.Sprintf("hub_%d", n))
		db, err := hub.OpenPostgres(ctx, url, time.Now)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		return db, url
	}
	t.Run("ingest exactly once", func(t *testing.T) {
		db, _ := open(t)
		testIngestExactlyOnce(t, db)
	})
	t.Run("gap check is the database's", func(t *testing.T) {
		db, url := open(t)
		raw, err := sql.Open("pgx", url)
		if err != nil {
			t.Fatal(err)
		}
		defer raw.Close()
		testGapCheckIsTheDatabase(t, db, raw, "$1, $2")
	})
	t.Run("payments from events", func(t *testing.T) {
		db, _ := open(t)
		testPaymentsFromEvents(t, db)
	})
	t.Run("keys and scopes", func(t *testing.T) {
		db, _ := open(t)
		testAPIKeysAndScopes(t, db)
	})
	t.Run("migrate twice, and a newer schema refused", func(t *testing.T) {
		_, url := open(t)
		again, err := hub.OpenPostgres(ctx, url, time.Now)
		if err != nil {
			t.Fatalf("open again: %v", err)
		}
		again.Close()
		raw, _ := sql.Open("pgx", url)
		defer raw.Close()
		if _, err := raw.Exec("UPDATE hub_schema SET version = 99"); err != nil {
			t.Fatal(err)
		}
		if _, err := hub.OpenPostgres(ctx, url, time.Now); err == nil {
			t.Fatal("a newer schema was opened")
		}
	})
	t.Run("two hubs on one database", func(t *testing.T) {
		_, url := open(t)
		testTwoHubs(t, url)
	})
}

// testTwoHubs: two hubs (two pools, as two processes) take the same
// shops' batches at once, each batch sent to both, some twice, out of
// step: each store ends with each event once, in order.
func testTwoHubs(t *testing.T, url string) {
	ctx := context.Background()
	var hubs [2]*hub.DB
	for i := range hubs {
		db, err := hub.OpenPostgres(ctx, url, time.Now)
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		hubs[i] = db
	}
	const shops, total, size = 6, 600, 50
	var ids []string
	for i := range shops {
		s, _, err := hubs[i%2].AddStore(ctx, fmt.Sprintf("Boutique %d", i))
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, s.ID)
	}
	var wg sync.WaitGroup
	for _, id := range ids {
		for h := range hubs {
			// Each hub is sent every batch of every shop: a gateway
			// retrying through a load balancer, at worst.
			wg.Go(func() {
				for from := int64(1); from <= total; {
					acked, err := hubs[h].Ingest(ctx, id, events(from, min(from+size-1, total)))
					var gap *hub.GapError
					switch {
					case errors.As(err, &gap):
						from = gap.AckedThrough + 1
					case err != nil:
						t.Errorf("store %s via hub %d: %v", id, h, err)
						return
					default:
						from = acked + 1
					}
				}
			})
		}
	}
	wg.Wait()
	for _, id := range ids {
		evs, err := hubs[0].Events(ctx, id, 0, 10*total)
		if err != nil {
			t.Fatal(err)
		}
		if len(evs) != total {
			t.Fatalf("store %s: %d events, want %d", id, len(evs), total)
		}
		for i, e := range evs {
			if e.Seq != int64(i+1) {
				t.Fatalf("store %s: event %d has seq %d", id, i, e.Seq)
			}
		}
	}
}
