package store

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/passerelle/passerelle/gateway"
)

// The admin page's queries: a day's tickets and payments, and a ticket's
// history.

// TicketsCreated returns the tickets created in [from, to) that match q
// (its Since is ignored), in seq order. Payments are not loaded.
func (s *Store) TicketsCreated(ctx context.Context, from, to time.Time, q gateway.TicketQuery) ([]gateway.Ticket, error) {
	where := []string{"t.created_at >= ?", "t.created_at < ?"}
	args := []any{formatTime(from), formatTime(to)}
	if q.TillID != "" {
		where = append(where, "t.till_id = ?")
		args = append(args, q.TillID)
	}
	if len(q.Statuses) > 0 {
		st := make([]string, len(q.Statuses))
		for i, v := range q.Statuses {
			st[i] = string(v)
		}
		marks, a := inArgs(st)
		where = append(where, "t.status IN ("+marks+")")
		args = append(args, a...)
	}
	if q.Table != "" {
		where = append(where, "t.table_no = ?")
		args = append(args, q.Table)
	}
	if q.Ref != "" {
		where = append(where, "t.ref = ?")
		args = append(args, q.Ref)
	}
	if q.After != "" {
		seq, err := ticketSeq(ctx, s.db, q.After)
		if err != nil {
			return nil, err
		}
		where = append(where, "t.seq > ?")
		args = append(args, seq)
	}
	args = append(args, q.Limit)
	return s.queryTickets(ctx, false, "SELECT "+ticketColumns+ticketFrom+" WHERE "+strings.Join(where, " AND ")+
		" ORDER BY t.seq LIMIT ?", args...)
}

// TicketsByIDs returns the tickets with these IDs (those that exist), in
// ID order. Payments are not loaded.
func (s *Store) TicketsByIDs(ctx context.Context, ids []string) ([]gateway.Ticket, error) {
	out := []gateway.Ticket{}
	// SQLite bounds the number of variables: ask in chunks, of sorted IDs
	// so that the chunks come in order.
	ids = slices.Sorted(slices.Values(ids))
	for len(ids) > 0 {
		n := min(len(ids), 500)
		marks, args := inArgs(ids[:n])
		ts, err := s.queryTickets(ctx, false, "SELECT "+ticketColumns+ticketFrom+" WHERE t.id IN ("+marks+") ORDER BY t.id", args...)
		if err != nil {
			return nil, err
		}
		out = append(out, ts...)
		ids = ids[n:]
	}
	return out, nil
}

func (s *Store) queryTickets(ctx context.Context, brief bool, query string, args ...any) ([]gateway.Ticket, error) {
	rows, err := s.reads.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("store: list tickets: %w", err)
	}
	defer rows.Close()
	out := []gateway.Ticket{}
	for rows.Next() {
		t, err := scanTicket(rows, brief)
		if err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: list tickets: %w", err)
	}
	return out, nil
}

// PaymentsBetween returns the payments started in [from, to), in order.
func (s *Store) PaymentsBetween(ctx context.Context, from, to time.Time) ([]gateway.Payment, error) {
	return queryPayments(ctx, s.db, "created_at >= ? AND created_at < ?", formatTime(from), formatTime(to))
}

// TicketEvents returns the events about a ticket, oldest first.
func (s *Store) TicketEvents(ctx context.Context, ticketID string) ([]gateway.Event, error) {
	out, err := s.queryEvents(ctx, "SELECT "+eventColumns+" FROM events WHERE ticket_id = ? ORDER BY seq", ticketID)
	if err != nil {
		return nil, fmt.Errorf("store: events of ticket %s: %w", ticketID, err)
	}
	return out, nil
}
