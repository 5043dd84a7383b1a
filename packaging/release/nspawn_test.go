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
func (c *container) tillAdd(name string) string {
	c.t.Helper()
	lines := strings.Split(strings.TrimSpace(c.must("passerelle till add "+name)), "\n")
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
	key := c.tillAdd("Caisse")
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
