package store

import (
	"context"
	"database/sql"
	"errors"
	"sync"
)

// readers runs the reads that terminals and tills repeat (a ticket by
// id, its payments, the lists) on statements prepared once: SQLite spent
// more compiling those SELECTs than running them, 8 % of the gateway's CPU
// under 200 terminals (docs/benchmarks.md). A *sql.Stmt of the pool is
// safe for concurrent use; database/sql prepares it on each connection
// the first time it runs there.
type readers struct {
	db    *sql.DB
	mu    sync.Mutex
	stmts map[string]*sql.Stmt
}

func newReaders(db *sql.DB) *readers {
	return &readers{db: db, stmts: map[string]*sql.Stmt{}}
}

// stmt returns query prepared, or nil to run it unprepared: when the
// statements kept reach maxStmts (the lists' SQL varies with their
// filters, within bounds), or when it does not prepare (running it then
// reports why).
func (r *readers) stmt(ctx context.Context, query string) *sql.Stmt {
	r.mu.Lock()
	defer r.mu.Unlock()
	if st, ok := r.stmts[query]; ok {
		return st
	}
	if len(r.stmts) >= maxStmts {
		return nil
	}
	st, err := r.db.PrepareContext(ctx, query)
	if err != nil {
		return nil
	}
	r.stmts[query] = st
	return st
}

// QueryContext and QueryRowContext make readers a querier.
func (r *readers) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	if st := r.stmt(ctx, query); st != nil {
		return st.QueryContext(ctx, args...)
	}
	return r.db.QueryContext(ctx, query, args...)
}

func (r *readers) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	if st := r.stmt(ctx, query); st != nil {
		return st.QueryRowContext(ctx, args...)
	}
	return r.db.QueryRowContext(ctx, query, args...)
}

func (r *readers) close() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	var errs []error
	for q, st := range r.stmts {
		errs = append(errs, st.Close())
		delete(r.stmts, q)
	}
	return errors.Join(errs...)
}
