package gateway_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/passerelle/passerelle/gateway"
)

// The ledger under random use: tickets posted, changed and cancelled,
// payments started on three terminals, results approved, declined, late,
// copied, in the wrong currency, payments lost and resolved, the deadline
// sweep run with the clocks moved (and the wall clock stepped by hours),
// the process restarted. After every step, for every ticket: paid is the
// sum of its approved payments, due is max(0, total - paid) when live and 0
// when cancelled, its status follows, a cancelled ticket stays cancelled,
// at most one payment is in progress, and an approval once recorded is never
// lost.
func TestLedgerProperties(t *testing.T) {
	for _, seed := range []uint64{3, 7} {
		t.Run(fmt.Sprint("seed ", seed), func(t *testing.T) {
			t.Parallel() // each on its own store: the time is mostly fsync waits
			runLedger(t, seed, 150)
		})
	}
}

type ledgerRun struct {
	*ledger
	t     *testing.T
	rng   *rand.Rand
	terms []gateway.Terminal
	refs  int
	// What the run has seen, to check that nothing is undone.
	cancelled map[string]bool // ticket IDs
	approved  map[string]bool // payment IDs a terminal's approval was recorded for
	mono      time.Duration   // the restarted process's monotonic clock
	passed    time.Duration   // time really passed since the run began
	startedAt map[string]time.Duration
}

func runLedger(t *testing.T, seed uint64, steps int) {
	l := newLedger(t)
	r := &ledgerRun{ledger: l, t: t, rng: rand.New(rand.NewPCG(seed, seed^0x5eed)),
		terms:     []gateway.Terminal{l.term, l.pairTerminal(t, "B2"), l.pairTerminal(t, "C3")},
		cancelled: map[string]bool{}, approved: map[string]bool{}, startedAt: map[string]time.Duration{}}
	actions := []struct {
		weight int
		name   string
		do     func() string
	}{
		{3, "post", r.post},
		{2, "update", r.update},
		{1, "cancel", r.cancel},
		{6, "start", r.start},
		{6, "result", r.result},
		{1, "not_found", r.notFound},
		{2, "resolve", r.resolve},
		{4, "expire", r.expire},
		{1, "restart", r.restart},
	}
	total := 0
	for _, a := range actions {
		total += a.weight
	}
	r.post()
	for step := range steps {
		n := r.rng.IntN(total)
		for _, a := range actions {
			if n -= a.weight; n < 0 {
				what := a.do()
				r.checkAll(fmt.Sprintf("seed %d step %d %s %s", seed, step, a.name, what))
				break
			}
		}
		if t.Failed() {
			return
		}
	}
}

func (r *ledgerRun) tickets() []gateway.Ticket {
	r.t.Helper()
	ts, err := r.st.Tickets(context.Background(), gateway.TicketQuery{Limit: 10000, Brief: true})
	if err != nil {
		r.t.Fatal(err)
	}
	return ts
}

func (r *ledgerRun) payments() []gateway.Payment {
	r.t.Helper()
	from, to := time.Date(1900, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(3000, 1, 1, 0, 0, 0, 0, time.UTC)
	ps, err := r.st.PaymentsBetween(context.Background(), from, to)
	if err != nil {
		r.t.Fatal(err)
	}
	return ps
}

func pick[T any](rng *rand.Rand, xs []T) (T, bool) {
	var zero T
	if len(xs) == 0 {
		return zero, false
	}
	return xs[rng.IntN(len(xs))], true
}

func (r *ledgerRun) input(ref string, total int64) gateway.TicketInput {
	return gateway.TicketInput{Ref: ref, Table: fmt.Sprint(r.rng.IntN(20) + 1),
		Lines: []gateway.Line{{Label: "MENU", Qty: 1, UnitPrice: total, VATRate: 1000}}, Total: total}
}

func (r *ledgerRun) post() string {
	r.refs++
	total := 100 + r.rng.Int64N(20000)
	tk, _, err := r.ledger.tickets.Submit(context.Background(), r.till, r.input(fmt.Sprint(r.refs), total))
	if err != nil {
		r.t.Fatalf("post: %v", err)
	}
	return tk.Ref
}

func (r *ledgerRun) update() string {
	tk, ok := pick(r.rng, r.tickets())
	if !ok {
		return ""
	}
	total := max(1, tk.Total+r.rng.Int64N(4001)-2000)
	_, _, err := r.ledger.tickets.Submit(context.Background(), r.till, r.input(tk.Ref, total))
	return fmt.Sprintf("%s to %d: %v", tk.Ref, total, err)
}

func (r *ledgerRun) cancel() string {
	tk, ok := pick(r.rng, r.tickets())
	if !ok {
		return ""
	}
	got, err := r.ledger.tickets.Cancel(context.Background(), r.till, tk.ID)
	if err == nil {
		if got.Status != gateway.TicketCancelled {
			r.t.Errorf("cancel of %s succeeded, the ticket is %s", tk.Ref, got.Status)
		}
		r.cancelled[tk.ID] = true
	}
	return fmt.Sprintf("%s: %v", tk.Ref, err)
}

func (r *ledgerRun) start() string {
	tk, ok := pick(r.rng, r.tickets())
	if !ok {
		return ""
	}
	term, _ := pick(r.rng, r.terms)
	amount := tk.Due
	if tk.Due > 1 && r.rng.IntN(2) == 0 {
		amount = 1 + r.rng.Int64N(tk.Due) // a split part
	}
	if r.rng.IntN(10) == 0 {
		amount = tk.Due + 1 + r.rng.Int64N(100) // more than is due: refused
	}
	p, _, err := r.ledger.payments.Start(context.Background(), term, tk.ID, amount, r.rng.Int64N(300))
	if err == nil && (tk.Status == gateway.TicketCancelled || amount > tk.Due) {
		r.t.Errorf("a payment of %d started on %s %s due %d", amount, tk.Ref, tk.Status, tk.Due)
	}
	if err == nil {
		r.startedAt[p.ID] = r.passed
	}
	return fmt.Sprintf("%s %d on %s: %s %v", tk.Ref, amount, term.Name, p.ID, err)
}

func (r *ledgerRun) terminalOf(p gateway.Payment) gateway.Terminal {
	for _, term := range r.terms {
		if term.ID == p.DeviceID {
			return term
		}
	}
	r.t.Fatalf("payment %s of no terminal", p.ID)
	return gateway.Terminal{}
}

// result is a terminal's payment_result for any payment: on time, late, a
// copy, after a resolution, sometimes for another amount or in another
// currency.
func (r *ledgerRun) result() string {
	p, ok := pick(r.rng, r.payments())
	if !ok {
		return ""
	}
	st, _ := pick(r.rng, []gateway.PaymentStatus{gateway.PaymentApproved, gateway.PaymentApproved,
		gateway.PaymentDeclined, gateway.PaymentCancelled, gateway.PaymentError})
	res := resultOf(p, st)
	res.Amount = p.Requested
	if r.rng.IntN(8) == 0 {
		res.Amount = 1 + r.rng.Int64N(p.Requested) // the card paid less
	}
	if st != gateway.PaymentApproved {
		res.Amount = 0
	}
	wrong := false
	switch r.rng.IntN(10) {
	case 0:
		res.Currency = ""
	case 1:
		res.Currency, wrong = "USD", true
	}
	got, changed, err := r.ledger.payments.Record(context.Background(), r.terminalOf(p).ID, res)
	var verr *gateway.ValidationError
	switch {
	case wrong && (!errors.As(err, &verr) || changed):
		r.t.Errorf("a result in USD for %s: changed %v, %v", p.ID, changed, err)
	case !wrong && err != nil:
		r.t.Errorf("result %s for %s: %v", st, p.ID, err)
	case err == nil && st == gateway.PaymentApproved && got.Status != gateway.PaymentApproved:
		r.t.Errorf("an approval of %s (%s) left it %s", p.ID, p.Status, got.Status)
	case err == nil && st == gateway.PaymentApproved:
		r.approved[p.ID] = true
	}
	return fmt.Sprintf("%s %s (was %s): changed %v %v", p.ID, st, p.Status, changed, err)
}

func (r *ledgerRun) inProgress() []gateway.Payment {
	var out []gateway.Payment
	for _, p := range r.payments() {
		if p.InProgress() {
			out = append(out, p)
		}
	}
	return out
}

func (r *ledgerRun) notFound() string {
	p, ok := pick(r.rng, r.inProgress())
	if !ok {
		return ""
	}
	_, err := r.ledger.payments.NotFound(context.Background(), r.terminalOf(p).ID, p.ID)
	if err != nil {
		r.t.Errorf("not_found of %s: %v", p.ID, err)
	}
	return fmt.Sprintf("%s: %v", p.ID, err)
}

// resolve is the manager deciding any payment: only an unknown one may be.
func (r *ledgerRun) resolve() string {
	ps := r.payments()
	var unknown []gateway.Payment
	for _, p := range ps {
		if p.Status == gateway.PaymentUnknown {
			unknown = append(unknown, p)
		}
	}
	p, ok := pick(r.rng, unknown)
	if !ok || r.rng.IntN(4) == 0 {
		if p, ok = pick(r.rng, ps); !ok {
			return ""
		}
	}
	st, _ := pick(r.rng, []gateway.PaymentStatus{gateway.PaymentApproved, gateway.PaymentDeclined})
	_, err := r.ledger.payments.Resolve(context.Background(), p.ID, st)
	var cerr *gateway.ConflictError
	switch {
	case p.Status == gateway.PaymentUnknown && err != nil:
		r.t.Errorf("resolve of unknown %s: %v", p.ID, err)
	case p.Status != gateway.PaymentUnknown && !errors.As(err, &cerr):
		r.t.Errorf("resolve of %s %s: %v, want a conflict", p.Status, p.ID, err)
	}
	return fmt.Sprintf("%s (%s) %s: %v", p.ID, p.Status, st, err)
}

// expire runs the deadline sweep after time passed, the wall clock
// sometimes stepped by hours, with some terminals gone.
func (r *ledgerRun) expire() string {
	d := time.Duration(r.rng.Int64N(int64(ledgerDeadline / 2)))
	if r.rng.IntN(3) == 0 {
		d += ledgerDeadline
	}
	r.clk.Advance(d)
	r.mono += d
	r.passed += d
	if r.rng.IntN(2) == 0 {
		r.clk.Jump(time.Duration(r.rng.IntN(49)-24) * time.Hour)
	}
	gone := map[string]bool{}
	for _, term := range r.terms {
		gone[term.ID] = r.rng.IntN(2) == 0
	}
	before := map[string]gateway.Payment{}
	for _, p := range r.inProgress() {
		before[p.ID] = p
	}
	n, err := r.ledger.payments.Expire(context.Background(), func(p gateway.Payment) bool { return !gone[p.DeviceID] })
	if err != nil {
		r.t.Fatalf("expire: %v", err)
	}
	for _, p := range r.inProgress() {
		if p.Status != gateway.PaymentUnknown || before[p.ID].Status != gateway.PaymentPending {
			continue
		}
		if !gone[p.DeviceID] {
			r.t.Errorf("payment %s became unknown on a terminal still running it", p.ID)
		}
		if age := r.passed - r.startedAt[p.ID]; age < ledgerDeadline {
			r.t.Errorf("payment %s became unknown %v after its start, before its deadline", p.ID, age)
		}
	}
	return fmt.Sprintf("after %v: %d", d, n)
}

// restart is a new process on the same store: its own monotonic clock.
func (r *ledgerRun) restart() string {
	r.ledger.payments = gateway.NewPayments(r.st, r.clk.Now, ledgerDeadline)
	r.mono += 1000 * time.Hour // its zero is anywhere
	r.ledger.payments.SetMonotonic(func() time.Duration { return r.mono })
	return ""
}

// checkAll checks every ticket against its payments.
func (r *ledgerRun) checkAll(step string) {
	r.t.Helper()
	byTicket := map[string][]gateway.Payment{}
	for _, p := range r.payments() {
		byTicket[p.TicketID] = append(byTicket[p.TicketID], p)
		if r.approved[p.ID] && p.Status != gateway.PaymentApproved {
			r.t.Errorf("%s: payment %s was approved by its terminal, now %s", step, p.ID, p.Status)
		}
	}
	for _, tk := range r.tickets() {
		var paid int64
		inProgress := 0
		for _, p := range byTicket[tk.ID] {
			if p.Status == gateway.PaymentApproved {
				paid += p.Amount
			}
			if p.InProgress() {
				inProgress++
			}
		}
		due := max(0, tk.Total-paid)
		want := gateway.TicketOpen
		switch {
		case r.cancelled[tk.ID]:
			want, due = gateway.TicketCancelled, 0
		case paid == 0:
		case paid < tk.Total:
			want = gateway.TicketPartiallyPaid
		case paid == tk.Total:
			want = gateway.TicketPaid
		default:
			want = gateway.TicketOverpaid
		}
		if tk.Paid != paid || tk.Due != due || tk.Status != want {
			r.t.Errorf("%s: ticket %s total %d: %s paid %d due %d, want %s paid %d due %d",
				step, tk.Ref, tk.Total, tk.Status, tk.Paid, tk.Due, want, paid, due)
		}
		if inProgress > 1 {
			r.t.Errorf("%s: ticket %s has %d payments in progress", step, tk.Ref, inProgress)
		}
	}
}
