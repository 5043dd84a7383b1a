package gateway_test

import (
	"context"
	"errors"
	"log/slog"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/passerelle/passerelle/gateway"
	"github.com/passerelle/passerelle/store"
)

// keyLookups counts the store's lookups of till keys; hold, if set, is
// called inside each lookup, after the store has answered.
type keyLookups struct {
	gateway.Store
	mu   sync.Mutex
	n    int
	hold func()
}

func (k *keyLookups) TillByKeyHash(ctx context.Context, hash []byte) (gateway.Till, error) {
	t, err := k.Store.TillByKeyHash(ctx, hash)
	k.mu.Lock()
	k.n++
	hold := k.hold
	k.mu.Unlock()
	if hold != nil {
		hold()
	}
	return t, err
}

func (k *keyLookups) count() int {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.n
}

func openTills(t *testing.T) (*gateway.Tills, *keyLookups) {
	t.Helper()
	st, err := store.Open(context.Background(), filepath.Join(t.TempDir(), "p.db"), slog.New(slog.DiscardHandler), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	k := &keyLookups{Store: st}
	return gateway.NewTills(k, time.Now), k
}

// The key of a live till is looked up once; revoked in this process, it
// is refused on the very next request; an unknown key is never kept.
func TestTillKeyCache(t *testing.T) {
	ctx := context.Background()
	tills, lookups := openTills(t)
	till, key, err := tills.Add(ctx, gateway.NewTill{Name: "Caisse 1"})
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		got, err := tills.Authenticate(ctx, key)
		if err != nil || got.ID != till.ID {
			t.Fatalf("Authenticate = %v, %v", got.ID, err)
		}
	}
	if n := lookups.count(); n != 1 {
		t.Fatalf("%d lookups of a live key in the store for 3 requests, want 1", n)
	}
	for range 2 {
		if _, err := tills.Authenticate(ctx, "ptk_unknown"); !errors.Is(err, gateway.ErrUnauthorized) {
			t.Fatalf("unknown key: %v", err)
		}
	}
	if n := lookups.count(); n != 3 {
		t.Fatalf("%d lookups after 2 of an unknown key, want 3: an unknown key is not kept", n)
	}

	if err := tills.Revoke(ctx, "Caisse 1"); err != nil {
		t.Fatal(err)
	}
	if _, err := tills.Authenticate(ctx, key); !errors.Is(err, gateway.ErrUnauthorized) {
		t.Fatalf("the request right after the revocation: %v, want ErrUnauthorized", err)
	}
}

// A lookup that read the till before its revocation was forgotten does not
// put it back into the cache: the next request reads the store again.
func TestTillKeyCacheLookupAcrossForget(t *testing.T) {
	ctx := context.Background()
	tills, lookups := openTills(t)
	till, key, err := tills.Add(ctx, gateway.NewTill{Name: "Caisse 1"})
	if err != nil {
		t.Fatal(err)
	}
	read, release := make(chan struct{}), make(chan struct{})
	var once sync.Once
	lookups.hold = func() {
		once.Do(func() {
			close(read)
			<-release
		})
	}
	done := make(chan error, 1)
	go func() {
		_, err := tills.Authenticate(ctx, key)
		done <- err
	}()
	<-read // the lookup has the till, live, and has not kept it yet
	tills.Forget(till.ID)
	close(release)
	if err := <-done; err != nil {
		t.Fatal(err) // it was live when read: that request passes
	}
	if _, err := tills.Authenticate(ctx, key); err != nil {
		t.Fatal(err)
	}
	if n := lookups.count(); n != 2 {
		t.Fatalf("%d lookups, want 2: the lookup that crossed Forget kept the till", n)
	}
}
