package gateway

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
)

// Ticket sources, as the till API names them.
const (
	SourceTill = "till"
	SourceWeb  = "web"
)

// WebTillName is the till that web shops' orders, pulled from the hub,
// are the tickets of. The gateway creates it at the first order; it has
// no usable key (its hash is of a key no one keeps).
const WebTillName = "web"

// WebOrder is a web shop's order as the hub hands it down: the ticket's
// input, and whether the web shop cancelled it.
type WebOrder struct {
	Input     TicketInput
	Cancelled bool
}

// WebCursorTx is a write transaction that can also move the pull's
// cursor: the store implements it, so that the orders and the cursor are
// committed together.
type WebCursorTx interface {
	Tx
	SaveWebCursor(ctx context.Context, cursor string) error
}

// WebOrderResult says what became of one order.
type WebOrderResult struct {
	Ref    string
	Result SubmitResult
	// Refused is why the shop refused the order's change (a payment in
	// progress, a VAT rate the shop does not have...): the order stays as
	// the shop had it, and the web shop sees that in its status.
	Refused error
}

// ApplyWebOrders inserts, updates or cancels the orders' tickets under the
// web till, by ref, with the till API's rules, and saves the cursor, all
// in one transaction: the cursor is the hub's acknowledgement. An order
// the rules refuse is skipped (and said so in the results); any other
// error rolls everything back.
func (s *Tickets) ApplyWebOrders(ctx context.Context, orders []WebOrder, cursor string, log *slog.Logger) ([]WebOrderResult, error) {
	var out []WebOrderResult
	err := s.store.Update(ctx, func(tx Tx) error {
		out = out[:0]
		wtx, ok := tx.(WebCursorTx)
		if !ok {
			return errors.New("gateway: the store cannot keep the web orders' cursor")
		}
		till, err := s.webTill(ctx, tx)
		if err != nil {
			return err
		}
		for _, o := range orders {
			r := WebOrderResult{Ref: o.Input.Ref}
			r.Result, r.Refused = s.applyWebOrder(ctx, tx, till, o)
			if r.Refused != nil && !refusal(r.Refused) {
				return r.Refused
			}
			if r.Refused != nil {
				log.Warn("a web order's change was refused", "ref", o.Input.Ref, "err", r.Refused)
			}
			out = append(out, r)
		}
		return wtx.SaveWebCursor(ctx, cursor)
	})
	return out, err
}

// refusal reports whether err is the rules refusing an order (which
// changes nothing) rather than a failure.
func refusal(err error) bool {
	var v *ValidationError
	var c *ConflictError
	return errors.As(err, &v) || errors.As(err, &c) || errors.Is(err, ErrNotFound)
}

func (s *Tickets) applyWebOrder(ctx context.Context, tx Tx, till Till, o WebOrder) (SubmitResult, error) {
	in := o.Input
	if err := s.rules().Validate(&in); err != nil {
		return 0, err
	}
	if !o.Cancelled {
		_, res, err := s.submitTx(ctx, tx, till, in, SourceWeb)
		return res, err
	}
	t, err := tx.TicketByRef(ctx, till.ID, in.Ref)
	if errors.Is(err, ErrNotFound) {
		return Unchanged, nil // cancelled before the shop ever saw it
	}
	if err != nil {
		return 0, err
	}
	was := t.Status
	if err := s.cancelTx(ctx, tx, &t); err != nil {
		return 0, err
	}
	if was == TicketCancelled {
		return Unchanged, nil
	}
	return Updated, nil
}

// webTill returns the web till, creating it the first time.
func (s *Tickets) webTill(ctx context.Context, tx Tx) (Till, error) {
	t, err := tx.TillByName(ctx, WebTillName)
	if err == nil {
		return t, nil
	}
	if !errors.Is(err, ErrNotFound) {
		return Till{}, fmt.Errorf("gateway: web till: %w", err)
	}
	now := s.now().UTC()
	t = Till{ID: NewID("till", now), Name: WebTillName, KeyHash: HashKey(NewSecret("ptk", 32)),
		WebhookSecret: NewSecret("whsec", 32), CreatedAt: now}
	if err := tx.InsertTill(ctx, &t); err != nil {
		return Till{}, err
	}
	return t, nil
}
