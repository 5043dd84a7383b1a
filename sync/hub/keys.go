package hub

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"errors"
	"fmt"
	"time"
	"unicode/utf8"

	"github.com/passerelle/passerelle/gateway"
)

// Sentinel errors; the HTTP edge maps them to status codes.
var (
	ErrNotFound     = errors.New("hub: not found")
	ErrUnauthorized = errors.New("hub: unknown or revoked key")
	ErrForbidden    = errors.New("hub: this key may not do that")
	ErrInvalid      = errors.New("hub: invalid")
)

// MaxNameLen bounds the name of a store or a key.
const MaxNameLen = 128

// Key prefixes: a leaked key says what it is.
const (
	storeKeyPrefix   = "phs"
	webshopKeyPrefix = "phw"
	readKeyPrefix    = "phr"
	keyBytes         = 32
)

// Role is what a key may do.
type Role int

const (
	RoleStore   Role = iota + 1 // a shop's gateway: push and pull for its store
	RoleWebshop                 // a web shop: its store's orders
	RoleRead                    // head office: read every store
)

// Principal is who a request's key is.
type Principal struct {
	Role    Role
	StoreID string // the store of a store or web shop key
}

// Store is a shop as the hub knows it.
type Store struct {
	ID           string     `json:"store_id"`
	Name         string     `json:"name"`
	AckedThrough int64      `json:"acked_through"`
	LastSync     *time.Time `json:"last_sync"`
	CreatedAt    time.Time  `json:"created_at"`
	Revoked      bool       `json:"revoked,omitempty"`
}

func hashKey(key string) []byte {
	h := sha256.Sum256([]byte(key))
	return h[:]
}

func checkName(name string) error {
	if name == "" || len(name) > MaxNameLen || !utf8.ValidString(name) {
		return fmt.Errorf("%w: a name is 1 to %d bytes of UTF-8", ErrInvalid, MaxNameLen)
	}
	for _, r := range name {
		if r < ' ' || r == 0x7f {
			return fmt.Errorf("%w: a name has no control characters", ErrInvalid)
		}
	}
	return nil
}

// AddStore creates a shop and returns it with its store key, which the
// hub keeps hashed only: it is shown this once.
func (d *DB) AddStore(ctx context.Context, name string) (Store, string, error) {
	if err := checkName(name); err != nil {
		return Store{}, "", err
	}
	now := d.now().UTC()
	s := Store{ID: gateway.NewID("sto", now), Name: name, CreatedAt: now}
	key := gateway.NewSecret(storeKeyPrefix, keyBytes)
	_, err := d.wdb.ExecContext(ctx, d.q("INSERT INTO stores (id, name, key_hash, created_at) VALUES (?, ?, ?, ?)"),
		s.ID, s.Name, hashKey(key), formatTime(now))
	if err != nil {
		return Store{}, "", fmt.Errorf("hub: add store: %w", err)
	}
	return s, key, nil
}

// RevokeStore revokes a store's key: its gateway's next request is 401.
func (d *DB) RevokeStore(ctx context.Context, id string) error {
	res, err := d.wdb.ExecContext(ctx, d.q("UPDATE stores SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL"), formatTime(d.now()), id)
	if err != nil {
		return fmt.Errorf("hub: revoke store: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("hub: store %s: %w", id, ErrNotFound)
	}
	return nil
}

// Stores lists every store, revoked ones included.
func (d *DB) Stores(ctx context.Context) ([]Store, error) {
	rows, err := d.db.QueryContext(ctx, d.q("SELECT id, name, acked_through, last_sync, created_at, revoked_at IS NOT NULL FROM stores ORDER BY id"))
	if err != nil {
		return nil, fmt.Errorf("hub: stores: %w", err)
	}
	defer rows.Close()
	out := []Store{}
	for rows.Next() {
		var s Store
		var last sql.NullString
		var created string
		if err := rows.Scan(&s.ID, &s.Name, &s.AckedThrough, &last, &created, &s.Revoked); err != nil {
			return nil, fmt.Errorf("hub: stores: %w", err)
		}
		if s.CreatedAt, err = parseTime(created); err != nil {
			return nil, err
		}
		if last.Valid {
			t, err := parseTime(last.String)
			if err != nil {
				return nil, err
			}
			s.LastSync = &t
		}
		out = append(out, s)
	}
	return out, rows.Err()
}

// AddKey creates an API key: for storeID's web shop, or a read key for
// every store when storeID is "". The key is shown this once.
func (d *DB) AddKey(ctx context.Context, name, storeID string) (string, error) {
	if err := checkName(name); err != nil {
		return "", err
	}
	prefix := readKeyPrefix
	var store any
	if storeID != "" {
		prefix, store = webshopKeyPrefix, storeID
		var one int
		err := d.db.QueryRowContext(ctx, d.q("SELECT 1 FROM stores WHERE id = ? AND revoked_at IS NULL"), storeID).Scan(&one)
		if errors.Is(err, sql.ErrNoRows) {
			return "", fmt.Errorf("hub: store %s: %w", storeID, ErrNotFound)
		}
		if err != nil {
			return "", fmt.Errorf("hub: add key: %w", err)
		}
	}
	now := d.now().UTC()
	key := gateway.NewSecret(prefix, keyBytes)
	_, err := d.wdb.ExecContext(ctx, d.q("INSERT INTO api_keys (key_hash, id, name, store_id, created_at) VALUES (?, ?, ?, ?, ?)"),
		hashKey(key), gateway.NewID("key", now), name, store, formatTime(now))
	if err != nil {
		return "", fmt.Errorf("hub: add key: %w", err)
	}
	return key, nil
}

// Authenticate says whose key this is, or ErrUnauthorized. It reads the
// database at every request: a revoked key stops at once.
func (d *DB) Authenticate(ctx context.Context, key string) (Principal, error) {
	if key == "" {
		return Principal{}, ErrUnauthorized
	}
	h := hashKey(key)
	var id string
	err := d.db.QueryRowContext(ctx, d.q("SELECT id FROM stores WHERE key_hash = ? AND revoked_at IS NULL"), h).Scan(&id)
	if err == nil {
		return Principal{Role: RoleStore, StoreID: id}, nil
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return Principal{}, fmt.Errorf("hub: authenticate: %w", err)
	}
	var store sql.NullString
	err = d.db.QueryRowContext(ctx, d.q(`SELECT k.store_id FROM api_keys k LEFT JOIN stores s ON s.id = k.store_id
		WHERE k.key_hash = ? AND k.revoked_at IS NULL AND s.revoked_at IS NULL`), h).Scan(&store)
	if errors.Is(err, sql.ErrNoRows) {
		return Principal{}, ErrUnauthorized
	}
	if err != nil {
		return Principal{}, fmt.Errorf("hub: authenticate: %w", err)
	}
	if store.Valid {
		return Principal{Role: RoleWebshop, StoreID: store.String}, nil
	}
	return Principal{Role: RoleRead}, nil
}
