package terminalsim_test

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/passerelle/passerelle/drivers/listener"
	"github.com/passerelle/passerelle/drivers/terminalsim"
	"github.com/passerelle/passerelle/gateway"
)

var (
	maskedPAN = regexp.MustCompile(`^#####\d{4}$`)
	txRef     = regexp.MustCompile(`^(\d{6})D\d{6}D$`)
)

func TestDeclinedThenApproved(t *testing.T) {
	g := newGateway(t, nil)
	tk := g.table5()
	state := filepath.Join(t.TempDir(), "terminal.json")
	term := dial(t, terminalsim.Options{URL: g.url, Code: g.code(), StateFile: state, Serial: "T1"})
	if !term.Paired() || !strings.HasPrefix(term.ID(), "trm_") || term.Name() != "Terminal T1" {
		t.Fatalf("paired %v as %q %q", term.Paired(), term.ID(), term.Name())
	}
	st := loadState(t, state)
	if !strings.HasPrefix(st.Token, "ptt_") || st.TerminalID != term.ID() || st.Serial != "T1" {
		t.Errorf("state after pairing: %+v", st)
	}
	if fi, err := os.Stat(state); err != nil || (runtime.GOOS != "windows" && fi.Mode().Perm() != 0o600) {
		t.Errorf("state file: %v %v", fi.Mode(), err)
	}

	pay := toPay(t, term)
	if st := loadState(t, state); len(st.Payments) != 1 || st.Payments[0].PaymentID != pay.PaymentID ||
		st.Payments[0].Step != terminalsim.StepCard || st.Payments[0].Result != nil {
		t.Fatalf("before the card step, the state file holds %+v", st.Payments)
	}
	declined := card(t, term, terminalsim.Decline)
	if declined.Status != "declined" || declined.AuthCode != "" || gateway.CheckMaskedPAN(declined.Card.MaskedPAN) != "" {
		t.Errorf("declined result %+v", declined)
	}
	expect(t, term, "ack")
	if st := loadState(t, state); len(st.Payments) != 0 {
		t.Errorf("an acknowledged result stays in the state file: %+v", st.Payments)
	}
	screen(t, term, "message", "PAIEMENT REFUSÉ")
	answer(t, term, "ok")
	screen(t, term, "ticket", "Table 5")
	answer(t, term, "full")
	pay2, _ := expect(t, term, "pay")
	if pay2.PaymentID == pay.PaymentID || pay2.Amount != 5350 {
		t.Fatalf("second pay %+v", pay2)
	}
	approved := card(t, term, terminalsim.Approve)
	m := txRef.FindStringSubmatch(approved.TransactionRef)
	if approved.Status != "approved" || !maskedPAN.MatchString(approved.Card.MaskedPAN) || m == nil ||
		m[1] != approved.AuthCode || approved.MerchantID != "0000015000" || approved.TerminalID != "02189020000" ||
		approved.Amount != 5350 || len(approved.Receipt) == 0 {
		t.Errorf("approved result %+v", approved)
	}
	expect(t, term, "ack")
	done, _ := expect(t, term, "done")
	if done.Title != "PAIEMENT ACCEPTÉ" {
		t.Errorf("done %+v", done)
	}

	// F2 prints the bank ticket and the note; both were acknowledged.
	printed := term.Printed()
	if len(printed) != 2 || !containsTrimmed(printed[0].Lines, approved.Card.MaskedPAN) || !containsTrimmed(printed[1].Lines, "TABLE 5") {
		t.Errorf("printed %+v", printed)
	}
	got := g.ticket(tk.ID)
	if got.Status != gateway.TicketPaid || got.Paid != 5350 || got.Due != 0 || len(got.Payments) != 2 ||
		got.Payments[0].Status != gateway.PaymentDeclined || got.Payments[1].Status != gateway.PaymentApproved ||
		got.Payments[1].TransactionRef != approved.TransactionRef {
		t.Errorf("ticket after decline then approve: %+v", got)
	}
	evs := g.eventTypes()
	for _, want := range []string{gateway.EventPaymentDeclined, gateway.EventPaymentApproved, gateway.EventTicketPaid} {
		if count(evs, want) != 1 {
			t.Errorf("%d %s events in %v", count(evs, want), want, evs)
		}
	}
	if st := loadState(t, state); len(st.Payments) != 0 {
		t.Errorf("unfinished payments left: %+v", st.Payments)
	}
}

func containsTrimmed(lines []string, s string) bool {
	return slices.ContainsFunc(lines, func(l string) bool { return strings.TrimSpace(l) == s })
}

// TestDropAfterPay loses the connection after an approved card step, before
// the result reaches the gateway. The terminal app restarts from its state
// file alone: the result goes again, the payment is approved once.
func TestDropAfterPay(t *testing.T) {
	g := newGateway(t, nil)
	tk := g.table5()
	state := filepath.Join(t.TempDir(), "terminal.json")
	opts := terminalsim.Options{URL: g.url, Code: g.code(), StateFile: state}
	term := dial(t, opts)
	pay := toPay(t, term)
	r := card(t, term, terminalsim.Drop)
	if r.Status != "approved" {
		t.Fatalf("drop result %+v", r)
	}
	expect(t, term, terminalsim.TypeDisconnected)
	if term.Connected() {
		t.Error("still connected after the drop")
	}
	st := loadState(t, state)
	if len(st.Payments) != 1 || st.Payments[0].Step != terminalsim.StepResult || st.Payments[0].Result == nil ||
		st.Payments[0].Result.TransactionRef != r.TransactionRef {
		t.Fatalf("after the drop the state file holds %+v", st.Payments)
	}
	if p, err := g.payments.Get(context.Background(), pay.PaymentID); err != nil || p.Status != gateway.PaymentPending {
		t.Fatalf("before the reconnection the gateway has %+v, %v", p, err)
	}

	// The app restarts: a new terminal from the same state file, no code.
	term.Close()
	opts.Code = ""
	again := dial(t, opts)
	if again.Paired() {
		t.Error("the restarted terminal paired instead of using its token")
	}
	ack, _ := expect(t, again, "ack")
	if ack.PaymentID != pay.PaymentID {
		t.Errorf("ack %+v", ack)
	}
	if st := loadState(t, state); len(st.Payments) != 0 {
		t.Errorf("the acknowledged result stays in the state file: %+v", st.Payments)
	}
	got := g.ticket(tk.ID)
	if got.Status != gateway.TicketPaid || got.Paid != 5350 || len(got.Payments) != 1 ||
		got.Payments[0].TransactionRef != r.TransactionRef {
		t.Errorf("ticket after the reconnection: %+v", got)
	}

	// Once more: nothing is left to send or to ask. The messages before
	// the first screen of a new scenario are all the gateway said.
	again.Close()
	third := dial(t, opts)
	if err := third.Start("F2"); err != nil {
		t.Fatal(err)
	}
	_, before := expect(t, third, "screen")
	if len(before) != 0 {
		t.Errorf("a reconnection after the ack still exchanged %+v", before)
	}
	evs := g.eventTypes()
	if count(evs, gateway.EventPaymentApproved) != 1 || count(evs, gateway.EventTicketPaid) != 1 {
		t.Errorf("events %v: want one approval and one ticket.paid", evs)
	}
	if got := g.ticket(tk.ID); got.Paid != 5350 || got.Status != gateway.TicketPaid {
		t.Errorf("ticket paid %d, status %s", got.Paid, got.Status)
	}
}

// TestRestartDuringCardStep stops the terminal while it waits for a card:
// no card was read, so the restarted terminal reports it cancelled and the
// ticket can be paid again.
func TestRestartDuringCardStep(t *testing.T) {
	g := newGateway(t, nil)
	tk := g.table5()
	state := filepath.Join(t.TempDir(), "terminal.json")
	opts := terminalsim.Options{URL: g.url, Code: g.code(), StateFile: state}
	term := dial(t, opts)
	pay := toPay(t, term)
	term.Close()
	if st := loadState(t, state); len(st.Payments) != 1 || st.Payments[0].Step != terminalsim.StepCard {
		t.Fatalf("state after the stop: %+v", st.Payments)
	}

	again := dial(t, opts)
	ack, _ := expect(t, again, "ack")
	p, err := g.payments.Get(context.Background(), pay.PaymentID)
	if ack.PaymentID != pay.PaymentID || err != nil || p.Status != gateway.PaymentCancelled {
		t.Fatalf("ack %+v; payment %+v, %v", ack, p, err)
	}
	if got := g.ticket(tk.ID); got.Due != 5350 || got.Status != gateway.TicketOpen {
		t.Fatalf("ticket after the cancelled card step: %+v", got)
	}
	toPay(t, again)
	card(t, again, terminalsim.Approve)
	expect(t, again, "done")
	if got := g.ticket(tk.ID); got.Status != gateway.TicketPaid || got.Paid != 5350 {
		t.Errorf("ticket %+v", got)
	}
}

// TestStatusRequestNotFound reconnects with a state file that never heard
// of the pending payment: the terminal says not_found, the gateway cancels
// it, and nothing is charged.
func TestStatusRequestNotFound(t *testing.T) {
	g := newGateway(t, nil)
	tk := g.table5()
	dir := t.TempDir()
	state, before := filepath.Join(dir, "terminal.json"), filepath.Join(dir, "before.json")
	term := dial(t, terminalsim.Options{URL: g.url, Code: g.code(), StateFile: state})
	data, err := os.ReadFile(state)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(before, data, 0o600); err != nil {
		t.Fatal(err)
	}
	pay := toPay(t, term)
	term.Close()

	other := dial(t, terminalsim.Options{URL: g.url, StateFile: before})
	req, _ := expect(t, other, "status_request")
	if req.PaymentID != pay.PaymentID {
		t.Fatalf("status_request %+v", req)
	}
	// The gateway has no answer to send back: a new scenario's first
	// screen comes once the not_found is handled.
	if err := other.Start("F2"); err != nil {
		t.Fatal(err)
	}
	screen(t, other, "input", "NUMÉRO DE TABLE ?")
	p, err := g.payments.Get(context.Background(), pay.PaymentID)
	if err != nil || p.Status != gateway.PaymentCancelled || p.Amount != 0 {
		t.Fatalf("payment %+v, %v", p, err)
	}
	if got := g.ticket(tk.ID); got.Due != 5350 || got.Paid != 0 {
		t.Errorf("ticket %+v", got)
	}
}

// TestAbortDuringSlowCard: the gateway aborts while the card step runs;
// the terminal stops it and reports it cancelled.
func TestAbortDuringSlowCard(t *testing.T) {
	g := newGateway(t, nil)
	g.table5()
	term := dial(t, terminalsim.Options{URL: g.url, Code: g.code(), SlowDelay: time.Hour})
	pay := toPay(t, term)
	running := make(chan struct{})
	terminalsim.SetCardHook(term, func() { close(running) })
	res := make(chan terminalsim.Result, 1)
	errc := make(chan error, 1)
	go func() {
		r, err := term.Card(context.Background(), terminalsim.Slow)
		res <- r
		errc <- err
	}()
	<-running
	if ok, err := g.hub.Abort(context.Background(), pay.PaymentID); !ok || err != nil {
		t.Fatalf("abort: %v %v", ok, err)
	}
	r := <-res
	if err := <-errc; err != nil || r.Status != "cancelled" || r.Card != nil {
		t.Fatalf("card step after abort: %+v, %v", r, err)
	}
	expect(t, term, "ack")
	screen(t, term, "message", "PAIEMENT ANNULÉ")
	if p, _ := g.payments.Get(context.Background(), pay.PaymentID); p.Status != gateway.PaymentCancelled {
		t.Errorf("payment %+v", p)
	}
	if _, err := term.Card(context.Background(), terminalsim.Approve); err != terminalsim.ErrNoPayment {
		t.Errorf("a card step after the abort: %v", err)
	}
}

// TestReconnectInCardStep keeps the card step running across a
// reconnection: the gateway's status_request gets "pending", and the
// result that comes later is recorded.
func TestReconnectInCardStep(t *testing.T) {
	g := newGateway(t, nil)
	tk := g.table5()
	term := dial(t, terminalsim.Options{URL: g.url, Code: g.code()})
	pay := toPay(t, term)
	if err := term.Reconnect(context.Background()); err != nil {
		t.Fatal(err)
	}
	req, _ := expect(t, term, "status_request")
	if req.PaymentID != pay.PaymentID {
		t.Fatalf("status_request %+v", req)
	}
	r := card(t, term, terminalsim.Approve)
	expect(t, term, "ack")
	got := g.ticket(tk.ID)
	if got.Status != gateway.TicketPaid || got.Payments[0].AuthCode != r.AuthCode {
		t.Errorf("ticket %+v", got)
	}
}

func TestPinnedCertificate(t *testing.T) {
	dir := t.TempDir()
	for _, sub := range []string{"a", "b"} {
		if err := os.Mkdir(filepath.Join(dir, sub), 0o700); err != nil {
			t.Fatal(err)
		}
	}
	cert, err := listener.LoadOrCreateCert(filepath.Join(dir, "a"), []string{"localhost"}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	other, err := listener.LoadOrCreateCert(filepath.Join(dir, "b"), []string{"localhost"}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	g := newGateway(t, &cert)
	state := filepath.Join(dir, "terminal.json")
	ctx := context.Background()

	// A wrong pin is refused before anything is said.
	_, err = terminalsim.Dial(ctx, terminalsim.Options{URL: g.url, Code: g.code(), StateFile: state,
		Fingerprint: listener.Fingerprint(other)})
	if err == nil || !strings.Contains(err.Error(), "pinned") {
		t.Fatalf("wrong pin: %v", err)
	}
	// Without a pin or --insecure the self-signed certificate is refused.
	if _, err := terminalsim.Dial(ctx, terminalsim.Options{URL: g.url, Code: g.code(), StateFile: state}); err == nil {
		t.Fatal("an unchecked self-signed certificate was accepted")
	}
	// Paired with --insecure, the terminal pins what it saw.
	term := dial(t, terminalsim.Options{URL: g.url, Code: g.code(), StateFile: state, Insecure: true})
	if st := loadState(t, state); st.Fingerprint != listener.Fingerprint(cert) {
		t.Fatalf("pinned %q, want %q", st.Fingerprint, listener.Fingerprint(cert))
	}
	term.Close()
	dial(t, terminalsim.Options{URL: g.url, StateFile: state}).Close()

	// Another certificate at the same address is an impostor, even with
	// --insecure.
	impostor := newGateway(t, &other)
	_, err = terminalsim.Dial(ctx, terminalsim.Options{URL: impostor.url, StateFile: state, Insecure: true})
	if err == nil || !strings.Contains(err.Error(), "pinned") {
		t.Fatalf("impostor: %v", err)
	}
}

func TestResultsPassValidation(t *testing.T) {
	for _, o := range []terminalsim.Outcome{terminalsim.Approve, terminalsim.Decline} {
		for i := 0; i < 200; i++ {
			r := terminalsim.CardResultForTest(terminalsim.Payment{PaymentID: "pay_1", Amount: 1000, Currency: "EUR"}, o)
			res := gateway.Result{PaymentID: r.PaymentID, Status: gateway.PaymentStatus(r.Status), Amount: r.Amount,
				Currency: r.Currency, Card: r.Card, AuthCode: r.AuthCode, TransactionRef: r.TransactionRef,
				MerchantID: r.MerchantID, TerminalID: r.TerminalID, Receipt: r.Receipt}
			if err := res.Validate(); err != nil {
				t.Fatalf("%s result %+v: %v", o, r, err)
			}
		}
	}
}
