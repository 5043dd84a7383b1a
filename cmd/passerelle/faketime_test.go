//go:build linux

package main

import (
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestFaketime runs the gateway under Debian's faketime, set to 1970. It
// skips, saying so, where faketime does not reach the process: libfaketime
// is an LD_PRELOAD library over libc's time calls, and Go reads the clock
// through the vDSO itself (and the release build is static, CGO_ENABLED=0),
// so the gateway sees the real time. The clock steps are proved instead on
// the injected clocks of gateway/clock_test.go and the drivers' tests.
func TestFaketime(t *testing.T) {
	ft, err := exec.LookPath("faketime")
	if err != nil {
		t.Skip("faketime is not installed (apt-get install faketime)")
	}
	bin := buildPasserelle(t)
	data := t.TempDir()
	// faketime runs the gateway as its child: both go in a process group
	// of their own, killed together.
	g := &gatewayProc{cmd: exec.Command(ft, "1970-01-02 00:00:00", bin, "run", "--data", data, "--no-tls", "--listen", "127.0.0.1:0"),
		log: &procLog{url: make(chan string, 1)}, exited: make(chan struct{}), traced: true}
	g.cmd.Stdout, g.cmd.Stderr = g.log, g.log
	g.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := g.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		g.cmd.Wait()
		close(g.exited)
	}()
	t.Cleanup(func() { g.kill(t) })
	select {
	case <-g.log.url:
	case <-g.exited:
		t.Fatalf("gateway exited under faketime:\n%s", g.log.String())
	case <-time.After(time.Minute): // a bound on a gateway that never starts, not a speed check
		t.Fatalf("gateway did not start:\n%s", g.log.String())
	}
	if !strings.Contains(g.log.String(), "time=1970-01-02") {
		t.Skipf("faketime does not reach a Go binary (Go reads the clock through the vDSO, not libc): the gateway logged\n%s",
			firstLine(g.log.String()))
	}
	t.Log("the gateway runs in 1970 under faketime")
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}
