package store_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/passerelle/passerelle/store"
)

// oldDatabase writes a database of schema version 1, as the first release
// left it, with one till, and returns its path.
func oldDatabase(t *testing.T) string {
	t.Helper()
	init, err := os.ReadFile("migrations/0001_init.sql")
	if err != nil {
		t.Fatal(err)
	}
	path := dbPath(t)
	db := rawDB(t, path)
	for _, q := range []string{"PRAGMA journal_mode = WAL", string(init), "PRAGMA user_version = 1",
		`INSERT INTO tills (id, name, key_hash, created_at) VALUES ('till_old', 'old', zeroblob(32), '2025-01-01T00:00:00.000000000Z')`} {
		if _, err := db.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	return path
}

// An upgrade copies the database beside itself before migrating, and
// says where: the copy is the old schema with the old rows.
func TestUpgradeBacksUpFirst(t *testing.T) {
	if store.SchemaVersion() < 2 {
		t.Skip("one schema version: nothing to upgrade from")
	}
	path := oldDatabase(t)
	var logs bytes.Buffer
	log := slog.New(slog.NewTextHandler(&logs, nil))
	s, err := store.Open(context.Background(), path, log, nil)
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	if v := userVersion(t, path); v != store.SchemaVersion() {
		t.Errorf("migrated database at version %d, want %d", v, store.SchemaVersion())
	}
	m := regexp.MustCompile(`msg="store: backup before migrating" path=(\S+) schema=1 to=(\d+)`).FindStringSubmatch(logs.String())
	if m == nil {
		t.Fatalf("no backup in the log:\n%s", logs.String())
	}
	backup := m[1]
	if filepath.Dir(backup) != filepath.Dir(path) || !strings.HasPrefix(filepath.Base(backup), "passerelle.db.v1-") {
		t.Errorf("backup %s is not beside %s", backup, path)
	}
	fi, err := os.Stat(backup)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("backup's mode %v, want 0600: it holds the webhook secrets", fi.Mode().Perm())
	}
	if v := userVersion(t, backup); v != 1 {
		t.Errorf("backup at version %d, want 1", v)
	}
	var name string
	if err := rawDB(t, backup).QueryRow("SELECT name FROM tills").Scan(&name); err != nil || name != "old" {
		t.Errorf("backup's till: %q, %v", name, err)
	}

	// Opening the migrated database again makes no other backup.
	logs.Reset()
	s, err = store.Open(context.Background(), path, log, nil)
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	if strings.Contains(logs.String(), "backup") {
		t.Errorf("a second backup at a reopen:\n%s", logs.String())
	}
}

// dirState is every file of a folder with its size, mode and time.
func dirState(t *testing.T, dir string) string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for _, e := range entries {
		fi, err := e.Info()
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&b, "%s %d %v %s\n", e.Name(), fi.Size(), fi.Mode(), fi.ModTime().Format(time.RFC3339Nano))
	}
	return b.String()
}

// A downgrade (a database of a newer schema) is refused with
// ErrNewerSchema, and nothing in the folder is changed: not the bytes, not
// the mode, not the time, and no backup or WAL is left.
func TestDowngradeRefusedUntouched(t *testing.T) {
	path := oldDatabase(t)
	db := rawDB(t, path)
	if _, err := db.Exec(fmt.Sprintf("PRAGMA user_version = %d", store.SchemaVersion()+1)); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	// A mode the store would change to 0600 if it got that far.
	if err := os.Chmod(path, 0o640); err != nil {
		t.Fatal(err)
	}
	old := time.Now().Add(-time.Hour)
	if err := os.Chtimes(path, old, old); err != nil {
		t.Fatal(err)
	}
	before, sum := dirState(t, filepath.Dir(path)), fileSum(t, path)

	_, err := store.Open(context.Background(), path, discard, nil)
	if !errors.Is(err, store.ErrNewerSchema) {
		t.Fatalf("open: %v, want ErrNewerSchema", err)
	}
	if !strings.Contains(err.Error(), "nothing was changed") {
		t.Errorf("the error does not reassure: %v", err)
	}
	if after := dirState(t, filepath.Dir(path)); after != before {
		t.Errorf("the folder changed:\n%s\nwas\n%s", after, before)
	}
	if fileSum(t, path) != sum {
		t.Error("the database's bytes changed")
	}
}
