package gateway

import (
	"context"
	"fmt"
	"time"
)

// Store is what the core needs from persistence. Update runs fn in a write
// transaction and returns only once that transaction is durably committed
// (or rolled back, with fn's error): callers acknowledge after it returns.
// The store may commit several callers' fns together; each fn still
// succeeds or fails alone.
type Store interface {
	Update(ctx context.Context, fn func(Tx) error) error

	Ticket(ctx context.Context, id string) (Ticket, error)
	Tickets(ctx context.Context, q TicketQuery) ([]Ticket, error)
	EventsAfter(ctx context.Context, q EventQuery) ([]Event, error)
	LastSeq(ctx context.Context) (int64, error)

	Payment(ctx context.Context, id string) (Payment, error)
	PaymentsInProgress(ctx context.Context) ([]Payment, error)
	// LastApprovedPayment is the terminal's approved payment recorded
	// last (by the gateway's time of receipt), or ErrNotFound.
	LastApprovedPayment(ctx context.Context, deviceID string) (Payment, error)

	TillByKeyHash(ctx context.Context, hash []byte) (Till, error)
	TillByName(ctx context.Context, name string) (Till, error)
	Tills(ctx context.Context) ([]Till, error)
}

// Tx is a write transaction. Reads through it see its own writes.
type Tx interface {
	TicketByRef(ctx context.Context, tillID, ref string) (Ticket, error)
	TicketByID(ctx context.Context, id string) (Ticket, error)
	InsertTicket(ctx context.Context, t *Ticket) error
	UpdateTicket(ctx context.Context, t *Ticket) error
	PaymentsOf(ctx context.Context, ticketID string) ([]Payment, error)
	PaymentByID(ctx context.Context, id string) (Payment, error)
	InsertPayment(ctx context.Context, p *Payment) error
	UpdatePayment(ctx context.Context, p *Payment) error

	InsertPairingCode(ctx context.Context, hash []byte, created, expires time.Time) error
	// UsePairingCode marks the code used, or returns ErrUnauthorized if it
	// is unknown, used or expired at now, or was created later than
	// ClockStepAllowed after now (the clock stepped back since).
	UsePairingCode(ctx context.Context, hash []byte, now time.Time) error
	// VoidPairingCodes spends every code still live at now, as if used,
	// and returns how many it voided.
	VoidPairingCodes(ctx context.Context, now time.Time) (int, error)
	InsertTerminal(ctx context.Context, t *Terminal) error
	// The terminal writes below change only their own columns, so that
	// none puts back what another wrote since it was read; each returns
	// the terminal as stored after it, or ErrNotFound.
	//
	// TouchTerminal records t.LastSeen and what the terminal says of itself
	// (app version, display, printer, keys) on terminal t.ID, only while it
	// is not revoked: ErrUnauthorized if it is.
	TouchTerminal(ctx context.Context, t *Terminal) (Terminal, error)
	// RenameTerminal returns a *ConflictError if another terminal has
	// the name.
	RenameTerminal(ctx context.Context, id, name string) (Terminal, error)
	// RevokeTerminal keeps the first revocation's time.
	RevokeTerminal(ctx context.Context, id string, at time.Time) (Terminal, error)

	// AppendEvent assigns e.Seq, the next number of the gapless log.
	AppendEvent(ctx context.Context, e *Event) error

	TillByName(ctx context.Context, name string) (Till, error)
	InsertTill(ctx context.Context, t *Till) error
	RevokeTill(ctx context.Context, id string, at time.Time) error
	SetTillCallback(ctx context.Context, id, url string) error
	// SkipWebhooks moves the till's delivery cursor to the last event of
	// the log, this transaction's included.
	SkipWebhooks(ctx context.Context, tillID string) error
}

// TicketQuery selects tickets in the order the store recorded them (its
// seq), never by ID: an ID starts with the wall clock, which repeats and
// steps back.
type TicketQuery struct {
	TillID   string // "" for every till
	Statuses []TicketStatus
	Table    string
	Ref      string
	Server   string    // "" for every server; Store.Tickets filters by it
	Since    time.Time // updated at or after
	After    string    // cursor: the ID of a ticket; only those recorded after it
	Limit    int
	// Brief leaves out what a list does not show: the tickets come
	// without their lines, VAT breakdown and payments.
	Brief bool
}

// ErrUnknownCursor is a TicketQuery.After that names no ticket. It is an
// ErrNotFound too.
var ErrUnknownCursor = fmt.Errorf("ticket cursor: %w", ErrNotFound)

// EventQuery selects events of the log after a seq.
type EventQuery struct {
	After  int64
	TillID string // "" for every till
	Limit  int
}
