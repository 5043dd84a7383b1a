package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/passerelle/passerelle/gateway"
)

// upstreamKey is the meta row that holds where upstream sync stands. A
// row of the meta table rather than a table of its own: one JSON value
// written in one statement, and no migration (docs/sync.md).
const upstreamKey = "upstream.cursor"

// upstreamRow is the stored form of gateway.UpstreamCursor.
type upstreamRow struct {
	AckedThrough int64  `json:"acked_through"`
	LastSuccess  string `json:"last_success,omitempty"`
	LastError    string `json:"last_error,omitempty"`
	LastErrorAt  string `json:"last_error_at,omitempty"`
	NeedsAction  bool   `json:"needs_action,omitempty"`
}

// UpstreamCursor returns where upstream sync stands: all zero if it never
// ran.
func (s *Store) UpstreamCursor(ctx context.Context) (gateway.UpstreamCursor, error) {
	var raw string
	err := s.db.QueryRowContext(ctx, "SELECT value FROM meta WHERE key = ?", upstreamKey).Scan(&raw)
	if errors.Is(err, sql.ErrNoRows) {
		return gateway.UpstreamCursor{}, nil
	}
	if err != nil {
		return gateway.UpstreamCursor{}, fmt.Errorf("store: upstream cursor: %w", err)
	}
	var r upstreamRow
	if err := json.Unmarshal([]byte(raw), &r); err != nil {
		return gateway.UpstreamCursor{}, fmt.Errorf("store: upstream cursor: %w", err)
	}
	c := gateway.UpstreamCursor{AckedThrough: r.AckedThrough, LastError: r.LastError, NeedsAction: r.NeedsAction}
	if c.LastSuccess, err = optionalTime(r.LastSuccess); err != nil {
		return c, err
	}
	if c.LastErrorAt, err = optionalTime(r.LastErrorAt); err != nil {
		return c, err
	}
	return c, nil
}

// SaveUpstreamCursor records where upstream sync stands.
func (s *Store) SaveUpstreamCursor(ctx context.Context, c gateway.UpstreamCursor) error {
	if c.AckedThrough < 0 {
		return fmt.Errorf("store: upstream cursor: negative position %d", c.AckedThrough)
	}
	r := upstreamRow{AckedThrough: c.AckedThrough, LastError: c.LastError, NeedsAction: c.NeedsAction}
	if !c.LastSuccess.IsZero() {
		r.LastSuccess = formatTime(c.LastSuccess)
	}
	if !c.LastErrorAt.IsZero() {
		r.LastErrorAt = formatTime(c.LastErrorAt)
	}
	b, err := json.Marshal(r)
	if err != nil {
		return fmt.Errorf("store: upstream cursor: %w", err)
	}
	return s.Update(ctx, func(tx gateway.Tx) error {
		_, err := tx.(*txn).exec(`INSERT INTO meta (key, value) VALUES (?, ?)
			ON CONFLICT (key) DO UPDATE SET value = excluded.value`, upstreamKey, string(b))
		if err != nil {
			return fmt.Errorf("store: save upstream cursor: %w", err)
		}
		return nil
	})
}

func optionalTime(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	return parseTime(s)
}

// webCursorKey is the meta row of the web orders' pull: the hub's cursor
// after the last orders applied.
const webCursorKey = "upstream.orders_cursor"

var _ gateway.WebCursorTx = (*txn)(nil)

// SaveWebCursor implements gateway.WebCursorTx.
func (t *txn) SaveWebCursor(_ context.Context, cursor string) error {
	if len(cursor) > 256 {
		return fmt.Errorf("store: web orders cursor of %d bytes", len(cursor))
	}
	_, err := t.exec(`INSERT INTO meta (key, value) VALUES (?, ?)
		ON CONFLICT (key) DO UPDATE SET value = excluded.value`, webCursorKey, cursor)
	if err != nil {
		return fmt.Errorf("store: save web orders cursor: %w", err)
	}
	return nil
}

// WebCursor returns the web orders' cursor, "" before the first pull.
func (s *Store) WebCursor(ctx context.Context) (string, error) {
	var c string
	err := s.db.QueryRowContext(ctx, "SELECT value FROM meta WHERE key = ?", webCursorKey).Scan(&c)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("store: web orders cursor: %w", err)
	}
	return c, nil
}
