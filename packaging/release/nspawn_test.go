package release_test

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// The .deb in a real systemd: a Debian bookworm root made once with
// debootstrap and kept in a cache folder outside the clone
// (PASSERELLE_NSPAWN_CACHE, default /var/cache/passerelle-test), booted
// with systemd-nspawn -b for each test. --volatile=overlay keeps the root
// as it is (every change goes to a tmpfs), --private-network keeps 8420 to
// the container; --register=no --keep-unit are what lets nspawn boot where
// PID 1 is not systemd (no machined, no system bus); the packages are
// bound read-only at /srv/deb (the container's /tmp is a tmpfs).
// Commands run inside through nsenter into the container's init:
// machinectl and systemd-run -M need machined.

const containerPath = "PATH=/usr/sbin:/usr/bin:/sbin:/bin"

// needNspawn skips unless the machine can boot a container.
func needNspawn(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("the .deb in systemd needs root: systemd-nspawn boots a container (make test-packages as root; CI is)")
	}
	for _, tool := range []string{"debootstrap", "systemd-nspawn", "nsenter"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("the .deb in systemd needs %s (apt-get install debootstrap systemd-container util-linux): %v", tool, err)
		}
	}
}

// debianMirror is the mirror apt uses on this machine.
func debianMirror(t *testing.T) string {
	if m := os.Getenv("PASSERELLE_DEBIAN_MIRROR"); m != "" {
		return m
	}
	files, _ := filepath.Glob("/etc/apt/sources.list.d/*.sources")
	files = append(files, "/etc/apt/sources.list")
	uri := regexp.MustCompile(`(?m)^(?:URIs:\s*|deb\s+(?:\[[^]]*\]\s+)?)(\S+/debian)/?\s*$|^deb\s+(?:\[[^]]*\]\s+)?(\S+/debian)/?\s+bookworm\s`)
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		if m := uri.FindSubmatch(b); m != nil {
			return string(append(m[1], m[2]...))
		}
	}
	return "http://deb.debian.org/debian"
}

// debianRoot returns the cached bookworm root, made the first time
// (about 40 s and 260 MB).
func debianRoot(t *testing.T) string {
	t.Helper()
	cache := os.Getenv("PASSERELLE_NSPAWN_CACHE")
	if cache == "" {
		cache = "/var/cache/passerelle-test"
	}
	root := filepath.Join(cache, "bookworm-"+runtime.GOARCH)
	if _, err := os.Stat(filepath.Join(root, "usr/lib/systemd/systemd")); err == nil {
		return root
	}
	if err := os.MkdirAll(cache, 0o755); err != nil {
		t.Fatal(err)
	}
	tmp := root + ".tmp"
	os.RemoveAll(tmp)
	start := time.Now()
	out, err := exec.Command("debootstrap", "--variant=minbase", "--include=systemd,systemd-sysv,dbus,curl,ca-certificates",
		"bookworm", tmp, debianMirror(t)).CombinedOutput()
	if err != nil {
		t.Fatalf("debootstrap: %v\n%s", err, out)
	}
	if err := os.Rename(tmp, root); err != nil {
		t.Fatal(err)
	}
	t.Logf("debootstrap made %s in %v", root, time.Since(start).Round(time.Second))
	return root
}

// container is a booted Debian with systemd as PID 1.
type container struct {
	t     *testing.T
	cmd   *exec.Cmd
	init  int // the container's systemd, as the host sees it
	log   *bytes.Buffer
	mu    *sync.Mutex
	ended chan struct{}
}

type lockedWriter struct {
	mu *sync.Mutex
	b  *bytes.Buffer
}

func (w lockedWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}

// boot starts a container from the cached root, with dir at /srv/deb.
func boot(t *testing.T, dir string) *container {
	t.Helper()
	root := debianRoot(t)
	c := &container{t: t, log: &bytes.Buffer{}, mu: &sync.Mutex{}, ended: make(chan struct{})}
	name := fmt.Sprintf("passerelle-test-%d", os.Getpid())
	c.cmd = exec.Command("systemd-nspawn", "-D", root, "-b", "-M", name,
		"--register=no", "--keep-unit", "--private-network", "--volatile=overlay", "--bind-ro="+dir+":/srv/deb")
	c.cmd.Stdout, c.cmd.Stderr = lockedWriter{c.mu, c.log}, lockedWriter{c.mu, c.log}
	if err := c.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		c.cmd.Wait()
		close(c.ended)
	}()
	t.Cleanup(c.shutdown)
	// nspawn's child becomes the container's init once it has set the
	// container up and run systemd.
	children := fmt.Sprintf("/proc/%d/task/%d/children", c.cmd.Process.Pid, c.cmd.Process.Pid)
	c.poll("the container's init", 30*time.Second, func() bool {
		b, _ := os.ReadFile(children)
		f := strings.Fields(string(b))
		if len(f) == 0 {
			return false
		}
		comm, _ := os.ReadFile("/proc/" + f[0] + "/comm")
		c.init, _ = strconv.Atoi(f[0])
		return strings.TrimSpace(string(comm)) == "systemd"
	})
	// running, or degraded (a unit of the minimal system that fails in a
	// container): either way systemd has finished booting. "offline" is
	// the answer while its bus is not up yet.
	var state string
	c.poll("the container's boot", time.Minute, func() bool {
		out, _ := c.sh("systemctl is-system-running --wait")
		state = strings.TrimSpace(out)
		return state == "running" || state == "degraded"
	})
	return c
}

func (c *container) output() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.log.String()
}

// shutdown asks nspawn to power the container off, and kills it if that
// takes too long.
func (c *container) shutdown() {
	c.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-c.ended:
	case <-time.After(30 * time.Second):
		c.cmd.Process.Kill()
		<-c.ended
	}
}

// sh runs a shell script inside the container, as root, in a clean
// environment.
func (c *container) sh(script string) (string, error) {
	out, err := exec.Command("nsenter", "-t", strconv.Itoa(c.init), "-a", "env", "-i", containerPath, "sh", "-c", script).CombinedOutput()
	return string(out), err
}

func (c *container) must(script string) string {
	c.t.Helper()
	out, err := c.sh(script)
	if err != nil {
		c.t.Fatalf("in the container: %s: %v\n%s", script, err, out)
	}
	return out
}

// poll calls cond until it holds, failing the test after timeout.
func (c *container) poll(what string, timeout time.Duration, cond func() bool) {
	c.t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			journal, _ := c.sh("journalctl -u passerelle --no-pager | tail -40")
			c.t.Fatalf("timed out waiting for %s\njournal:\n%s\nnspawn:\n%s", what, journal, c.output())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// healthz is /healthz's body, or "" while it does not answer.
func (c *container) healthz() string {
	out, err := c.sh("curl -skf --max-time 2 https://localhost:8420/healthz")
	if err != nil {
		return ""
	}
	return out
}

func (c *container) mainPID() string {
	return strings.TrimPrefix(strings.TrimSpace(c.must("systemctl show -p MainPID passerelle")), "MainPID=")
}

// postTicket posts a ticket with the till key and returns the HTTP status.
func (c *container) postTicket(key, ref string) string {
	c.t.Helper()
	body := `{"ref":"` + ref + `","table":"5","lines":[{"label":"PLAT","qty":1,"unit_price":2350,"vat_rate":1000}],"total":2350}`
	return strings.TrimSpace(c.must(`curl -sk -o /dev/null -w '%{http_code}' -H 'Authorization: Bearer ` + key +
		`' -H 'Content-Type: application/json' -d '` + body + `' https://localhost:8420/api/v1/tickets`))
}

func (c *container) tickets(key string) string {
	c.t.Helper()
	return c.must(`curl -skf -H 'Authorization: Bearer ` + key + `' https://localhost:8420/api/v1/tickets`)
}

// tillAdd runs `passerelle till add` as root and without --data, as a
// manager would, and returns the key.
func (c *container) tillAdd(bin, name string) string {
	c.t.Helper()
	lines := strings.Split(strings.TrimSpace(c.must(bin+" till add "+name)), "\n")
	key := lines[len(lines)-1]
	if !strings.HasPrefix(key, "ptk_") {
		c.t.Fatalf("till add: no key in %q", lines)
	}
	return key
}

// memory is the idle service's memory: MemoryCurrent where the
// container's systemd has the memory controller, else the process's RSS.
func (c *container) memory() string {
	v := strings.TrimPrefix(strings.TrimSpace(c.must("systemctl show -p MemoryCurrent passerelle")), "MemoryCurrent=")
	if n, err := strconv.ParseInt(v, 10, 64); err == nil {
		return fmt.Sprintf("MemoryCurrent %.1f MiB", float64(n)/(1<<20))
	}
	rss := c.must("grep VmRSS /proc/" + c.mainPID() + "/status")
	return fmt.Sprintf("MemoryCurrent %s (no memory controller in this container); %s", v, strings.Join(strings.Fields(rss), " "))
}

func TestDebInSystemd(t *testing.T) {
	needNspawn(t)
	deb := one(t, "passerelle_*_"+runtime.GOARCH+".deb")
	c := boot(t, dist(t))

	start := time.Now()
	c.must("dpkg -i /srv/deb/" + filepath.Base(deb))
	var health string
	c.poll("/healthz after dpkg -i", time.Minute, func() bool { health = c.healthz(); return health != "" })
	t.Logf("dpkg -i to /healthz answering: %v", time.Since(start).Round(time.Millisecond))

	if s := strings.TrimSpace(c.must("systemctl is-active passerelle; systemctl is-enabled passerelle")); s != "active\nenabled" {
		t.Errorf("the service is %q", s)
	}
	version := strings.TrimSpace(c.must("passerelle version"))
	if version == "dev" || !strings.Contains(health, `"version":"`+version+`"`) {
		t.Errorf("passerelle version %q, /healthz %s", version, health)
	}
	c.must("systemd-analyze verify /usr/lib/systemd/system/passerelle.service")
	security := c.must("systemd-analyze security passerelle --no-pager")
	m := regexp.MustCompile(`Overall exposure level for passerelle.service: ([0-9.]+)`).FindStringSubmatch(security)
	if m == nil {
		t.Fatalf("systemd-analyze security:\n%s", security)
	}
	if x, _ := strconv.ParseFloat(m[1], 64); x >= 3.0 {
		t.Errorf("exposure %s, want below 3.0:\n%s", m[1], security)
	}
	t.Logf("systemd-analyze security: exposure %s", m[1])

	// A manager's command, as root and without --data: the service's data.
	key := c.tillAdd("passerelle", "Caisse")
	if owners := c.must("stat -c '%U %n' /var/lib/passerelle /var/lib/passerelle/* | grep -v '^passerelle ' || true"); owners != "" {
		t.Errorf("files of the data directory not the service's:\n%s", owners)
	}
	if code := c.postTicket(key, "nspawn-1"); code != "201" {
		t.Fatalf("post ticket: %s", code)
	}
	t.Logf("idle service: %s", c.memory())

	// A kill: systemd restarts it, and the acknowledged ticket is there.
	before := c.mainPID()
	start = time.Now()
	c.must("systemctl kill -s KILL passerelle")
	c.poll("the restart after a kill", time.Minute, func() bool {
		pid := c.mainPID()
		return pid != before && pid != "0" && c.healthz() != ""
	})
	t.Logf("systemctl kill -s KILL to /healthz answering again: %v", time.Since(start).Round(time.Millisecond))
	if !strings.Contains(c.tickets(key), `"ref":"nspawn-1"`) {
		t.Errorf("the ticket is gone after the kill: %s", c.tickets(key))
	}
	journal := c.must("journalctl -u passerelle --no-pager")
	if !strings.Contains(journal, "Main process exited, code=killed, status=9/KILL") || strings.Count(journal, `msg="passerelle started"`) < 2 {
		t.Errorf("the journal shows no kill and restart:\n%s", journal)
	}

	// Remove keeps the data; purge deletes it.
	c.must("dpkg -r passerelle")
	if out, err := c.sh("test -f /var/lib/passerelle/passerelle.db && ! test -e /usr/bin/passerelle && ! systemctl is-active --quiet passerelle"); err != nil {
		t.Errorf("after dpkg -r: the data should stay, the program and the service go: %v %s", err, out)
	}
	c.must("dpkg -P passerelle")
	if out, err := c.sh("test -e /var/lib/passerelle"); err == nil {
		t.Errorf("after dpkg -P /var/lib/passerelle is still there %s", out)
	}
}

// journalLines returns the journal's lines of passerelle that match re.
func journalLines(c *container, re string) []string {
	var out []string
	sc := bufio.NewScanner(strings.NewReader(c.must("journalctl -u passerelle --no-pager -o cat")))
	for sc.Scan() {
		if regexp.MustCompile(re).MatchString(sc.Text()) {
			out = append(out, sc.Text())
		}
	}
	return out
}

// previousDeb builds the .deb of the version before the newest schema:
// the parent of the commit that added the newest migration, built from
// git and packaged with this packaging (the older commits have none).
func previousDeb(t *testing.T, dir string) (deb, version string) {
	t.Helper()
	repo, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	git := func(args ...string) string {
		cmd := exec.Command("git", args...)
		cmd.Dir = repo
		out, err := cmd.Output()
		if err != nil {
			t.Skipf("the previous version needs the clone's history: git %v: %v", args, err)
		}
		return strings.TrimSpace(string(out))
	}
	ms, _ := filepath.Glob(filepath.Join(repo, "store/migrations/*.sql"))
	if len(ms) < 2 {
		t.Skip("one migration: no previous schema to upgrade from")
	}
	// Along main's first parents, a merge counts as adding what its branch
	// added: without -m a migration that came in by a merge has no commit.
	added := git("log", "-1", "--first-parent", "-m", "--diff-filter=A", "--format=%H", "--", "store/migrations/"+filepath.Base(ms[len(ms)-1]))
	if added == "" {
		t.Skip("the newest migration's commit is not in this clone's history")
	}
	prev := added + "^"
	hash, count := git("rev-parse", "--short", prev), git("rev-list", "--count", prev)

	src := filepath.Join(dir, "src")
	if err := os.MkdirAll(src, 0o755); err != nil {
		t.Fatal(err)
	}
	steps := [][]string{
		{"sh", "-c", "git -C " + repo + " archive " + prev + " | tar -x -C " + src},
		{"go", "-C", src, "build", "-trimpath", "-ldflags", "-s -w -X main.version=" + hash, "-o", filepath.Join(dir, "passerelle"), "./cmd/passerelle"},
		{"go", "build", "-o", filepath.Join(dir, "nfpm"), "github.com/goreleaser/nfpm/v2/cmd/nfpm"},
	}
	for _, s := range steps {
		cmd := exec.Command(s[0], s[1:]...)
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOFLAGS=-buildvcs=false")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("%v: %v\n%s", s, err, out)
		}
	}
	cfg, err := os.ReadFile("../nfpm.yaml")
	if err != nil {
		t.Fatal(err)
	}
	cfg = bytes.ReplaceAll(cfg, []byte("${PKG_BIN}"), []byte(filepath.Join(dir, "passerelle")))
	cfg = bytes.ReplaceAll(cfg, []byte("${PKG_ROOT}/packaging/systemd/passerelle.service"), []byte(filepath.Join(dir, "passerelle.service")))
	cfg = bytes.ReplaceAll(cfg, []byte("${PKG_ROOT}"), []byte(repo))
	// Its binary has no `service run` and no sd_notify: its unit runs
	// `run` on the system data directory, Type=simple, no watchdog.
	unit, err := os.ReadFile("../systemd/passerelle.service")
	if err != nil {
		t.Fatal(err)
	}
	for old, new := range map[string]string{
		"ExecStart=/usr/bin/passerelle service run": "ExecStart=/usr/bin/passerelle run --data /var/lib/passerelle",
		"Type=notify":     "Type=simple",
		"WatchdogSec=20s": "",
	} {
		unit = bytes.Replace(unit, []byte(old), []byte(new), 1)
	}
	if err := os.WriteFile(filepath.Join(dir, "passerelle.service"), unit, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "nfpm.yaml"), cfg, 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "prev")
	os.Mkdir(out, 0o755)
	cmd := exec.Command(filepath.Join(dir, "nfpm"), "package", "--config", filepath.Join(dir, "nfpm.yaml"), "--packager", "deb", "--target", out+"/")
	cmd.Env = append(os.Environ(), "PKG_ARCH="+runtime.GOARCH, "PKG_VERSION=0.0."+count+"+g"+hash)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("nfpm: %v\n%s", err, b)
	}
	debs, _ := filepath.Glob(filepath.Join(out, "*.deb"))
	if len(debs) != 1 {
		t.Fatalf("previous .deb: %v", debs)
	}
	return debs[0], hash
}

// copyFile copies src into dir.
func copyFile(t *testing.T, src, dir string) string {
	t.Helper()
	b, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	dst := filepath.Join(dir, filepath.Base(src))
	if err := os.WriteFile(dst, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return dst
}

// The previous version's .deb, then this one: the data is migrated after a
// backup, and kept; then the previous one again (a downgrade): its service
// refuses the data and changes nothing.
func TestDebUpgradeInSystemd(t *testing.T) {
	needNspawn(t)
	dir := t.TempDir()
	prevDeb, prevVersion := previousDeb(t, dir)
	debs := filepath.Join(dir, "debs")
	os.Mkdir(debs, 0o755)
	prevDeb = filepath.Base(copyFile(t, prevDeb, debs))
	newDeb := filepath.Base(copyFile(t, one(t, "passerelle_*_"+runtime.GOARCH+".deb"), debs))
	c := boot(t, debs)

	c.must("dpkg -i /srv/deb/" + prevDeb)
	c.poll("the previous version's /healthz", time.Minute, func() bool {
		return strings.Contains(c.healthz(), `"version":"`+prevVersion+`"`)
	})
	// That version knows no system data directory, nor to become its
	// owner: run as the service's user, with --data.
	key := c.tillAdd("runuser -u passerelle -- passerelle", "Caisse --data /var/lib/passerelle")
	if code := c.postTicket(key, "before-upgrade"); code != "201" {
		t.Fatalf("post ticket: %s", code)
	}

	c.must("dpkg -i /srv/deb/" + newDeb)
	version := strings.TrimSpace(c.must("passerelle version"))
	c.poll("the new version's /healthz", time.Minute, func() bool {
		return strings.Contains(c.healthz(), `"version":"`+version+`"`)
	})
	if !strings.Contains(c.tickets(key), `"ref":"before-upgrade"`) {
		t.Errorf("the ticket is gone after the upgrade: %s", c.tickets(key))
	}
	backups := journalLines(c, `msg="store: backup before migrating" path=/var/lib/passerelle/passerelle\.db\.v\d+-\S+\.bak `)
	if len(backups) != 1 {
		t.Fatalf("the upgrade's backup is not in the journal:\n%s", c.must("journalctl -u passerelle --no-pager -o cat"))
	}
	path := regexp.MustCompile(`path=(\S+)`).FindStringSubmatch(backups[0])[1]
	c.must("test -s " + path)
	t.Logf("upgrade from %s to %s: %s", prevVersion, version, backups[0])

	// The downgrade: refused, the data as it was.
	c.must("systemctl stop passerelle")
	sums := c.must("cd /var/lib/passerelle && sha256sum passerelle.db* && ls -l --time-style=full-iso")
	c.must("dpkg -i /srv/deb/" + prevDeb)
	c.poll("the downgrade's refusal", time.Minute, func() bool {
		// That version's own words: this one's add "written by a newer
		// passerelle" and "nothing was changed".
		return len(journalLines(c, `schema version \d+ but this passerelle knows only up to`)) > 0
	})
	if c.healthz() != "" {
		t.Error("the previous version serves the newer data")
	}
	if after := c.must("cd /var/lib/passerelle && sha256sum passerelle.db* && ls -l --time-style=full-iso"); after != sums {
		t.Errorf("the refused data changed:\n%s\nwas\n%s", after, sums)
	}
}

// A hand install from the .tar.gz: `passerelle service install` creates the
// user and writes the unit through kardianos/service, then start, status,
// a command without --data, stop and uninstall, in a real systemd.
func TestServiceInstallInSystemd(t *testing.T) {
	needNspawn(t)
	tgz := one(t, "passerelle-*-linux-"+runtime.GOARCH+".tar.gz")
	c := boot(t, dist(t))
	c.must("mkdir -p /opt/passerelle && tar -xzf /srv/deb/" + filepath.Base(tgz) + " -C /opt/passerelle --strip-components=1")
	p := "/opt/passerelle/passerelle"
	c.must(p + " service install")
	if u := c.must("systemctl cat passerelle"); !strings.Contains(u, "ExecStart="+p+" service run") || !strings.Contains(u, "Type=notify") {
		t.Errorf("the installed unit:\n%s", u)
	}
	c.must("getent passwd passerelle")
	if s := strings.TrimSpace(c.must(p + " service status")); s != "stopped" {
		t.Errorf("status after install: %q", s)
	}
	c.must(p + " service start")
	c.poll("/healthz after service start", time.Minute, func() bool { return c.healthz() != "" })
	if s := strings.TrimSpace(c.must(p + " service status")); s != "running" {
		t.Errorf("status after start: %q", s)
	}
	key := c.tillAdd(p, "Caisse")
	if code := c.postTicket(key, "by-hand"); code != "201" {
		t.Fatalf("post ticket: %s", code)
	}
	c.must(p + " service restart")
	c.poll("/healthz after service restart", time.Minute, func() bool { return c.healthz() != "" })
	c.must(p + " service stop")
	if s := strings.TrimSpace(c.must(p + " service status")); s != "stopped" {
		t.Errorf("status after stop: %q", s)
	}
	c.must(p + " service uninstall")
	if s := strings.TrimSpace(c.must(p + " service status")); s != "not installed" {
		t.Errorf("status after uninstall: %q", s)
	}
	c.must("test -f /var/lib/passerelle/passerelle.db")
}
