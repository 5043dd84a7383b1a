//go:build linux

package main

import (
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// writeKiller runs the gateway under strace, which sends it SIGKILL on
// entry to a thread's Nth pwrite64 (strace counts per thread): SQLite's
// writes of WAL frames and of the database at a checkpoint, so the process
// dies with a commit half written. Not with --seccomp-bpf: strace 6.1 then
// never injects into the Go program.
type writeKiller struct{ strace string }

// newWriteKiller is nil, with the reason logged, where strace is missing or
// may not trace (ptrace refused).
func newWriteKiller(t *testing.T) *writeKiller {
	t.Helper()
	path, err := exec.LookPath("strace")
	if err != nil {
		t.Log("strace is not installed (apt-get install strace): no kill inside a write")
		return nil
	}
	if out, err := exec.Command(path, "-f", "-qq", "-o", "/dev/null", "-e", "trace=pwrite64", "true").CombinedOutput(); err != nil {
		t.Logf("strace cannot trace here (%v: %s): no kill inside a write", err, strings.TrimSpace(string(out)))
		return nil
	}
	return &writeKiller{strace: path}
}

// startCrashGateway starts the gateway on addr; with a writeKiller and
// inject > 0, under strace set to kill it at its inject-th pwrite64. It
// reports whether the gateway came up (strace may kill it while it starts).
func startCrashGateway(t *testing.T, bin, data, addr string, w *writeKiller, inject int) (*gatewayProc, bool) {
	t.Helper()
	if w == nil || inject == 0 {
		return startGatewayAt(t, bin, data, addr), true
	}
	args := []string{"-f", "-qq", "-o", "/dev/null", "-e", "trace=pwrite64",
		"-e", "inject=pwrite64:signal=SIGKILL:when=" + strconv.Itoa(inject),
		bin, "run", "--data", data, "--no-tls", "--listen", addr}
	g := &gatewayProc{cmd: exec.Command(w.strace, args...), log: &procLog{url: make(chan string, 1)},
		exited: make(chan struct{}), traced: true}
	g.cmd.Stdout, g.cmd.Stderr = g.log, g.log
	g.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := g.cmd.Start(); err != nil {
		t.Fatalf("start strace: %v", err)
	}
	go func() {
		g.cmd.Wait()
		close(g.exited)
	}()
	t.Cleanup(func() { g.kill(t) })
	select {
	case g.url = <-g.log.url:
		g.url = strings.TrimSuffix(g.url, "/")
		return g, true
	case <-g.exited:
		return g, false
	case <-time.After(time.Minute): // a bound on a gateway that never starts, not a speed check
		t.Fatalf("gateway did not start:\n%s", g.log.String())
		return nil, false
	}
}

// killedByInjection: strace, not the test, ended it.
func (g *gatewayProc) killedByInjection() bool { return g.traced && !g.killed }

// killGroup kills strace and the gateway it traces: killing strace alone
// would leave the gateway running, detached.
func killGroup(pid int) { syscall.Kill(-pid, syscall.SIGKILL) }
