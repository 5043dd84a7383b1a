package gateway

import (
	"context"
	"errors"
	"fmt"
)

// SourceCapture is the source of the tickets that print capture read from
// a till's printed note.
const SourceCapture = "capture"

// SubmitCapture creates or updates, by in.Ref, a ticket that print capture
// read, under the till named tillName: created the first time with no
// usable key (its hash is of a key no one keeps), as the web till is. The
// till API's rules apply: a reprint changes nothing, a new version of an
// open note updates it.
func (s *Tickets) SubmitCapture(ctx context.Context, tillName string, in TicketInput) (Ticket, SubmitResult, error) {
	if err := s.rules().Validate(&in); err != nil {
		return Ticket{}, 0, err
	}
	var out Ticket
	var res SubmitResult
	err := s.store.Update(ctx, func(tx Tx) error {
		till, err := s.namedTill(ctx, tx, tillName)
		if err != nil {
			return err
		}
		out, res, err = s.submitTx(ctx, tx, till, in, SourceCapture)
		return err
	})
	if err != nil {
		return Ticket{}, 0, err
	}
	return out, res, nil
}

// namedTill returns the till called name, creating it without a usable key.
func (s *Tickets) namedTill(ctx context.Context, tx Tx, name string) (Till, error) {
	t, err := tx.TillByName(ctx, name)
	if err == nil {
		return t, nil
	}
	if !errors.Is(err, ErrNotFound) {
		return Till{}, fmt.Errorf("gateway: till %q: %w", name, err)
	}
	if msg := CheckText(name, 1, MaxNameLen); msg != "" {
		var fe fieldErrors
		fe.add("till", "%s", msg)
		return Till{}, fe.err()
	}
	now := s.now().UTC()
	t = Till{ID: NewID("till", now), Name: name, KeyHash: HashKey(NewSecret("ptk", 32)),
		WebhookSecret: NewSecret("whsec", 32), CreatedAt: now}
	if err := tx.InsertTill(ctx, &t); err != nil {
		return Till{}, err
	}
	return t, nil
}
