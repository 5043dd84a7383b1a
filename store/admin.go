package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/passerelle/passerelle/gateway"
)

var _ gateway.AdminStore = (*Store)(nil)

// AdminPasswordHash implements gateway.AdminStore.
func (s *Store) AdminPasswordHash(ctx context.Context) (string, error) {
	var h string
	err := s.db.QueryRowContext(ctx, "SELECT hash FROM admin_password WHERE id = 1").Scan(&h)
	if errors.Is(err, sql.ErrNoRows) {
		return "", gateway.ErrNotFound
	}
	if err != nil {
		return "", fmt.Errorf("store: admin password: %w", err)
	}
	return h, nil
}

// InitAdminPassword implements gateway.AdminStore.
func (s *Store) InitAdminPassword(ctx context.Context, hash string, at time.Time) error {
	return s.Update(ctx, func(tx gateway.Tx) error {
		res, err := tx.(*txn).exec(`INSERT INTO admin_password (id, hash, updated_at) VALUES (1, ?, ?)
			ON CONFLICT (id) DO NOTHING`, hash, formatTime(at))
		if err != nil {
			return fmt.Errorf("store: set admin password: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return gateway.ErrAdminPasswordSet
		}
		return nil
	})
}

// SetAdminPassword implements gateway.AdminStore.
func (s *Store) SetAdminPassword(ctx context.Context, hash string, at time.Time) error {
	return s.Update(ctx, func(tx gateway.Tx) error {
		t := tx.(*txn)
		if _, err := t.exec(`INSERT INTO admin_password (id, hash, updated_at) VALUES (1, ?, ?)
			ON CONFLICT (id) DO UPDATE SET hash = excluded.hash, updated_at = excluded.updated_at`,
			hash, formatTime(at)); err != nil {
			return fmt.Errorf("store: set admin password: %w", err)
		}
		if _, err := t.exec("DELETE FROM admin_sessions"); err != nil {
			return fmt.Errorf("store: end admin sessions: %w", err)
		}
		return nil
	})
}

// InsertAdminSession implements gateway.AdminStore.
func (s *Store) InsertAdminSession(ctx context.Context, a gateway.AdminSession) error {
	return s.Update(ctx, func(tx gateway.Tx) error {
		_, err := tx.(*txn).exec(`INSERT INTO admin_sessions (token_hash, created_at, last_seen, expires_at, addr)
			VALUES (?, ?, ?, ?, ?)`, a.TokenHash, formatTime(a.CreatedAt), formatTime(a.LastSeen),
			formatTime(a.ExpiresAt), a.Addr)
		if err != nil {
			return fmt.Errorf("store: insert admin session: %w", err)
		}
		return nil
	})
}

// AdminSession implements gateway.AdminStore.
func (s *Store) AdminSession(ctx context.Context, tokenHash []byte) (gateway.AdminSession, error) {
	a := gateway.AdminSession{TokenHash: tokenHash}
	var created, seen, expires string
	err := s.db.QueryRowContext(ctx, `SELECT created_at, last_seen, expires_at, addr FROM admin_sessions
		WHERE token_hash = ?`, tokenHash).Scan(&created, &seen, &expires, &a.Addr)
	if errors.Is(err, sql.ErrNoRows) {
		return a, gateway.ErrNotFound
	}
	if err != nil {
		return a, fmt.Errorf("store: admin session: %w", err)
	}
	if a.CreatedAt, err = parseTime(created); err != nil {
		return a, err
	}
	if a.LastSeen, err = parseTime(seen); err != nil {
		return a, err
	}
	a.ExpiresAt, err = parseTime(expires)
	return a, err
}

// TouchAdminSession implements gateway.AdminStore.
func (s *Store) TouchAdminSession(ctx context.Context, tokenHash []byte, at time.Time) error {
	return s.Update(ctx, func(tx gateway.Tx) error {
		if _, err := tx.(*txn).exec("UPDATE admin_sessions SET last_seen = ? WHERE token_hash = ?",
			formatTime(at), tokenHash); err != nil {
			return fmt.Errorf("store: touch admin session: %w", err)
		}
		return nil
	})
}

// DeleteAdminSession implements gateway.AdminStore.
func (s *Store) DeleteAdminSession(ctx context.Context, tokenHash []byte) error {
	return s.Update(ctx, func(tx gateway.Tx) error {
		if _, err := tx.(*txn).exec("DELETE FROM admin_sessions WHERE token_hash = ?", tokenHash); err != nil {
			return fmt.Errorf("store: delete admin session: %w", err)
		}
		return nil
	})
}

// DeleteStaleAdminSessions implements gateway.AdminStore.
func (s *Store) DeleteStaleAdminSessions(ctx context.Context, expiredBefore, idleBefore time.Time) error {
	return s.Update(ctx, func(tx gateway.Tx) error {
		if _, err := tx.(*txn).exec("DELETE FROM admin_sessions WHERE expires_at <= ? OR last_seen <= ?",
			formatTime(expiredBefore), formatTime(idleBefore)); err != nil {
			return fmt.Errorf("store: delete stale admin sessions: %w", err)
		}
		return nil
	})
}

// DatabaseSize returns the database's size in bytes (pages in use and
// free, not counting the WAL).
func (s *Store) DatabaseSize(ctx context.Context) (int64, error) {
	var pages, size int64
	if err := s.db.QueryRowContext(ctx, "PRAGMA page_count").Scan(&pages); err != nil {
		return 0, fmt.Errorf("store: database size: %w", err)
	}
	if err := s.db.QueryRowContext(ctx, "PRAGMA page_size").Scan(&size); err != nil {
		return 0, fmt.Errorf("store: database size: %w", err)
	}
	return pages * size, nil
}

// inArgs returns "?,?,?" and the arguments for an IN list.
func inArgs(vals []string) (string, []any) {
	args := make([]any, len(vals))
	for i, v := range vals {
		args[i] = v
	}
	return strings.TrimSuffix(strings.Repeat("?,", len(vals)), ","), args
}
