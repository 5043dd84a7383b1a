package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/passerelle/passerelle/gateway"
)

// The Python reference terminal of examples/ against a real gateway over
// TLS, so that the example the docs point at cannot rot.

const pythonClient = "../../examples/terminal_client.py"

type pyRun struct {
	stdout, stderr string
	code           int
}

func runPythonClient(t *testing.T, python string, args ...string) pyRun {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute) // a bound on a client that hangs
	defer cancel()
	cmd := exec.CommandContext(ctx, python, append([]string{pythonClient, "--trace"}, args...)...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		t.Fatalf("python client: %v", err)
	}
	return pyRun{stdout: stdout.String(), stderr: stderr.String(), code: cmd.ProcessState.ExitCode()}
}

// pinnedClient is an HTTP client for a till that pins the gateway's
// certificate by its fingerprint, as docs/till-api.md tells tills to.
func pinnedClient(fp string) *http.Client {
	return &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{
		InsecureSkipVerify: true, // the pin below is the check: the certificate is self-signed
		VerifyConnection: func(cs tls.ConnectionState) error {
			sum := sha256.Sum256(cs.PeerCertificates[0].Raw)
			if hex.EncodeToString(sum[:]) != fp {
				return errors.New("not the pinned certificate")
			}
			return nil
		}}}}
}

func pinnedDo(t *testing.T, hc *http.Client, method, url, key string, body, out any) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, url, rd)
	req.Header.Set("Authorization", "Bearer "+key)
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("%s %s: %s %s", method, url, resp.Status, b)
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		t.Fatal(err)
	}
}

// TestPythonReferenceClient pairs the Python client with a code, pays table
// 5 with F2 and reports the approval; checks that it refuses a certificate
// other than the one pinned before saying anything; that a later run says
// hello with its token; and that every message it sent and received
// matches docs/schema.
func TestPythonReferenceClient(t *testing.T) {
	python, err := exec.LookPath("python3")
	if err != nil {
		t.Skip("python3 is not installed: the Python reference client (examples/terminal_client.py) is not checked")
	}
	ps := loadProtocolSchemas(t)
	bin := buildPasserelle(t)
	data := t.TempDir()
	key := addTill(t, bin, data, "Caisse 1")
	g := startSimGateway(t, bin, data) // TLS, as in production
	base := strings.TrimSuffix(g.url, "/")
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(bin, "terminal", "code", "--data", data).Output()
	if err != nil {
		t.Fatalf("terminal code: %v", err)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	link := lines[len(lines)-2]
	pl, err := gateway.ParsePairingLink(link)
	if err != nil || pl.Fingerprint == "" || pl.Code != lines[len(lines)-1] {
		t.Fatalf("terminal code printed no pairing link with a fingerprint (%v):\n%s", err, out)
	}
	hc := pinnedClient(pl.Fingerprint)
	var t5 gateway.Ticket
	pinnedDo(t, hc, http.MethodPost, base+"/api/v1/tickets", key, simTourTicket("1253", "5", 3000), &t5)
	state := filepath.Join(t.TempDir(), "terminal.json")

	// Another certificate than the link's: refused before hello, so the
	// code is still unused.
	r := runPythonClient(t, python, "--addr", u.Host, "--fingerprint", strings.Repeat("ab", 32),
		"--code", pl.Code, "--state", state)
	if r.code != 2 || !strings.Contains(r.stderr, "possible impostor") || strings.Contains(r.stderr, "\n> ") ||
		strings.HasPrefix(r.stderr, "> ") {
		t.Fatalf("wrong fingerprint: exit %d:\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	if _, err := os.Stat(state); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a state file after an impostor: %v", err)
	}

	// The gateway's address first: the link's may be another interface's.
	r = runPythonClient(t, python, "--addr", u.Host, "--link", link, "--state", state, "--key", "F2", "--table", "5")
	approved := regexp.MustCompile(`(?m)^APPROVED (pay_\w+) 5350 EUR auth \d{6}$`).FindStringSubmatch(r.stdout)
	if r.code != 0 || approved == nil {
		t.Fatalf("python client exited %d:\n%s\n%s\ngateway:\n%s", r.code, r.stdout, r.stderr, g.log.String())
	}
	var tk gateway.Ticket
	pinnedDo(t, hc, http.MethodGet, base+"/api/v1/tickets/"+t5.ID, key, nil, &tk)
	if tk.Status != gateway.TicketPaid || len(tk.Payments) != 1 || tk.Payments[0].ID != approved[1] ||
		tk.Payments[0].TerminalID != "PYTERM01" || tk.Payments[0].Card == nil || tk.Payments[0].Card.MaskedPAN != "############4242" {
		t.Errorf("ticket after the python client: %+v", tk)
	}
	if !strings.Contains(r.stdout, "NET À PAYER") { // the note was printed
		t.Errorf("no note printed:\n%s", r.stdout)
	}
	fi, err := os.Stat(state)
	if err != nil || (runtime.GOOS != "windows" && fi.Mode().Perm() != 0o600) {
		t.Errorf("state file: %v, %v", fi, err)
	}
	checkTrace(t, ps, r.stderr)

	// A later run: the token and the pinned certificate from the state
	// file, the address it used last.
	var t7 gateway.Ticket
	pinnedDo(t, hc, http.MethodPost, base+"/api/v1/tickets", key, simTourTicket("1254", "7", 1651), &t7)
	r = runPythonClient(t, python, "--state", state, "--table", "7")
	if r.code != 0 || !strings.Contains(r.stdout, "APPROVED") || !strings.Contains(r.stderr, `"token"`) ||
		strings.Contains(r.stderr, "pairing_code") {
		t.Fatalf("second run exited %d:\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	checkTrace(t, ps, r.stderr)
}

// checkTrace validates the messages the client's --trace wrote ("> " sent,
// "< " received) against docs/schema.
func checkTrace(t *testing.T, ps *protocolSchemas, trace string) {
	t.Helper()
	n := 0
	for _, l := range strings.Split(trace, "\n") {
		from := ""
		switch {
		case strings.HasPrefix(l, "> "):
			from = fromTerminal
		case strings.HasPrefix(l, "< "):
			from = fromGateway
		default:
			continue
		}
		n++
		if err := ps.validate(from, []byte(l[2:])); err != nil {
			t.Errorf("from the %s: %s\n%v", from, l[2:], err)
		}
	}
	if n < 10 {
		t.Errorf("only %d messages traced:\n%s", n, trace)
	}
}
