// Package hub is the upstream server of spec/sync.md, `passerelle hub`:
// shops push their event logs to it, exactly once each event, and head
// office reads their stores and payments. This file is its SQLite
// database: one file, WAL, synchronous=FULL (an acknowledged batch is on
// disk), embedded numbered migrations, a newer schema refused.
package hub

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	_ "modernc.org/sqlite" // registers the "sqlite" driver
)

// timeFormat is fixed-width so that stored times sort as text.
const timeFormat = "2006-01-02T15:04:05.000000000Z"

func formatTime(t time.Time) string { return t.UTC().Format(timeFormat) }

func parseTime(s string) (time.Time, error) {
	t, err := time.Parse(timeFormat, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("hub: bad time %q: %w", s, err)
	}
	return t, nil
}

//go:embed migrations/sqlite/*.sql migrations/postgres/*.sql
var migrationFiles embed.FS

// The SQL engines the hub runs on.
const (
	sqliteEngine   = "sqlite"
	postgresEngine = "postgres"
)

// DB is the hub's database.
type DB struct {
	engine string
	db     *sql.DB // readers
	wdb    *sql.DB // the writers: one connection on SQLite, which has one writer anyway
	now    func() time.Time
	stmts  statements

	ingests  chan *ingestReq
	closed   chan struct{}
	loopDone chan struct{}
	once     sync.Once
	closeErr error
}

// statements are the writes of every event, prepared once: compiling
// them costs SQLite more than running them.
type statements struct {
	insertEvent, upsertPayment, report *sql.Stmt
}

const (
	insertEventSQL = "INSERT INTO events (store_id, seq, type, at, day, data, received_at) VALUES (?, ?, ?, ?, ?, ?, ?)"
	// The day is the payment's first event's: the day it was made, as
	// the bank's télécollecte counts it, even if it is resolved later.
	upsertPaymentSQL = `INSERT INTO payments (store_id, payment_id, ticket_ref, status, amount, tip, currency,
			transaction_ref, auth_code, merchant_id, terminal_id, scheme, masked_pan, day, at, seq)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (store_id, payment_id) DO UPDATE SET status = excluded.status, amount = excluded.amount,
			tip = excluded.tip, transaction_ref = excluded.transaction_ref, auth_code = excluded.auth_code,
			merchant_id = excluded.merchant_id, terminal_id = excluded.terminal_id, scheme = excluded.scheme,
			masked_pan = excluded.masked_pan, at = excluded.at, seq = excluded.seq
		WHERE excluded.seq > payments.seq`
	reportSQL = "UPDATE orders SET reported = ?, reported_seq = ? WHERE store_id = ? AND ref = ? AND reported_seq < ?"
)

func (d *DB) prepare(ctx context.Context) error {
	for _, p := range []struct {
		st  **sql.Stmt
		sql string
	}{{&d.stmts.insertEvent, insertEventSQL}, {&d.stmts.upsertPayment, upsertPaymentSQL}, {&d.stmts.report, reportSQL}} {
		st, err := d.wdb.PrepareContext(ctx, d.q(p.sql))
		if err != nil {
			return fmt.Errorf("hub: prepare: %w", err)
		}
		*p.st = st
	}
	return nil
}

func dsn(path string) string {
	q := url.Values{}
	for _, p := range []string{"journal_mode(WAL)", "synchronous(FULL)", "busy_timeout(10000)", "foreign_keys(1)"} {
		q.Add("_pragma", p)
	}
	q.Set("_txlock", "immediate")
	return "file:" + path + "?" + q.Encode()
}

// Open opens (creating if need be) the hub's database at path and
// migrates it. The file is the service user's alone: it holds key hashes
// and every shop's payments.
func Open(ctx context.Context, path string, now func() time.Time) (*DB, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("hub: create %s: %w", path, err)
	}
	f.Close()
	wdb, err := sql.Open("sqlite", dsn(path))
	if err != nil {
		return nil, fmt.Errorf("hub: open %s: %w", path, err)
	}
	wdb.SetMaxOpenConns(1)
	wdb.SetConnMaxLifetime(0)
	if err := migrateSQLite(ctx, wdb); err != nil {
		wdb.Close()
		return nil, err
	}
	db, err := sql.Open("sqlite", dsn(path))
	if err != nil {
		wdb.Close()
		return nil, fmt.Errorf("hub: open %s: %w", path, err)
	}
	db.SetMaxOpenConns(8)
	return start(ctx, &DB{engine: sqliteEngine, db: db, wdb: wdb, now: now})
}

// start prepares the statements and starts the writer.
func start(ctx context.Context, d *DB) (*DB, error) {
	if d.now == nil {
		d.now = time.Now
	}
	d.ingests, d.closed, d.loopDone = make(chan *ingestReq), make(chan struct{}), make(chan struct{})
	if err := d.prepare(ctx); err != nil {
		close(d.loopDone)
		d.Close()
		return nil, err
	}
	go d.ingestLoop()
	return d, nil
}

// Close stops the writer after the commit under way and closes the
// database. Ingests after Close fail with ErrClosed.
func (d *DB) Close() error {
	d.once.Do(func() {
		close(d.closed)
		<-d.loopDone
		var errs []error
		for _, st := range []*sql.Stmt{d.stmts.insertEvent, d.stmts.upsertPayment, d.stmts.report} {
			if st != nil {
				errs = append(errs, st.Close())
			}
		}
		d.closeErr = errors.Join(append(errs, d.db.Close(), d.wdb.Close())...)
	})
	return d.closeErr
}

// Ping reports whether the database answers.
func (d *DB) Ping(ctx context.Context) error {
	var one int
	return d.db.QueryRowContext(ctx, "SELECT 1").Scan(&one)
}

// q rebinds a query written with ? for the engine: $1, $2... for
// PostgreSQL. No query of the hub has a ? in a literal.
func (d *DB) q(query string) string {
	if d.engine != postgresEngine {
		return query
	}
	var b strings.Builder
	n := 0
	for _, r := range query {
		if r == '?' {
			n++
			b.WriteString("$" + strconv.Itoa(n))
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

// IntegrityCheck runs SQLite's PRAGMA integrity_check and returns its
// verdict ("ok" on PostgreSQL, which checks its own pages).
func (d *DB) IntegrityCheck(ctx context.Context) (string, error) {
	if d.engine == postgresEngine {
		return "ok", d.Ping(ctx)
	}
	var res string
	if err := d.db.QueryRowContext(ctx, "PRAGMA integrity_check").Scan(&res); err != nil {
		return "", fmt.Errorf("hub: integrity check: %w", err)
	}
	return res, nil
}

type migration struct {
	version int
	name    string
	sql     string
}

func migrations(engine string) ([]migration, error) {
	dir := "migrations/" + engine
	entries, err := fs.ReadDir(migrationFiles, dir)
	if err != nil {
		return nil, fmt.Errorf("hub: migrations: %w", err)
	}
	var out []migration
	for _, e := range entries {
		num, _, ok := strings.Cut(e.Name(), "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil {
			return nil, fmt.Errorf("hub: migration %s: name must start with its number", e.Name())
		}
		b, err := migrationFiles.ReadFile(dir + "/" + e.Name())
		if err != nil {
			return nil, fmt.Errorf("hub: migration %s: %w", e.Name(), err)
		}
		out = append(out, migration{version: v, name: e.Name(), sql: string(b)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].version < out[j].version })
	for i, m := range out {
		if m.version != i+1 {
			return nil, fmt.Errorf("hub: migration %s: expected number %d", m.name, i+1)
		}
	}
	return out, nil
}

// migrateSQLite applies the missing migrations in one transaction,
// recording the version in PRAGMA user_version; a newer database is
// refused.
func migrateSQLite(ctx context.Context, db *sql.DB) error {
	ms, err := migrations(sqliteEngine)
	if err != nil {
		return err
	}
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("hub: migrate: %w", err)
	}
	defer tx.Rollback()
	var current int
	if err := tx.QueryRowContext(ctx, "PRAGMA user_version").Scan(&current); err != nil {
		return fmt.Errorf("hub: read schema version: %w", err)
	}
	if done, err := applyMigrations(ctx, tx, ms, current); done || err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, fmt.Sprintf("PRAGMA user_version = %d", len(ms))); err != nil {
		return fmt.Errorf("hub: record schema version: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("hub: migrate: %w", err)
	}
	return nil
}

// applyMigrations runs in tx the migrations of ms after version current,
// for either engine; each records the new version its own way. done says
// there was nothing to run. A database newer than ms is refused.
func applyMigrations(ctx context.Context, tx *sql.Tx, ms []migration, current int) (done bool, err error) {
	if current > len(ms) {
		return false, fmt.Errorf("hub: the database has schema version %d but this passerelle knows only up to %d: use a newer passerelle", current, len(ms))
	}
	for _, m := range ms[current:] {
		if _, err := tx.ExecContext(ctx, m.sql); err != nil {
			return false, fmt.Errorf("hub: migration %s: %w", m.name, err)
		}
	}
	return current == len(ms), nil
}
