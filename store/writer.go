package store

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/passerelle/passerelle/gateway"
)

type writeReq struct {
	ctx  context.Context
	fn   func(gateway.Tx) error
	done chan error
}

// Update implements gateway.Store: fn runs in the writer's transaction and
// Update returns after the commit.
func (s *Store) Update(ctx context.Context, fn func(gateway.Tx) error) error {
	r := &writeReq{ctx: ctx, fn: fn, done: make(chan error, 1)}
	select {
	case s.reqs <- r:
	case <-s.closed:
		return ErrClosed
	case <-ctx.Done():
		return ctx.Err()
	}
	return <-r.done
}

// writer takes whoever is waiting and commits them together. The channel is
// unbuffered, so a batch is exactly the callers that queued up while the
// previous commit was being fsync'd: under no load each commit holds one.
func (s *Store) writer() {
	defer close(s.done)
	for {
		var batch []*writeReq
		select {
		case r := <-s.reqs:
			batch = append(batch, r)
		case <-s.closed:
			return
		}
	drain:
		for len(batch) < maxBatch {
			select {
			case r := <-s.reqs:
				batch = append(batch, r)
			default:
				break drain
			}
		}
		s.commit(batch)
	}
}

// commit runs a batch in one transaction, each caller in its own savepoint.
// SQL runs under the writer's context, never a caller's: SQLite answers a
// cancelled statement with sqlite3_interrupt, which can roll back the whole
// transaction, and with it the other callers' work.
func (s *Store) commit(batch []*writeReq) {
	ctx := context.Background()
	errs := make([]error, len(batch))
	fail := func(err error) {
		for _, r := range batch {
			r.done <- err
		}
	}
	tx, err := s.wdb.BeginTx(ctx, nil)
	if err != nil {
		fail(fmt.Errorf("store: begin: %w", err))
		return
	}
	var last int64
	if err := tx.QueryRowContext(ctx, "SELECT COALESCE(MAX(seq), 0) FROM events").Scan(&last); err != nil {
		tx.Rollback()
		fail(fmt.Errorf("store: read last seq: %w", err))
		return
	}
	t := &txn{tx: tx, ctx: ctx, seq: last}
	var events []gateway.Event
	for i, r := range batch {
		if err := r.ctx.Err(); err != nil {
			errs[i] = err
			continue
		}
		evs, err := t.run(r.fn)
		if err != nil {
			errs[i] = err
			continue
		}
		events = append(events, evs...)
	}
	if err := tx.Commit(); err != nil {
		fail(fmt.Errorf("store: commit: %w", err))
		return
	}
	if s.pub != nil {
		s.pub.Publish(events)
	}
	for i, r := range batch {
		r.done <- errs[i]
	}
}

// txn is a gateway.Tx over the writer's transaction.
type txn struct {
	tx     *sql.Tx
	ctx    context.Context
	seq    int64 // last seq assigned
	events []gateway.Event
}

// run calls fn inside a savepoint and returns the events it appended.
func (t *txn) run(fn func(gateway.Tx) error) ([]gateway.Event, error) {
	if _, err := t.tx.ExecContext(t.ctx, "SAVEPOINT caller"); err != nil {
		return nil, fmt.Errorf("store: savepoint: %w", err)
	}
	seq := t.seq
	t.events = nil
	if err := fn(t); err != nil {
		t.seq = seq
		if _, rerr := t.exec("ROLLBACK TO caller"); rerr != nil {
			return nil, fmt.Errorf("store: rollback to savepoint: %w (after %w)", rerr, err)
		}
		if _, rerr := t.exec("RELEASE caller"); rerr != nil {
			return nil, fmt.Errorf("store: release savepoint: %w (after %w)", rerr, err)
		}
		return nil, err
	}
	if _, err := t.tx.ExecContext(t.ctx, "RELEASE caller"); err != nil {
		return nil, fmt.Errorf("store: release savepoint: %w", err)
	}
	return t.events, nil
}

func (t *txn) exec(query string, args ...any) (sql.Result, error) {
	return t.tx.ExecContext(t.ctx, query, args...)
}

func (t *txn) queryRow(query string, args ...any) *sql.Row {
	return t.tx.QueryRowContext(t.ctx, query, args...)
}

func (t *txn) query(query string, args ...any) (*sql.Rows, error) {
	return t.tx.QueryContext(t.ctx, query, args...)
}

// AppendEvent implements gateway.Tx.
func (t *txn) AppendEvent(_ context.Context, e *gateway.Event) error {
	e.Seq = t.seq + 1
	if _, err := t.exec(`INSERT INTO events (seq, type, at, till_id, ticket_id, ticket_ref, payment_id, data)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
		e.Seq, e.Type, formatTime(e.At), e.TillID, e.TicketID, e.TicketRef, e.PaymentID, string(e.Data)); err != nil {
		return fmt.Errorf("store: append event: %w", err)
	}
	t.seq = e.Seq
	t.events = append(t.events, *e)
	return nil
}
