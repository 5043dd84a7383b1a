package gateway

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"time"
)

// Tickets creates, updates, cancels and reads tickets.
type Tickets struct {
	store Store
	rules func() Rules
	now   func() time.Time
}

// NewTickets returns the ticket service. rules is called on every write, so
// a configuration reload takes effect at once.
func NewTickets(store Store, rules func() Rules, now func() time.Time) *Tickets {
	return &Tickets{store: store, rules: rules, now: now}
}

// SubmitResult says what Submit did.
type SubmitResult int

const (
	Created SubmitResult = iota
	Updated
	Unchanged
)

// Submit creates or updates the ticket that till knows as in.Ref.
func (s *Tickets) Submit(ctx context.Context, till Till, in TicketInput) (Ticket, SubmitResult, error) {
	if err := s.rules().Validate(&in); err != nil {
		// What was accepted once is a safe retry whatever the settings
		// say now (a VAT rate removed since): the same content wins over
		// validation. Validate has set the default currency, as the hash
		// of the stored ticket has it.
		if t, ok := s.unchanged(ctx, till, in); ok {
			return t, Unchanged, nil
		}
		return Ticket{}, 0, err
	}
	var out Ticket
	var res SubmitResult
	err := s.store.Update(ctx, func(tx Tx) error {
		var err error
		out, res, err = s.submitTx(ctx, tx, till, in, SourceTill)
		return err
	})
	if err != nil {
		return Ticket{}, 0, err
	}
	return out, res, nil
}

// unchanged returns till's ticket in.Ref if its content is in's.
func (s *Tickets) unchanged(ctx context.Context, till Till, in TicketInput) (Ticket, bool) {
	ts, err := s.store.Tickets(ctx, TicketQuery{TillID: till.ID, Ref: in.Ref, Limit: 1, Brief: true})
	if err != nil || len(ts) == 0 || !bytes.Equal(ts[0].Hash, in.ContentHash()) {
		return Ticket{}, false
	}
	t, err := s.store.Ticket(ctx, ts[0].ID)
	return t, err == nil
}

// submitTx is Submit inside tx, for a validated in from source.
func (s *Tickets) submitTx(ctx context.Context, tx Tx, till Till, in TicketInput, source string) (Ticket, SubmitResult, error) {
	t, err := tx.TicketByRef(ctx, till.ID, in.Ref)
	switch {
	case errors.Is(err, ErrNotFound):
		t, err = s.create(ctx, tx, till, in, source)
		return t, Created, err
	case err != nil:
		return t, 0, err
	case bytes.Equal(t.Hash, in.ContentHash()):
		return t, Unchanged, nil
	}
	err = s.update(ctx, tx, &t, in)
	return t, Updated, err
}

func (s *Tickets) create(ctx context.Context, tx Tx, till Till, in TicketInput, source string) (Ticket, error) {
	now := s.now().UTC()
	t := Ticket{ID: NewID("tkt", now), Version: 1, Source: source, Till: till.Name, TillID: till.ID,
		CreatedAt: now, UpdatedAt: now, Payments: []Payment{}}
	t.apply(in)
	if err := tx.InsertTicket(ctx, &t); err != nil {
		return Ticket{}, err
	}
	return t, appendTicketEvent(ctx, tx, EventTicketCreated, &t, "", now)
}

func (s *Tickets) update(ctx context.Context, tx Tx, t *Ticket, in TicketInput) error {
	if t.Status == TicketCancelled {
		return Conflict("ticket %s is cancelled", t.Ref)
	}
	payments, err := tx.PaymentsOf(ctx, t.ID)
	if err != nil {
		return err
	}
	for _, p := range payments {
		if p.InProgress() {
			return Conflict("a payment of ticket %s is in progress", t.Ref)
		}
	}
	if in.Total < t.Paid {
		return Conflict("new total %d is below the %d already paid", in.Total, t.Paid)
	}
	// Paid or overpaid before: a total brought down to what is paid is
	// an update, not a ticket paid a second time.
	wasPaid := t.Status.settled()
	now := s.now().UTC()
	t.apply(in)
	t.Version++
	t.UpdatedAt = now
	t.Payments = payments
	if err := tx.UpdateTicket(ctx, t); err != nil {
		return err
	}
	if err := appendTicketEvent(ctx, tx, EventTicketUpdated, t, "", now); err != nil {
		return err
	}
	if t.Status.settled() && !wasPaid {
		return appendTicketEvent(ctx, tx, EventTicketPaid, t, "", now)
	}
	return nil
}

// Cancel cancels a ticket that nothing was paid on. Cancelling a cancelled
// ticket changes nothing and succeeds.
func (s *Tickets) Cancel(ctx context.Context, till Till, id string) (Ticket, error) {
	var out Ticket
	err := s.store.Update(ctx, func(tx Tx) error {
		t, err := tx.TicketByID(ctx, id)
		if err != nil {
			return err
		}
		if !till.Admin && t.TillID != till.ID {
			return fmt.Errorf("ticket %s: %w", id, ErrNotFound)
		}
		out = t
		return s.cancelTx(ctx, tx, &out)
	})
	return out, err
}

// cancelTx is Cancel inside tx, of the ticket t.
func (s *Tickets) cancelTx(ctx context.Context, tx Tx, t *Ticket) error {
	if t.Status == TicketCancelled {
		return nil
	}
	if t.Paid != 0 {
		return Conflict("ticket %s has approved payments", t.Ref)
	}
	for _, p := range t.Payments {
		if p.InProgress() {
			return &ConflictError{PaymentID: p.ID,
				Reason: fmt.Sprintf("a payment of ticket %s is in progress on %s", t.Ref, p.Terminal)}
		}
	}
	now := s.now().UTC()
	c := *t
	c.Status = TicketCancelled
	c.SetDue()
	c.UpdatedAt = now
	if err := tx.UpdateTicket(ctx, &c); err != nil {
		return err
	}
	*t = c
	return appendTicketEvent(ctx, tx, EventTicketCancelled, t, "", now)
}

// Get returns a ticket that till may see.
func (s *Tickets) Get(ctx context.Context, till Till, id string) (Ticket, error) {
	t, err := s.store.Ticket(ctx, id)
	if err != nil {
		return Ticket{}, err
	}
	if !till.Admin && t.TillID != till.ID {
		return Ticket{}, fmt.Errorf("ticket %s: %w", id, ErrNotFound)
	}
	return t, nil
}

// List returns the tickets that till may see and that match q.
func (s *Tickets) List(ctx context.Context, till Till, q TicketQuery) ([]Ticket, error) {
	if !till.Admin {
		q.TillID = till.ID
	}
	return s.store.Tickets(ctx, q)
}

func appendTicketEvent(ctx context.Context, tx Tx, typ string, t *Ticket, paymentID string, at time.Time) error {
	e, err := NewTicketEvent(typ, t, paymentID, at)
	if err != nil {
		return err
	}
	return tx.AppendEvent(ctx, &e)
}
