package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/passerelle/passerelle/gateway"
)

const tillColumns = "id, name, key_hash, admin, callback_url, webhook_secret, created_at, revoked_at"

func scanTill(row scanner) (gateway.Till, error) {
	var t gateway.Till
	var created string
	var revoked *string
	err := row.Scan(&t.ID, &t.Name, &t.KeyHash, &t.Admin, &t.CallbackURL, &t.WebhookSecret, &created, &revoked)
	if errors.Is(err, sql.ErrNoRows) {
		return t, gateway.ErrNotFound
	}
	if err != nil {
		return t, fmt.Errorf("store: read till: %w", err)
	}
	if t.CreatedAt, err = parseTime(created); err != nil {
		return t, err
	}
	if revoked != nil {
		at, err := parseTime(*revoked)
		if err != nil {
			return t, err
		}
		t.RevokedAt = &at
	}
	return t, nil
}

// TillByKeyHash implements gateway.Store. Revoked tills are not found.
func (s *Store) TillByKeyHash(ctx context.Context, hash []byte) (gateway.Till, error) {
	return scanTill(s.tillByKey.QueryRowContext(ctx, hash))
}

// TillByName implements gateway.Store.
func (s *Store) TillByName(ctx context.Context, name string) (gateway.Till, error) {
	return scanTill(s.db.QueryRowContext(ctx, "SELECT "+tillColumns+" FROM tills WHERE name = ?", name))
}

// Tills implements gateway.Store.
func (s *Store) Tills(ctx context.Context) ([]gateway.Till, error) {
	rows, err := s.db.QueryContext(ctx, "SELECT "+tillColumns+" FROM tills ORDER BY name")
	if err != nil {
		return nil, fmt.Errorf("store: list tills: %w", err)
	}
	defer rows.Close()
	var out []gateway.Till
	for rows.Next() {
		t, err := scanTill(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	return out, rows.Err()
}

// InsertTill implements gateway.Tx.
func (t *txn) InsertTill(_ context.Context, tl *gateway.Till) error {
	_, err := t.exec("INSERT INTO tills ("+tillColumns+") VALUES (?, ?, ?, ?, ?, ?, ?, NULL)",
		tl.ID, tl.Name, tl.KeyHash, tl.Admin, tl.CallbackURL, tl.WebhookSecret, formatTime(tl.CreatedAt))
	if err != nil {
		return fmt.Errorf("store: insert till %s: %w", tl.Name, err)
	}
	return nil
}

// RevokeTill implements gateway.Tx.
func (t *txn) RevokeTill(_ context.Context, id string, at time.Time) error {
	res, err := t.exec("UPDATE tills SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL", formatTime(at), id)
	if err != nil {
		return fmt.Errorf("store: revoke till: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("store: till %s: %w", id, gateway.ErrNotFound)
	}
	return nil
}

// TillByName implements gateway.Tx.
func (t *txn) TillByName(_ context.Context, name string) (gateway.Till, error) {
	return scanTill(t.tx.QueryRowContext(t.ctx, "SELECT "+tillColumns+" FROM tills WHERE name = ?", name))
}

// SetTillCallback implements gateway.Tx.
func (t *txn) SetTillCallback(_ context.Context, id, url string) error {
	res, err := t.exec("UPDATE tills SET callback_url = ? WHERE id = ?", url, id)
	if err != nil {
		return fmt.Errorf("store: set till callback: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("store: till %s: %w", id, gateway.ErrNotFound)
	}
	return nil
}
