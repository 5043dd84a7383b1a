// Package hubtest starts what the hub's tests need: a private PostgreSQL
// cluster in a temporary folder, on a loopback port, stopped and removed
// at the end of the test.
package hubtest

import (
	"database/sql"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"

	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" driver
)

// binDir finds PostgreSQL's server programs: initdb on the PATH, or
// Debian's /usr/lib/postgresql/VERSION/bin, the newest.
func binDir() string {
	if p, err := exec.LookPath("initdb"); err == nil {
		return filepath.Dir(p)
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin/initdb")
	sort.Slice(dirs, func(i, j int) bool { return version(dirs[i]) > version(dirs[j]) })
	if len(dirs) == 0 {
		return ""
	}
	return filepath.Dir(dirs[0])
}

func version(initdb string) int {
	v, _ := strconv.Atoi(filepath.Base(filepath.Dir(filepath.Dir(initdb))))
	return v
}

// Cluster is a running private PostgreSQL.
type Cluster struct {
	bin, base, data string
	port            int
	asPostgres      bool
}

// StartPostgres starts a cluster for the test, or skips it with a clear
// message when PostgreSQL is not installed. As root, the cluster runs as
// the postgres user (PostgreSQL refuses to run as root).
func StartPostgres(t testing.TB) *Cluster {
	t.Helper()
	bin := binDir()
	if bin == "" {
		t.Skip("PostgreSQL is not installed (no initdb on the PATH or in /usr/lib/postgresql/*/bin): install the postgresql package (.ci/run does) to run the hub's PostgreSQL tests")
	}
	c := &Cluster{bin: bin, asPostgres: os.Geteuid() == 0}
	var err error
	if c.base, err = os.MkdirTemp("", "passerelle-pg-"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(c.base) })
	c.data = filepath.Join(c.base, "data")
	if c.asPostgres {
		u, err := user.Lookup("postgres")
		if err != nil {
			t.Skipf("running as root without a postgres user to run PostgreSQL as: %v", err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		if err := os.Chmod(c.base, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Chown(c.base, uid, gid); err != nil {
			t.Fatal(err)
		}
	}
	c.port = freePort(t)
	c.run(t, "initdb", "-D", c.data, "-U", "postgres", "-A", "trust", "-E", "UTF8", "--no-sync")
	opts := fmt.Sprintf("-p %d -k %s -c listen_addresses=127.0.0.1 -c max_connections=200", c.port, c.base)
	c.run(t, "pg_ctl", "-D", c.data, "-o", opts, "-l", filepath.Join(c.base, "log"), "-w", "-t", "120", "start")
	t.Cleanup(func() { c.run(t, "pg_ctl", "-D", c.data, "-m", "immediate", "-w", "stop") })
	return c
}

func (c *Cluster) run(t testing.TB, prog string, args ...string) {
	t.Helper()
	cmd := exec.Command(filepath.Join(c.bin, prog), args...)
	if c.asPostgres {
		cmd = exec.Command("runuser", append([]string{"-u", "postgres", "--", filepath.Join(c.bin, prog)}, args...)...)
	}
	cmd.Dir = c.base
	if out, err := cmd.CombinedOutput(); err != nil {
		log, _ := os.ReadFile(filepath.Join(c.base, "log"))
		t.Fatalf("%s %s: %v\n%s\n%s", prog, strings.Join(args, " "), err, out, log)
	}
}

func freePort(t testing.TB) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// URL is the cluster's URL for database name.
func (c *Cluster) URL(name string) string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/%s?sslmode=disable", c.port, name)
}

// NewDatabase creates a database of its own for a test and returns its
// URL.
func (c *Cluster) NewDatabase(t testing.TB, name string) string {
	t.Helper()
	db, err := sql.Open("pgx", c.URL("postgres"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec("CREATE DATABASE " + name); err != nil {
		t.Fatalf("create database %s: %v", name, err)
	}
	return c.URL(name)
}
