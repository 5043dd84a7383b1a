package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/passerelle/passerelle/gateway"
)

// WebhookCursor returns the last event delivered to the till's callback (0
// if none was).
func (s *Store) WebhookCursor(ctx context.Context, tillID string) (int64, error) {
	var seq int64
	err := s.db.QueryRowContext(ctx, "SELECT delivered_seq FROM webhook_cursors WHERE till_id = ?", tillID).Scan(&seq)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("store: webhook cursor: %w", err)
	}
	return seq, nil
}

// WebhookCursors returns every till's delivery state.
func (s *Store) WebhookCursors(ctx context.Context) ([]gateway.WebhookCursor, error) {
	rows, err := s.db.QueryContext(ctx, "SELECT till_id, delivered_seq, attempts, last_error, last_attempt FROM webhook_cursors ORDER BY till_id")
	if err != nil {
		return nil, fmt.Errorf("store: webhook cursors: %w", err)
	}
	defer rows.Close()
	var out []gateway.WebhookCursor
	for rows.Next() {
		var c gateway.WebhookCursor
		var at *string
		if err := rows.Scan(&c.TillID, &c.DeliveredSeq, &c.Attempts, &c.LastError, &at); err != nil {
			return nil, fmt.Errorf("store: webhook cursors: %w", err)
		}
		if at != nil {
			if c.LastAttempt, err = parseTime(*at); err != nil {
				return nil, err
			}
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// SaveWebhookCursor records where delivery to a till's callback url
// stands. It saves only if url is still the till's and the cursor is still
// at from (no cursor counts as 0); otherwise it returns
// gateway.ErrCursorMoved and saves nothing: the callback URL changed
// meanwhile, and with it where delivery starts and goes.
func (s *Store) SaveWebhookCursor(ctx context.Context, c gateway.WebhookCursor, from int64, url string) error {
	return s.Update(ctx, func(tx gateway.Tx) error {
		// The WHERE of the SELECT also keeps SQLite from reading ON
		// CONFLICT as a join.
		res, err := tx.(*txn).exec(`INSERT INTO webhook_cursors (till_id, delivered_seq, attempts, last_error, last_attempt)
			SELECT ?, ?, ?, ?, ? WHERE (SELECT callback_url FROM tills WHERE id = ?) = ?
			ON CONFLICT (till_id) DO UPDATE SET delivered_seq = excluded.delivered_seq,
				attempts = excluded.attempts, last_error = excluded.last_error, last_attempt = excluded.last_attempt
			WHERE webhook_cursors.delivered_seq = ?`,
			c.TillID, c.DeliveredSeq, c.Attempts, c.LastError, formatTime(c.LastAttempt), c.TillID, url, from)
		if err != nil {
			return fmt.Errorf("store: save webhook cursor: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("store: till %s: %w", c.TillID, gateway.ErrCursorMoved)
		}
		return nil
	})
}

// SkipWebhooks implements gateway.Tx.
func (t *txn) SkipWebhooks(_ context.Context, tillID string) error {
	_, err := t.exec(`INSERT INTO webhook_cursors (till_id, delivered_seq, attempts, last_error, last_attempt)
		VALUES (?, ?, 0, '', NULL)
		ON CONFLICT (till_id) DO UPDATE SET delivered_seq = excluded.delivered_seq, attempts = 0, last_error = ''`,
		tillID, t.seq)
	if err != nil {
		return fmt.Errorf("store: skip webhooks: %w", err)
	}
	return nil
}
