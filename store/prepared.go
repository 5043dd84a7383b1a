package store

import (
	"context"
	"database/sql"
	"errors"
	"sync"
)

// sqlRunner runs SQL: the readers' pool (*sql.DB) or the writer's
// connection (*sql.Conn).
type sqlRunner interface {
	PrepareContext(ctx context.Context, query string) (*sql.Stmt, error)
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// maxStmts bounds the statements a prepared keeps: the store's writes are
// a few fixed statements, its repeated reads (the lists' SQL varies with
// their filters, within bounds) a few dozen.
const maxStmts = 128

// prepared runs each statement on a prepared copy kept for the next time:
// compiling an INSERT or a SELECT costs SQLite more than running it (for
// the reads that terminals repeat, 8 % of the gateway's CPU under 200
// terminals: docs/benchmarks.md). On the pool, a *sql.Stmt is safe for
// concurrent use, and database/sql prepares it on each connection the
// first time it runs there.
type prepared struct {
	on    sqlRunner
	mu    sync.Mutex
	stmts map[string]*sql.Stmt
}

func newPrepared(on sqlRunner) *prepared {
	return &prepared{on: on, stmts: map[string]*sql.Stmt{}}
}

// stmt returns query prepared, or nil to run it unprepared: when maxStmts
// are kept, or when it does not prepare (running it then reports why).
func (p *prepared) stmt(ctx context.Context, query string) *sql.Stmt {
	p.mu.Lock()
	defer p.mu.Unlock()
	if st, ok := p.stmts[query]; ok {
		return st
	}
	if len(p.stmts) >= maxStmts {
		return nil
	}
	st, err := p.on.PrepareContext(ctx, query)
	if err != nil {
		return nil
	}
	p.stmts[query] = st
	return st
}

// ExecContext, QueryContext and QueryRowContext make prepared a querier.
func (p *prepared) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	if st := p.stmt(ctx, query); st != nil {
		return st.ExecContext(ctx, args...)
	}
	return p.on.ExecContext(ctx, query, args...)
}

func (p *prepared) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	if st := p.stmt(ctx, query); st != nil {
		return st.QueryContext(ctx, args...)
	}
	return p.on.QueryContext(ctx, query, args...)
}

func (p *prepared) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	if st := p.stmt(ctx, query); st != nil {
		return st.QueryRowContext(ctx, args...)
	}
	return p.on.QueryRowContext(ctx, query, args...)
}

// close closes the statements kept, not what they run on.
func (p *prepared) close() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	var errs []error
	for q, st := range p.stmts {
		errs = append(errs, st.Close())
		delete(p.stmts, q)
	}
	return errors.Join(errs...)
}
