//go:build linux

package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// A test LAN: network namespaces plugged into a bridge that lives in a
// namespace of its own, so that nothing of it touches the machine's
// network. Created and removed by the test; root only.

// needNetns skips the test unless it can create network namespaces.
func needNetns(t testing.TB, tools ...string) {
	t.Helper()
	if runtime.GOOS != "linux" || os.Geteuid() != 0 {
		t.Skip("network namespace test: needs root on Linux (`ip netns`); .ci/run runs it as root")
	}
	for _, tool := range append([]string{"ip"}, tools...) {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("network namespace test: %s is not installed (apt-get install iproute2 avahi-daemon avahi-utils dbus bind9-dnsutils)", tool)
		}
	}
}

type testLAN struct {
	t      testing.TB
	prefix string // unique to this run: namespaces and links carry it
	sw     string // the switch's namespace
	n      int
}

// newLAN creates the switch; hosts are added with host.
func newLAN(t testing.TB) *testLAN {
	t.Helper()
	b := make([]byte, 3)
	rand.Read(b)
	l := &testLAN{t: t, prefix: "pst" + hex.EncodeToString(b)}
	l.sw = l.prefix + "-sw"
	l.ip("netns", "add", l.sw)
	t.Cleanup(func() { exec.Command("ip", "netns", "del", l.sw).Run() })
	l.ip("-n", l.sw, "link", "add", "br0", "type", "bridge")
	l.ip("-n", l.sw, "link", "set", "br0", "up")
	return l
}

func (l *testLAN) ip(args ...string) {
	l.t.Helper()
	if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
		l.t.Fatalf("ip %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// host adds a namespace plugged into the switch by its eth0, with addr
// (CIDR), and returns its name. Deleting the primary address keeps the
// secondary ones (promote_secondaries), as a DHCP renumbering would.
func (l *testLAN) host(name, addr string) string {
	l.t.Helper()
	l.n++
	ns := l.prefix + "-" + name
	l.ip("netns", "add", ns)
	l.t.Cleanup(func() { exec.Command("ip", "netns", "del", ns).Run() })
	l.sh(ns, "echo 1 > /proc/sys/net/ipv4/conf/all/promote_secondaries; echo 1 > /proc/sys/net/ipv4/conf/default/promote_secondaries")
	peer := fmt.Sprintf("p%d", l.n)
	l.ip("link", "add", "eth0", "netns", ns, "type", "veth", "peer", "name", peer, "netns", l.sw)
	l.ip("-n", l.sw, "link", "set", peer, "master", "br0")
	l.ip("-n", l.sw, "link", "set", peer, "up")
	l.ip("-n", ns, "addr", "add", addr, "dev", "eth0")
	l.ip("-n", ns, "link", "set", "eth0", "up")
	l.ip("-n", ns, "link", "set", "lo", "up")
	return ns
}

// sh runs a shell command in a namespace.
func (l *testLAN) sh(ns, script string) string {
	l.t.Helper()
	out, err := exec.Command("ip", "netns", "exec", ns, "sh", "-c", script).CombinedOutput()
	if err != nil {
		l.t.Fatalf("in %s: %s: %v\n%s", ns, script, err, out)
	}
	return string(out)
}

// run runs a command in a namespace and returns its output.
func (l *testLAN) run(ns string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, "ip", append([]string{"netns", "exec", ns}, args...)...).CombinedOutput()
	return string(out), err
}

// nsProc is a process running in a namespace, its output kept by line
// with the time each came.
type nsProc struct {
	t      testing.TB
	name   string
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	mu     sync.Mutex
	lines  []timedLine
	more   chan struct{} // closed and replaced at each line
	exited chan struct{}
}

type timedLine struct {
	at   time.Time
	text string
}

// start starts a command in a namespace; it is stopped (SIGTERM, then
// SIGKILL) at the end of the test.
func (l *testLAN) start(ns, name string, env []string, args ...string) *nsProc {
	l.t.Helper()
	p := &nsProc{t: l.t, name: name, more: make(chan struct{}), exited: make(chan struct{})}
	p.cmd = exec.Command("ip", append([]string{"netns", "exec", ns}, args...)...)
	if env != nil {
		p.cmd.Env = append(os.Environ(), env...)
	}
	var err error
	if p.stdin, err = p.cmd.StdinPipe(); err != nil {
		l.t.Fatal(err)
	}
	out, err := p.cmd.StdoutPipe()
	if err != nil {
		l.t.Fatal(err)
	}
	p.cmd.Stderr = p.cmd.Stdout
	if err := p.cmd.Start(); err != nil {
		l.t.Fatalf("start %s: %v", name, err)
	}
	go func() {
		sc := bufio.NewScanner(out)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			p.mu.Lock()
			p.lines = append(p.lines, timedLine{at: time.Now(), text: sc.Text()})
			close(p.more)
			p.more = make(chan struct{})
			p.mu.Unlock()
		}
		p.cmd.Wait()
		close(p.exited)
	}()
	l.t.Cleanup(func() { p.stop() })
	return p
}

// stop ends the process: SIGTERM (a gateway withdraws its announcement),
// SIGKILL if it lingers.
func (p *nsProc) stop() {
	select {
	case <-p.exited:
		return
	default:
	}
	p.stdin.Close()
	p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.exited:
	case <-time.After(15 * time.Second):
		p.cmd.Process.Kill()
		<-p.exited
	}
	if out := p.output(); strings.Contains(out, "DATA RACE") {
		p.t.Errorf("%s reported a data race:\n%s", p.name, out)
	}
}

func (p *nsProc) output() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	var b bytes.Buffer
	for _, l := range p.lines {
		b.WriteString(l.text + "\n")
	}
	return b.String()
}

// waitLine waits for a line matching re from line index from on, and
// returns it with its index. The timeout bounds a process that never says
// it; it is not a speed check.
func (p *nsProc) waitLine(re *regexp.Regexp, from int, timeout time.Duration) (timedLine, int) {
	p.t.Helper()
	deadline := time.After(timeout)
	for {
		p.mu.Lock()
		for i := from; i < len(p.lines); i++ {
			if re.MatchString(p.lines[i].text) {
				l := p.lines[i]
				p.mu.Unlock()
				return l, i
			}
		}
		from = len(p.lines)
		more := p.more
		p.mu.Unlock()
		select {
		case <-more:
		case <-p.exited:
			// the last lines may have come with the exit
			p.mu.Lock()
			for i := from; i < len(p.lines); i++ {
				if re.MatchString(p.lines[i].text) {
					l := p.lines[i]
					p.mu.Unlock()
					return l, i
				}
			}
			p.mu.Unlock()
			p.t.Fatalf("%s exited (%v) before a line matching %q:\n%s", p.name, p.cmd.ProcessState, re, p.output())
		case <-deadline:
			p.t.Fatalf("%s: no line matching %q within %s:\n%s", p.name, re, timeout, p.output())
		}
	}
}

func (p *nsProc) lineCount() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.lines)
}

func (p *nsProc) say(line string) {
	p.t.Helper()
	if _, err := io.WriteString(p.stdin, line+"\n"); err != nil {
		p.t.Fatalf("%s: %v", p.name, err)
	}
}

// nsHTTPClient is an HTTP client whose connections are opened inside a
// namespace: the test process, in the machine's namespace, plays a till
// on the test LAN. The socket is made on a thread moved into the
// namespace, which is then thrown away (never unlocked), so no other
// goroutine runs there.
func nsHTTPClient(t testing.TB, ns string) *http.Client {
	dial := func(ctx context.Context, network, addr string) (net.Conn, error) {
		type result struct {
			c   net.Conn
			err error
		}
		ch := make(chan result, 1)
		go func() {
			runtime.LockOSThread() // never unlocked: the thread ends with the goroutine
			f, err := os.Open(filepath.Join("/var/run/netns", ns))
			if err != nil {
				ch <- result{err: err}
				return
			}
			defer f.Close()
			if err := unix.Setns(int(f.Fd()), unix.CLONE_NEWNET); err != nil {
				ch <- result{err: fmt.Errorf("setns %s: %w", ns, err)}
				return
			}
			var d net.Dialer
			c, err := d.DialContext(ctx, network, addr)
			ch <- result{c, err}
		}()
		r := <-ch
		return r.c, r.err
	}
	return &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{DialContext: dial,
		TLSClientConfig: &tls.Config{InsecureSkipVerify: true}, DisableKeepAlives: true}}
}
