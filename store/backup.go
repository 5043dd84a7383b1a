package store

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// ErrNotABackup is returned by CheckBackup for a file that is not a
// Passerelle database: not SQLite, or SQLite without Passerelle's tables.
var ErrNotABackup = errors.New("not a Passerelle backup")

// ErrInUse is returned by Restore while another process has the database
// open: a running gateway, or a command beside it.
var ErrInUse = errors.New("the database is in use")

// BackupInfo is what CheckBackup found in a backup.
type BackupInfo struct {
	Schema  int   // PRAGMA user_version
	Tickets int64 // rows of tickets
	LastSeq int64 // the event log's last seq
}

// BackupTo writes a consistent copy of the database to path, which must not
// exist: made by VACUUM INTO (a snapshot of one read transaction, taken
// beside running writers) into a temporary file of the same directory,
// checked, synced, then renamed to path, so that path is never half a
// backup. The file is readable by its owner only: it holds what the
// database holds (webhook secrets).
func (s *Store) BackupTo(ctx context.Context, path string) (BackupInfo, error) {
	if _, err := os.Lstat(path); err == nil {
		return BackupInfo{}, fmt.Errorf("store: backup: %s already exists", path)
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return BackupInfo{}, fmt.Errorf("store: backup: %w", err)
	}
	tmp.Close()
	defer os.Remove(tmp.Name())
	if err := s.Backup(ctx, tmp.Name()); err != nil {
		return BackupInfo{}, err
	}
	info, err := CheckBackup(ctx, tmp.Name())
	if err != nil {
		return info, fmt.Errorf("store: backup: the copy does not check: %w", err)
	}
	if err := syncFile(tmp.Name()); err != nil {
		return info, fmt.Errorf("store: backup: %w", err)
	}
	// No overwrite: a file made at path since the check above is kept.
	if err := os.Link(tmp.Name(), path); err != nil {
		return info, fmt.Errorf("store: backup: %w", err)
	}
	return info, syncDir(filepath.Dir(path))
}

// sqliteHeader starts every SQLite database file.
var sqliteHeader = []byte("SQLite format 3\x00")

// passerelleTables are tables every schema version has: a database without
// them is some other program's.
var passerelleTables = []string{"tills", "tickets", "payments", "events", "terminals"}

// CheckBackup opens path read-only, without writing beside it, and says
// whether it is a sound Passerelle database this version can open: SQLite,
// Passerelle's tables, a schema no newer than this binary's
// (ErrNewerSchema), integrity_check ok.
func CheckBackup(ctx context.Context, path string) (BackupInfo, error) {
	var info BackupInfo
	head := make([]byte, len(sqliteHeader))
	f, err := os.Open(path)
	if err != nil {
		return info, fmt.Errorf("store: %w", err)
	}
	_, err = io.ReadFull(f, head)
	f.Close()
	if err != nil || !bytes.Equal(head, sqliteHeader) {
		return info, fmt.Errorf("%w: %s is not an SQLite database", ErrNotABackup, path)
	}
	if _, err := os.Stat(path + "-wal"); err == nil {
		return info, fmt.Errorf("%w: %s has a -wal file beside it: it is a live database, not a backup (make one with passerelle backup)", ErrNotABackup, path)
	}
	db, err := sql.Open("sqlite", "file:"+path+"?mode=ro&immutable=1")
	if err != nil {
		return info, fmt.Errorf("store: open %s: %w", path, err)
	}
	defer db.Close()
	if err := db.QueryRowContext(ctx, "PRAGMA user_version").Scan(&info.Schema); err != nil {
		return info, fmt.Errorf("%w: %s: %w", ErrNotABackup, path, err)
	}
	for _, t := range passerelleTables {
		var n int
		if err := db.QueryRowContext(ctx, "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = ?", t).Scan(&n); err != nil {
			return info, fmt.Errorf("%w: %s: %w", ErrNotABackup, path, err)
		}
		if n == 0 || info.Schema == 0 {
			return info, fmt.Errorf("%w: %s has no %s table (schema version %d)", ErrNotABackup, path, t, info.Schema)
		}
	}
	ms, err := migrations()
	if err != nil {
		return info, err
	}
	if info.Schema > len(ms) {
		return info, newerSchema(info.Schema, len(ms))
	}
	var verdict string
	if err := db.QueryRowContext(ctx, "PRAGMA integrity_check").Scan(&verdict); err != nil {
		return info, fmt.Errorf("store: check %s: %w", path, err)
	}
	if verdict != "ok" {
		return info, fmt.Errorf("store: %s is damaged: integrity_check: %s", path, verdict)
	}
	if err := db.QueryRowContext(ctx, "SELECT count(*) FROM tickets").Scan(&info.Tickets); err != nil {
		return info, fmt.Errorf("store: check %s: %w", path, err)
	}
	if err := db.QueryRowContext(ctx, "SELECT coalesce(max(seq), 0) FROM events").Scan(&info.LastSeq); err != nil {
		return info, fmt.Errorf("store: check %s: %w", path, err)
	}
	return info, nil
}

// Restore replaces the database at dbPath by the backup at from, after
// CheckBackup. The database must not be in use: Restore takes SQLite's
// exclusive lock on it first, which fails (ErrInUse) while any other
// connection has it open. The old database, checkpointed into one file, is
// kept beside it as <dbPath>.before-restore-<time>, whose name Restore
// returns ("" when there was none). A backup of an older schema is
// migrated at the next Open, like any older database.
func Restore(ctx context.Context, dbPath, from string, now time.Time) (aside string, info BackupInfo, err error) {
	if a, err := os.Stat(from); err == nil {
		if b, err := os.Stat(dbPath); err == nil && os.SameFile(a, b) {
			return "", info, fmt.Errorf("store: restore: %s is the database itself, not a backup of it", from)
		}
	}
	info, err = CheckBackup(ctx, from)
	if err != nil {
		return "", info, err
	}
	dir := filepath.Dir(dbPath)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(dbPath)+".restore*")
	if err != nil {
		return "", info, fmt.Errorf("store: restore: %w", err)
	}
	defer os.Remove(tmp.Name())
	if err := copyInto(tmp, from); err != nil {
		return "", info, fmt.Errorf("store: restore: %w", err)
	}
	if _, err := os.Stat(dbPath); err == nil {
		if err := checkpointAlone(ctx, dbPath); err != nil {
			return "", info, err
		}
		aside = dbPath + ".before-restore-" + now.UTC().Format("20060102T150405Z")
		if err := os.Rename(dbPath, aside); err != nil {
			return "", info, fmt.Errorf("store: restore: keep the old database aside: %w", err)
		}
		// No stale -wal or -shm may ever be read with the restored file:
		// the -shm is an index SQLite rebuilds, the -wal is empty after
		// the checkpoint (moved with the old file if it is not).
		if err := os.Remove(dbPath + "-shm"); err != nil && !errors.Is(err, os.ErrNotExist) {
			return aside, info, fmt.Errorf("store: restore: %w", err)
		}
		if err := dropWAL(dbPath, aside); err != nil {
			return aside, info, fmt.Errorf("store: restore: %w", err)
		}
	}
	if err := os.Rename(tmp.Name(), dbPath); err != nil {
		return aside, info, fmt.Errorf("store: restore: %w", err)
	}
	return aside, info, syncDir(dir)
}

// dropWAL removes the database's -wal, empty after a checkpoint, or moves
// it beside aside if it is not.
func dropWAL(dbPath, aside string) error {
	fi, err := os.Stat(dbPath + "-wal")
	switch {
	case errors.Is(err, os.ErrNotExist):
		return nil
	case err != nil:
		return err
	case fi.Size() == 0:
		return os.Remove(dbPath + "-wal")
	}
	return os.Rename(dbPath+"-wal", aside+"-wal")
}

// checkpointAlone takes the database's exclusive lock (failing at once,
// with ErrInUse, while another connection has it open), moves the WAL's
// content into the database file and closes it.
func checkpointAlone(ctx context.Context, path string) error {
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(0)&_pragma=locking_mode(EXCLUSIVE)")
	if err != nil {
		return fmt.Errorf("store: open %s: %w", path, err)
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	conn, err := db.Conn(ctx)
	if err != nil {
		return fmt.Errorf("store: open %s: %w", path, err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, "BEGIN EXCLUSIVE"); err != nil {
		if isBusy(err) {
			return fmt.Errorf("%w: another process has %s open (stop the gateway first: passerelle service stop)", ErrInUse, path)
		}
		return fmt.Errorf("store: lock %s: %w", path, err)
	}
	if _, err := conn.ExecContext(ctx, "COMMIT"); err != nil {
		return fmt.Errorf("store: lock %s: %w", path, err)
	}
	var busy, logged, done int
	if err := conn.QueryRowContext(ctx, "PRAGMA wal_checkpoint(TRUNCATE)").Scan(&busy, &logged, &done); err != nil {
		return fmt.Errorf("store: checkpoint %s: %w", path, err)
	}
	if busy != 0 {
		return fmt.Errorf("%w: the checkpoint of %s was blocked", ErrInUse, path)
	}
	return nil
}

func isBusy(err error) bool {
	s := err.Error()
	return strings.Contains(s, "SQLITE_BUSY") || strings.Contains(s, "database is locked")
}

func copyInto(dst *os.File, from string) error {
	src, err := os.Open(from)
	if err != nil {
		dst.Close()
		return err
	}
	defer src.Close()
	if _, err := io.Copy(dst, src); err != nil {
		dst.Close()
		return err
	}
	if err := dst.Chmod(0o600); err != nil {
		dst.Close()
		return err
	}
	if err := dst.Sync(); err != nil {
		dst.Close()
		return err
	}
	return dst.Close()
}

func syncFile(path string) error {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return err
	}
	defer f.Close()
	return f.Sync()
}

// syncDir makes a rename in dir durable. Windows cannot open a directory
// for that: there, the rename is as durable as NTFS makes it.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Sync(); err != nil && !errors.Is(err, os.ErrInvalid) && !strings.Contains(err.Error(), "Access is denied") {
		return err
	}
	return nil
}
