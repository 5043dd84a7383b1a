// Package store is Passerelle's persistence: one SQLite file (modernc.org/sqlite,
// pure Go) in WAL mode with synchronous=FULL, its embedded numbered
// migrations, and the implementation of gateway.Store.
//
// All writes go through one writer goroutine that groups the transactions of
// concurrent callers into a single commit (one fsync for many requests).
// Each caller's work runs in its own SAVEPOINT, so one failing caller rolls
// back alone, and every caller is answered only after the commit: what is
// acknowledged is durable.
package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"sync"
	"sync/atomic"
	"time"

	"github.com/passerelle/passerelle/gateway"

	_ "modernc.org/sqlite" // registers the "sqlite" driver
)

// timeFormat is fixed-width so that stored times sort as text.
const timeFormat = "2006-01-02T15:04:05.000000000Z"

func formatTime(t time.Time) string { return t.UTC().Format(timeFormat) }

func parseTime(s string) (time.Time, error) {
	t, err := time.Parse(timeFormat, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("store: bad time %q: %w", s, err)
	}
	return t, nil
}

// Publisher receives the events of each commit, in seq order, right after
// the commit; gateway.EventBus is one.
type Publisher interface {
	Publish([]gateway.Event)
}

// Store is the SQLite store. It implements gateway.Store.
type Store struct {
	db    *sql.DB   // readers
	reads *prepared // db's statements kept prepared
	wdb   *sql.DB   // the single writer connection
	w     *wconn    // wdb's connection, the writer's own

	tillByKey *sql.Stmt
	log       *slog.Logger
	pub       Publisher
	reqs      chan *writeReq
	closed    chan struct{}
	done      chan struct{}

	closeOnce sync.Once
	closeErr  error

	path      string                         // the database file, for its size
	observer  atomic.Pointer[CommitObserver] // told of each commit (metrics)
	compacted atomic.Int64                   // the event log's compaction horizon (retention.go)

	full fullState
}

var _ gateway.Store = (*Store)(nil)

// dsn puts the pragmas in the connection string so that every pooled
// connection has them, not only the first.
func dsn(path string) string {
	q := url.Values{}
	for _, p := range []string{"journal_mode(WAL)", "synchronous(FULL)", "busy_timeout(10000)", "foreign_keys(1)",
		// A checkpoint truncates the WAL back to this size: without it a
		// burst leaves a WAL of its size on the disk for good.
		"journal_size_limit(67108864)"} {
		q.Add("_pragma", p)
	}
	q.Set("_txlock", "immediate")
	return "file:" + path + "?" + q.Encode()
}

// Open opens (creating if need be) the database at path and migrates it,
// after a backup beside it if it has an older schema; a database of a newer
// schema is refused (ErrNewerSchema) and left untouched. pub may be nil.
func Open(ctx context.Context, path string, log *slog.Logger, pub Publisher) (*Store, error) {
	if err := preflight(ctx, path, log); err != nil {
		return nil, err
	}
	if err := ownerOnly(path); err != nil {
		return nil, err
	}
	wdb, err := sql.Open("sqlite", dsn(path))
	if err != nil {
		return nil, fmt.Errorf("store: open %s: %w", path, err)
	}
	wdb.SetMaxOpenConns(1)
	wdb.SetMaxIdleConns(1)
	wdb.SetConnMaxLifetime(0)
	if err := migrate(ctx, wdb); err != nil {
		wdb.Close()
		return nil, err
	}
	db, err := sql.Open("sqlite", dsn(path))
	if err != nil {
		wdb.Close()
		return nil, fmt.Errorf("store: open %s: %w", path, err)
	}
	db.SetMaxOpenConns(8)
	db.SetMaxIdleConns(8)
	conn, err := writerConn(ctx, wdb)
	if err != nil {
		db.Close()
		wdb.Close()
		return nil, fmt.Errorf("store: open %s: %w", path, err)
	}
	// Every till API request looks its key up: prepared once, not per request.
	tillByKey, err := db.PrepareContext(ctx, "SELECT "+tillColumns+" FROM tills WHERE key_hash = ? AND revoked_at IS NULL")
	if err != nil {
		conn.Close()
		db.Close()
		wdb.Close()
		return nil, fmt.Errorf("store: prepare: %w", err)
	}
	s := &Store{db: db, reads: newPrepared(db), wdb: wdb, w: &wconn{prepared: newPrepared(conn), conn: conn}, log: log, pub: pub,
		tillByKey: tillByKey, path: path,
		reqs: make(chan *writeReq), closed: make(chan struct{}), done: make(chan struct{})}
	if err := s.loadCompacted(ctx); err != nil {
		tillByKey.Close()
		conn.Close()
		db.Close()
		wdb.Close()
		return nil, err
	}
	go s.writer()
	return s, nil
}

// writerConn takes the writer's connection for good.
func writerConn(ctx context.Context, wdb *sql.DB) (*sql.Conn, error) {
	conn, err := wdb.Conn(ctx)
	if err != nil {
		return nil, err
	}
	// Each caller's savepoint journals the pages it changes; with
	// temp_store=FILE that journal spills into a temporary file on every
	// busy commit. It is never needed after a crash: the WAL is.
	if _, err := conn.ExecContext(ctx, "PRAGMA temp_store = MEMORY"); err != nil {
		conn.Close()
		return nil, err
	}
	return conn, nil
}

// Close stops the writer after the commits under way and closes the
// database. Updates after Close fail with ErrClosed.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		close(s.closed)
		<-s.done
		s.closeErr = errors.Join(s.w.close(), s.reads.close(), s.tillByKey.Close(), s.db.Close(), s.wdb.Close())
	})
	return s.closeErr
}

// ErrClosed is returned by Update after Close.
var ErrClosed = errors.New("store: closed")

// IntegrityCheck runs PRAGMA integrity_check and returns its verdict.
func (s *Store) IntegrityCheck(ctx context.Context) (string, error) {
	var res string
	if err := s.db.QueryRowContext(ctx, "PRAGMA integrity_check").Scan(&res); err != nil {
		return "", fmt.Errorf("store: integrity check: %w", err)
	}
	return res, nil
}

// Ping reports whether the database answers.
func (s *Store) Ping(ctx context.Context) error {
	var one int
	return s.db.QueryRowContext(ctx, "SELECT 1").Scan(&one)
}

// Backup writes a consistent copy of the database to path (VACUUM INTO:
// never a file copy of a live WAL database).
func (s *Store) Backup(ctx context.Context, path string) error {
	if _, err := s.db.ExecContext(ctx, "VACUUM INTO ?", path); err != nil {
		return fmt.Errorf("store: backup: %w", err)
	}
	return nil
}
