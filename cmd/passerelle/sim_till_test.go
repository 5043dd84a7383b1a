package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/passerelle/passerelle/drivers/listener"
	"github.com/passerelle/passerelle/gateway"
)

// startSimGateway runs `passerelle run` on 127.0.0.1:0 with extra flags and
// returns it once it has logged its URL.
func startSimGateway(t *testing.T, bin, data string, extra ...string) *gatewayProc {
	t.Helper()
	args := append([]string{"run", "--data", data, "--listen", "127.0.0.1:0"}, extra...)
	g := &gatewayProc{
		cmd:    exec.Command(bin, args...),
		log:    &procLog{url: make(chan string, 1)},
		exited: make(chan struct{}),
	}
	g.cmd.Stdout, g.cmd.Stderr = g.log, g.log
	if err := g.cmd.Start(); err != nil {
		t.Fatalf("start gateway: %v", err)
	}
	go func() {
		g.cmd.Wait()
		close(g.exited)
	}()
	t.Cleanup(func() { g.kill(t) })
	select {
	case g.url = <-g.log.url:
	case <-g.exited:
		t.Fatalf("gateway exited before starting (%v):\n%s", g.cmd.ProcessState, g.log.String())
	case <-time.After(time.Minute): // a bound on a gateway that never starts, not a speed check
		t.Fatalf("gateway did not start:\n%s", g.log.String())
	}
	return g
}

// simRun is the outcome of one `passerelle sim till`.
type simRun struct {
	stdout, stderr string
	code           int
}

func runSim(t *testing.T, bin, key string, args ...string) simRun {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, append([]string{"sim", "till"}, args...)...)
	cmd.Env = append(os.Environ(), "PASSERELLE_TILL_KEY="+key)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		t.Fatalf("sim till: %v", err)
	}
	return simRun{stdout: stdout.String(), stderr: stderr.String(), code: cmd.ProcessState.ExitCode()}
}

// simListTickets returns the till's tickets as the gateway serves them.
func simListTickets(t *testing.T, hc *http.Client, url, key string) []gateway.Ticket {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, strings.TrimSuffix(url, "/")+"/api/v1/tickets?limit=1000", nil)
	req.Header.Set("Authorization", "Bearer "+key)
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatalf("list tickets: %v", err)
	}
	defer resp.Body.Close()
	var out struct {
		Tickets []gateway.Ticket `json:"tickets"`
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("list tickets: %s", resp.Status)
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		t.Fatalf("list tickets: %v", err)
	}
	return out.Tickets
}

func simCheckTickets(t *testing.T, tickets []gateway.Ticket, n int, prefix string) {
	t.Helper()
	if len(tickets) != n {
		t.Fatalf("the gateway has %d tickets, want %d", len(tickets), n)
	}
	for _, tk := range tickets {
		var sum int64
		for _, l := range tk.Lines {
			sum += l.Qty * l.UnitPrice
		}
		if !strings.HasPrefix(tk.Ref, prefix) || tk.Total != sum || tk.Status != gateway.TicketOpen || tk.Till != "Caisse 1" {
			t.Errorf("ticket %+v", tk)
		}
	}
}

func TestSimTill(t *testing.T) {
	bin := buildPasserelle(t)
	data := t.TempDir()
	key := addTill(t, bin, data, "Caisse 1")
	g := startSimGateway(t, bin, data, "--no-tls")
	if !strings.HasPrefix(g.url, "http://127.0.0.1:") {
		t.Fatalf("gateway URL %q", g.url)
	}

	r := runSim(t, bin, key, "--url", g.url, "--tickets", "20", "--concurrency", "4", "--seed", "1",
		"--ref-prefix", "E2E", "--measure-events")
	if r.code != 0 {
		t.Fatalf("sim till exited %d:\n%s\n%s\ngateway:\n%s", r.code, r.stdout, r.stderr, g.log.String())
	}
	for _, want := range []string{
		"tickets    20 sent, 20 created, 0 failed, in ",
		"status     201 Created: 20\n",
		"latency    p50 ",
		"events     20 of 20 delivered, POST→SSE p50 ",
		"run        seed 1, refs E2E-000001 to E2E-000020\n",
	} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("summary lacks %q:\n%s", want, r.stdout)
		}
	}
	simCheckTickets(t, simListTickets(t, http.DefaultClient, g.url, key), 20, "E2E")

	// The same seed and prefix again is the same twenty tickets: retries,
	// which the gateway answers 200 and does not duplicate.
	r = runSim(t, bin, key, "--url", g.url, "--tickets", "20", "--seed", "1", "--ref-prefix", "E2E")
	if r.code != 0 || !strings.Contains(r.stdout, "20 sent, 0 created, 0 failed") || !strings.Contains(r.stdout, "status     200 OK: 20\n") {
		t.Errorf("replay: exit %d:\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	simCheckTickets(t, simListTickets(t, http.DefaultClient, g.url, key), 20, "E2E")

	// A wrong key: every POST refused, the reason shown, a failing exit.
	r = runSim(t, bin, "ptk_wrong", "--url", g.url, "--tickets", "2")
	if r.code != 1 || !strings.Contains(r.stdout, "status     401 Unauthorized: 2 (") || !strings.Contains(r.stderr, "2 of 2 tickets failed") {
		t.Errorf("wrong key: exit %d:\n%s\n%s", r.code, r.stdout, r.stderr)
	}
}

func TestSimTillTLS(t *testing.T) {
	bin := buildPasserelle(t)
	data := t.TempDir()
	key := addTill(t, bin, data, "Caisse 1")
	g := startSimGateway(t, bin, data)
	if !strings.HasPrefix(g.url, "https://127.0.0.1:") {
		t.Fatalf("gateway URL %q", g.url)
	}
	cert, err := tls.LoadX509KeyPair(filepath.Join(data, listener.CertFile), filepath.Join(data, listener.KeyFile))
	if err != nil {
		t.Fatal(err)
	}
	fp := listener.Fingerprint(cert)
	if !strings.Contains(g.log.String(), "fingerprint="+fp) {
		t.Errorf("the gateway did not log the fingerprint %s:\n%s", fp, g.log.String())
	}

	r := runSim(t, bin, key, "--url", g.url, "--tickets", "20", "--fingerprint", fp, "--ref-prefix", "TLS", "--measure-events")
	if r.code != 0 || !strings.Contains(r.stdout, "20 sent, 20 created, 0 failed") || !strings.Contains(r.stdout, "events     20 of 20 delivered") {
		t.Fatalf("sim till --fingerprint: exit %d:\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	pinned := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	simCheckTickets(t, simListTickets(t, pinned, g.url, key), 20, "TLS")

	wrong := strings.Repeat("ab", 32)
	tests := []struct {
		name     string
		args     []string
		code     int
		inStdout string
		inStderr string
	}{
		{"wrong fingerprint", []string{"--fingerprint", wrong}, 1, "0 created, 3 failed", "3 of 3 tickets failed"},
		{"no fingerprint", nil, 1, "0 created, 3 failed", "--fingerprint"},
		{"insecure", []string{"--insecure"}, 0, "3 created, 0 failed", "--insecure: the gateway's certificate is not checked"},
		{"bad fingerprint", []string{"--fingerprint", "abc"}, 1, "", "64 hex digits"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := runSim(t, bin, key, append([]string{"--url", g.url, "--tickets", "3"}, tt.args...)...)
			if r.code != tt.code || !strings.Contains(r.stdout, tt.inStdout) || !strings.Contains(r.stderr, tt.inStderr) {
				t.Errorf("exit %d, want %d, with %q and %q:\n%s\n%s", r.code, tt.code, tt.inStdout, tt.inStderr, r.stdout, r.stderr)
			}
		})
	}
	simCheckTickets(t, simListTickets(t, pinned, g.url, key), 23, "")
}

var simEventLine = regexp.MustCompile(`^ticket\.created +T\d+ +(FOL|OTHER)-\d{6} +\d+,\d\d €$`)

// TestSimTillFollow checks that --follow prints the stream, its own tickets
// and those of another till program, until interrupted.
func TestSimTillFollow(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("needs SIGINT")
	}
	bin := buildPasserelle(t)
	data := t.TempDir()
	key := addTill(t, bin, data, "Caisse 1")
	g := startSimGateway(t, bin, data, "--no-tls")

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "sim", "till", "--url", g.url, "--tickets", "3", "--follow", "--ref-prefix", "FOL")
	cmd.Env = append(os.Environ(), "PASSERELLE_TILL_KEY="+key)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	pipe, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lines := make(chan string)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(pipe)
		for sc.Scan() {
			lines <- sc.Text()
		}
	}()
	// wait reads lines until n event lines and, if summary, the summary's
	// last line have come.
	var events []string
	wait := func(n int, summary bool) {
		t.Helper()
		seen := !summary
		for len(events) < n || !seen {
			select {
			case l, ok := <-lines:
				if !ok {
					t.Fatalf("sim till ended early: %s", stderr.String())
				}
				if strings.HasPrefix(l, "run ") {
					seen = true
				}
				if strings.HasPrefix(l, "ticket.") {
					if !simEventLine.MatchString(l) {
						t.Errorf("event line %q", l)
					}
					events = append(events, l)
				}
			case <-ctx.Done():
				t.Fatalf("waiting for %d events: %v; got %q", n, ctx.Err(), events)
			}
		}
	}
	wait(3, true)
	if r := runSim(t, bin, key, "--url", g.url, "--tickets", "2", "--ref-prefix", "OTHER"); r.code != 0 {
		t.Fatalf("second sim: %s %s", r.stdout, r.stderr)
	}
	wait(5, false)
	for i, want := range []string{"FOL-000001", "FOL-000002", "FOL-000003", "OTHER-000001", "OTHER-000002"} {
		if !strings.Contains(events[i], " "+want+" ") {
			t.Errorf("event %d is %q, want %s", i, events[i], want)
		}
	}
	if err := cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	for range lines {
	}
	if err := cmd.Wait(); err != nil {
		t.Errorf("sim till --follow after SIGINT: %v\n%s", err, stderr.String())
	}
}
