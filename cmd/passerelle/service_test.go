//go:build linux

package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/kardianos/service"

	"github.com/passerelle/passerelle/gateway"
	"github.com/passerelle/passerelle/packaging/systemd"
	"github.com/passerelle/passerelle/store"
)

// serviceData is a data directory whose configuration keeps the service
// on loopback, without TLS or mDNS: the tests share the machine.
func serviceData(t *testing.T, listen string) string {
	t.Helper()
	data := t.TempDir()
	cfg := "listen: \"" + listen + "\"\ntls: false\nmdns:\n  enabled: false\n"
	if err := os.WriteFile(filepath.Join(data, gateway.ConfigFile), []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	return data
}

// notifySocket is what systemd listens on for a Type=notify service.
func notifySocket(t *testing.T) (string, <-chan string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "notify")
	c, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	states := make(chan string, 100)
	go func() {
		buf := make([]byte, 4096)
		for {
			n, err := c.Read(buf)
			if err != nil {
				close(states)
				return
			}
			states <- string(buf[:n])
		}
	}()
	return path, states
}

// nextState waits for a notification that starts with prefix.
func nextState(t *testing.T, states <-chan string, prefix string, log *procLog) string {
	t.Helper()
	deadline := time.After(30 * time.Second)
	for {
		select {
		case s := <-states:
			if strings.HasPrefix(s, prefix) {
				return s
			}
		case <-deadline:
			t.Fatalf("no %s from the service:\n%s", prefix, log.String())
		}
	}
}

// The service mode through kardianos/service's Run on Linux, as systemd
// runs it (Type=notify): READY=1 once it serves, WATCHDOG=1 while the store
// answers, STOPPING=1 on SIGTERM, a clean exit, and the ticket it
// acknowledged is in the store.
func TestServiceRunNotifiesSystemd(t *testing.T) {
	bin := buildPasserelle(t)
	data := serviceData(t, "127.0.0.1:0")
	socket, states := notifySocket(t)
	g := &gatewayProc{
		cmd:    exec.Command(bin, "service", "run", "--data", data),
		log:    &procLog{url: make(chan string, 1)},
		exited: make(chan struct{}),
	}
	g.cmd.Env = append(os.Environ(), "NOTIFY_SOCKET="+socket, "WATCHDOG_USEC=200000", "JOURNAL_STREAM=8:1234")
	g.cmd.Stdout, g.cmd.Stderr = g.log, g.log
	if err := g.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		g.cmd.Wait()
		close(g.exited)
	}()
	t.Cleanup(func() { g.kill(t) })

	nextState(t, states, "READY=1", g.log)
	url := strings.TrimSuffix(<-g.log.url, "/")
	key := addTill(t, bin, data, "caisse")
	if code, err := postTicket(http.DefaultClient, url, key, content("svc-1", 1)); err != nil || code != http.StatusCreated {
		t.Fatalf("post ticket: %d, %v", code, err)
	}
	nextState(t, states, "WATCHDOG=1", g.log)
	nextState(t, states, "WATCHDOG=1", g.log)

	g.cmd.Process.Signal(syscall.SIGTERM)
	nextState(t, states, "STOPPING=1", g.log)
	select {
	case <-g.exited:
	case <-time.After(30 * time.Second):
		t.Fatalf("the service did not stop:\n%s", g.log.String())
	}
	if !g.cmd.ProcessState.Success() {
		t.Fatalf("service run exited with %v:\n%s", g.cmd.ProcessState, g.log.String())
	}
	out := g.log.String()
	if !strings.Contains(out, `msg="passerelle stopped"`) {
		t.Errorf("no clean stop in the log:\n%s", out)
	}
	// The journal stamps its lines: the log has no time of its own.
	if strings.Contains(out, "time=") {
		t.Errorf("a time in a log for the journal:\n%s", out)
	}

	st, err := store.Open(context.Background(), filepath.Join(data, dbFile), slog.New(slog.NewTextHandler(io.Discard, nil)), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	tks, err := st.Tickets(context.Background(), gateway.TicketQuery{Limit: 10})
	if err != nil || len(tks) != 1 || tks[0].Ref != "svc-1" {
		t.Errorf("after the stop: tickets %v, %v", tks, err)
	}
}

// A gateway that cannot start (its port is taken) ends `service run` with
// an error, for systemd to restart it, rather than hanging as a service
// that serves nothing.
func TestServiceRunExitsWhenTheGatewayFails(t *testing.T) {
	bin := buildPasserelle(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	data := serviceData(t, ln.Addr().String())
	cmd := exec.Command(bin, "service", "run", "--data", data)
	done := make(chan error, 1)
	var out procLog
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err == nil {
			t.Fatalf("service run succeeded on a taken port:\n%s", out.String())
		}
	case <-time.After(30 * time.Second):
		cmd.Process.Kill()
		t.Fatalf("service run hangs on a taken port:\n%s", out.String())
	}
}

// forcedSystem is kardianos's own systemd back end, used on a machine
// whose PID 1 is not systemd.
type forcedSystem struct{ service.System }

func (forcedSystem) Detect() bool { return true }

// Install and uninstall through kardianos/service's systemd back end, as
// `passerelle service install` does, with the real configuration: the unit
// it writes is the packages' unit with this binary's path. The unit goes to
// a temporary home (a user service: the system's directory is not ours to
// write in a test) and systemctl is a script that records its arguments;
// the real systemd is the packages test's (packaging/test).
func TestServiceInstallWritesThePackagedUnit(t *testing.T) {
	var sd service.System
	for _, s := range service.AvailableSystems() {
		if s.String() == "linux-systemd" {
			sd = s
		}
	}
	if sd == nil {
		t.Fatal("kardianos/service has no linux-systemd back end")
	}
	prev := service.AvailableSystems()
	service.ChooseSystem(forcedSystem{sd})
	t.Cleanup(func() { service.ChooseSystem(prev...) })

	home, bin := t.TempDir(), t.TempDir()
	calls := filepath.Join(bin, "calls")
	script := "#!/bin/sh\necho \"$@\" >> " + calls + "\n[ \"$1\" = --version ] && echo 'systemd 252 (252.33-1~deb12u1)'\nexit 0\n"
	if err := os.WriteFile(filepath.Join(bin, "systemctl"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("HOME", home)
	t.Setenv("PATH", bin+string(os.PathListSeparator)+os.Getenv("PATH"))

	exe := "/opt/passerelle 1.2/passerelle"
	cfg := serviceConfig(exe)
	cfg.Option["UserService"] = true
	s, err := service.New(&program{}, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := service.Control(s, "install"); err != nil {
		t.Fatal(err)
	}
	unitPath := filepath.Join(home, ".config/systemd/user/passerelle.service")
	got, err := os.ReadFile(unitPath)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != systemd.Unit(exe) {
		t.Errorf("installed unit:\n%s\nwant the packaged unit with this path:\n%s", got, systemd.Unit(exe))
	}
	if !strings.Contains(string(got), `ExecStart=/opt/passerelle\x201.2/passerelle service run`+"\n") {
		t.Errorf("ExecStart is not this binary's `service run`:\n%s", got)
	}
	if err := service.Control(s, "install"); err == nil {
		t.Error("a second install succeeded")
	}
	if err := service.Control(s, "uninstall"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(unitPath); !os.IsNotExist(err) {
		t.Errorf("the unit is still there after uninstall: %v", err)
	}
	log, _ := os.ReadFile(calls)
	for _, want := range []string{"enable --user passerelle.service", "disable --user passerelle.service", "daemon-reload --user"} {
		if !strings.Contains(string(log), want) {
			t.Errorf("systemctl was not called with %q; calls:\n%s", want, log)
		}
	}
}

// eventLog is a service.Logger, the interface of kardianos's Windows event
// log, that keeps what it is given.
type eventLog struct{ lines []string }

func (l *eventLog) add(level string, v []any) error {
	l.lines = append(l.lines, level+": "+strings.TrimSpace(fmt.Sprintln(v...)))
	return nil
}
func (l *eventLog) Error(v ...any) error   { return l.add("error", v) }
func (l *eventLog) Warning(v ...any) error { return l.add("warning", v) }
func (l *eventLog) Info(v ...any) error    { return l.add("info", v) }
func (l *eventLog) Errorf(f string, a ...any) error {
	return l.add("error", []any{fmt.Sprintf(f, a...)})
}
func (l *eventLog) Warningf(f string, a ...any) error {
	return l.add("warning", []any{fmt.Sprintf(f, a...)})
}
func (l *eventLog) Infof(f string, a ...any) error { return l.add("info", []any{fmt.Sprintf(f, a...)}) }

// Under Windows' service manager the log goes to the event log: each
// record at its level, with its attributes, without a time of its own.
func TestManagerHandler(t *testing.T) {
	var l eventLog
	log := slog.New(newManagerHandler(&l)).With("component", "gateway")
	log.Info("passerelle started", "url", "https://localhost:8420/")
	log.Warn("the admin password is not set")
	log.WithGroup("store").Error("failed", "err", "disk full")
	log.Debug("not shown")
	want := []string{
		`info: level=INFO msg="passerelle started" component=gateway url=https://localhost:8420/`,
		`warning: level=WARN msg="the admin password is not set" component=gateway`,
		`error: level=ERROR msg=failed component=gateway store.err="disk full"`,
	}
	if strings.Join(l.lines, "\n") != strings.Join(want, "\n") {
		t.Errorf("event log:\n%s\nwant\n%s", strings.Join(l.lines, "\n"), strings.Join(want, "\n"))
	}
}
