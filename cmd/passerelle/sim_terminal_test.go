package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/passerelle/passerelle/drivers/terminalsim"
	"github.com/passerelle/passerelle/gateway"
)

// simTourTicket is a note of the brief: one dish at 23,50 and one at price,
// 10 % VAT.
func simTourTicket(ref, table string, price int64) gateway.TicketInput {
	return gateway.TicketInput{Ref: ref, Table: table, Server: "Julie", Loyalty: "502",
		Lines: []gateway.Line{
			{Label: "PLAT N°4", Qty: 1, UnitPrice: 2350, VATRate: 1000},
			{Label: "PLAT N°1", Qty: 1, UnitPrice: price, VATRate: 1000},
		},
		Total: 2350 + price}
}

// simTillDo sends a till API request and decodes its JSON answer into out.
func simTillDo(t *testing.T, method, url, key string, body, out any) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+key)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("%s %s: %s %s", method, url, resp.Status, b)
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
}

func simPostTour(t *testing.T, url, key string, in gateway.TicketInput) gateway.Ticket {
	t.Helper()
	var tk gateway.Ticket
	simTillDo(t, http.MethodPost, url+"/api/v1/tickets", key, in, &tk)
	return tk
}

func simGetTicket(t *testing.T, url, key, id string) gateway.Ticket {
	t.Helper()
	var tk gateway.Ticket
	simTillDo(t, http.MethodGet, url+"/api/v1/tickets/"+id, key, nil, &tk)
	return tk
}

// simPairingCode runs `passerelle terminal code`: the code is the last line.
func simPairingCode(t *testing.T, bin, data string) string {
	t.Helper()
	out, err := exec.Command(bin, "terminal", "code", "--data", data).Output()
	if err != nil {
		t.Fatalf("terminal code: %v", err)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	code := lines[len(lines)-1]
	if !regexp.MustCompile(`^\d{6}$`).MatchString(code) {
		t.Fatalf("terminal code: no code on the last line of:\n%s", out)
	}
	return code
}

// simStreamUntil reads the till's event stream from the start until an event
// of type last, and returns the types read.
func simStreamUntil(t *testing.T, url, key, last string) []string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute) // bounds a stream that never says it
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url+"/api/v1/events?after=0", nil)
	req.Header.Set("Authorization", "Bearer "+key)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("events: %v", err)
	}
	defer resp.Body.Close()
	var types []string
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		if typ, ok := strings.CutPrefix(sc.Text(), "event: "); ok {
			types = append(types, typ)
			if typ == last {
				return types
			}
		}
	}
	t.Fatalf("the event stream ended without %s: %v (%v)", last, types, sc.Err())
	return nil
}

func runSimTerminal(t *testing.T, bin string, args ...string) simRun {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, append([]string{"sim", "terminal", "--timeout", "20s"}, args...)...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		t.Fatalf("sim terminal: %v", err)
	}
	if strings.Contains(stderr.String(), "DATA RACE") {
		t.Errorf("sim terminal reported a data race:\n%s", stderr.String())
	}
	return simRun{stdout: stdout.String(), stderr: stderr.String(), code: cmd.ProcessState.ExitCode()}
}

var (
	simTourPAN = regexp.MustCompile(`^#####\d{4}$`)
	simTourRef = regexp.MustCompile(`^\d{6}D\d{6}D$`)
)

// TestSimTerminalTour is the README's tour with real processes: a gateway,
// a till key, table 5's note, a pairing code, and the simulated terminal
// paying it with F2.
func TestSimTerminalTour(t *testing.T) {
	bin := buildPasserelle(t)
	data := t.TempDir()
	key := addTill(t, bin, data, "Caisse 1")
	g := startSimGateway(t, bin, data, "--no-tls")
	url := strings.TrimSuffix(g.url, "/")
	t5 := simPostTour(t, url, key, simTourTicket("1253", "5", 3000))
	state := filepath.Join(t.TempDir(), "terminal.json")

	r := runSimTerminal(t, bin, "--url", url, "--code", simPairingCode(t, bin, data), "--state", state,
		"--script", "F2; 5; full; approve; wait")
	if r.code != 0 {
		t.Fatalf("sim terminal exited %d:\n%s\n%s\ngateway:\n%s", r.code, r.stdout, r.stderr, g.log.String())
	}
	for _, want := range []string{"paired with the gateway as", "== NUMÉRO DE TABLE ? ==", "== Table 5 ==",
		"1. Payer 53,50  (full)", "PIN? (approve/decline/slow/drop)", "CARTE BANCAIRE", "NET À PAYER",
		`script complete: the last scenario ended with "PAIEMENT ACCEPTÉ"`} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("the transcript lacks %q:\n%s", want, r.stdout)
		}
	}
	tk := simGetTicket(t, url, key, t5.ID)
	if tk.Status != gateway.TicketPaid || tk.Paid != 5350 || tk.Due != 0 || len(tk.Payments) != 1 {
		t.Fatalf("ticket after the tour: %+v", tk)
	}
	p := tk.Payments[0]
	if p.Status != gateway.PaymentApproved || p.Amount != 5350 || p.Card == nil || !simTourPAN.MatchString(p.Card.MaskedPAN) ||
		!simTourRef.MatchString(p.TransactionRef) || !strings.HasPrefix(p.TransactionRef, p.AuthCode) ||
		p.MerchantID != terminalsim.MerchantID || p.TerminalID != terminalsim.BankTerminalID {
		t.Errorf("payment %+v", p)
	}
	types := simStreamUntil(t, url, key, gateway.EventTicketPaid)
	want := []string{gateway.EventTicketCreated, gateway.EventPaymentStarted, gateway.EventPaymentApproved, gateway.EventTicketPaid}
	if !slices.Equal(types, want) {
		t.Errorf("events %v, want %v", types, want)
	}
	st, err := terminalsim.LoadState(state)
	if err != nil || st.Token == "" || len(st.Payments) != 0 {
		t.Errorf("state file %+v, %v", st, err)
	}
	if fi, err := os.Stat(state); err != nil || (runtime.GOOS != "windows" && fi.Mode().Perm() != 0o600) {
		t.Errorf("state file mode %v, %v", fi.Mode(), err)
	}

	// Later runs say hello with the stored token: no code. F1 lists the
	// open tickets (only table 7's now); it is split in two.
	t7 := simPostTour(t, url, key, simTourTicket("1254", "7", 1651))
	r = runSimTerminal(t, bin, "--url", url, "--state", state,
		"--script", "F1; 1; split; 2; pay; approve; next; approve; wait")
	if r.code != 0 || !strings.Contains(r.stdout, "connected to the gateway as") || strings.Contains(r.stdout, "paired") ||
		!strings.Contains(r.stdout, "1. TICKET 1254 - T7 - 40,01") || !strings.Contains(r.stdout, "== PART 2/2 ==") {
		t.Fatalf("second run exited %d:\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	tk = simGetTicket(t, url, key, t7.ID)
	if tk.Status != gateway.TicketPaid || tk.Paid != 4001 || len(tk.Payments) != 2 ||
		tk.Payments[0].Amount+tk.Payments[1].Amount != 4001 {
		t.Errorf("split ticket %+v", tk)
	}

	// The connection drops after the card step: the result is sent once
	// reconnected, and the table has nothing left to pay.
	t8 := simPostTour(t, url, key, simTourTicket("1255", "8", 1000))
	r = runSimTerminal(t, bin, "--url", url, "--state", state, "--script", "F2; 8; full; drop; F2; 8")
	if r.code != 0 || !strings.Contains(r.stdout, "reconnected") || !strings.Contains(r.stdout, "== Aucun ticket ==") {
		t.Fatalf("drop run exited %d:\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	if tk := simGetTicket(t, url, key, t8.ID); tk.Status != gateway.TicketPaid || len(tk.Payments) != 1 {
		t.Errorf("ticket after the drop: %+v", tk)
	}

	// A script that answers a scenario the gateway ended fails, saying why.
	r = runSimTerminal(t, bin, "--url", url, "--state", state, "--script", "F2; 9; ok")
	if r.code != 1 || !strings.Contains(r.stderr, `step 3 "ok": the scenario has ended (Aucun ticket pour la table 9)`) {
		t.Errorf("table 9: exit %d:\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	// A used code on a fresh state file is refused, with what to do.
	r = runSimTerminal(t, bin, "--url", url, "--state", filepath.Join(t.TempDir(), "new.json"), "--code", "000000",
		"--script", "F2")
	if r.code != 1 || !strings.Contains(r.stderr, "passerelle terminal code") {
		t.Errorf("bad code: exit %d:\n%s\n%s", r.code, r.stdout, r.stderr)
	}
}

// TestSimTerminalInteractive drives the console mode as a waiter would:
// a key, a table number, the highlight moved, ok, the PIN.
func TestSimTerminalInteractive(t *testing.T) {
	bin := buildPasserelle(t)
	data := t.TempDir()
	key := addTill(t, bin, data, "Caisse 1")
	g := startSimGateway(t, bin, data, "--no-tls")
	url := strings.TrimSuffix(g.url, "/")
	t10 := simPostTour(t, url, key, simTourTicket("1260", "10", 3000))

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "sim", "terminal", "--url", url, "--code", simPairingCode(t, bin, data),
		"--state", filepath.Join(t.TempDir(), "terminal.json"))
	in, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lines := make(chan string)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			lines <- sc.Text()
		}
	}()
	var seen []string
	waitFor := func(s string) {
		t.Helper()
		for {
			select {
			case l, ok := <-lines:
				if !ok {
					t.Fatalf("sim terminal ended before %q:\n%s\n%s", s, strings.Join(seen, "\n"), stderr.String())
				}
				seen = append(seen, l)
				if strings.Contains(l, s) {
					return
				}
			case <-ctx.Done():
				t.Fatalf("waiting for %q: %v\n%s", s, ctx.Err(), strings.Join(seen, "\n"))
			}
		}
	}
	say := func(l string) {
		t.Helper()
		if _, err := io.WriteString(in, l+"\n"); err != nil {
			t.Fatal(err)
		}
	}
	waitFor("idle: press F1 or F2")
	say("5") // nothing to answer yet: said, not fatal
	waitFor("! no scenario runs")
	say("F2")
	waitFor("digits, 1 to 4")
	say("12345") // too long: refused, the screen stays
	waitFor("! the gateway refused: bad_answer")
	say("10")
	waitFor("3. Autre montant  (amount)")
	say("down")
	waitFor(" > 2. Partager")
	say("up")
	waitFor(" > 1. Payer 53,50")
	say("ok")
	waitFor("PIN? (approve/decline/slow/drop)")
	say("approve")
	waitFor("== PAIEMENT ACCEPTÉ ==")
	say("quit")
	for range lines {
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("sim terminal: %v\n%s", err, stderr.String())
	}
	if tk := simGetTicket(t, url, key, t10.ID); tk.Status != gateway.TicketPaid {
		t.Errorf("ticket %+v", tk)
	}
}
