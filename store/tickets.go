package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/passerelle/passerelle/gateway"
)

// querier is what *sql.DB and the writer's connection share, so that reads are written once
// and serve both the reader pool and the writer's transaction.
type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

const (
	ticketHead = `t.id, t.till_id, tl.name, t.ref, t.table_no, t.covers, t.server, t.loyalty, t.currency, `
	ticketTail = `, t.total, t.paid, t.status, t.version, t.source, t.content_hash, t.created_at, t.updated_at`

	ticketColumns = ticketHead + `t.lines, t.vat` + ticketTail
	// ticketColumnsBrief leave out the lines and VAT breakdown, as a
	// brief ticket does: copying and sorting them is most of a list's cost.
	ticketColumnsBrief = ticketHead + `'', ''` + ticketTail
)

const ticketFrom = ` FROM tickets t JOIN tills tl ON tl.id = t.till_id`

type scanner interface{ Scan(dest ...any) error }

// scanTicket reads a ticket, without its lines and VAT breakdown if brief:
// decoding them is most of the cost of reading a list.
func scanTicket(row scanner, brief bool) (gateway.Ticket, error) {
	var t gateway.Ticket
	var lines, vat, created, updated, status string
	err := row.Scan(&t.ID, &t.TillID, &t.Till, &t.Ref, &t.Table, &t.Covers, &t.Server, &t.Loyalty,
		&t.Currency, &lines, &vat, &t.Total, &t.Paid, &status, &t.Version, &t.Source, &t.Hash,
		&created, &updated)
	if errors.Is(err, sql.ErrNoRows) {
		return t, gateway.ErrNotFound
	}
	if err != nil {
		return t, fmt.Errorf("store: read ticket: %w", err)
	}
	t.Status = gateway.TicketStatus(status)
	t.SetDue()
	if !brief {
		if err := json.Unmarshal([]byte(lines), &t.Lines); err != nil {
			return t, fmt.Errorf("store: ticket %s lines: %w", t.ID, err)
		}
		if err := json.Unmarshal([]byte(vat), &t.VAT); err != nil {
			return t, fmt.Errorf("store: ticket %s vat: %w", t.ID, err)
		}
	}
	if t.CreatedAt, err = parseTime(created); err != nil {
		return t, err
	}
	if t.UpdatedAt, err = parseTime(updated); err != nil {
		return t, err
	}
	t.Payments = []gateway.Payment{}
	return t, nil
}

func ticketWhere(ctx context.Context, q querier, where string, args ...any) (gateway.Ticket, error) {
	t, err := scanTicket(q.QueryRowContext(ctx, "SELECT "+ticketColumns+ticketFrom+" WHERE "+where, args...), false)
	if err != nil {
		return t, err
	}
	t.Payments, err = payments(ctx, q, t.ID)
	return t, err
}

// Ticket implements gateway.Store.
func (s *Store) Ticket(ctx context.Context, id string) (gateway.Ticket, error) {
	return ticketWhere(ctx, s.reads, "t.id = ?", id)
}

// TicketByID implements gateway.Tx.
func (t *txn) TicketByID(_ context.Context, id string) (gateway.Ticket, error) {
	return ticketWhere(t.ctx, t.tx, "t.id = ?", id)
}

// TicketByRef implements gateway.Tx.
func (t *txn) TicketByRef(_ context.Context, tillID, ref string) (gateway.Ticket, error) {
	return ticketWhere(t.ctx, t.tx, "t.till_id = ? AND t.ref = ?", tillID, ref)
}

func ticketArgs(tk *gateway.Ticket) ([]any, error) {
	lines, err := json.Marshal(tk.Lines)
	if err != nil {
		return nil, fmt.Errorf("store: encode lines: %w", err)
	}
	vat, err := json.Marshal(tk.VAT)
	if err != nil {
		return nil, fmt.Errorf("store: encode vat: %w", err)
	}
	return []any{tk.TillID, tk.Ref, tk.Table, tk.Covers, tk.Server, tk.Loyalty, tk.Currency,
		string(lines), string(vat), tk.Total, tk.Paid, string(tk.Status), tk.Version, tk.Source,
		tk.Hash, formatTime(tk.CreatedAt), formatTime(tk.UpdatedAt), tk.ID}, nil
}

// InsertTicket implements gateway.Tx.
func (t *txn) InsertTicket(_ context.Context, tk *gateway.Ticket) error {
	args, err := ticketArgs(tk)
	if err != nil {
		return err
	}
	// seq is the next of the store's order, max+1: only the writer inserts,
	// and a savepoint rolled back takes its number back with it.
	_, err = t.exec(`INSERT INTO tickets (till_id, ref, table_no, covers, server, loyalty, currency,
		lines, vat, total, paid, status, version, source, content_hash, created_at, updated_at, id, seq)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?,
			(SELECT COALESCE(MAX(seq), 0) + 1 FROM tickets))`, args...)
	if err != nil {
		return fmt.Errorf("store: insert ticket %s: %w", tk.Ref, err)
	}
	return nil
}

// UpdateTicket implements gateway.Tx.
func (t *txn) UpdateTicket(_ context.Context, tk *gateway.Ticket) error {
	args, err := ticketArgs(tk)
	if err != nil {
		return err
	}
	_, err = t.exec(`UPDATE tickets SET till_id = ?, ref = ?, table_no = ?, covers = ?, server = ?,
		loyalty = ?, currency = ?, lines = ?, vat = ?, total = ?, paid = ?, status = ?, version = ?,
		source = ?, content_hash = ?, created_at = ?, updated_at = ? WHERE id = ?`, args...)
	if err != nil {
		return fmt.Errorf("store: update ticket %s: %w", tk.Ref, err)
	}
	return nil
}

// Tickets implements gateway.Store, in seq order. Payments are not loaded:
// a list shows paid and due, the detail shows payments.
func (s *Store) Tickets(ctx context.Context, q gateway.TicketQuery) ([]gateway.Ticket, error) {
	query, args, err := s.ticketsQuery(ctx, q)
	if err != nil {
		return nil, err
	}
	return s.queryTickets(ctx, q.Brief, query, args...)
}

// fewChanged is how many tickets changed since a list's `since` are few
// enough to be found on the updated_at index and sorted into seq order.
const fewChanged = 2000

// ticketsQuery builds the SELECT of Tickets.
//
// A list is read in seq order: a till's on tickets_till (till_id, seq),
// every till's on tickets_seq. A page reads its own rows and the rows its
// filters skip. With `since`, that would read every ticket older than the
// last changes to test its updated_at (the last hour's changes of a year's
// tickets: the whole year). So when the tickets changed since then are
// few, they are found on tickets_till_updated (till_id, updated_at, seq)
// or tickets_updated (updated_at, seq), cursor included, from the index
// alone, and put in seq order; when they are many, seq order finds a
// page's worth soon enough.
func (s *Store) ticketsQuery(ctx context.Context, q gateway.TicketQuery) (string, []any, error) {
	var after int64
	if q.After != "" {
		seq, err := ticketSeq(ctx, s.db, q.After)
		if err != nil {
			return "", nil, err
		}
		after = seq
	}
	if q.Since.IsZero() {
		query, args := ticketsInSeqOrder(q, after)
		return query, args, nil
	}
	changed, changedArgs := "SELECT seq FROM tickets INDEXED BY tickets_updated WHERE updated_at >= ?", []any{formatTime(q.Since)}
	if q.TillID != "" {
		changed = "SELECT seq FROM tickets INDEXED BY tickets_till_updated WHERE till_id = ? AND updated_at >= ?"
		changedArgs = []any{q.TillID, formatTime(q.Since)}
	}
	var n int
	err := s.db.QueryRowContext(ctx, "SELECT count(*) FROM ("+changed+" LIMIT ?)", append(changedArgs, fewChanged)...).Scan(&n)
	if err != nil {
		return "", nil, fmt.Errorf("store: count the tickets changed since %s: %w", formatTime(q.Since), err)
	}
	if n >= fewChanged {
		query, args := ticketsInSeqOrder(q, after)
		return query, args, nil
	}
	query, args := ticketsChanged(q, after, changed, changedArgs)
	return query, args, nil
}

// listFilters are the conditions of q on a ticket's row, besides its till,
// cursor and since.
func listFilters(q gateway.TicketQuery) (where []string, args []any) {
	if len(q.Statuses) > 0 {
		marks := strings.TrimSuffix(strings.Repeat("?,", len(q.Statuses)), ",")
		for _, st := range q.Statuses {
			args = append(args, string(st))
		}
		where = append(where, "t.status IN ("+marks+")")
	}
	for _, f := range []struct{ col, v string }{{"t.table_no", q.Table}, {"t.ref", q.Ref}, {"t.server", q.Server}} {
		if f.v != "" {
			where, args = append(where, f.col+" = ?"), append(args, f.v)
		}
	}
	return where, args
}

func listColumns(q gateway.TicketQuery) string {
	if q.Brief {
		return ticketColumnsBrief
	}
	return ticketColumns
}

// ticketsInSeqOrder reads the tickets in seq order, testing each.
func ticketsInSeqOrder(q gateway.TicketQuery, after int64) (string, []any) {
	var where []string
	var args []any
	if q.TillID != "" {
		where, args = append(where, "t.till_id = ?"), append(args, q.TillID)
	}
	if !q.Since.IsZero() {
		where, args = append(where, "t.updated_at >= ?"), append(args, formatTime(q.Since))
	}
	if after > 0 {
		where, args = append(where, "t.seq > ?"), append(args, after)
	}
	fw, fa := listFilters(q)
	where, args = append(where, fw...), append(args, fa...)
	from := ticketFrom
	if q.TillID != "" && !q.Since.IsZero() {
		// Many changed: SQLite would rather find them all on
		// tickets_till_updated and sort them, the whole till's tickets.
		from = " FROM tickets t INDEXED BY tickets_till JOIN tills tl ON tl.id = t.till_id"
	}
	query := "SELECT " + listColumns(q) + from
	if len(where) > 0 {
		query += " WHERE " + strings.Join(where, " AND ")
	}
	return query + " ORDER BY t.seq LIMIT ?", append(args, q.Limit)
}

// ticketsChanged reads the few tickets that changed, found by the query
// changed (of their seqs). Without other filters, the page's seqs are
// picked on the index alone and only its rows are read. CROSS JOIN keeps
// SQLite from reading the tickets in another order.
func ticketsChanged(q gateway.TicketQuery, after int64, changed string, args []any) (string, []any) {
	if after > 0 {
		changed, args = changed+" AND seq > ?", append(args, after)
	}
	fw, fa := listFilters(q)
	if len(fw) == 0 {
		changed, args = changed+" ORDER BY seq LIMIT ?", append(args, q.Limit)
	}
	query := "SELECT " + listColumns(q) + " FROM (" + changed + ") c CROSS JOIN tickets t ON t.seq = c.seq" +
		" JOIN tills tl ON tl.id = t.till_id"
	if len(fw) > 0 {
		query += " WHERE " + strings.Join(fw, " AND ")
		args = append(args, fa...)
	}
	return query + " ORDER BY t.seq LIMIT ?", append(args, q.Limit)
}

// ticketSeq is where a list cursor, the ID of the last ticket a page
// showed, stands in the store's order.
func ticketSeq(ctx context.Context, q querier, id string) (int64, error) {
	var seq int64
	err := q.QueryRowContext(ctx, "SELECT seq FROM tickets WHERE id = ?", id).Scan(&seq)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, fmt.Errorf("store: %q: %w", id, gateway.ErrUnknownCursor)
	}
	if err != nil {
		return 0, fmt.Errorf("store: ticket cursor: %w", err)
	}
	return seq, nil
}

// TicketsToRefund returns, brief, up to limit tickets holding money the
// shop must give back: the overpaid ones, and the cancelled ones with
// approved payments (a late approval after the cancel).
func (s *Store) TicketsToRefund(ctx context.Context, limit int) ([]gateway.Ticket, error) {
	return s.queryTickets(ctx, true, "SELECT "+ticketColumnsBrief+ticketFrom+
		" WHERE t.status = 'overpaid' OR (t.status = 'cancelled' AND t.paid > 0) ORDER BY t.seq LIMIT ?", limit)
}
