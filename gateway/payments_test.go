package gateway_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/passerelle/passerelle/gateway"
	"github.com/passerelle/passerelle/store"
)

// manualClock is a clock the test moves; each reading also advances it a
// millisecond, so that IDs sort in creation order. It has a wall clock
// (Now) and a monotonic one (Elapsed): Advance moves both, as time passing
// does; Jump moves the wall clock alone, as a clock step (NTP, a manual
// change) does.
type manualClock struct {
	mu   sync.Mutex
	now  time.Time
	mono time.Duration
}

func (c *manualClock) Elapsed() time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.mono
}

func (c *manualClock) Jump(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

func (c *manualClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(time.Millisecond)
	return c.now
}

func (c *manualClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
	c.mono += d
}

// ledger is the payment core on a real store in a temporary directory,
// with one till and one paired terminal.
type ledger struct {
	st        *store.Store
	clk       *manualClock
	tickets   *gateway.Tickets
	payments  *gateway.Payments
	terminals *gateway.Terminals
	till      gateway.Till
	term      gateway.Terminal
}

const ledgerDeadline = time.Minute

func newLedger(t *testing.T) *ledger {
	t.Helper()
	ctx := context.Background()
	bus := gateway.NewEventBus(1024)
	st, err := store.Open(ctx, filepath.Join(t.TempDir(), "passerelle.db"), slog.New(slog.NewTextHandler(io.Discard, nil)), bus)
	if err != nil {
		t.Fatalf("store.Open: %v", err)
	}
	t.Cleanup(func() { st.Close() })
	clk := &manualClock{now: time.Date(2026, 11, 25, 19, 0, 0, 0, time.UTC)}
	l := &ledger{st: st, clk: clk,
		tickets:   gateway.NewTickets(st, gateway.DefaultConfig().Rules, clk.Now),
		payments:  gateway.NewPayments(st, clk.Now, ledgerDeadline),
		terminals: gateway.NewTerminals(st, clk.Now)}
	l.payments.SetMonotonic(clk.Elapsed)
	if l.till, _, err = gateway.NewTills(st, clk.Now).Add(ctx, gateway.NewTill{Name: "Caisse 1"}); err != nil {
		t.Fatal(err)
	}
	l.term = l.pairTerminal(t, "A1")
	return l
}

func (l *ledger) pairTerminal(t *testing.T, serial string) gateway.Terminal {
	t.Helper()
	ctx := context.Background()
	code, _, err := l.terminals.NewPairingCode(ctx)
	if err != nil {
		t.Fatal(err)
	}
	term, _, err := l.terminals.Connect(ctx, "10.0.0.1", gateway.Hello{Serial: serial, PairingCode: code, PrinterCols: 32})
	if err != nil {
		t.Fatalf("pair: %v", err)
	}
	return term
}

// ticket submits a one-line ticket of total cents.
func (l *ledger) ticket(t *testing.T, ref string, total int64) gateway.Ticket {
	t.Helper()
	tk, _, err := l.tickets.Submit(context.Background(), l.till, gateway.TicketInput{Ref: ref, Table: "5",
		Lines: []gateway.Line{{Label: "MENU", Qty: 1, UnitPrice: total, VATRate: 1000}}, Total: total})
	if err != nil {
		t.Fatalf("submit: %v", err)
	}
	return tk
}

func (l *ledger) start(t *testing.T, tk gateway.Ticket, amount int64) gateway.Payment {
	t.Helper()
	p, _, err := l.payments.Start(context.Background(), l.term, tk.ID, amount, 0)
	if err != nil {
		t.Fatalf("start: %v", err)
	}
	return p
}

// resultOf is an approval (or other outcome) of p, as a terminal reports it.
func resultOf(p gateway.Payment, st gateway.PaymentStatus) gateway.Result {
	return gateway.Result{PaymentID: p.ID, Status: st, Amount: p.Amount, Currency: "EUR",
		Card: &gateway.Card{Scheme: "CB", MaskedPAN: "#####5743", Entry: "chip"}, AuthCode: "185568",
		TransactionRef: "185568D324964D", MerchantID: "0000015000", TerminalID: "02189020000"}
}

func (l *ledger) record(t *testing.T, p gateway.Payment, st gateway.PaymentStatus) (gateway.Payment, bool) {
	t.Helper()
	got, changed, err := l.payments.Record(context.Background(), l.term.ID, resultOf(p, st))
	if err != nil {
		t.Fatalf("record %s: %v", st, err)
	}
	return got, changed
}

// unknown starts a payment and leaves it without outcome past its
// deadline, its terminal gone.
func (l *ledger) unknown(t *testing.T, tk gateway.Ticket, amount int64) gateway.Payment {
	t.Helper()
	ctx := context.Background()
	p := l.start(t, tk, amount)
	l.clk.Advance(2 * ledgerDeadline)
	if _, err := l.payments.Expire(ctx, func(gateway.Payment) bool { return false }); err != nil {
		t.Fatal(err)
	}
	p, err := l.payments.Get(ctx, p.ID)
	if err != nil || p.Status != gateway.PaymentUnknown {
		t.Fatalf("payment %s, %v; want unknown", p.Status, err)
	}
	return p
}

func (l *ledger) check(t *testing.T, id string, status gateway.TicketStatus, paid, due int64) gateway.Ticket {
	t.Helper()
	tk, err := l.st.Ticket(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	if tk.Status != status || tk.Paid != paid || tk.Due != due {
		t.Errorf("ticket %s: %s paid %d due %d, want %s paid %d due %d", tk.Ref, tk.Status, tk.Paid, tk.Due, status, paid, due)
	}
	return tk
}

// eventTypes lists the types of the events about payment id.
func (l *ledger) eventTypes(t *testing.T, id string) []string {
	t.Helper()
	evs, err := l.st.EventsAfter(context.Background(), gateway.EventQuery{Limit: 10000})
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range evs {
		if e.PaymentID == id {
			out = append(out, e.Type)
		}
	}
	return out
}

func TestCheckMaskedPAN(t *testing.T) {
	cases := []struct {
		pan string
		ok  bool
	}{
		{"", true},
		{"#####5743", true},
		{"************5743", true},
		{"XXXX XXXX XXXX 5743", true},
		{"xxxx-xxxx-xxxx-5743", true},
		{"411111######5743", true},
		{"4111 11** **** 5743", true},
		{"411111", false}, // unmasked: not a masked number
		{"5743", true},    // the last 4 alone
		{"#######", true}, // nothing shown
		{"4111##", true},  // fewer than 6 first
		{"##5743", true},  // a short card
		{"12345", false},  // 5 digits, unmasked
		{"4111111111111111", false},
		{"4111 1111 1111 1111", false},
		{"4111-1111-1111-1111", false},
		{"411111######11111", false}, // the last 5
		{"######123456", false},      // the last 6
		{"###########12345", false},  // the last 5
		{"4111111#####5743", false},  // the first 7
		{"4111111111111111####", false},
		{"##11##5743", false}, // digits in the middle
		{"####5743####", false},
		{"#####57a3", false},
		{"#####5743é", false},
		{"#####5743\n", false},
		{strings.Repeat("#", 22) + "5743", false}, // too long
	}
	for _, tc := range cases {
		msg := gateway.CheckMaskedPAN(tc.pan)
		if (msg == "") != tc.ok {
			t.Errorf("CheckMaskedPAN(%q) = %q, want ok=%v", tc.pan, msg, tc.ok)
		}
	}
}

func TestResultValidate(t *testing.T) {
	good := gateway.Result{PaymentID: "pay_1", Status: gateway.PaymentApproved, Amount: 1000, Currency: "EUR",
		Card: &gateway.Card{Scheme: "CB", MaskedPAN: "#####5743", Entry: "chip"}, AuthCode: "185568",
		TransactionRef: "185568D324964D", MerchantID: "0000015000", TerminalID: "02189020000",
		Receipt: []string{"CARTE BANCAIRE", "#####5743"}}
	if err := good.Validate(); err != nil {
		t.Fatalf("a good result: %v", err)
	}
	cases := []struct {
		name  string
		edit  func(*gateway.Result)
		field string // "" if valid
	}{
		{"declined without amount", func(r *gateway.Result) { r.Status, r.Amount = gateway.PaymentDeclined, 0 }, ""},
		{"cancelled without card", func(r *gateway.Result) { r.Status, r.Card = gateway.PaymentCancelled, nil }, ""},
		{"error", func(r *gateway.Result) { r.Status = gateway.PaymentError }, ""},
		{"with a tip", func(r *gateway.Result) { r.Tip = 200 }, ""},
		{"pending", func(r *gateway.Result) { r.Status = gateway.PaymentPending }, "status"},
		{"unknown", func(r *gateway.Result) { r.Status = gateway.PaymentUnknown }, "status"},
		{"no status", func(r *gateway.Result) { r.Status = "" }, "status"},
		{"approved without amount", func(r *gateway.Result) { r.Amount = 0 }, "amount"},
		{"negative amount", func(r *gateway.Result) { r.Amount = -1 }, "amount"},
		{"huge amount", func(r *gateway.Result) { r.Amount = gateway.MaxTotal + 1 }, "amount"},
		{"negative tip", func(r *gateway.Result) { r.Tip = -1 }, "tip"},
		{"full PAN", func(r *gateway.Result) { r.Card.MaskedPAN = "4111111111111111" }, "card.masked_pan"},
		{"last 6", func(r *gateway.Result) { r.Card.MaskedPAN = "######123456" }, "card.masked_pan"},
		{"first 6 last 5", func(r *gateway.Result) { r.Card.MaskedPAN = "411111######11111" }, "card.masked_pan"},
		{"PAN as scheme", func(r *gateway.Result) { r.Card.Scheme = "4111111111111111" }, "card.scheme"},
		{"PAN in auth code", func(r *gateway.Result) { r.AuthCode = "4111 1111 1111 1111" }, "auth_code"},
		{"PAN in the receipt", func(r *gateway.Result) { r.Receipt = []string{"CARTE", "4111111111111111"} }, "receipt[1]"},
		{"control character", func(r *gateway.Result) { r.TransactionRef = "185568\x00" }, "transaction_ref"},
		{"bidi override", func(r *gateway.Result) { r.MerchantID = "\u202e0000015000" }, "merchant_id"},
		{"long terminal id", func(r *gateway.Result) { r.TerminalID = strings.Repeat("9", gateway.MaxResultField+1) }, "terminal_id"},
		{"long receipt line", func(r *gateway.Result) { r.Receipt = []string{strings.Repeat("=", 65)} }, "receipt[0]"},
		{"long receipt", func(r *gateway.Result) { r.Receipt = make([]string, gateway.MaxReceiptLines+1) }, "receipt"},
		{"long currency", func(r *gateway.Result) { r.Currency = strings.Repeat("E", 65) }, "currency"},
	}
	for _, tc := range cases {
		r := good
		c := *good.Card
		r.Card = &c
		tc.edit(&r)
		err := r.Validate()
		var verr *gateway.ValidationError
		switch {
		case tc.field == "" && err != nil:
			t.Errorf("%s: %v", tc.name, err)
		case tc.field != "" && !errors.As(err, &verr):
			t.Errorf("%s: %v, want a validation error on %s", tc.name, err, tc.field)
		case tc.field != "" && !onlyField(verr, tc.field):
			t.Errorf("%s: %v, want errors on %s alone", tc.name, err, tc.field)
		case tc.field != "" && strings.Contains(err.Error(), "4111"):
			t.Errorf("%s: the error repeats the card number: %v", tc.name, err)
		}
	}
}

func onlyField(verr *gateway.ValidationError, field string) bool {
	for _, f := range verr.Fields {
		if f.Field != field {
			return false
		}
	}
	return len(verr.Fields) > 0
}

func TestStartRefusals(t *testing.T) {
	ctx := context.Background()
	l := newLedger(t)
	tk := l.ticket(t, "1", 5000)
	var verr *gateway.ValidationError
	for _, amount := range []int64{0, -1, 5001} {
		if _, _, err := l.payments.Start(ctx, l.term, tk.ID, amount, 0); !errors.As(err, &verr) {
			t.Errorf("Start %d: %v, want a validation error", amount, err)
		}
	}
	if _, _, err := l.payments.Start(ctx, l.term, tk.ID, 100, -1); !errors.As(err, &verr) {
		t.Errorf("Start with a negative tip: %v", err)
	}
	if _, _, err := l.payments.Start(ctx, l.term, "tkt_NONE", 100, 0); !errors.Is(err, gateway.ErrNotFound) {
		t.Errorf("Start on no ticket: %v", err)
	}

	p := l.start(t, tk, 2000)
	other := l.pairTerminal(t, "B2")
	_, _, err := l.payments.Start(ctx, other, tk.ID, 1000, 0)
	if b, ok := gateway.IsBusy(err); !ok || b.Terminal != l.term.Name {
		t.Fatalf("second payment: %v, want busy on %s", err, l.term.Name)
	}
	l.record(t, p, gateway.PaymentApproved)
	l.check(t, tk.ID, gateway.TicketPartiallyPaid, 2000, 3000)
	if _, _, err := l.payments.Start(ctx, other, tk.ID, 3001, 0); !errors.As(err, &verr) {
		t.Errorf("Start over the due: %v", err)
	}
	l.record(t, l.start(t, tk, 3000), gateway.PaymentApproved)
	var cerr *gateway.ConflictError
	if _, _, err := l.payments.Start(ctx, other, tk.ID, 1, 0); !errors.As(err, &cerr) {
		t.Errorf("Start on a paid ticket: %v, want a conflict", err)
	}
	cancelled := l.ticket(t, "2", 1000)
	if _, err := l.tickets.Cancel(ctx, l.till, cancelled.ID); err != nil {
		t.Fatal(err)
	}
	if _, _, err := l.payments.Start(ctx, other, cancelled.ID, 1000, 0); !errors.As(err, &cerr) {
		t.Errorf("Start on a cancelled ticket: %v, want a conflict", err)
	}
}

// Two terminals start a payment of one ticket at once: one wins, every
// time.
func TestStartRace(t *testing.T) {
	ctx := context.Background()
	l := newLedger(t)
	terms := []gateway.Terminal{l.term, l.pairTerminal(t, "B2")}
	tk := l.ticket(t, "1", 5000)
	for round := range 30 {
		var wg sync.WaitGroup
		errs := make([]error, 2)
		pays := make([]gateway.Payment, 2)
		for i, term := range terms {
			wg.Go(func() { pays[i], _, errs[i] = l.payments.Start(ctx, term, tk.ID, 5000, 0) })
		}
		wg.Wait()
		won := -1
		for i, err := range errs {
			if err == nil {
				if won >= 0 {
					t.Fatalf("round %d: both terminals started a payment", round)
				}
				won = i
			} else if _, ok := gateway.IsBusy(err); !ok {
				t.Fatalf("round %d: %v", round, err)
			}
		}
		if won < 0 {
			t.Fatalf("round %d: neither terminal started: %v", round, errs)
		}
		if _, _, err := l.payments.Record(ctx, terms[won].ID, resultOf(pays[won], gateway.PaymentDeclined)); err != nil {
			t.Fatal(err)
		}
	}
	l.check(t, tk.ID, gateway.TicketOpen, 0, 5000)
}

func TestRecordOnce(t *testing.T) {
	l := newLedger(t)
	tk := l.ticket(t, "1", 5000)
	p := l.start(t, tk, 5000)
	got, changed := l.record(t, p, gateway.PaymentApproved)
	if !changed || got.Status != gateway.PaymentApproved || got.CompletedAt == nil || got.Card.MaskedPAN != "#####5743" {
		t.Fatalf("first result: changed %v, %+v", changed, got)
	}
	if _, changed := l.record(t, p, gateway.PaymentApproved); changed {
		t.Error("the same result again changed the payment")
	}
	if _, changed := l.record(t, p, gateway.PaymentDeclined); changed {
		t.Error("a refusal after the approval changed the payment")
	}
	l.check(t, tk.ID, gateway.TicketPaid, 5000, 0)
	want := []string{gateway.EventPaymentStarted, gateway.EventPaymentApproved, gateway.EventTicketPaid}
	if got := l.eventTypes(t, p.ID); !slices.Equal(got, want) {
		t.Errorf("events %v, want %v", got, want)
	}

	// Another terminal cannot report on this payment.
	other := l.pairTerminal(t, "B2")
	if _, _, err := l.payments.Record(context.Background(), other.ID, resultOf(p, gateway.PaymentApproved)); !errors.Is(err, gateway.ErrNotFound) {
		t.Errorf("result from another terminal: %v, want not found", err)
	}
	if _, err := l.payments.NotFound(context.Background(), other.ID, p.ID); !errors.Is(err, gateway.ErrNotFound) {
		t.Errorf("not_found from another terminal: %v, want not found", err)
	}
	// A bad result changes nothing.
	bad := resultOf(p, gateway.PaymentApproved)
	bad.Card.MaskedPAN = "4111111111111111"
	var verr *gateway.ValidationError
	if _, _, err := l.payments.Record(context.Background(), l.term.ID, bad); !errors.As(err, &verr) {
		t.Errorf("full PAN: %v", err)
	}
	if got, _ := l.payments.Get(context.Background(), p.ID); got.Card.MaskedPAN != "#####5743" {
		t.Errorf("stored card %+v", got.Card)
	}
}

// A result in another currency than the payment's is refused and changes
// nothing: an approval in USD is not euro cents. No currency means the
// payment's.
func TestResultCurrency(t *testing.T) {
	ctx := context.Background()
	l := newLedger(t)
	tk := l.ticket(t, "1", 5000)
	p := l.start(t, tk, 5000)
	for _, cur := range []string{"USD", "eur", "EUR ", "XXX"} {
		r := resultOf(p, gateway.PaymentApproved)
		r.Currency = cur
		_, changed, err := l.payments.Record(ctx, l.term.ID, r)
		var verr *gateway.ValidationError
		if !errors.As(err, &verr) || !onlyField(verr, "currency") || changed {
			t.Errorf("an approval in %q: changed %v, %v; want a validation error on currency", cur, changed, err)
		}
	}
	if got, _ := l.payments.Get(ctx, p.ID); got.Status != gateway.PaymentPending {
		t.Fatalf("the refused results left the payment %s", got.Status)
	}
	l.check(t, tk.ID, gateway.TicketOpen, 0, 5000)
	if n := len(l.eventTypes(t, p.ID)); n != 1 {
		t.Errorf("%d events, want payment.started alone", n)
	}

	r := resultOf(p, gateway.PaymentApproved)
	r.Currency = ""
	if got, changed, err := l.payments.Record(ctx, l.term.ID, r); err != nil || !changed || got.Currency != "EUR" {
		t.Fatalf("an approval without currency: %+v, %v, %v", got, changed, err)
	}
	l.check(t, tk.ID, gateway.TicketPaid, 5000, 0)
	// A late copy in another currency is refused too, even after the fact.
	r.Currency = "USD"
	var verr *gateway.ValidationError
	if _, _, err := l.payments.Record(ctx, l.term.ID, r); !errors.As(err, &verr) {
		t.Errorf("a copy in USD: %v", err)
	}
}

// An approval is never dropped: late after a refusal, on a ticket paid
// meanwhile, on a cancelled ticket.
func TestLateApproval(t *testing.T) {
	ctx := context.Background()
	t.Run("after a refusal, the ticket paid meanwhile", func(t *testing.T) {
		l := newLedger(t)
		tk := l.ticket(t, "1", 5000)
		first := l.start(t, tk, 5000)
		l.record(t, first, gateway.PaymentDeclined)
		l.check(t, tk.ID, gateway.TicketOpen, 0, 5000)
		l.record(t, l.start(t, tk, 5000), gateway.PaymentApproved)
		if _, changed := l.record(t, first, gateway.PaymentApproved); !changed {
			t.Fatal("the late approval was not recorded")
		}
		got := l.check(t, tk.ID, gateway.TicketOverpaid, 10000, 0)
		if got.Refund() != 5000 {
			t.Errorf("refund %d, want 5000", got.Refund())
		}
		want := []string{gateway.EventPaymentStarted, gateway.EventPaymentDeclined, gateway.EventPaymentApproved}
		if got := l.eventTypes(t, first.ID); !slices.Equal(got, want) {
			t.Errorf("events %v, want %v", got, want)
		}
	})
	t.Run("after not_found, partly", func(t *testing.T) {
		l := newLedger(t)
		tk := l.ticket(t, "1", 5000)
		p := l.start(t, tk, 2000)
		if got, err := l.payments.NotFound(ctx, l.term.ID, p.ID); err != nil || got.Status != gateway.PaymentCancelled {
			t.Fatalf("NotFound: %+v, %v", got, err)
		}
		l.check(t, tk.ID, gateway.TicketOpen, 0, 5000)
		// not_found again changes nothing.
		if got, err := l.payments.NotFound(ctx, l.term.ID, p.ID); err != nil || got.Status != gateway.PaymentCancelled {
			t.Fatalf("NotFound again: %+v, %v", got, err)
		}
		l.record(t, p, gateway.PaymentApproved)
		l.check(t, tk.ID, gateway.TicketPartiallyPaid, 2000, 3000)
	})
}

// A till update that brings an overpaid ticket back to exactly paid says
// ticket.updated only: the ticket was paid already, ticket.paid is not
// sent twice.
func TestOverpaidUpdatedToPaid(t *testing.T) {
	ctx := context.Background()
	l := newLedger(t)
	tk := l.ticket(t, "1", 5000)
	first := l.start(t, tk, 5000)
	l.record(t, first, gateway.PaymentDeclined)
	l.record(t, l.start(t, tk, 5000), gateway.PaymentApproved)
	l.record(t, first, gateway.PaymentApproved)
	l.check(t, tk.ID, gateway.TicketOverpaid, 10000, 0)

	in := tk.Input()
	in.Lines = []gateway.Line{{Label: "MENU", Qty: 2, UnitPrice: 5000, VATRate: 1000}}
	in.Total = 10000
	if _, res, err := l.tickets.Submit(ctx, l.till, in); err != nil || res != gateway.Updated {
		t.Fatalf("update to the paid amount: %v, %v", res, err)
	}
	l.check(t, tk.ID, gateway.TicketPaid, 10000, 0)
	evs, err := l.st.EventsAfter(ctx, gateway.EventQuery{Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	paid := 0
	for _, e := range evs {
		if e.TicketID == tk.ID && e.Type == gateway.EventTicketPaid {
			paid++
		}
	}
	if paid != 1 {
		t.Errorf("%d ticket.paid events, want 1", paid)
	}
}

// A cancelled ticket stays cancelled whatever money arrives on it: a late
// approval is recorded as money to refund, the ticket owes nothing, takes no
// payment and no update.
func TestCancelledTicketStaysCancelled(t *testing.T) {
	ctx := context.Background()
	l := newLedger(t)
	// 50,00 split in two; the first part declined, the till cancels.
	tk := l.ticket(t, "1", 5000)
	first := l.start(t, tk, 2500)
	l.record(t, first, gateway.PaymentDeclined)
	second := l.start(t, tk, 2500)
	l.record(t, second, gateway.PaymentCancelled)
	if _, err := l.tickets.Cancel(ctx, l.till, tk.ID); err != nil {
		t.Fatal(err)
	}
	// The bank approves the first part after all.
	if _, changed := l.record(t, first, gateway.PaymentApproved); !changed {
		t.Fatal("the late approval was not recorded")
	}
	got := l.check(t, tk.ID, gateway.TicketCancelled, 2500, 0)
	if got.Refund() != 2500 {
		t.Errorf("refund %d, want 2500", got.Refund())
	}
	want := []string{gateway.EventPaymentStarted, gateway.EventPaymentDeclined, gateway.EventPaymentApproved}
	if got := l.eventTypes(t, first.ID); !slices.Equal(got, want) {
		t.Errorf("events %v, want %v", got, want)
	}
	// And the second: still cancelled, the whole total to refund.
	l.record(t, second, gateway.PaymentApproved)
	got = l.check(t, tk.ID, gateway.TicketCancelled, 5000, 0)
	if got.Refund() != 5000 {
		t.Errorf("refund %d, want 5000", got.Refund())
	}

	var cerr *gateway.ConflictError
	if _, _, err := l.payments.Start(ctx, l.term, tk.ID, 1, 0); !errors.As(err, &cerr) {
		t.Errorf("Start on the cancelled ticket: %v, want a conflict", err)
	}
	in := tk.Input()
	in.Lines = append(in.Lines, gateway.Line{Label: "CAFE", Qty: 1, UnitPrice: 250, VATRate: 1000})
	in.Total += 250
	if _, _, err := l.tickets.Submit(ctx, l.till, in); !errors.As(err, &cerr) {
		t.Errorf("a till update of the cancelled ticket: %v, want a conflict", err)
	}
	l.check(t, tk.ID, gateway.TicketCancelled, 5000, 0)
	open, err := l.st.Tickets(ctx, gateway.TicketQuery{Statuses: []gateway.TicketStatus{gateway.TicketOpen, gateway.TicketPartiallyPaid}, Limit: 10})
	if err != nil || len(open) != 0 {
		t.Errorf("tickets a terminal lists: %v, %v", open, err)
	}
}

// A payment pending past its deadline, its terminal gone, becomes unknown
// and stays reserved until its terminal reports or the manager resolves
// it.
func TestExpireAndResolve(t *testing.T) {
	ctx := context.Background()
	online := func(gateway.Payment) bool { return true }
	offline := func(gateway.Payment) bool { return false }
	l := newLedger(t)
	tk := l.ticket(t, "1", 5000)
	p := l.start(t, tk, 5000)

	l.clk.Advance(ledgerDeadline / 2)
	if n, err := l.payments.Expire(ctx, offline); err != nil || n != 0 {
		t.Fatalf("Expire before the deadline: %d, %v", n, err)
	}
	l.clk.Advance(ledgerDeadline)
	if n, err := l.payments.Expire(ctx, online); err != nil || n != 0 {
		t.Fatalf("Expire with the terminal online: %d, %v", n, err)
	}
	if n, err := l.payments.Expire(ctx, offline); err != nil || n != 1 {
		t.Fatalf("Expire: %d, %v; want 1", n, err)
	}
	if n, err := l.payments.Expire(ctx, offline); err != nil || n != 0 {
		t.Fatalf("Expire again: %d, %v; want 0", n, err)
	}
	got, err := l.payments.Get(ctx, p.ID)
	if err != nil || got.Status != gateway.PaymentUnknown || got.Amount != 5000 || got.CompletedAt != nil {
		t.Fatalf("expired payment: %+v, %v", got, err)
	}
	l.check(t, tk.ID, gateway.TicketOpen, 0, 5000)
	if _, _, err := l.payments.Start(ctx, l.pairTerminal(t, "B2"), tk.ID, 5000, 0); err == nil {
		t.Fatal("an unknown payment's ticket was paid again")
	} else if _, ok := gateway.IsBusy(err); !ok {
		t.Fatalf("Start: %v, want busy", err)
	}
	if ps, _ := l.payments.InProgressOn(ctx, l.term.ID); len(ps) != 1 || ps[0].ID != p.ID {
		t.Errorf("in progress on the terminal: %v", ps)
	}

	var verr *gateway.ValidationError
	if _, err := l.payments.Resolve(ctx, p.ID, gateway.PaymentCancelled); !errors.As(err, &verr) {
		t.Errorf("Resolve cancelled: %v, want a validation error", err)
	}
	got, err = l.payments.Resolve(ctx, p.ID, gateway.PaymentApproved)
	if err != nil || got.Status != gateway.PaymentApproved || got.ResolvedBy != "manager" {
		t.Fatalf("Resolve: %+v, %v", got, err)
	}
	l.check(t, tk.ID, gateway.TicketPaid, 5000, 0)
	var cerr *gateway.ConflictError
	if _, err := l.payments.Resolve(ctx, p.ID, gateway.PaymentDeclined); !errors.As(err, &cerr) {
		t.Errorf("Resolve again: %v, want a conflict", err)
	}
	want := []string{gateway.EventPaymentStarted, gateway.EventPaymentUnknown, gateway.EventPaymentResolved, gateway.EventTicketPaid}
	if got := l.eventTypes(t, p.ID); !slices.Equal(got, want) {
		t.Errorf("events %v, want %v", got, want)
	}

	// An unknown payment whose terminal reports: the report settles it.
	tk2 := l.ticket(t, "2", 1000)
	p2 := l.start(t, tk2, 1000)
	l.clk.Advance(2 * ledgerDeadline)
	if n, err := l.payments.Expire(ctx, offline); err != nil || n != 1 {
		t.Fatalf("Expire: %d, %v", n, err)
	}
	l.record(t, p2, gateway.PaymentDeclined)
	l.check(t, tk2.ID, gateway.TicketOpen, 0, 1000)
	if ps, _ := l.payments.InProgressOn(ctx, l.term.ID); len(ps) != 0 {
		t.Errorf("still in progress: %v", ps)
	}
}

// Only an unknown payment is the manager's to resolve, whoever asks: a
// pending one may still get its terminal's result (the card is in the
// reader), a final one has its outcome.
func TestResolveOnlyUnknown(t *testing.T) {
	ctx := context.Background()
	l := newLedger(t)
	tk := l.ticket(t, "1", 5000)
	p := l.start(t, tk, 5000)
	var cerr *gateway.ConflictError
	for _, st := range []gateway.PaymentStatus{gateway.PaymentApproved, gateway.PaymentDeclined} {
		if _, err := l.payments.Resolve(ctx, p.ID, st); !errors.As(err, &cerr) {
			t.Errorf("Resolve %s of a pending payment: %v, want a conflict", st, err)
		}
	}
	if got, _ := l.payments.Get(ctx, p.ID); got.Status != gateway.PaymentPending || got.ResolvedBy != "" {
		t.Fatalf("the refused resolution left the payment %s by %q", got.Status, got.ResolvedBy)
	}
	l.check(t, tk.ID, gateway.TicketOpen, 0, 5000)
	// The card is declined: the ticket owes it all.
	l.record(t, p, gateway.PaymentDeclined)
	if _, err := l.payments.Resolve(ctx, p.ID, gateway.PaymentApproved); !errors.As(err, &cerr) {
		t.Errorf("Resolve of a declined payment: %v, want a conflict", err)
	}
	l.check(t, tk.ID, gateway.TicketOpen, 0, 5000)
	if _, err := l.payments.Resolve(ctx, "pay_NONE", gateway.PaymentApproved); !errors.Is(err, gateway.ErrNotFound) {
		t.Errorf("Resolve of no payment: %v", err)
	}
}

// The terminal's real result that arrives after the manager resolved the
// payment is kept in full, and the ticket counts what the card did; if it
// contradicts the manager's decision, the payment is flagged for review,
// with an event.
func TestResultAfterResolution(t *testing.T) {
	ctx := context.Background()
	cases := []struct {
		name     string
		decided  gateway.PaymentStatus
		reported gateway.PaymentStatus
		amount   int64 // the terminal's
		review   bool
		status   gateway.TicketStatus
		paid     int64
	}{
		{"approved, approved", gateway.PaymentApproved, gateway.PaymentApproved, 5000, false, gateway.TicketPaid, 5000},
		{"approved, declined", gateway.PaymentApproved, gateway.PaymentDeclined, 0, true, gateway.TicketOpen, 0},
		{"approved, error", gateway.PaymentApproved, gateway.PaymentError, 0, true, gateway.TicketOpen, 0},
		{"approved, another amount", gateway.PaymentApproved, gateway.PaymentApproved, 4000, true, gateway.TicketPartiallyPaid, 4000},
		{"declined, declined", gateway.PaymentDeclined, gateway.PaymentDeclined, 0, false, gateway.TicketOpen, 0},
		{"declined, cancelled", gateway.PaymentDeclined, gateway.PaymentCancelled, 0, false, gateway.TicketOpen, 0},
		{"declined, approved", gateway.PaymentDeclined, gateway.PaymentApproved, 5000, true, gateway.TicketPaid, 5000},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			l := newLedger(t)
			tk := l.ticket(t, "1", 5000)
			p := l.unknown(t, tk, 5000)
			if _, err := l.payments.Resolve(ctx, p.ID, tc.decided); err != nil {
				t.Fatal(err)
			}
			r := resultOf(p, tc.reported)
			r.Amount, r.Tip, r.Receipt = tc.amount, 150, []string{"CARTE BANCAIRE", "#####5743"}
			got, changed, err := l.payments.Record(ctx, l.term.ID, r)
			if err != nil || !changed {
				t.Fatalf("the terminal's result: changed %v, %v", changed, err)
			}
			stored, err := l.payments.Get(ctx, p.ID)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, stored) {
				t.Errorf("Record returned %+v, stored %+v", got, stored)
			}
			if stored.Status != tc.reported || stored.Amount != tc.amount || stored.Tip != 150 ||
				stored.Card == nil || stored.Card.MaskedPAN != "#####5743" || stored.AuthCode != r.AuthCode ||
				stored.TransactionRef != r.TransactionRef || stored.MerchantID != r.MerchantID ||
				stored.TerminalID != r.TerminalID || len(stored.Receipt) != 2 || stored.ReportedAt == nil {
				t.Errorf("the terminal's result is not kept in full: %+v", stored)
			}
			if stored.ResolvedBy != "manager" || stored.Resolution != tc.decided {
				t.Errorf("the manager's decision is lost: by %q, %q", stored.ResolvedBy, stored.Resolution)
			}
			if stored.Review != tc.review {
				t.Errorf("review %v, want %v", stored.Review, tc.review)
			}
			l.check(t, tk.ID, tc.status, tc.paid, max(0, 5000-tc.paid))
			evs := l.eventTypes(t, p.ID)
			if got := slices.Contains(evs, gateway.EventPaymentReview); got != tc.review {
				t.Errorf("events %v: payment.review %v, want %v", evs, got, tc.review)
			}
			toReview, err := l.st.PaymentsToReview(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if (len(toReview) == 1) != tc.review {
				t.Errorf("payments to review: %+v", toReview)
			}

			// The same result again changes nothing, and says nothing.
			n := len(evs)
			if _, changed, err := l.payments.Record(ctx, l.term.ID, r); err != nil || changed {
				t.Errorf("the same result again: changed %v, %v", changed, err)
			}
			if len(l.eventTypes(t, p.ID)) != n {
				t.Error("the same result again appended events")
			}
			if tc.review {
				if err := l.payments.Reviewed(ctx, p.ID); err != nil {
					t.Fatal(err)
				}
				if got, _ := l.payments.Get(ctx, p.ID); got.Review || got.Status != tc.reported {
					t.Errorf("after the review: %+v", got)
				}
			}
		})
	}
}

// A payment becomes unknown after its deadline of time really elapsed, as
// this process measures it: steps of the wall clock by hours, forward and
// back, change nothing.
func TestExpireIgnoresClockSteps(t *testing.T) {
	ctx := context.Background()
	offline := func(gateway.Payment) bool { return false }
	l := newLedger(t)
	tk := l.ticket(t, "1", 5000)
	p := l.start(t, tk, 5000)
	for _, step := range []time.Duration{3 * time.Hour, -5 * time.Hour, 26 * time.Hour, -24 * time.Hour} {
		l.clk.Jump(step)
		if n, err := l.payments.Expire(ctx, offline); err != nil || n != 0 {
			t.Fatalf("after a clock step of %v: %d expired, %v", step, n, err)
		}
	}
	l.clk.Advance(ledgerDeadline - time.Second)
	if n, err := l.payments.Expire(ctx, offline); err != nil || n != 0 {
		t.Fatalf("a second before the deadline: %d expired, %v", n, err)
	}
	l.clk.Jump(-2 * time.Hour)
	l.clk.Advance(2 * time.Second)
	if n, err := l.payments.Expire(ctx, offline); err != nil || n != 1 {
		t.Fatalf("past the deadline, the clock set back meanwhile: %d expired, %v; want 1", n, err)
	}
	if got, _ := l.payments.Get(ctx, p.ID); got.Status != gateway.PaymentUnknown {
		t.Fatalf("payment %s, want unknown", got.Status)
	}
}

// A restart neither restarts a pending payment's count nor counts the time
// the gateway was down: the new process resumes from what the last sweep
// stored, on its own monotonic clock, whatever the wall clock says.
func TestExpireAcrossRestart(t *testing.T) {
	ctx := context.Background()
	offline := func(gateway.Payment) bool { return false }
	l := newLedger(t)
	tk := l.ticket(t, "1", 5000)
	p := l.start(t, tk, 5000)
	l.clk.Advance(ledgerDeadline / 2)
	if n, err := l.payments.Expire(ctx, offline); err != nil || n != 0 {
		t.Fatalf("half way: %d expired, %v", n, err)
	}

	// The new process: its monotonic clock starts anywhere, the wall clock
	// was stepped back by two days while it was down for an hour.
	var mu sync.Mutex
	mono := 1000 * time.Hour
	elapsed := func() time.Duration { mu.Lock(); defer mu.Unlock(); return mono }
	advance := func(d time.Duration) { mu.Lock(); mono += d; mu.Unlock() }
	l.clk.Jump(-48*time.Hour + time.Hour)
	restarted := gateway.NewPayments(l.st, l.clk.Now, ledgerDeadline)
	restarted.SetMonotonic(elapsed)
	if n, err := restarted.Expire(ctx, offline); err != nil || n != 0 {
		t.Fatalf("after the restart: %d expired, %v", n, err)
	}
	advance(ledgerDeadline/2 - time.Second)
	if n, err := restarted.Expire(ctx, offline); err != nil || n != 0 {
		t.Fatalf("a second before the deadline: %d expired, %v", n, err)
	}
	advance(2 * time.Second)
	if n, err := restarted.Expire(ctx, offline); err != nil || n != 1 {
		t.Fatalf("past the deadline: %d expired, %v; want 1", n, err)
	}
	if got, _ := restarted.Get(ctx, p.ID); got.Status != gateway.PaymentUnknown {
		t.Fatalf("payment %s, want unknown", got.Status)
	}
}
