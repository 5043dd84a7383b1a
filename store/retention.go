package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"time"

	"github.com/passerelle/passerelle/gateway"
)

// compactedKey is the meta row holding the event log's compaction horizon:
// every event up to it has lost its copy of the ticket.
const compactedKey = "events_compacted_through"

// Retention is the event log's compaction policy (docs/operations.md). The
// shop's records (tickets, payments) are never deleted; an event keeps its
// full copy of the ticket until it is older than KeepFull and every reader
// that must get it whole (each till's webhook, the upstream hub) has it.
type Retention struct {
	KeepFull time.Duration // 0: never compact
	// UpstreamOn says whether the upstream sync is set up: its cursor
	// then bounds the horizon.
	UpstreamOn func() bool
	Batch      int           // events per write; 500 when zero
	Pause      time.Duration // between two writes, for the other writers
}

// CompactionReport says what one pass did.
type CompactionReport struct {
	From, Through int64 // the horizon before and after
	Events        int64 // events compacted
	Batches       int
}

// CompactedThrough is the horizon: a stream may not resume before it. It is
// read from memory: the compaction in this process keeps it, and it is
// raised before each batch commits, so that whoever reads a compacted event
// sees it already raised.
func (s *Store) CompactedThrough() int64 { return s.compacted.Load() }

func (s *Store) loadCompacted(ctx context.Context) error {
	var v string
	err := s.db.QueryRowContext(ctx, "SELECT value FROM meta WHERE key = ?", compactedKey).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("store: read %s: %w", compactedKey, err)
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return fmt.Errorf("store: %s: %w", compactedKey, err)
	}
	s.compacted.Store(n)
	return nil
}

// CompactionHorizon is the last event that may lose its ticket copy now:
// before the first event newer than KeepFull, at or before every webhook
// cursor of a till with a callback, and at or before the hub's
// acknowledgement when the upstream is set up.
func (s *Store) CompactionHorizon(ctx context.Context, p Retention, now time.Time) (int64, error) {
	if p.KeepFull <= 0 {
		return 0, nil
	}
	// The first recent event bounds it, not the last old one: a clock that
	// stepped back leaves old times after new ones, and those wait.
	var h int64
	err := s.db.QueryRowContext(ctx, `SELECT coalesce((SELECT min(seq) FROM events WHERE at >= ?) - 1, (SELECT coalesce(max(seq), 0) FROM events))`,
		formatTime(now.Add(-p.KeepFull))).Scan(&h)
	if err != nil {
		return 0, fmt.Errorf("store: compaction horizon: %w", err)
	}
	var hooks sql.NullInt64
	// A till with a callback and no cursor yet (one from before cursors
	// were set with the URL) starts at 0: it holds the horizon there.
	err = s.db.QueryRowContext(ctx, `SELECT min(coalesce(c.delivered_seq, 0)) FROM tills t LEFT JOIN webhook_cursors c ON c.till_id = t.id
		WHERE t.callback_url <> '' AND t.revoked_at IS NULL`).Scan(&hooks)
	if err != nil {
		return 0, fmt.Errorf("store: compaction horizon: %w", err)
	}
	if hooks.Valid {
		h = min(h, hooks.Int64)
	}
	if p.UpstreamOn != nil && p.UpstreamOn() {
		up, err := s.UpstreamCursor(ctx)
		if err != nil {
			return 0, err
		}
		h = min(h, up.AckedThrough)
	}
	return h, nil
}

// CompactEvents drops the ticket copy from the events up to the horizon,
// in small batches through the writer, each its own short commit, pausing
// between them: tills' requests wait for one batch at most. It stops at
// the horizon or when ctx ends, the horizon kept at the last batch done.
func (s *Store) CompactEvents(ctx context.Context, p Retention, now time.Time) (CompactionReport, error) {
	r := CompactionReport{From: s.CompactedThrough()}
	r.Through = r.From
	h, err := s.CompactionHorizon(ctx, p, now)
	if err != nil || h <= r.From {
		return r, err
	}
	batch := int64(p.Batch)
	if batch <= 0 {
		batch = 500
	}
	for r.Through < h {
		if r.Batches > 0 && p.Pause > 0 {
			select {
			case <-ctx.Done():
				return r, ctx.Err()
			case <-time.After(p.Pause):
			}
		}
		from, to := r.Through, min(r.Through+batch, h)
		var n int64
		err := s.Update(ctx, func(tx gateway.Tx) error {
			t := tx.(*txn)
			res, err := t.exec(`UPDATE events SET data = json_remove(data, '$.ticket')
				WHERE seq > ? AND seq <= ? AND json_type(data, '$.ticket') IS NOT NULL`, from, to)
			if err != nil {
				return fmt.Errorf("store: compact events: %w", err)
			}
			if n, err = res.RowsAffected(); err != nil {
				return err
			}
			if _, err := t.exec(`INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value`,
				compactedKey, strconv.FormatInt(to, 10)); err != nil {
				return fmt.Errorf("store: compact events: %w", err)
			}
			s.compacted.Store(to) // before the commit: see CompactedThrough
			return nil
		})
		if err != nil {
			s.compacted.Store(from)
			return r, err
		}
		r.Through, r.Events, r.Batches = to, r.Events+n, r.Batches+1
	}
	return r, nil
}

// RunRetention compacts the event log every interval until ctx ends. A
// failed pass is logged and tried again at the next.
func (s *Store) RunRetention(ctx context.Context, p Retention, every time.Duration, now func() time.Time, log *slog.Logger) error {
	if p.KeepFull <= 0 {
		<-ctx.Done()
		return ctx.Err()
	}
	t := time.NewTimer(time.Minute) // not at once: let a starting gateway settle
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
		r, err := s.CompactEvents(ctx, p, now())
		switch {
		case ctx.Err() != nil:
			return ctx.Err()
		case err != nil:
			log.Warn("event log compaction failed; tried again later", "err", err)
		case r.Events > 0:
			log.Info("event log compacted", "through", r.Through, "events", r.Events, "batches", r.Batches)
		}
		t.Reset(every)
	}
}
