package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

func runSimTerminals(t *testing.T, bin, key string, args ...string) simRun {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, append([]string{"sim", "terminals"}, args...)...)
	cmd.Env = append(os.Environ(), "PASSERELLE_TILL_KEY="+key)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		t.Fatalf("sim terminals: %v", err)
	}
	if strings.Contains(stderr.String(), "DATA RACE") {
		t.Errorf("sim terminals reported a data race:\n%s", stderr.String())
	}
	return simRun{stdout: stdout.String(), stderr: stderr.String(), code: cmd.ProcessState.ExitCode()}
}

// Terminals paired from a file of codes pay the tickets a till posts
// meanwhile, and the summary says so on the lines the bench reads.
func TestSimTerminals(t *testing.T) {
	bin := buildPasserelle(t)
	data := t.TempDir()
	key := addTill(t, bin, data, "Caisse 1")
	g := startSimGateway(t, bin, data, "--no-tls")
	var codes []string
	for range 2 {
		out, err := exec.Command(bin, "terminal", "code", "--data", data).Output()
		if err != nil {
			t.Fatalf("terminal code: %v", err)
		}
		lines := strings.Split(strings.TrimSpace(string(out)), "\n")
		codes = append(codes, lines[len(lines)-1])
	}
	file := filepath.Join(t.TempDir(), "codes")
	if err := os.WriteFile(file, []byte(strings.Join(codes, "\n")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}

	r := runSimTerminals(t, bin, key, "--url", g.url, "--codes", file, "--duration", "1500ms",
		"--till-rate", "20", "--think", "100ms", "--seed", "1")
	if r.code != 0 {
		t.Fatalf("sim terminals exited %d:\n%s\n%s\ngateway:\n%s", r.code, r.stdout, r.stderr, g.log.String())
	}
	for _, want := range []string{"terminals  2 connected in ", ", 2 connected at the end, 0 disconnections",
		"list       ", "ack        ", "tickets    "} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("summary lacks %q:\n%s", want, r.stdout)
		}
	}
	paid := 0
	if m := regexp.MustCompile(`payments   (\d+) acknowledged`).FindStringSubmatch(r.stdout); m != nil {
		paid, _ = strconv.Atoi(m[1])
	}
	if paid == 0 {
		t.Errorf("no payment made:\n%s", r.stdout)
	}

	// The codes are used: the same file pairs nobody.
	r = runSimTerminals(t, bin, key, "--url", g.url, "--codes", file, "--duration", "100ms")
	if r.code != 1 || !strings.Contains(r.stderr, "refused the pairing code") {
		t.Errorf("used codes: exit %d:\n%s\n%s", r.code, r.stdout, r.stderr)
	}
}

func TestSimTerminalsFlags(t *testing.T) {
	codes := filepath.Join(t.TempDir(), "codes")
	if err := os.WriteFile(codes, []byte("123456\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{nil, "--codes is required"},
		{[]string{"--codes", codes, "--pick", "last"}, "--pick must be first or random"},
		{[]string{"--codes", codes, "--key", "X"}, "--key must be keys"},
		{[]string{"--codes", codes, "--key", "F1,X"}, "--key must be keys"},
		{[]string{"--codes", codes, "--key", "F1,"}, "--key must be keys"},
		{[]string{"--codes", codes, "--count", "2"}, "only 1 codes"},
		{[]string{"--codes", codes, "--till-rate", "10"}, "needs a till key"},
		{[]string{"--codes", filepath.Join(t.TempDir(), "none")}, "no such file"},
	} {
		t.Setenv("PASSERELLE_TILL_KEY", "")
		var stdout, stderr bytes.Buffer
		code := cli(context.Background(), append([]string{"sim", "terminals", "--url", "http://127.0.0.1:1"}, tc.args...), &stdout, &stderr)
		if code != 1 || !strings.Contains(stderr.String(), tc.want) {
			t.Errorf("%v: exit %d, %q; want 1 and %q", tc.args, code, stderr.String(), tc.want)
		}
	}
}
