package store

import (
	"context"
	"fmt"

	"github.com/passerelle/passerelle/gateway"
)

const eventColumns = "seq, type, at, till_id, ticket_id, ticket_ref, payment_id, data"

// EventsAfter implements gateway.Store.
func (s *Store) EventsAfter(ctx context.Context, q gateway.EventQuery) ([]gateway.Event, error) {
	query := "SELECT " + eventColumns + " FROM events WHERE seq > ?"
	args := []any{q.After}
	if q.TillID != "" {
		query += " AND till_id = ?"
		args = append(args, q.TillID)
	}
	query += " ORDER BY seq LIMIT ?"
	args = append(args, q.Limit)
	out, err := s.queryEvents(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("store: events after %d: %w", q.After, err)
	}
	return out, nil
}

// queryEvents runs a SELECT of eventColumns and reads its rows.
func (s *Store) queryEvents(ctx context.Context, query string, args ...any) ([]gateway.Event, error) {
	rows, err := s.db.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []gateway.Event
	for rows.Next() {
		var e gateway.Event
		var at, data string
		if err := rows.Scan(&e.Seq, &e.Type, &at, &e.TillID, &e.TicketID, &e.TicketRef, &e.PaymentID, &data); err != nil {
			return nil, fmt.Errorf("read event: %w", err)
		}
		if e.At, err = parseTime(at); err != nil {
			return nil, err
		}
		e.Data = []byte(data)
		out = append(out, e)
	}
	return out, rows.Err()
}

// LastSeq implements gateway.Store.
func (s *Store) LastSeq(ctx context.Context) (int64, error) {
	var seq int64
	if err := s.db.QueryRowContext(ctx, "SELECT COALESCE(MAX(seq), 0) FROM events").Scan(&seq); err != nil {
		return 0, fmt.Errorf("store: last seq: %w", err)
	}
	return seq, nil
}
