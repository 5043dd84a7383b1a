package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"runtime/debug"
	"time"

	"github.com/passerelle/passerelle/gateway"
)

// maxBatch bounds how many callers share one commit.
const maxBatch = 256

// maxLinger bounds how long the writer waits for the callers of its last
// commit to come back before it commits a smaller batch.
const maxLinger = 2 * time.Millisecond

type writeReq struct {
	ctx  context.Context
	fn   func(gateway.Tx) error
	done chan error
}

// Update implements gateway.Store: fn runs in the writer's transaction and
// Update returns after the commit. A panic in fn is raised again here, in
// the caller's goroutine, and leaves the other callers and the writer be.
func (s *Store) Update(ctx context.Context, fn func(gateway.Tx) error) error {
	r := &writeReq{ctx: ctx, fn: fn, done: make(chan error, 1)}
	select {
	case s.reqs <- r:
	case <-s.closed:
		return ErrClosed
	case <-ctx.Done():
		return ctx.Err()
	}
	err := <-r.done
	if p, ok := err.(*panicError); ok {
		panic(p.value)
	}
	return err
}

// writer takes whoever is waiting and commits them together: a batch is the
// callers that queued up while the previous commit was being fsync'd, so
// under no load each commit holds one caller and waits for nobody.
//
// Under load the callers of a commit come back soon after it, while the
// writer has already started the next commit with the first of them alone:
// batches would alternate between one caller and all the others, twice the
// commits for the same work. So when fewer callers wait than the last commit
// held, the writer waits a little for the others, a fraction of what a
// commit costs and never long: each caller that comes back in time saves a
// whole commit.
func (s *Store) writer() {
	defer close(s.done)
	linger := time.NewTimer(time.Hour)
	linger.Stop()
	var lastSize int
	var lastTook time.Duration
	batch := make([]*writeReq, 0, maxBatch)
	for {
		batch = batch[:0]
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
		if len(batch) < lastSize {
			linger.Reset(min(lastTook/2, maxLinger))
		gather:
			for len(batch) < lastSize && len(batch) < maxBatch {
				select {
				case r := <-s.reqs:
					batch = append(batch, r)
				case <-linger.C:
					break gather
				case <-s.closed:
					break gather
				}
			}
			linger.Stop()
		}
		start := time.Now()
		s.commit(batch)
		lastSize, lastTook = len(batch), time.Since(start)
		if o := s.observer.Load(); o != nil {
			(*o)(lastTook, lastSize)
		}
	}
}

// errBroken marks a failure that leaves the batch's transaction unusable.
var errBroken = errors.New("store: transaction aborted")

// commit runs a batch in one transaction, each caller in its own savepoint.
// SQL runs under the writer's context, never a caller's: SQLite answers a
// cancelled statement with sqlite3_interrupt, which can roll back the whole
// transaction, and with it the other callers' work.
func (s *Store) commit(batch []*writeReq) {
	ctx := context.Background()
	fail := func(err error) {
		err = s.classify(err)
		for _, r := range batch {
			r.done <- err
		}
	}
	w := s.w
	if _, err := w.ExecContext(ctx, "BEGIN IMMEDIATE"); err != nil {
		fail(fmt.Errorf("store: begin: %w", err))
		return
	}
	abort := func(err error) {
		if _, rerr := w.ExecContext(ctx, "ROLLBACK"); rerr != nil {
			s.log.Warn("store: rollback", "err", rerr)
		}
		fail(err)
	}
	var last int64
	if err := w.QueryRowContext(ctx, "SELECT COALESCE(MAX(seq), 0) FROM events").Scan(&last); err != nil {
		abort(fmt.Errorf("store: read last seq: %w", err))
		return
	}
	t := &txn{tx: w, ctx: ctx, seq: last}
	errs := make([]error, len(batch))
	for i, r := range batch {
		if err := r.ctx.Err(); err != nil {
			errs[i] = err
			continue
		}
		errs[i] = t.run(r.fn)
		if errors.Is(errs[i], errBroken) {
			// SQLite may have rolled back the whole transaction: the
			// callers before this one lost their work too.
			s.log.Error("store: batch aborted", "callers", len(batch), "err", errs[i])
			abort(errs[i])
			return
		}
		if p, ok := errs[i].(*panicError); ok {
			s.log.Error("store: panic in a write", "panic", p.value, "stack", string(p.stack))
		}
	}
	if _, err := w.ExecContext(ctx, "COMMIT"); err != nil {
		// Whether the transaction is still open depends on the error.
		abort(fmt.Errorf("store: commit: %w", err))
		return
	}
	s.written()
	if s.pub != nil && len(t.events) > 0 {
		s.pub.Publish(t.events)
	}
	for i, r := range batch {
		r.done <- s.classify(errs[i])
	}
}

// panicError carries a panic of a caller's fn back to its goroutine.
type panicError struct {
	value any
	stack []byte
}

func (p *panicError) Error() string { return fmt.Sprintf("store: panic in a write: %v", p.value) }

// txn is a gateway.Tx over the writer's transaction.
type txn struct {
	tx     *wconn
	ctx    context.Context
	seq    int64           // last seq assigned
	events []gateway.Event // of the batch so far
}

// run calls fn inside a savepoint. If fn fails, its writes and events are
// undone and the error returned.
func (t *txn) run(fn func(gateway.Tx) error) error {
	if _, err := t.exec("SAVEPOINT caller"); err != nil {
		return fmt.Errorf("%w: savepoint: %w", errBroken, err)
	}
	seq, n := t.seq, len(t.events)
	err := t.call(fn)
	if err == nil {
		if _, err := t.exec("RELEASE caller"); err != nil {
			return fmt.Errorf("%w: release savepoint: %w", errBroken, err)
		}
		return nil
	}
	t.seq, t.events = seq, t.events[:n]
	// Failing here means SQLite rolled back the whole transaction
	// (SQLITE_FULL, an I/O error...): the savepoint is gone.
	if _, rerr := t.exec("ROLLBACK TO caller"); rerr != nil {
		return fmt.Errorf("%w: rollback to savepoint: %w (after %w)", errBroken, rerr, err)
	}
	if _, rerr := t.exec("RELEASE caller"); rerr != nil {
		return fmt.Errorf("%w: release savepoint: %w (after %w)", errBroken, rerr, err)
	}
	return err
}

func (t *txn) call(fn func(gateway.Tx) error) (err error) {
	defer func() {
		if v := recover(); v != nil {
			err = &panicError{value: v, stack: debug.Stack()}
		}
	}()
	return fn(t)
}

func (t *txn) exec(query string, args ...any) (sql.Result, error) {
	return t.tx.ExecContext(t.ctx, query, args...)
}

func (t *txn) queryRow(query string, args ...any) *sql.Row {
	return t.tx.QueryRowContext(t.ctx, query, args...)
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

// wconn is the writer's connection, its statements kept prepared. It runs
// BEGIN and COMMIT itself rather than through database/sql's Tx, whose
// statements cannot outlive the transaction. Only the writer goroutine uses
// it.
type wconn struct {
	*prepared
	conn *sql.Conn
}

func (w *wconn) close() error {
	return errors.Join(w.prepared.close(), w.conn.Close())
}
