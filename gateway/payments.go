package gateway

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"
)

// DefaultPaymentDeadline is how long a payment may stay pending with its
// terminal gone before it becomes unknown.
const DefaultPaymentDeadline = 5 * time.Minute

// Payments is the ledger: it starts payments on tickets, records their
// results exactly once, and keeps every ticket's paid and due right.
type Payments struct {
	store    Store
	now      func() time.Time
	deadline time.Duration

	// mono reads this process's monotonic clock: a pending payment's
	// deadline counts time really elapsed, which a step of the wall clock
	// does not change.
	mono func() time.Duration
	mu   sync.Mutex
	// origin is, per pending payment this process has seen, the mono
	// reading at which the payment's elapsed time would have been 0.
	origin map[string]time.Duration
}

// NewPayments returns the ledger. deadline is DefaultPaymentDeadline if 0.
func NewPayments(store Store, now func() time.Time, deadline time.Duration) *Payments {
	if deadline == 0 {
		deadline = DefaultPaymentDeadline
	}
	start := time.Now()
	return &Payments{store: store, now: now, deadline: deadline,
		mono: func() time.Duration { return time.Since(start) }, origin: map[string]time.Duration{}}
}

// SetMonotonic replaces the monotonic clock that pending payments' deadlines
// count on: elapsed returns the time since any fixed point, never going
// back. Tests move it; call it before the ledger is used.
func (s *Payments) SetMonotonic(elapsed func() time.Duration) { s.mono = elapsed }

// BusyError says that another payment of the ticket is in progress, and on
// which terminal, so the second terminal can say so.
type BusyError struct {
	Terminal string
}

func (e *BusyError) Error() string { return "a payment is in progress on " + e.Terminal }

// Start reserves amount (plus tip) on the ticket for terminal t and returns
// the pending payment. A ticket never has two payments in progress: the
// check and the insert are in one write transaction, and the store has one
// writer, so two terminals racing cannot both win.
func (s *Payments) Start(ctx context.Context, t Terminal, ticketID string, amount, tip int64) (Payment, Ticket, error) {
	var p Payment
	var tk Ticket
	err := s.store.Update(ctx, func(tx Tx) error {
		var err error
		tk, err = tx.TicketByID(ctx, ticketID)
		if err != nil {
			return err
		}
		for _, other := range tk.Payments {
			if other.InProgress() {
				return &BusyError{Terminal: other.Terminal}
			}
		}
		switch {
		case tk.Status == TicketCancelled:
			return Conflict("ticket %s is cancelled", tk.Ref)
		case tk.Due <= 0:
			return Conflict("ticket %s is paid", tk.Ref)
		case amount < 1 || amount > tk.Due:
			return &ValidationError{Fields: []FieldError{{Field: "amount", Message: fmt.Sprintf("must be between 1 and %d (the amount due)", tk.Due)}}}
		case tip < 0 || tip > MaxTotal:
			return &ValidationError{Fields: []FieldError{{Field: "tip", Message: "must be between 0 and " + fmt.Sprint(MaxTotal)}}}
		}
		now := s.now().UTC()
		p = Payment{ID: NewID("pay", now), TicketID: tk.ID, DeviceID: t.ID, Terminal: t.Name,
			Requested: amount, Amount: amount, Tip: tip, Currency: tk.Currency, Status: PaymentPending,
			CreatedAt: now, Deadline: now.Add(s.deadline)}
		if err := tx.InsertPayment(ctx, &p); err != nil {
			return err
		}
		tk.Payments = append(tk.Payments, p)
		return appendTicketEvent(ctx, tx, EventPaymentStarted, &tk, p.ID, now)
	})
	if err == nil {
		at := s.mono()
		s.mu.Lock()
		s.origin[p.ID] = at
		s.mu.Unlock()
	}
	return p, tk, err
}

// Result is a terminal's payment_result.
type Result struct {
	PaymentID      string
	Status         PaymentStatus // approved, declined, cancelled or error
	Amount         int64
	Tip            int64
	Currency       string
	Card           *Card
	AuthCode       string
	TransactionRef string
	MerchantID     string
	TerminalID     string
	At             time.Time
	Receipt        []string
}

// Limits of a result's fields.
const (
	MaxReceiptLines = 100
	MaxResultField  = 64
)

// Validate checks a result before anything is written: a bad money field
// refuses it (see Normalize for which fields are money). A masked PAN that
// shows more than the last 4 digits (or the first 6 and last 4), or any
// full card number in a money field, is refused. Free text is checked too,
// but Record normalizes it first, so that it never refuses a result.
func (r Result) Validate() error {
	var fe fieldErrors
	switch r.Status {
	case PaymentApproved, PaymentDeclined, PaymentCancelled, PaymentError:
	default:
		fe.add("status", "must be approved, declined, cancelled or error")
	}
	if r.Amount < 0 || r.Amount > MaxTotal {
		fe.add("amount", "must be between 0 and %d", MaxTotal)
	}
	if r.Status == PaymentApproved && r.Amount < 1 {
		fe.add("amount", "an approved payment has an amount")
	}
	if r.Tip < 0 || r.Tip > MaxTotal {
		fe.add("tip", "must be between 0 and %d", MaxTotal)
	}
	for _, f := range []struct{ name, v string }{{"auth_code", r.AuthCode}, {"transaction_ref", r.TransactionRef},
		{"merchant_id", r.MerchantID}, {"terminal_id", r.TerminalID}, {"currency", r.Currency}} {
		if msg := CheckText(f.v, 0, MaxResultField); msg != "" {
			fe.add(f.name, "%s", msg)
		}
	}
	if r.Card != nil {
		if msg := CheckText(r.Card.Scheme, 0, 16); msg != "" {
			fe.add("card.scheme", "%s", msg)
		}
		if msg := CheckText(r.Card.Entry, 0, MaxCardEntry); msg != "" {
			fe.add("card.entry", "%s", msg)
		}
		if msg := CheckMaskedPAN(r.Card.MaskedPAN); msg != "" {
			fe.add("card.masked_pan", "%s", msg)
		}
	}
	if len(r.Receipt) > MaxReceiptLines {
		fe.add("receipt", "at most %d lines", MaxReceiptLines)
	}
	for i, l := range r.Receipt {
		if i >= MaxReceiptLines {
			break
		}
		if msg := CheckText(l, 0, 64); msg != "" {
			fe.add(fmt.Sprintf("receipt[%d]", i), "%s", msg)
		}
	}
	return fe.err()
}

// CheckMaskedPAN returns what is wrong with a masked card number, or "".
// At most the last 4 digits may show, or the first 6 and the last 4, with
// the rest masked by '#', '*', 'X' or 'x'.
func CheckMaskedPAN(s string) string {
	if s == "" {
		return ""
	}
	if len(s) > 19+6 {
		return "too long"
	}
	var digits, masked int
	lead, trail := 0, 0
	seenMask := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= '0' && c <= '9':
			digits++
			if seenMask {
				trail++
			} else {
				lead++
			}
		case c == '#' || c == '*' || c == 'X' || c == 'x':
			masked++
			if seenMask && trail > 0 {
				return "digits may show only at the start and the end"
			}
			seenMask = true
		case c == ' ' || c == '-':
		default:
			return "may hold only digits, spaces and the mask characters # * X"
		}
	}
	switch {
	case masked == 0 && digits > 4:
		return "must be masked: a full card number is never accepted"
	case trail > 4 || (lead > 0 && (lead > 6 || trail > 4)) || (!seenMask && digits > 4):
		return "shows too many digits: at most the first 6 and the last 4"
	}
	return ""
}

// Record applies a terminal's result, once. A second copy of the same
// result changes nothing; an approval is never refused, even late or for a
// ticket already paid (the ticket is then overpaid and the manager refunds).
// It returns the payment as stored and whether this call changed it.
func (s *Payments) Record(ctx context.Context, deviceID string, r Result) (Payment, bool, error) {
	r.Normalize() // free text never refuses money taken (the caller logs what changed)
	if err := r.Validate(); err != nil {
		return Payment{}, false, err
	}
	var out Payment
	var changed bool
	err := s.store.Update(ctx, func(tx Tx) error {
		p, err := tx.PaymentByID(ctx, r.PaymentID)
		if err != nil {
			return err
		}
		if p.DeviceID != deviceID {
			return fmt.Errorf("payment %s belongs to another terminal: %w", p.ID, ErrNotFound)
		}
		if err := checkCurrency(p, r); err != nil {
			return err
		}
		out = p
		if !acceptsResult(p, r.Status) {
			return nil // the same result again, or a non-approval after the outcome: keep what is stored
		}
		changed = true
		now := s.now().UTC()
		applyResult(&p, r, now)
		events := []string{eventForStatus(p.Status)}
		if !p.Review && p.contradictsResolution() {
			p.Review = true
			events = append(events, EventPaymentReview)
		}
		out = p
		return s.settle(ctx, tx, p, now, events...)
	})
	return out, changed, err
}

// checkCurrency refuses a result in another currency than its payment's:
// its amounts would be counted in the wrong unit. A result without a
// currency is in the payment's (the one the pay message named). Codes are
// compared exactly: ISO 4217 codes are upper case, and the terminal was
// sent the payment's.
func checkCurrency(p Payment, r Result) error {
	if r.Currency == "" || r.Currency == p.Currency {
		return nil
	}
	return &ValidationError{Fields: []FieldError{{Field: "currency",
		Message: fmt.Sprintf("must be %s, the payment's currency", p.Currency)}}}
}

// acceptsResult says whether payment p takes a result of status got. A
// payment in progress takes any outcome. One the manager resolved takes
// the terminal's first result, whatever it says: the decision stood in for
// an outcome nobody knew, the terminal's result is the outcome. Otherwise a
// final payment takes only a late approval (never lose money that was
// really taken).
func acceptsResult(p Payment, got PaymentStatus) bool {
	switch {
	case p.InProgress():
		return true
	case p.ResolvedBy != "" && p.ReportedAt == nil:
		return true
	case got == PaymentApproved && p.Status != PaymentApproved:
		return true
	}
	return false
}

func applyResult(p *Payment, r Result, now time.Time) {
	p.Status = r.Status
	p.Amount, p.Tip = r.Amount, r.Tip
	if r.Status != PaymentApproved {
		p.Amount = 0
	}
	p.Card, p.AuthCode, p.TransactionRef = r.Card, r.AuthCode, r.TransactionRef
	p.MerchantID, p.TerminalID, p.Receipt = r.MerchantID, r.TerminalID, r.Receipt
	p.CompletedAt, p.ReportedAt, p.BankAt = &now, &now, nil
	if !r.At.IsZero() {
		at := r.At.UTC()
		p.BankAt = &at
	}
}

func eventForStatus(st PaymentStatus) string {
	switch st {
	case PaymentApproved:
		return EventPaymentApproved
	case PaymentDeclined:
		return EventPaymentDeclined
	case PaymentCancelled:
		return EventPaymentCancelled
	case PaymentError:
		return EventPaymentError
	}
	return EventPaymentUnknown
}

// settle writes p, recomputes its ticket's paid and status from all its
// approved payments, and appends the events: those given (the payment's),
// then ticket.paid if the ticket just became paid.
func (s *Payments) settle(ctx context.Context, tx Tx, p Payment, now time.Time, events ...string) error {
	if err := tx.UpdatePayment(ctx, &p); err != nil {
		return err
	}
	tk, err := tx.TicketByID(ctx, p.TicketID)
	if err != nil {
		return err
	}
	wasPaid := tk.Status.settled()
	tk.Paid = 0
	for _, q := range tk.Payments {
		if q.Status == PaymentApproved {
			tk.Paid += q.Amount
		}
	}
	tk.settle() // a cancelled ticket stays cancelled: its Refund shows the money
	tk.UpdatedAt = now
	if err := tx.UpdateTicket(ctx, &tk); err != nil {
		return err
	}
	for _, ev := range events {
		if err := appendTicketEvent(ctx, tx, ev, &tk, p.ID, now); err != nil {
			return err
		}
	}
	if tk.Status.settled() && !wasPaid {
		return appendTicketEvent(ctx, tx, EventTicketPaid, &tk, p.ID, now)
	}
	return nil
}

// NotFound records a terminal's answer that it never started the card
// transaction: the payment is cancelled. Nothing is charged again.
func (s *Payments) NotFound(ctx context.Context, deviceID, paymentID string) (Payment, error) {
	return s.finish(ctx, paymentID, func(p Payment) (bool, error) {
		if p.DeviceID != deviceID {
			return false, fmt.Errorf("payment %s belongs to another terminal: %w", p.ID, ErrNotFound)
		}
		return p.InProgress(), nil
	}, PaymentCancelled, "")
}

// Resolve is the manager's decision on a payment whose outcome is unknown
// (approved or declined, from the bank's records). Only an unknown payment
// can be resolved, whoever asks: a pending one may still get its terminal's
// result (the card may be in the reader), a final one has its outcome. If
// the terminal's own result comes later, it replaces the decision (see
// Record) and a contradiction flags the payment for review.
func (s *Payments) Resolve(ctx context.Context, paymentID string, st PaymentStatus) (Payment, error) {
	if st != PaymentApproved && st != PaymentDeclined {
		return Payment{}, &ValidationError{Fields: []FieldError{{Field: "status", Message: "must be approved or declined"}}}
	}
	return s.finish(ctx, paymentID, func(p Payment) (bool, error) {
		if p.Status != PaymentUnknown {
			return false, Conflict("payment %s is %s: only an unknown payment can be resolved", p.ID, p.Status)
		}
		return true, nil
	}, st, "manager")
}

// Reviewed records that the manager checked a payment flagged for review
// (its terminal's result contradicted the manager's decision): the flag is
// cleared. Clearing a payment not flagged changes nothing.
func (s *Payments) Reviewed(ctx context.Context, paymentID string) error {
	return s.store.Update(ctx, func(tx Tx) error {
		p, err := tx.PaymentByID(ctx, paymentID)
		if err != nil || !p.Review {
			return err
		}
		p.Review = false
		return tx.UpdatePayment(ctx, &p)
	})
}

// finish moves a payment in progress to a final status without a terminal
// result.
func (s *Payments) finish(ctx context.Context, id string, check func(Payment) (bool, error), st PaymentStatus, by string) (Payment, error) {
	var out Payment
	err := s.store.Update(ctx, func(tx Tx) error {
		p, err := tx.PaymentByID(ctx, id)
		if err != nil {
			return err
		}
		out = p
		ok, err := check(p)
		if err != nil || !ok {
			return err
		}
		now := s.now().UTC()
		p.Status, p.ResolvedBy = st, by
		if by != "" {
			p.Resolution = st
		}
		switch st {
		case PaymentUnknown: // still reserved, still without outcome
		case PaymentApproved:
			p.CompletedAt = &now
		default:
			p.CompletedAt, p.Amount = &now, 0
		}
		out = p
		ev := eventForStatus(st)
		if by != "" {
			ev = EventPaymentResolved
		}
		return s.settle(ctx, tx, p, now, ev)
	})
	return out, err
}

// Expire marks unknown the pending payments past their deadline that no
// terminal is still running: running(p) says whether one is (its terminal is
// connected, for the hub). The amount stays reserved.
//
// The deadline is time elapsed since the payment started, as this process's
// monotonic clock measures it, never the wall clock: a clock step (NTP at
// boot, a manual change) must not make every offline payment unknown at
// once. Each sweep stores what it counted of the payments still pending, and
// a process that finds a pending payment it did not start resumes from
// there: a restart loses at most one sweep of the count and does not count
// the time the gateway was down, so a payment may be late to become unknown,
// never early.
func (s *Payments) Expire(ctx context.Context, running func(p Payment) bool) (int, error) {
	sweep := s.mono()
	pending, err := s.store.PaymentsInProgress(ctx)
	if err != nil {
		return 0, err
	}
	elapsed := s.elapsed(sweep, pending)
	counting := map[string]time.Duration{}
	n := 0
	for _, p := range pending {
		if p.Status != PaymentPending {
			continue
		}
		if elapsed[p.ID] < s.deadline || running(p) {
			counting[p.ID] = elapsed[p.ID]
			continue
		}
		_, err := s.finish(ctx, p.ID, func(p Payment) (bool, error) {
			return p.Status == PaymentPending, nil
		}, PaymentUnknown, "")
		if err != nil {
			return n, err
		}
		n++
	}
	return n, s.storeElapsed(ctx, counting)
}

// elapsed returns how long each pending payment has been pending, as of the
// mono reading sweep, and forgets the payments no longer in progress.
func (s *Payments) elapsed(sweep time.Duration, inProgress []Payment) map[string]time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string]time.Duration, len(inProgress))
	for _, p := range inProgress {
		origin, ok := s.origin[p.ID]
		if !ok {
			// Started by an earlier process: resume its count.
			origin = sweep - p.Elapsed
			s.origin[p.ID] = origin
		}
		out[p.ID] = max(0, sweep-origin)
	}
	for id, origin := range s.origin {
		// A payment started after the sweep's read is not in the list yet.
		if _, ok := out[id]; !ok && origin < sweep {
			delete(s.origin, id)
		}
	}
	return out
}

// storeElapsed records the time counted of payments still pending, so that
// a restart resumes the count. It never lowers what is stored.
func (s *Payments) storeElapsed(ctx context.Context, counted map[string]time.Duration) error {
	if len(counted) == 0 {
		return nil
	}
	return s.store.Update(ctx, func(tx Tx) error {
		for id, d := range counted {
			p, err := tx.PaymentByID(ctx, id)
			if err != nil {
				return err
			}
			if p.Status != PaymentPending || p.Elapsed >= d {
				continue
			}
			p.Elapsed = d
			if err := tx.UpdatePayment(ctx, &p); err != nil {
				return err
			}
		}
		return nil
	})
}

// Get returns a payment.
func (s *Payments) Get(ctx context.Context, id string) (Payment, error) {
	return s.store.Payment(ctx, id)
}

// InProgressOn returns the payments of a terminal that have no outcome yet,
// to ask it about them when it reconnects.
func (s *Payments) InProgressOn(ctx context.Context, deviceID string) ([]Payment, error) {
	all, err := s.store.PaymentsInProgress(ctx)
	if err != nil {
		return nil, err
	}
	var out []Payment
	for _, p := range all {
		if p.DeviceID == deviceID {
			out = append(out, p)
		}
	}
	return out, nil
}

// IsBusy reports whether err says the ticket is being paid elsewhere.
func IsBusy(err error) (*BusyError, bool) {
	var b *BusyError
	ok := errors.As(err, &b)
	return b, ok
}
