package gateway

import (
	"crypto/sha256"
	"encoding/binary"
	"time"
)

// TicketStatus is where a ticket stands; only Passerelle sets it.
type TicketStatus string

const (
	TicketOpen          TicketStatus = "open"
	TicketPartiallyPaid TicketStatus = "partially_paid"
	TicketPaid          TicketStatus = "paid"
	TicketOverpaid      TicketStatus = "overpaid"
	TicketCancelled     TicketStatus = "cancelled"
)

// ValidTicketStatus reports whether s names a ticket status.
func ValidTicketStatus(s string) bool {
	switch TicketStatus(s) {
	case TicketOpen, TicketPartiallyPaid, TicketPaid, TicketOverpaid, TicketCancelled:
		return true
	}
	return false
}

// Line is one line of a bill. UnitPrice may be negative for a discount.
type Line struct {
	Label     string `json:"label"`
	Qty       int64  `json:"qty"`
	UnitPrice int64  `json:"unit_price"`
	VATRate   int64  `json:"vat_rate"`
}

// TicketInput is what a till sends: the whole ticket, every time.
type TicketInput struct {
	Ref      string `json:"ref"`
	Table    string `json:"table,omitempty"`
	Covers   int64  `json:"covers,omitempty"`
	Server   string `json:"server,omitempty"`
	Loyalty  string `json:"loyalty,omitempty"`
	Currency string `json:"currency,omitempty"`
	Lines    []Line `json:"lines"`
	Total    int64  `json:"total"`
}

// ContentHash identifies the till-supplied content, so that an identical
// retry is recognised without comparing field by field.
func (in TicketInput) ContentHash() []byte {
	h := sha256.New()
	str := func(s string) {
		var n [8]byte
		binary.BigEndian.PutUint64(n[:], uint64(len(s)))
		h.Write(n[:])
		h.Write([]byte(s))
	}
	num := func(v int64) {
		var n [8]byte
		binary.BigEndian.PutUint64(n[:], uint64(v))
		h.Write(n[:])
	}
	str(in.Ref)
	str(in.Table)
	num(in.Covers)
	str(in.Server)
	str(in.Loyalty)
	str(in.Currency)
	num(int64(len(in.Lines)))
	for _, l := range in.Lines {
		str(l.Label)
		num(l.Qty)
		num(l.UnitPrice)
		num(l.VATRate)
	}
	num(in.Total)
	return h.Sum(nil)
}

// Ticket is a bill as Passerelle keeps it.
type Ticket struct {
	ID        string       `json:"id"`
	Ref       string       `json:"ref"`
	Table     string       `json:"table,omitempty"`
	Covers    int64        `json:"covers,omitempty"`
	Server    string       `json:"server,omitempty"`
	Loyalty   string       `json:"loyalty,omitempty"`
	Currency  string       `json:"currency"`
	Lines     []Line       `json:"lines"`
	Total     int64        `json:"total"`
	Status    TicketStatus `json:"status"`
	Paid      int64        `json:"paid"`
	Due       int64        `json:"due"`
	VAT       []VATLine    `json:"vat"`
	Version   int64        `json:"version"`
	Source    string       `json:"source"`
	Till      string       `json:"till"`
	TillID    string       `json:"-"`
	Hash      []byte       `json:"-"`
	CreatedAt time.Time    `json:"created_at"`
	UpdatedAt time.Time    `json:"updated_at"`
	Payments  []Payment    `json:"payments"`

	// Encoded, if set, is the ticket's JSON as its event carried it
	// (NewTicketEvent), for the till API to answer with rather than
	// encoding the ticket again. Whatever changes a ticket after its
	// event must clear it.
	Encoded []byte `json:"-"`
}

// Input returns the till-supplied part of t.
func (t Ticket) Input() TicketInput {
	return TicketInput{Ref: t.Ref, Table: t.Table, Covers: t.Covers, Server: t.Server,
		Loyalty: t.Loyalty, Currency: t.Currency, Lines: t.Lines, Total: t.Total}
}

// apply copies a validated input into t and recomputes what derives from it.
func (t *Ticket) apply(in TicketInput) {
	t.Ref, t.Table, t.Covers, t.Server, t.Loyalty = in.Ref, in.Table, in.Covers, in.Server, in.Loyalty
	t.Currency, t.Lines, t.Total = in.Currency, in.Lines, in.Total
	t.VAT = VATBreakdown(in.Lines)
	t.Hash = in.ContentHash()
	t.settle()
}

// settle recomputes status and due from total and paid. A cancelled ticket
// stays cancelled whatever is paid on it: money that arrives after the
// cancel (a late approval) is to refund, never a reason to reopen it.
func (t *Ticket) settle() {
	if t.Status != TicketCancelled {
		switch {
		case t.Paid == 0:
			t.Status = TicketOpen
		case t.Paid < t.Total:
			t.Status = TicketPartiallyPaid
		case t.Paid == t.Total:
			t.Status = TicketPaid
		default:
			t.Status = TicketOverpaid
		}
	}
	t.SetDue()
}

// SetDue computes Due from Total, Paid and Status: what is left to pay, never
// below 0 (an overpayment is Refund, not a negative due), and 0 on a
// cancelled ticket, which owes nothing.
func (t *Ticket) SetDue() {
	t.Due = 0
	if t.Status != TicketCancelled && t.Paid < t.Total {
		t.Due = t.Total - t.Paid
	}
}

// Refund is the money taken on the ticket that the shop must give back:
// what was paid above the total, or everything paid on a cancelled ticket.
func (t Ticket) Refund() int64 {
	switch {
	case t.Status == TicketCancelled:
		return t.Paid
	case t.Paid > t.Total:
		return t.Paid - t.Total
	}
	return 0
}

// settled reports whether a ticket in status s has been paid in full: a
// change between two such statuses is not a new ticket.paid.
func (s TicketStatus) settled() bool { return s == TicketPaid || s == TicketOverpaid }

// PaymentStatus is where a payment stands.
type PaymentStatus string

const (
	PaymentPending   PaymentStatus = "pending"
	PaymentApproved  PaymentStatus = "approved"
	PaymentDeclined  PaymentStatus = "declined"
	PaymentCancelled PaymentStatus = "cancelled"
	PaymentError     PaymentStatus = "error"
	PaymentUnknown   PaymentStatus = "unknown"
)

// Card is what a terminal may tell of a card: never more than masked.
type Card struct {
	Scheme    string `json:"scheme,omitempty"`
	MaskedPAN string `json:"masked_pan,omitempty"`
	Entry     string `json:"entry,omitempty"`
}

// Payment is one card transaction against a ticket.
type Payment struct {
	ID             string        `json:"id"`
	TicketID       string        `json:"ticket_id"`
	DeviceID       string        `json:"device_id"` // our terminal's ID (trm_...)
	Terminal       string        `json:"terminal"`  // its name, as the manager named it
	Requested      int64         `json:"requested"` // what the scenario asked for
	Amount         int64         `json:"amount"`    // what the card paid (the request while pending)
	Tip            int64         `json:"tip"`
	Currency       string        `json:"currency"`
	Status         PaymentStatus `json:"status"`
	Card           *Card         `json:"card,omitempty"`
	AuthCode       string        `json:"auth_code,omitempty"`
	TransactionRef string        `json:"transaction_ref,omitempty"`
	MerchantID     string        `json:"merchant_id,omitempty"`
	TerminalID     string        `json:"terminal_id,omitempty"`
	Receipt        []string      `json:"receipt,omitempty"` // the terminal's own receipt lines
	CreatedAt      time.Time     `json:"created_at"`
	Deadline       time.Time     `json:"deadline"` // by the wall clock at the start: shown, not what Expire counts
	CompletedAt    *time.Time    `json:"completed_at,omitempty"`
	ResolvedBy     string        `json:"resolved_by,omitempty"` // "manager" when resolved by hand
	// Resolution is the manager's decision (approved or declined), kept
	// when the terminal's own result comes after it and replaces it.
	Resolution PaymentStatus `json:"resolution,omitempty"`
	// ReportedAt is when the terminal's payment_result was recorded.
	ReportedAt *time.Time `json:"reported_at,omitempty"`
	// Review says the terminal's result contradicts the manager's
	// decision: the manager must check the bank's records again.
	Review bool `json:"review,omitempty"`
	// Elapsed is the time the payment has been pending, as the last
	// deadline sweep counted it on a monotonic clock (see Payments.Expire).
	Elapsed time.Duration `json:"-"`

	// BankAt is when the bank made the transaction, as the terminal's
	// result said (its at, with a zone); nil if it did not say. The bank
	// ticket prints it, else CompletedAt, the gateway's time of receipt.
	BankAt *time.Time `json:"-"`
}

// Final reports whether the payment has its outcome.
func (p Payment) Final() bool { return !p.InProgress() }

// InProgress reports whether the payment still holds its amount reserved.
func (p Payment) InProgress() bool {
	return p.Status == PaymentPending || p.Status == PaymentUnknown
}

// Counted is what the payment adds to its ticket's paid: its amount if
// approved, else nothing.
func (p Payment) Counted() int64 {
	if p.Status == PaymentApproved {
		return p.Amount
	}
	return 0
}

// contradictsResolution reports whether p, resolved by the manager, now
// counts another amount than the manager decided (the amount reserved if
// approved, nothing if declined): the terminal's result said otherwise.
func (p Payment) contradictsResolution() bool {
	if p.Resolution == "" {
		return false
	}
	var decided int64
	if p.Resolution == PaymentApproved {
		decided = p.Requested
	}
	return p.Counted() != decided
}
