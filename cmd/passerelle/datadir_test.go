//go:build linux

package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

func TestDefaultDataDir(t *testing.T) {
	t.Setenv("PASSERELLE_DATA", "/srv/shop")
	if got := defaultDataDir(); got != "/srv/shop" {
		t.Errorf("with PASSERELLE_DATA: %s", got)
	}
	t.Setenv("PASSERELLE_DATA", "")
	want := devDataDir
	if fi, err := os.Stat(systemDataDir()); err == nil && fi.IsDir() {
		want = systemDataDir()
	}
	if got := defaultDataDir(); got != want {
		t.Errorf("without PASSERELLE_DATA: %s, want %s", got, want)
	}
}

// As root, a command on the service's data directory works as the service's
// user: what SQLite creates there (the database, its WAL) is the
// service's, which could not open a root-owned file.
func TestRootCommandBecomesTheDataOwner(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root: the command changes its user")
	}
	bin := buildPasserelle(t)
	const nobody = 65534
	data := filepath.Join(t.TempDir(), "data")
	if err := os.Mkdir(data, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(data, nobody, nobody); err != nil {
		t.Fatal(err)
	}
	// The folders above must let the user in, as /var/lib does.
	for d := filepath.Dir(data); d != "/"; d = filepath.Dir(d) {
		if fi, err := os.Stat(d); err == nil && fi.Mode().Perm()&0o001 == 0 {
			os.Chmod(d, fi.Mode().Perm()|0o001)
		}
	}
	out, err := exec.Command(bin, "till", "add", "caisse", "--data", data).CombinedOutput()
	if err != nil {
		t.Fatalf("till add as root: %v\n%s", err, out)
	}
	entries, err := os.ReadDir(data)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		fi, err := e.Info()
		if err != nil {
			t.Fatal(err)
		}
		names = append(names, e.Name())
		if uid := fi.Sys().(*syscall.Stat_t).Uid; uid != nobody {
			t.Errorf("%s belongs to uid %d, not the directory's owner", e.Name(), uid)
		}
	}
	if !strings.Contains(strings.Join(names, " "), dbFile) {
		t.Errorf("no database in %v", names)
	}
}
