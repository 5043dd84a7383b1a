package gateway

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"net/url"
	"time"
)

// Till is a client of the till API: a caisse, a web shop connector, a script.
type Till struct {
	ID            string
	Name          string
	KeyHash       []byte
	Admin         bool // an admin key sees every till's tickets and events
	CallbackURL   string
	WebhookSecret string // signs webhooks; the till keeps a copy to verify them
	CreatedAt     time.Time
	RevokedAt     *time.Time
}

// HashKey is how till keys and terminal tokens are stored. They are 256-bit
// random secrets, so a plain SHA-256 is enough: there is nothing to guess,
// and it keeps the check on every request cheap.
func HashKey(key string) []byte {
	h := sha256.Sum256([]byte(key))
	return h[:]
}

// Tills manages the tills' keys.
type Tills struct {
	store Store
	now   func() time.Time
}

// NewTills returns the till key service.
func NewTills(store Store, now func() time.Time) *Tills {
	return &Tills{store: store, now: now}
}

// NewTill says what to create.
type NewTill struct {
	Name        string
	CallbackURL string
	Admin       bool
}

// Add creates a till and returns it with its key, which exists nowhere else
// afterwards: only its hash is stored.
func (s *Tills) Add(ctx context.Context, nt NewTill) (Till, string, error) {
	var fe fieldErrors
	if msg := CheckText(nt.Name, 1, MaxNameLen); msg != "" {
		fe.add("name", "%s", msg)
	}
	checkCallbackURL(&fe, nt.CallbackURL)
	if err := fe.err(); err != nil {
		return Till{}, "", err
	}
	key := NewSecret("ptk", 32)
	now := s.now().UTC()
	t := Till{ID: NewID("till", now), Name: nt.Name, KeyHash: HashKey(key), Admin: nt.Admin,
		CallbackURL: nt.CallbackURL, WebhookSecret: NewSecret("whsec", 32), CreatedAt: now}
	err := s.store.Update(ctx, func(tx Tx) error {
		if _, err := tx.TillByName(ctx, nt.Name); err == nil {
			return Conflict("a till named %q exists already", nt.Name)
		}
		return tx.InsertTill(ctx, &t)
	})
	if err != nil {
		return Till{}, "", err
	}
	return t, key, nil
}

// MaxCallbackURLLen bounds a till's callback URL.
const MaxCallbackURLLen = 2048

func checkCallbackURL(fe *fieldErrors, raw string) {
	if raw == "" {
		return
	}
	u, err := url.Parse(raw)
	switch {
	case len(raw) > MaxCallbackURLLen:
		fe.add("callback_url", "too long")
	case err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "":
		fe.add("callback_url", "must be an http or https URL")
	}
}

// SetCallback gives a till another callback URL, or none (""). It returns
// the till as it was before and as it is now.
//
// Events not yet delivered go to the new URL: a manager who fixes a wrong
// URL wants the backlog to arrive. A till that had no URL starts with the
// next event, not with every event it ever had: it can read those from
// the event stream with ?after=.
func (s *Tills) SetCallback(ctx context.Context, name, callbackURL string) (before, after Till, err error) {
	var fe fieldErrors
	checkCallbackURL(&fe, callbackURL)
	if err := fe.err(); err != nil {
		return Till{}, Till{}, err
	}
	// Read and decided inside the transaction: another SetCallback may
	// commit meanwhile.
	err = s.store.Update(ctx, func(tx Tx) error {
		if before, err = tx.TillByName(ctx, name); err != nil {
			return fmt.Errorf("till %q: %w", name, err)
		}
		if before.RevokedAt != nil {
			return Conflict("till %q is revoked", name)
		}
		if err := tx.SetTillCallback(ctx, before.ID, callbackURL); err != nil {
			return err
		}
		if before.CallbackURL == "" && callbackURL != "" {
			return tx.SkipWebhooks(ctx, before.ID)
		}
		return nil
	})
	if err != nil {
		return Till{}, Till{}, err
	}
	after = before
	after.CallbackURL = callbackURL
	return before, after, nil
}

// Find returns the till named name.
func (s *Tills) Find(ctx context.Context, name string) (Till, error) {
	t, err := s.store.TillByName(ctx, name)
	if err != nil {
		return Till{}, fmt.Errorf("till %q: %w", name, err)
	}
	return t, nil
}

// Revoke stops a till's key at once: every request checks the key, and
// the till.revoked event ends the key's open event streams, in this process
// and, through the store watch, in a gateway beside the CLI.
func (s *Tills) Revoke(ctx context.Context, name string) error {
	t, err := s.Find(ctx, name)
	if err != nil {
		return err
	}
	now := s.now().UTC()
	return s.store.Update(ctx, func(tx Tx) error {
		if err := tx.RevokeTill(ctx, t.ID, now); err != nil {
			return err
		}
		return appendTillEvent(ctx, tx, EventTillRevoked, &t, now)
	})
}

// Authenticate returns the live till whose key this is.
func (s *Tills) Authenticate(ctx context.Context, key string) (Till, error) {
	if key == "" {
		return Till{}, ErrUnauthorized
	}
	t, err := s.store.TillByKeyHash(ctx, HashKey(key))
	if errors.Is(err, ErrNotFound) {
		return Till{}, ErrUnauthorized
	}
	return t, err
}

// List returns every till, revoked ones included.
func (s *Tills) List(ctx context.Context) ([]Till, error) { return s.store.Tills(ctx) }

// WebhookCursor is where delivery to one till's callback stands.
type WebhookCursor struct {
	TillID       string
	DeliveredSeq int64
	Attempts     int
	LastError    string
	LastAttempt  time.Time
}
