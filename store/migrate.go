package store

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

type migration struct {
	version int
	name    string
	sql     string
}

func migrations() ([]migration, error) {
	entries, err := fs.ReadDir(migrationFiles, "migrations")
	if err != nil {
		return nil, fmt.Errorf("store: migrations: %w", err)
	}
	var out []migration
	for _, e := range entries {
		num, _, ok := strings.Cut(e.Name(), "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil {
			return nil, fmt.Errorf("store: migration %s: name must start with its number", e.Name())
		}
		b, err := migrationFiles.ReadFile("migrations/" + e.Name())
		if err != nil {
			return nil, fmt.Errorf("store: migration %s: %w", e.Name(), err)
		}
		out = append(out, migration{version: v, name: e.Name(), sql: string(b)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].version < out[j].version })
	for i, m := range out {
		if m.version != i+1 {
			return nil, fmt.Errorf("store: migration %s: expected number %d", m.name, i+1)
		}
	}
	return out, nil
}

// SchemaVersion is the schema this binary writes.
func SchemaVersion() int {
	ms, err := migrations()
	if err != nil {
		return 0
	}
	return len(ms)
}

// migrate applies the missing migrations in one transaction and records the
// version in PRAGMA user_version. A database from a newer binary is refused:
// this one would not know how to read it.
func migrate(ctx context.Context, db *sql.DB) error {
	ms, err := migrations()
	if err != nil {
		return err
	}
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("store: migrate: %w", err)
	}
	defer tx.Rollback()
	var current int
	if err := tx.QueryRowContext(ctx, "PRAGMA user_version").Scan(&current); err != nil {
		return fmt.Errorf("store: read schema version: %w", err)
	}
	if current > len(ms) {
		return newerSchema(current, len(ms))
	}
	if current == len(ms) {
		return nil
	}
	for _, m := range ms[current:] {
		if _, err := tx.ExecContext(ctx, m.sql); err != nil {
			return fmt.Errorf("store: migration %s: %w", m.name, err)
		}
	}
	// A migration that edits sqlite_schema in place (0008 removes CHECKs)
	// does not change the schema cookie as DDL does: bumped here, every
	// connection reads the schema again. One more bump after DDL is
	// harmless.
	var cookie int64
	if err := tx.QueryRowContext(ctx, "PRAGMA schema_version").Scan(&cookie); err != nil {
		return fmt.Errorf("store: read schema cookie: %w", err)
	}
	if _, err := tx.ExecContext(ctx, fmt.Sprintf("PRAGMA schema_version = %d", cookie+1)); err != nil {
		return fmt.Errorf("store: bump schema cookie: %w", err)
	}
	if _, err := tx.ExecContext(ctx, fmt.Sprintf("PRAGMA user_version = %d", len(ms))); err != nil {
		return fmt.Errorf("store: record schema version: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("store: migrate: %w", err)
	}
	return nil
}

// ErrNewerSchema is returned by Open for a database written by a newer
// passerelle (a downgrade): it is left as it was.
var ErrNewerSchema = errors.New("store: the database was written by a newer passerelle")

func newerSchema(current, known int) error {
	return fmt.Errorf("%w: it has schema version %d but this passerelle knows only up to %d: install the newer passerelle again, or restore a backup made by this version (nothing was changed)", ErrNewerSchema, current, known)
}

// preflight looks at an existing database before anything writes to it. A
// database of a newer schema is refused untouched: no chmod, no migration,
// no backup. One of an older schema is copied beside itself first (VACUUM
// INTO: a consistent copy, even of a WAL left by a crash) and the copy's
// path logged, so that an upgrade that goes wrong can be undone by putting
// the copy back under the old version.
func preflight(ctx context.Context, path string, log *slog.Logger) error {
	fi, err := os.Stat(path)
	if errors.Is(err, fs.ErrNotExist) || err == nil && fi.Size() == 0 {
		return nil // a new database: nothing to refuse or keep
	}
	if err != nil {
		return fmt.Errorf("store: %w", err)
	}
	ms, err := migrations()
	if err != nil {
		return err
	}
	current, err := schemaOf(ctx, path)
	if err != nil {
		return err
	}
	switch {
	case current > len(ms):
		return newerSchema(current, len(ms))
	case current == len(ms) || current == 0:
		return nil
	}
	backup := fmt.Sprintf("%s.v%d-%s.bak", path, current, time.Now().UTC().Format("20060102T150405Z"))
	// Created empty first, for its mode: it holds what the database
	// holds (webhook secrets), and VACUUM INTO fills an empty file.
	f, err := os.OpenFile(backup, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("store: backup before migrating: %w", err)
	}
	f.Close()
	db, err := sql.Open("sqlite", "file:"+path+"?mode=ro&_pragma=busy_timeout(10000)")
	if err != nil {
		return fmt.Errorf("store: open %s: %w", path, err)
	}
	defer db.Close()
	if _, err := db.ExecContext(ctx, "VACUUM INTO ?", backup); err != nil {
		os.Remove(backup)
		return fmt.Errorf("store: backup before migrating to %s: %w", backup, err)
	}
	log.Info("store: backup before migrating", "path", backup, "schema", current, "to", len(ms))
	return nil
}

// schemaOf reads the database's schema version without writing anything
// beside it. Even read-only, SQLite leaves a -wal and a -shm file beside a
// WAL database it opens; without a -wal file no connection has the
// database open and the file is all there is, so it is read as immutable,
// which creates nothing. With one (a connection open, or a crash), the WAL
// may hold the newest schema: it is read through it.
func schemaOf(ctx context.Context, path string) (int, error) {
	dsn := "file:" + path + "?mode=ro&_pragma=busy_timeout(10000)"
	if _, err := os.Stat(path + "-wal"); errors.Is(err, fs.ErrNotExist) {
		dsn = "file:" + path + "?mode=ro&immutable=1"
	}
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return 0, fmt.Errorf("store: open %s: %w", path, err)
	}
	defer db.Close()
	var v int
	if err := db.QueryRowContext(ctx, "PRAGMA user_version").Scan(&v); err != nil {
		return 0, fmt.Errorf("store: read schema version of %s: %w", path, err)
	}
	return v, nil
}
