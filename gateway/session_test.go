package gateway_test

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"sync/atomic"
	"testing"

	"github.com/passerelle/passerelle/gateway"
)

// linePrinter stands in for the receipt layout, which has its own tests:
// one line that says what was printed.
type linePrinter struct{}

func (linePrinter) BankTicket(p gateway.Payment, _ int) ([]string, error) {
	return []string{"BANK " + gateway.FormatCents(p.Amount)}, nil
}

func (linePrinter) Note(t gateway.Ticket, _ int) ([]string, error) {
	return []string{"NOTE " + t.Ref}, nil
}

// outbox collects what a session sends to its terminal.
type outbox struct {
	t    *testing.T
	msgs []gateway.Message
}

func (o *outbox) send(m gateway.Message) { o.msgs = append(o.msgs, m) }

// take returns what was sent since the last take.
func (o *outbox) take() []gateway.Message {
	out := o.msgs
	o.msgs = nil
	return out
}

// one returns the single message sent since the last take.
func (o *outbox) one() gateway.Message {
	o.t.Helper()
	ms := o.take()
	if len(ms) != 1 {
		o.t.Fatalf("sent %d messages, want 1: %+v", len(ms), ms)
	}
	return ms[0]
}

// screen returns the single message sent, which must be a screen of kind.
func (o *outbox) screen(kind string) gateway.Screen {
	o.t.Helper()
	s, ok := o.one().(gateway.Screen)
	if !ok || s.Kind != kind {
		o.t.Fatalf("sent %+v, want a %s screen", s, kind)
	}
	return s
}

// pay returns the single message sent, which must be a pay request.
func (o *outbox) pay(amount int64) gateway.PayRequest {
	o.t.Helper()
	p, ok := o.one().(gateway.PayRequest)
	if !ok || p.Amount != amount {
		o.t.Fatalf("sent %+v, want a pay request of %d", p, amount)
	}
	return p
}

// sessionDriver runs a session of the default scenarios on a ledger's terminal.
type sessionDriver struct {
	*outbox
	l    *ledger
	term gateway.Terminal
	s    *gateway.Session
}

func (l *ledger) driver(t *testing.T, term gateway.Terminal) *sessionDriver {
	t.Helper()
	set, err := gateway.ParseScenarios(gateway.DefaultScenariosYAML())
	if err != nil {
		t.Fatal(err)
	}
	sessions := gateway.NewSessions(l.st, l.payments, func() gateway.ScenarioSet { return set }, linePrinter{}, l.clk.Now)
	o := &outbox{t: t}
	return &sessionDriver{outbox: o, l: l, term: term, s: sessions.New(term, o.send)}
}

// driverWith runs a session of the scenarios file yaml on a ledger's terminal.
func (l *ledger) driverWith(t *testing.T, term gateway.Terminal, yaml string) *sessionDriver {
	t.Helper()
	set, err := gateway.ParseScenarios([]byte(yaml))
	if err != nil {
		t.Fatal(err)
	}
	sessions := gateway.NewSessions(l.st, l.payments, func() gateway.ScenarioSet { return set }, linePrinter{}, l.clk.Now)
	o := &outbox{t: t}
	return &sessionDriver{outbox: o, l: l, term: term, s: sessions.New(term, o.send)}
}

func (d *sessionDriver) start(key string) {
	d.t.Helper()
	if err := d.s.Start(context.Background(), key); err != nil {
		d.t.Fatalf("start %s: %v", key, err)
	}
}

func (d *sessionDriver) answer(sc gateway.Screen, value string) {
	d.t.Helper()
	if err := d.s.Answer(context.Background(), sc.ScreenID, value); err != nil {
		d.t.Fatalf("answer %q to %s: %v", value, sc.Title, err)
	}
}

// table runs F2 to the ticket screen of table.
func (d *sessionDriver) table(table string) gateway.Screen {
	d.t.Helper()
	d.start("F2")
	d.answer(d.screen(gateway.ScreenInput), table)
	return d.screen(gateway.ScreenTicket)
}

// report records the terminal's result of pay and tells the session.
func (d *sessionDriver) report(pay gateway.PayRequest, st gateway.PaymentStatus) {
	d.t.Helper()
	ctx := context.Background()
	p, _, err := d.l.payments.Record(ctx, d.term.ID, gateway.Result{PaymentID: pay.PaymentID, Status: st,
		Amount: pay.Amount, Tip: pay.Tip, Currency: pay.Currency})
	if err != nil {
		d.t.Fatal(err)
	}
	if err := d.s.Paid(ctx, p); err != nil {
		d.t.Fatal(err)
	}
}

// printed returns the print jobs' lines at the head of what was sent, and
// the message after them.
func (d *sessionDriver) printed() ([]string, gateway.Message) {
	d.t.Helper()
	var lines []string
	ms := d.take()
	for i, m := range ms {
		if p, ok := m.(gateway.PrintJob); ok {
			lines = append(lines, p.Lines...)
			continue
		}
		if i != len(ms)-1 {
			d.t.Fatalf("sent %+v after %+v", ms[i+1:], m)
		}
		return lines, m
	}
	d.t.Fatalf("sent only print jobs: %+v", ms)
	return nil, nil
}

func TestSessionSplit(t *testing.T) {
	l := newLedger(t)
	tk := l.ticket(t, "1", 10000)
	d := l.driver(t, l.term)
	s := d.table("5")
	d.answer(s, "split")
	parts := d.screen(gateway.ScreenInput)
	for _, bad := range []string{"1", "0", "21", "x", "", "3.0"} {
		if err := d.s.Answer(context.Background(), parts.ScreenID, bad); !errors.Is(err, gateway.ErrBadAnswer) {
			t.Errorf("%q parts: %v, want a bad answer", bad, err)
		}
	}
	d.answer(parts, "3")
	d.report(d.pay(3334), gateway.PaymentApproved)
	lines, next := d.printed()
	if !slices.Equal(lines, []string{"BANK 33,34"}) {
		t.Errorf("printed %q after the first part", lines)
	}
	part2, ok := next.(gateway.Screen)
	if !ok || part2.Title != "PART 2/3" {
		t.Fatalf("sent %+v, want PART 2/3", next)
	}
	if err := d.s.Answer(context.Background(), part2.ScreenID, "maybe"); !errors.Is(err, gateway.ErrBadAnswer) {
		t.Errorf("maybe: %v", err)
	}
	d.answer(part2, "next")
	pay := d.pay(3333)
	d.report(pay, gateway.PaymentDeclined) // the second card is refused
	msg := d.screen(gateway.ScreenMessage)
	if msg.Title != "PAIEMENT REFUSÉ" {
		t.Fatalf("after a refusal: %+v", msg)
	}
	d.answer(msg, "")
	s = d.screen(gateway.ScreenTicket) // back to the ticket, what is left due
	if *s.Due != 6666 {
		t.Fatalf("due %d after one part of 3334", *s.Due)
	}
	d.answer(s, "split")
	d.answer(d.screen(gateway.ScreenInput), "2")
	d.report(d.pay(3333), gateway.PaymentApproved)
	_, next = d.printed()
	d.answer(next.(gateway.Screen), "stop") // the last part is paid another way
	m, ok := d.one().(gateway.Done)
	if !ok || m.Title != "PAIEMENT PARTIEL" || !slices.Equal(m.Lines, []string{"TICKET 1", "RESTE DÛ 33,33"}) {
		t.Fatalf("after stop: %+v", m)
	}
	if !d.s.Idle() {
		t.Error("session not idle after done")
	}
	l.check(t, tk.ID, gateway.TicketPartiallyPaid, 6667, 3333)
}

// A split in more parts than there are cents due would ask a card for
// nothing: it is refused.
func TestSessionSplitMorePartsThanCents(t *testing.T) {
	l := newLedger(t)
	tk := l.ticket(t, "1", 3)
	d := l.driver(t, l.term)
	d.answer(d.table("5"), "split")
	parts := d.screen(gateway.ScreenInput)
	if err := d.s.Answer(context.Background(), parts.ScreenID, "4"); !errors.Is(err, gateway.ErrBadAnswer) {
		t.Fatalf("4 parts of 3 cents: %v, want a bad answer", err)
	}
	d.answer(parts, "3")
	for i := range 3 {
		d.report(d.pay(1), gateway.PaymentApproved)
		_, next := d.printed()
		if i < 2 {
			d.answer(next.(gateway.Screen), "next")
		}
	}
	l.check(t, tk.ID, gateway.TicketPaid, 3, 0)
}

func TestSessionAnswers(t *testing.T) {
	ctx := context.Background()
	l := newLedger(t)
	l.ticket(t, "1", 5000)
	d := l.driver(t, l.term)
	d.start("F2")
	in := d.screen(gateway.ScreenInput)
	for _, bad := range []string{"", "12345", "5a", " 5", "٥"} {
		if err := d.s.Answer(ctx, in.ScreenID, bad); !errors.Is(err, gateway.ErrBadAnswer) {
			t.Errorf("table %q: %v, want a bad answer", bad, err)
		}
	}
	if err := d.s.Answer(ctx, "s999", "5"); !errors.Is(err, gateway.ErrNoScreen) {
		t.Errorf("answer to another screen: %v", err)
	}
	if err := d.s.Cancel(ctx, "s999"); !errors.Is(err, gateway.ErrNoScreen) {
		t.Errorf("cancel of another screen: %v", err)
	}
	if len(d.take()) != 0 {
		t.Error("a refused answer sent something")
	}
	d.answer(in, "5")
	s := d.screen(gateway.ScreenTicket)
	for _, bad := range []string{"tip", "nope", ""} { // F2 offers no tip
		if err := d.s.Answer(ctx, s.ScreenID, bad); !errors.Is(err, gateway.ErrBadAnswer) {
			t.Errorf("choice %q: %v", bad, err)
		}
	}
	d.answer(s, "amount")
	amount := d.screen(gateway.ScreenInput)
	for _, bad := range []string{"0", "5001", "-5", "1.5", "", "12,00"} {
		if err := d.s.Answer(ctx, amount.ScreenID, bad); !errors.Is(err, gateway.ErrBadAnswer) {
			t.Errorf("amount %q: %v, want a bad answer", bad, err)
		}
	}
	d.answer(amount, "1200")
	pay := d.pay(1200)
	if err := d.s.Answer(ctx, amount.ScreenID, "1"); !errors.Is(err, gateway.ErrNoScreen) {
		t.Errorf("answer during the payment: %v", err)
	}
	if err := d.s.Cancel(ctx, amount.ScreenID); !errors.Is(err, gateway.ErrNoScreen) {
		t.Errorf("cancel during the payment: %v", err)
	}
	var cerr *gateway.ConflictError
	if err := d.s.Start(ctx, "F1"); !errors.As(err, &cerr) {
		t.Errorf("start during the payment: %v, want a conflict", err)
	}
	// A result of some other payment does not end this one.
	if err := d.s.Paid(ctx, gateway.Payment{ID: "pay_OTHER", Status: gateway.PaymentApproved}); err != nil || len(d.take()) != 0 {
		t.Errorf("Paid(other) = %v and sent something", err)
	}
	d.report(pay, gateway.PaymentApproved)
	if _, end := d.printed(); end.MessageType() != "done" {
		t.Errorf("ended with %+v", end)
	}
	var verr *gateway.ValidationError
	if err := d.s.Start(ctx, "F9"); !errors.As(err, &verr) {
		t.Errorf("start F9: %v, want a validation error", err)
	}
}

// F1 with a tip: the card pays what is due plus the tip.
func TestSessionTip(t *testing.T) {
	l := newLedger(t)
	tk := l.ticket(t, "1", 5000)
	d := l.driver(t, l.term)
	d.start("F1")
	menu := d.screen(gateway.ScreenMenu)
	d.answer(menu, tk.ID)
	d.answer(d.screen(gateway.ScreenTicket), "tip")
	d.answer(d.screen(gateway.ScreenInput), "500")
	pay := d.pay(5000)
	if pay.Tip != 500 {
		t.Fatalf("pay %+v, want a tip of 500", pay)
	}
	d.report(pay, gateway.PaymentApproved)
	got := l.check(t, tk.ID, gateway.TicketPaid, 5000, 0)
	if got.Payments[0].Tip != 500 {
		t.Errorf("payment %+v", got.Payments[0])
	}
}

// A second terminal on a ticket being paid is told where, and its
// scenario ends.
func TestSessionBusyTicket(t *testing.T) {
	l := newLedger(t)
	l.ticket(t, "1", 5000)
	a, b := l.driver(t, l.term), l.driver(t, l.pairTerminal(t, "B2"))
	sa, sb := a.table("5"), b.table("5")
	a.answer(sa, "full")
	a.pay(5000)
	b.answer(sb, "full")
	m, ok := b.one().(gateway.Done)
	if !ok || m.Title != "Ticket en cours de paiement sur "+l.term.Name {
		t.Fatalf("second terminal: %+v", m)
	}
	if !b.s.Idle() {
		t.Fatal("the busy message does not end the scenario")
	}
}

// Ticket screens follow the ticket: a change the waiter would see shows a
// new screen, while a change he would not see (a payment started or
// refused on another terminal) keeps the screen, so his answer still
// counts.
func TestSessionTicketChanged(t *testing.T) {
	ctx := context.Background()
	l := newLedger(t)
	tk := l.ticket(t, "1", 5000)
	d := l.driver(t, l.term)
	s := d.table("5")

	other := l.pairTerminal(t, "B2")
	p, _, err := l.payments.Start(ctx, other, tk.ID, 2000, 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := d.s.TicketChanged(ctx, tk.ID); err != nil || len(d.take()) != 0 {
		t.Fatalf("a payment started elsewhere: %v, and the screen changed", err)
	}
	if _, _, err := l.payments.Record(ctx, other.ID, resultOf(p, gateway.PaymentDeclined)); err != nil {
		t.Fatal(err)
	}
	if err := d.s.TicketChanged(ctx, tk.ID); err != nil || len(d.take()) != 0 {
		t.Fatalf("a payment declined elsewhere: %v, and the screen changed", err)
	}
	if err := d.s.TicketChanged(ctx, "tkt_OTHER"); err != nil || len(d.take()) != 0 {
		t.Fatalf("another ticket changed: %v, and the screen changed", err)
	}

	p, _, err = l.payments.Start(ctx, other, tk.ID, 2000, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := l.payments.Record(ctx, other.ID, resultOf(p, gateway.PaymentApproved)); err != nil {
		t.Fatal(err)
	}
	if err := d.s.TicketChanged(ctx, tk.ID); err != nil {
		t.Fatal(err)
	}
	s2 := d.screen(gateway.ScreenTicket)
	if *s2.Due != 3000 || s2.ScreenID == s.ScreenID || s2.Choices[0].Label != "Payer 30,00" {
		t.Fatalf("after a payment elsewhere: %+v", s2)
	}
	if err := d.s.Answer(ctx, s.ScreenID, "full"); !errors.Is(err, gateway.ErrNoScreen) {
		t.Fatalf("answer to the old screen: %v, want no screen", err)
	}

	// nil is any ticket: what a terminal's driver passes when it lost
	// track of which changed.
	p, _, err = l.payments.Start(ctx, other, tk.ID, 500, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := l.payments.Record(ctx, other.ID, resultOf(p, gateway.PaymentApproved)); err != nil {
		t.Fatal(err)
	}
	if err := d.s.TicketsChanged(ctx, nil); err != nil {
		t.Fatal(err)
	}
	s3 := d.screen(gateway.ScreenTicket)
	if *s3.Due != 2500 {
		t.Fatalf("after a change to some ticket: %+v", s3)
	}
	d.answer(s3, "full")
	d.pay(2500)
}

// A menu of tickets follows the open tickets; several open tickets on one
// table are offered as a menu.
func TestSessionMenus(t *testing.T) {
	ctx := context.Background()
	l := newLedger(t)
	one := l.ticket(t, "1", 5000)
	d := l.driver(t, l.term)
	d.start("F1")
	menu := d.screen(gateway.ScreenMenu)
	two := l.ticket(t, "2", 1500)
	if err := d.s.TicketChanged(ctx, two.ID); err != nil {
		t.Fatal(err)
	}
	again := d.screen(gateway.ScreenMenu)
	if again.ScreenID != menu.ScreenID || len(again.Items) != 2 || again.Items[1] != (gateway.MenuItem{ID: two.ID, Label: "TICKET 2 - T5 - 15,00"}) {
		t.Fatalf("menu after a new ticket: %+v", again)
	}
	if err := d.s.Answer(ctx, menu.ScreenID, "tkt_NONE"); !errors.Is(err, gateway.ErrBadAnswer) {
		t.Errorf("pick of no ticket: %v", err)
	}
	if err := d.s.Cancel(ctx, menu.ScreenID); err != nil || !d.s.Idle() {
		t.Fatalf("cancel: %v", err)
	}

	// Both tickets are at table 5.
	d.start("F2")
	d.answer(d.screen(gateway.ScreenInput), "5")
	tables := d.screen(gateway.ScreenMenu)
	if tables.Title != "Table 5" || len(tables.Items) != 2 {
		t.Fatalf("two tickets at table 5: %+v", tables)
	}
	// One gets paid in the meantime.
	p, _, err := l.payments.Start(ctx, l.pairTerminal(t, "B2"), one.ID, 5000, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := l.payments.Record(ctx, p.DeviceID, resultOf(p, gateway.PaymentApproved)); err != nil {
		t.Fatal(err)
	}
	d.answer(tables, one.ID)
	if m, ok := d.one().(gateway.Done); !ok || m.Title != "Ticket réglé" {
		t.Fatalf("a ticket paid meanwhile: %+v", m)
	}
}

// A full menu is built once per change and shared; a new ticket past its
// end changes nothing shown, and the next change that does brings it in.
func TestSessionFullMenu(t *testing.T) {
	ctx := context.Background()
	l := newLedger(t)
	var first gateway.Ticket
	for i := range gateway.MaxMenuTickets {
		tk := l.ticket(t, strconv.Itoa(100+i), 1000)
		if i == 0 {
			first = tk
		}
	}
	set, err := gateway.ParseScenarios(gateway.DefaultScenariosYAML())
	if err != nil {
		t.Fatal(err)
	}
	reads := &countingStore{Store: l.st}
	sessions := gateway.NewSessions(reads, l.payments, func() gateway.ScenarioSet { return set }, linePrinter{}, l.clk.Now)
	var told int64
	changed := func(id string) { // as the hub tells the engine, of id's events since the last call
		t.Helper()
		evs, err := l.st.EventsAfter(ctx, gateway.EventQuery{After: told, Limit: 1 << 20})
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range evs {
			if e.TicketID == id {
				sessions.Changed(e)
			}
			told = e.Seq
		}
	}
	changed(first.ID)
	var outs [2]*outbox
	var ss [2]*gateway.Session
	for i := range ss {
		outs[i] = &outbox{t: t}
		ss[i] = sessions.New(l.term, outs[i].send)
		if err := ss[i].Start(ctx, "F1"); err != nil {
			t.Fatal(err)
		}
		if m := outs[i].screen(gateway.ScreenMenu); len(m.Items) != gateway.MaxMenuTickets {
			t.Fatalf("a full menu of %d items", len(m.Items))
		}
	}

	if n := reads.lists.Load(); n != 1 {
		t.Fatalf("two sessions read the list %d times, want once", n)
	}

	late := l.ticket(t, "999", 2500)
	changed(late.ID)
	for i, s := range ss {
		if err := s.TicketChanged(ctx, late.ID); err != nil || len(outs[i].take()) != 0 {
			t.Fatalf("a ticket past the end of a full menu: %v, and the screen changed", err)
		}
	}
	if n := reads.lists.Load(); n != 1 {
		t.Fatalf("a ticket past the end of a full menu had the list read again (%d reads)", n)
	}

	p := l.start(t, first, 1000)
	if _, _, err := l.payments.Record(ctx, l.term.ID, resultOf(p, gateway.PaymentApproved)); err != nil {
		t.Fatal(err)
	}
	changed(first.ID)
	for i, s := range ss {
		if err := s.TicketChanged(ctx, first.ID); err != nil {
			t.Fatal(err)
		}
		m := outs[i].screen(gateway.ScreenMenu)
		last := m.Items[len(m.Items)-1]
		if len(m.Items) != gateway.MaxMenuTickets || m.Items[0].ID == first.ID || last.ID != late.ID {
			t.Fatalf("after the first ticket is paid, the menu runs %v … %v", m.Items[0], last)
		}
	}
	if n := reads.lists.Load(); n != 2 {
		t.Fatalf("a change on the menu: %d reads in all, want 2", n)
	}
}

// countingStore is the real store, counting the lists read from it.
type countingStore struct {
	gateway.Store
	lists atomic.Int64
}

func (c *countingStore) Tickets(ctx context.Context, q gateway.TicketQuery) ([]gateway.Ticket, error) {
	c.lists.Add(1)
	return c.Store.Tickets(ctx, q)
}

// amountScenarios type the amount in an input step: after the ticket is
// found (F3), or before it (F4).
const amountScenarios = `
keys:
  F3: after
  F4: before
scenarios:
  after:
    steps:
      - {step: input, title: TABLE, input: numeric, var: table}
      - {step: lookup, by: table}
      - {step: input, title: MONTANT, input: numeric, var: amount}
      - {step: pay}
      - {step: done, title: FIN}
  before:
    steps:
      - {step: input, title: MONTANT, input: numeric, var: amount}
      - {step: input, title: TABLE, input: numeric, var: table}
      - {step: lookup, by: table}
      - {step: pay}
      - {step: done, title: FIN}
`

// An amount of 0, or above what is due, is refused on the input screen,
// which stays; it never means "pay what is due".
func TestSessionInputAmountZero(t *testing.T) {
	ctx := context.Background()
	l := newLedger(t)
	tk := l.ticket(t, "1", 5000)
	d := l.driverWith(t, l.term, amountScenarios)
	d.start("F3")
	d.answer(d.screen(gateway.ScreenInput), "5")
	amount := d.screen(gateway.ScreenInput)
	for _, bad := range []string{"0", "000", "5001", "999999999"} {
		if err := d.s.Answer(ctx, amount.ScreenID, bad); !errors.Is(err, gateway.ErrBadAnswer) {
			t.Errorf("amount %q: %v, want a bad answer", bad, err)
		}
		if ms := d.take(); len(ms) != 0 {
			t.Fatalf("amount %q sent %+v", bad, ms)
		}
	}
	d.answer(amount, "1200")
	d.report(d.pay(1200), gateway.PaymentApproved)
	if done, ok := d.one().(gateway.Done); !ok || done.Title != "FIN" {
		t.Fatalf("after the payment: %+v", done)
	}
	l.check(t, tk.ID, gateway.TicketPartiallyPaid, 1200, 3800)
}

// An amount typed before the ticket is known, and found above its due at
// the pay step, is asked again: the scenario says what is due and goes
// back to the amount's step.
func TestSessionInputAmountAboveDue(t *testing.T) {
	ctx := context.Background()
	l := newLedger(t)
	tk := l.ticket(t, "1", 5000)
	d := l.driverWith(t, l.term, amountScenarios)
	d.start("F4")
	amount := d.screen(gateway.ScreenInput)
	if err := d.s.Answer(ctx, amount.ScreenID, "0"); !errors.Is(err, gateway.ErrBadAnswer) {
		t.Errorf("amount 0: %v, want a bad answer", err)
	}
	d.answer(amount, "6000")
	d.answer(d.screen(gateway.ScreenInput), "5")
	m := d.screen(gateway.ScreenMessage)
	if m.Title != "MONTANT TROP ÉLEVÉ" || !slices.Equal(m.Lines, []string{"RESTE DÛ 50,00"}) {
		t.Fatalf("an amount above the due: %+v", m)
	}
	d.answer(m, "")
	again := d.screen(gateway.ScreenInput)
	if again.Title != "MONTANT" {
		t.Fatalf("after the message: %+v, want the amount asked again", again)
	}
	d.answer(again, "2000")
	d.answer(d.screen(gateway.ScreenInput), "5")
	d.report(d.pay(2000), gateway.PaymentApproved)
	l.check(t, tk.ID, gateway.TicketPartiallyPaid, 2000, 3000)
}

// An amount chosen on the ticket screen that another terminal's payment
// makes too high is not sent to the card: the ticket screen shows again,
// with what is now due.
func TestSessionChosenAmountAboveDue(t *testing.T) {
	ctx := context.Background()
	l := newLedger(t)
	tk := l.ticket(t, "1", 5000)
	d := l.driverWith(t, l.term, `
keys: {F5: choose}
scenarios:
  choose:
    steps:
      - {step: input, title: TABLE, input: numeric, var: table}
      - {step: lookup, by: table}
      - {step: show_ticket, choices: [full, amount]}
      - {step: message, title: VERIFIEZ}
      - {step: pay}
      - {step: done, title: FIN}
`)
	d.start("F5")
	d.answer(d.screen(gateway.ScreenInput), "5")
	d.answer(d.screen(gateway.ScreenTicket), "full")
	check := d.screen(gateway.ScreenMessage)
	p, _, err := l.payments.Start(ctx, l.pairTerminal(t, "B2"), tk.ID, 1000, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := l.payments.Record(ctx, p.DeviceID, resultOf(p, gateway.PaymentApproved)); err != nil {
		t.Fatal(err)
	}
	d.answer(check, "")
	m := d.screen(gateway.ScreenMessage)
	if m.Title != "MONTANT TROP ÉLEVÉ" || !slices.Equal(m.Lines, []string{"RESTE DÛ 40,00"}) {
		t.Fatalf("full of 50,00 with 40,00 left: %+v", m)
	}
	d.answer(m, "")
	s := d.screen(gateway.ScreenTicket)
	if *s.Due != 4000 {
		t.Fatalf("ticket screen again: %+v", s)
	}
	d.answer(s, "full")
	d.answer(d.screen(gateway.ScreenMessage), "")
	d.report(d.pay(4000), gateway.PaymentApproved)
	l.check(t, tk.ID, gateway.TicketPaid, 5000, 0)
}

// splitNoPrint splits with no print step after pay.
const splitNoPrint = `
keys: {F6: split}
scenarios:
  split:
    steps:
      - {step: input, title: TABLE, input: numeric, var: table}
      - {step: lookup, by: table}
      - {step: show_ticket, choices: [split]}
      - {step: pay}
      - {step: done, title: PAIEMENT ACCEPTÉ}
`

// A split's parts follow pay whatever the steps after it; stopped early it
// ends on a screen that says what is still due.
func TestSessionSplitWithoutPrint(t *testing.T) {
	l := newLedger(t)
	tk := l.ticket(t, "1", 10000)
	d := l.driverWith(t, l.term, splitNoPrint)
	d.start("F6")
	d.answer(d.screen(gateway.ScreenInput), "5")
	d.answer(d.screen(gateway.ScreenTicket), "split")
	d.answer(d.screen(gateway.ScreenInput), "3")
	d.report(d.pay(3334), gateway.PaymentApproved)
	part2 := d.screen(gateway.ScreenTicket)
	if part2.Title != "PART 2/3" {
		t.Fatalf("after the first part: %+v, want PART 2/3", part2)
	}
	d.answer(part2, "next")
	d.report(d.pay(3333), gateway.PaymentApproved)
	part3 := d.screen(gateway.ScreenTicket)
	if part3.Title != "PART 3/3" {
		t.Fatalf("after the second part: %+v, want PART 3/3", part3)
	}
	d.answer(part3, "stop")
	m, ok := d.one().(gateway.Done)
	if !ok || m.Title != "PAIEMENT PARTIEL" || !slices.Equal(m.Lines, []string{"TICKET 1", "RESTE DÛ 33,33"}) {
		t.Fatalf("stopped with 33,33 due: %+v", m)
	}
	if !d.s.Idle() {
		t.Error("session not idle after done")
	}
	l.check(t, tk.ID, gateway.TicketPartiallyPaid, 6667, 3333)
}

// A waiter's pick_ticket lists his tickets even when more than a menu's
// worth of older open tickets are other servers'.
func TestSessionPickTicketServer(t *testing.T) {
	ctx := context.Background()
	l := newLedger(t)
	submit := func(ref, server string) gateway.Ticket {
		t.Helper()
		tk, _, err := l.tickets.Submit(ctx, l.till, gateway.TicketInput{Ref: ref, Server: server,
			Lines: []gateway.Line{{Label: "MENU", Qty: 1, UnitPrice: 1000, VATRate: 1000}}, Total: 1000})
		if err != nil {
			t.Fatalf("submit: %v", err)
		}
		return tk
	}
	for i := range gateway.MaxMenuTickets {
		submit(strconv.Itoa(100+i), "Marc")
	}
	mine := submit("999", "Julie")
	d := l.driverWith(t, l.term, `
keys: {F7: julie}
scenarios:
  julie:
    steps:
      - {step: pick_ticket, title: MES TICKETS, server: Julie}
      - {step: done, title: FIN}
`)
	d.start("F7")
	menu := d.screen(gateway.ScreenMenu)
	if want := []gateway.MenuItem{{ID: mine.ID, Label: "TICKET 999 - 10,00"}}; !slices.Equal(menu.Items, want) {
		t.Fatalf("Julie's menu: %+v, want %+v", menu.Items, want)
	}
}
