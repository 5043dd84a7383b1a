//go:build !windows

package store_test

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

// TestDatabaseFilesOwnerOnly opens a store in a world-readable folder, with
// a umask that lets anyone read what is created, and writes to it: the
// database and its WAL and shared-memory files are 0600. A database file
// left 0644 by an older version is mended at the next open.
func TestDatabaseFilesOwnerOnly(t *testing.T) {
	old := syscall.Umask(0o022)
	t.Cleanup(func() { syscall.Umask(old) })
	dir := t.TempDir()
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "passerelle.db")
	check := func(when string) {
		t.Helper()
		for _, p := range []string{path, path + "-wal", path + "-shm"} {
			fi, err := os.Stat(p)
			if err != nil {
				t.Fatalf("%s: %v", when, err)
			}
			if m := fi.Mode().Perm(); m != 0o600 {
				t.Errorf("%s: %s is %o, want 600", when, filepath.Base(p), m)
			}
		}
	}

	s := open(t, path, nil)
	addTill(t, s, "Caisse 1")
	check("new data directory")
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	s = open(t, path, nil)
	addTill(t, s, "Caisse 2")
	check("after a reopen")
}
