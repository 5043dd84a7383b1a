package store

import (
	"context"
	"fmt"
	"os"
	"time"
)

// Counts is what the metrics read of the store at each scrape: a few
// aggregate queries on indexes, on the readers' pool, never the writer.
type Counts struct {
	TicketsByStatus  map[string]int64
	PaymentsByStatus map[string]int64
	LastSeq          int64
	UpstreamAcked    int64
	CompactedThrough int64 // the event log's compaction horizon
	Webhooks         []WebhookQueue
	DBBytes          int64 // the database file
	WALBytes         int64 // its write-ahead log
}

// WebhookQueue is one till's webhook backlog.
type WebhookQueue struct {
	Till     string
	Pending  int64 // events for the till past its cursor
	Attempts int   // failed attempts at the first of them
}

// Counts reads the counts the metrics show.
func (s *Store) Counts(ctx context.Context) (Counts, error) {
	c := Counts{TicketsByStatus: map[string]int64{}, PaymentsByStatus: map[string]int64{}}
	if err := s.groupCount(ctx, "SELECT status, count(*) FROM tickets GROUP BY status", c.TicketsByStatus); err != nil {
		return c, err
	}
	if err := s.groupCount(ctx, "SELECT status, count(*) FROM payments GROUP BY status", c.PaymentsByStatus); err != nil {
		return c, err
	}
	var err error
	if c.LastSeq, err = s.LastSeq(ctx); err != nil {
		return c, err
	}
	up, err := s.UpstreamCursor(ctx)
	if err != nil {
		return c, err
	}
	c.UpstreamAcked = up.AckedThrough
	c.CompactedThrough = s.CompactedThrough()
	if c.Webhooks, err = s.webhookQueues(ctx); err != nil {
		return c, err
	}
	if fi, err := os.Stat(s.path); err == nil {
		c.DBBytes = fi.Size()
	}
	if fi, err := os.Stat(s.path + "-wal"); err == nil {
		c.WALBytes = fi.Size()
	}
	return c, nil
}

func (s *Store) groupCount(ctx context.Context, query string, into map[string]int64) error {
	rows, err := s.db.QueryContext(ctx, query)
	if err != nil {
		return fmt.Errorf("store: counts: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var k string
		var n int64
		if err := rows.Scan(&k, &n); err != nil {
			return fmt.Errorf("store: counts: %w", err)
		}
		into[k] = n
	}
	return rows.Err()
}

// webhookQueues counts, for each till with a callback and a cursor, the
// events past the cursor that are its own (every event, for an admin
// till), on the index of (till_id, seq).
func (s *Store) webhookQueues(ctx context.Context) ([]WebhookQueue, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT t.name, t.id, t.admin, c.delivered_seq, c.attempts FROM tills t
		JOIN webhook_cursors c ON c.till_id = t.id WHERE t.callback_url <> '' AND t.revoked_at IS NULL ORDER BY t.name`)
	if err != nil {
		return nil, fmt.Errorf("store: webhook queues: %w", err)
	}
	type cur struct {
		q     WebhookQueue
		id    string
		admin bool
		after int64
	}
	var curs []cur
	for rows.Next() {
		var c cur
		if err := rows.Scan(&c.q.Till, &c.id, &c.admin, &c.after, &c.q.Attempts); err != nil {
			rows.Close()
			return nil, fmt.Errorf("store: webhook queues: %w", err)
		}
		curs = append(curs, c)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: webhook queues: %w", err)
	}
	out := make([]WebhookQueue, 0, len(curs))
	for _, c := range curs {
		q := "SELECT count(*) FROM events WHERE till_id = ? AND seq > ?"
		args := []any{c.id, c.after}
		if c.admin {
			q, args = "SELECT count(*) FROM events WHERE seq > ?", []any{c.after}
		}
		if err := s.db.QueryRowContext(ctx, q, args...).Scan(&c.q.Pending); err != nil {
			return nil, fmt.Errorf("store: webhook queues: %w", err)
		}
		out = append(out, c.q)
	}
	return out, nil
}

// CommitObserver is told of every commit of the writer: how long it took
// (its fsync included) and how many callers it held.
type CommitObserver func(took time.Duration, callers int)

// ObserveCommits sets the writer's observer (nil for none).
func (s *Store) ObserveCommits(f CommitObserver) {
	if f == nil {
		s.observer.Store(nil)
		return
	}
	s.observer.Store(&f)
}
