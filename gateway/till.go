package gateway

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"sync"
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
	keys  keyCache

	// AllowLoopbackCallbacks accepts callback URLs on loopback addresses
	// (127.0.0.0/8, ::1, localhost). Only tests set it, to deliver to an
	// httptest server; link-local and unspecified addresses stay refused.
	AllowLoopbackCallbacks bool
}

// NewTills returns the till key service.
func NewTills(store Store, now func() time.Time) *Tills {
	return &Tills{store: store, now: now, keys: keyCache{live: map[[sha256.Size]byte]Till{}}}
}

// keyCache keeps the live tills that Authenticate found, by their key's
// hash: the lookup was a SELECT on every request of the till API, 7 % of
// the gateway's CPU under load. Only keys found live are kept, so an
// unknown key still costs a lookup and cannot grow the cache past the
// tills there are.
//
// A till's entry goes when it is revoked: by Revoke, in this process,
// before Revoke returns; by Forget, which whoever follows the event log
// calls on a till.revoked event that another process (the CLI) wrote.
type keyCache struct {
	mu   sync.Mutex
	live map[[sha256.Size]byte]Till
	// gen counts forgets: a lookup that began before one may have read
	// the till before its revocation, and must not put it back.
	gen uint64
}

func (c *keyCache) get(h [sha256.Size]byte) (Till, bool, uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	t, ok := c.live[h]
	return t, ok, c.gen
}

// put keeps t unless a till was forgotten since gen.
func (c *keyCache) put(h [sha256.Size]byte, t Till, gen uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.gen == gen {
		c.live[h] = t
	}
}

func (c *keyCache) forget(tillID string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	for h, t := range c.live {
		if t.ID == tillID {
			delete(c.live, h)
		}
	}
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
	s.checkCallbackURL(&fe, nt.CallbackURL)
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

// MsgCallbackTarget is the field error of a callback URL that points at
// the box or a link-local address.
const MsgCallbackTarget = "must not point at this box (127.0.0.1, ::1, localhost, 0.0.0.0) nor at a link-local address (169.254.x.x, fe80::); the shop's LAN is fine"

// checkCallbackURL checks what the URL says. Its host may still resolve to
// a refused address, or be made to later (DNS rebinding): the deliverer
// checks again each address it connects to (see CallbackAddrProblem).
func (s *Tills) checkCallbackURL(fe *fieldErrors, raw string) {
	if raw == "" {
		return
	}
	u, err := url.Parse(raw)
	switch {
	case len(raw) > MaxCallbackURLLen:
		fe.add("callback_url", "too long")
	case err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "":
		fe.add("callback_url", "must be an http or https URL")
	case callbackHostProblem(u.Hostname(), s.AllowLoopbackCallbacks) != "":
		fe.add("callback_url", "%s", MsgCallbackTarget)
	}
}

// callbackHostProblem says why a callback may not go to host as the URL
// writes it, or "" if it may as far as the name tells.
func callbackHostProblem(host string, allowLoopback bool) string {
	name := strings.ToLower(strings.TrimSuffix(host, "."))
	switch {
	case name == "localhost" || strings.HasSuffix(name, ".localhost") ||
		name == "ip6-localhost" || name == "ip6-loopback":
		// RFC 6761: these names are the box itself, whatever DNS says.
		if allowLoopback {
			return ""
		}
		return "this box's own name"
	}
	ip, err := netip.ParseAddr(host)
	if err != nil {
		var ok bool
		if ip, ok = parseNumericIPv4(name); !ok {
			return "" // a name: the deliverer checks what it resolves to
		}
	}
	return CallbackAddrProblem(ip, allowLoopback)
}

// CallbackAddrProblem says why a webhook may not connect to ip, or "" if
// it may. Refused: loopback (the box itself: its own till API, admin page
// and whatever listens there), unspecified (0.0.0.0/8 and :: reach the box
// too), link-local (169.254.0.0/16, fe80::/10: a cloud's metadata service,
// devices' setup pages) and multicast, IPv4-mapped forms included. The
// shop's LAN (10/8, 172.16/12, 192.168/16, fc00::/7) and the internet are
// allowed. allowLoopback lets loopback through, for tests.
func CallbackAddrProblem(ip netip.Addr, allowLoopback bool) string {
	ip = ip.Unmap().WithZone("")
	switch {
	case !ip.IsValid():
		return "not an address"
	case ip.IsLoopback():
		if allowLoopback {
			return ""
		}
		return "a loopback address (this box itself)"
	case ip.IsUnspecified() || (ip.Is4() && ip.As4()[0] == 0):
		return "an unspecified address (this box itself)"
	case ip.IsLinkLocalUnicast():
		return "a link-local address"
	case ip.IsMulticast():
		return "a multicast address"
	}
	return ""
}

// parseNumericIPv4 reads host as inet_aton does (a resolver may): one to
// four parts, each decimal, octal (0 first) or hex (0x first), the last
// filling the bytes left, so that "2130706433", "0x7f.1" and "0177.0.0.1"
// are all 127.0.0.1. ok is false for anything else, a name.
func parseNumericIPv4(host string) (netip.Addr, bool) {
	parts := strings.Split(host, ".")
	if len(parts) > 4 {
		return netip.Addr{}, false
	}
	var nums []uint64
	for _, p := range parts {
		base, digits := 10, p
		switch {
		case len(p) > 2 && (p[:2] == "0x" || p[:2] == "0X"):
			base, digits = 16, p[2:]
		case len(p) > 1 && p[0] == '0':
			base, digits = 8, p[1:]
		}
		n, err := strconv.ParseUint(digits, base, 32)
		if err != nil {
			return netip.Addr{}, false
		}
		nums = append(nums, n)
	}
	var v uint64
	for i, n := range nums {
		if i < len(nums)-1 {
			if n > 255 {
				return netip.Addr{}, false
			}
			v |= n << (8 * (3 - i))
			continue
		}
		if n >= 1<<(8*(4-i)) {
			return netip.Addr{}, false
		}
		v |= n
	}
	return netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)}), true
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
	s.checkCallbackURL(&fe, callbackURL)
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
	// The cached till would keep the old URL.
	s.keys.forget(before.ID)
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

// Revoke stops a till's key: in this process at once (the key is
// forgotten before Revoke returns, and every request checks it), and the
// till.revoked event ends the key's open event streams, in this process
// and, through the store watch, in a gateway beside the CLI, which
// forgets the key when it sees the event (Forget).
func (s *Tills) Revoke(ctx context.Context, name string) error {
	t, err := s.Find(ctx, name)
	if err != nil {
		return err
	}
	now := s.now().UTC()
	err = s.store.Update(ctx, func(tx Tx) error {
		if err := tx.RevokeTill(ctx, t.ID, now); err != nil {
			return err
		}
		return appendTillEvent(ctx, tx, EventTillRevoked, &t, now)
	})
	// Even on an error: the commit may have happened all the same (a
	// failed fsync), and a lookup costs less than a revoked key let in.
	s.keys.forget(t.ID)
	return err
}

// Forget drops what Authenticate keeps of a till's key: the next request
// with it reads the store. The gateway's follower of the event log calls
// it on each till.revoked event, whichever process wrote it.
func (s *Tills) Forget(tillID string) { s.keys.forget(tillID) }

// Authenticate returns the live till whose key this is. The till may be
// kept from an earlier request: it says who the till is (ID, name,
// admin), not its callback, which the CLI may have changed since.
func (s *Tills) Authenticate(ctx context.Context, key string) (Till, error) {
	if key == "" {
		return Till{}, ErrUnauthorized
	}
	h := sha256.Sum256([]byte(key))
	t, ok, gen := s.keys.get(h)
	if ok {
		return t, nil
	}
	t, err := s.store.TillByKeyHash(ctx, h[:])
	if errors.Is(err, ErrNotFound) {
		return Till{}, ErrUnauthorized
	}
	if err != nil {
		return Till{}, err
	}
	s.keys.put(h, t, gen)
	return t, nil
}

// AuthenticateStored is Authenticate from the store alone, never the
// cache: it refuses a key whose revocation was committed before it, by
// whichever process, even one this process has not heard of yet. For a
// check that must be ordered with the event log (an event stream's
// start), not for every request.
func (s *Tills) AuthenticateStored(ctx context.Context, key string) (Till, error) {
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
