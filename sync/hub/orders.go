package hub

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/passerelle/passerelle/gateway"
)

// Order statuses as a web shop reads them.
const (
	OrderOpen          = "open"
	OrderPartiallyPaid = "partially_paid"
	OrderPaid          = "paid"
	OrderCancelled     = "cancelled"
)

// OrderPayment is a payment of an order, as its shop reported it.
type OrderPayment struct {
	PaymentID      string `json:"payment_id"`
	Status         string `json:"status"`
	Amount         int64  `json:"amount"`
	Tip            int64  `json:"tip"`
	TransactionRef string `json:"transaction_ref,omitempty"`
	AuthCode       string `json:"auth_code,omitempty"`
	Scheme         string `json:"scheme,omitempty"`
	MaskedPAN      string `json:"masked_pan,omitempty"`
	TerminalID     string `json:"terminal_id,omitempty"`
}

// OrderView is what a web shop reads back of an order.
type OrderView struct {
	Ref       string         `json:"ref"`
	Status    string         `json:"status"`
	Version   int64          `json:"version"`
	Total     int64          `json:"total"`
	Paid      int64          `json:"paid"`
	Due       int64          `json:"due"`
	Payments  []OrderPayment `json:"payments"`
	UpdatedAt time.Time      `json:"updated_at"`
	// Reported says whether the shop has the order yet.
	Reported bool `json:"reported"`
}

// reported is what the shop last said of an order's ticket.
type reported struct {
	Status     string         `json:"status"`
	Total      int64          `json:"total"`
	Paid       int64          `json:"paid"`
	Due        int64          `json:"due"`
	Version    int64          `json:"version"`
	InProgress bool           `json:"in_progress"`
	Payments   []OrderPayment `json:"payments"`
}

// PulledOrder is an order as the gateway pulls it: the ticket of the till
// API, with source "web".
type PulledOrder struct {
	gateway.TicketInput
	Status  string `json:"status"` // open or cancelled
	Version int64  `json:"version"`
	Source  string `json:"source"`
}

type orderRow struct {
	body      []byte
	hash      []byte
	version   int64
	cancelled bool
	reported  *reported
	updatedAt time.Time
}

func (d *DB) orderRow(ctx context.Context, q interface {
	QueryRowContext(context.Context, string, ...any) *sql.Row
}, storeID, ref string) (orderRow, error) {
	var r orderRow
	var rep sql.NullString
	var updated string
	err := q.QueryRowContext(ctx, d.q("SELECT body, content_hash, version, cancelled, reported, updated_at FROM orders WHERE store_id = ? AND ref = ?"),
		storeID, ref).Scan(&r.body, &r.hash, &r.version, &r.cancelled, &rep, &updated)
	if errors.Is(err, sql.ErrNoRows) {
		return r, fmt.Errorf("hub: order %s: %w", ref, ErrNotFound)
	}
	if err != nil {
		return r, fmt.Errorf("hub: order %s: %w", ref, err)
	}
	if r.updatedAt, err = parseTime(updated); err != nil {
		return r, err
	}
	if rep.Valid {
		r.reported = &reported{}
		if err := json.Unmarshal([]byte(rep.String), r.reported); err != nil {
			return r, fmt.Errorf("hub: order %s: %w", ref, err)
		}
	}
	return r, nil
}

// nextChange moves the store's order cursor on and returns it.
func (d *DB) nextChange(ctx context.Context, tx *sql.Tx, storeID string) (int64, error) {
	var c int64
	err := tx.QueryRowContext(ctx, d.q("UPDATE stores SET order_change = order_change + 1 WHERE id = ? AND revoked_at IS NULL RETURNING order_change"), storeID).Scan(&c)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, fmt.Errorf("hub: store %s: %w", storeID, ErrNotFound)
	}
	if err != nil {
		return 0, fmt.Errorf("hub: order cursor: %w", err)
	}
	return c, nil
}

// PutOrder creates or updates an order by its ref with the till API's
// rules; in must be validated. It returns the order and what was done.
func (d *DB) PutOrder(ctx context.Context, storeID string, in gateway.TicketInput) (OrderView, gateway.SubmitResult, error) {
	body, err := json.Marshal(in)
	if err != nil {
		return OrderView{}, 0, fmt.Errorf("hub: order: %w", err)
	}
	hash := in.ContentHash()
	tx, err := d.wdb.BeginTx(ctx, nil)
	if err != nil {
		return OrderView{}, 0, fmt.Errorf("hub: order: %w", err)
	}
	defer tx.Rollback()
	now := formatTime(d.now())
	cur, err := d.orderRow(ctx, tx, storeID, in.Ref)
	res := gateway.Updated
	switch {
	case errors.Is(err, ErrNotFound):
		res = gateway.Created
		change, err := d.nextChange(ctx, tx, storeID)
		if err != nil {
			return OrderView{}, 0, err
		}
		_, err = tx.ExecContext(ctx, d.q(`INSERT INTO orders (store_id, ref, body, content_hash, version, change, created_at, updated_at)
			VALUES (?, ?, ?, ?, 1, ?, ?, ?)`), storeID, in.Ref, string(body), hash, change, now, now)
		if err != nil {
			return OrderView{}, 0, fmt.Errorf("hub: order: %w", err)
		}
	case err != nil:
		return OrderView{}, 0, err
	case bytes.Equal(cur.hash, hash):
		return d.view(in.Ref, cur), gateway.Unchanged, nil
	case cur.cancelled:
		return OrderView{}, 0, gateway.Conflict("order %s is cancelled", in.Ref)
	case cur.reported != nil && cur.reported.InProgress:
		return OrderView{}, 0, gateway.Conflict("a payment of order %s is in progress in the shop", in.Ref)
	case cur.reported != nil && in.Total < cur.reported.Paid:
		return OrderView{}, 0, gateway.Conflict("new total %d is below the %d already paid", in.Total, cur.reported.Paid)
	default:
		change, err := d.nextChange(ctx, tx, storeID)
		if err != nil {
			return OrderView{}, 0, err
		}
		_, err = tx.ExecContext(ctx, d.q(`UPDATE orders SET body = ?, content_hash = ?, version = version + 1, change = ?, updated_at = ?
			WHERE store_id = ? AND ref = ?`), string(body), hash, change, now, storeID, in.Ref)
		if err != nil {
			return OrderView{}, 0, fmt.Errorf("hub: order: %w", err)
		}
	}
	after, err := d.orderRow(ctx, tx, storeID, in.Ref)
	if err != nil {
		return OrderView{}, 0, err
	}
	if err := tx.Commit(); err != nil {
		return OrderView{}, 0, fmt.Errorf("hub: order: commit: %w", err)
	}
	return d.view(in.Ref, after), res, nil
}

// CancelOrder cancels an order, refused once the shop reports a payment
// in progress or made.
func (d *DB) CancelOrder(ctx context.Context, storeID, ref string) (OrderView, error) {
	tx, err := d.wdb.BeginTx(ctx, nil)
	if err != nil {
		return OrderView{}, fmt.Errorf("hub: cancel order: %w", err)
	}
	defer tx.Rollback()
	cur, err := d.orderRow(ctx, tx, storeID, ref)
	if err != nil {
		return OrderView{}, err
	}
	switch {
	case cur.cancelled:
		return d.view(ref, cur), nil
	case cur.reported != nil && cur.reported.InProgress:
		return OrderView{}, gateway.Conflict("a payment of order %s is in progress in the shop", ref)
	case cur.reported != nil && cur.reported.Paid > 0:
		return OrderView{}, gateway.Conflict("order %s has approved payments", ref)
	}
	change, err := d.nextChange(ctx, tx, storeID)
	if err != nil {
		return OrderView{}, err
	}
	if _, err := tx.ExecContext(ctx, d.q("UPDATE orders SET cancelled = 1, change = ?, updated_at = ? WHERE store_id = ? AND ref = ?"),
		change, formatTime(d.now()), storeID, ref); err != nil {
		return OrderView{}, fmt.Errorf("hub: cancel order: %w", err)
	}
	cur.cancelled = true
	if err := tx.Commit(); err != nil {
		return OrderView{}, fmt.Errorf("hub: cancel order: commit: %w", err)
	}
	return d.view(ref, cur), nil
}

// Order returns an order as the web shop reads it.
func (d *DB) Order(ctx context.Context, storeID, ref string) (OrderView, error) {
	r, err := d.orderRow(ctx, d.db, storeID, ref)
	if err != nil {
		return OrderView{}, err
	}
	return d.view(ref, r), nil
}

// view is the order as its shop last reported it; before the shop has
// it, as posted.
func (d *DB) view(ref string, r orderRow) OrderView {
	v := OrderView{Ref: ref, Version: r.version, Status: OrderOpen, Payments: []OrderPayment{}, UpdatedAt: r.updatedAt}
	var in gateway.TicketInput
	if json.Unmarshal(r.body, &in) == nil {
		v.Total, v.Due = in.Total, in.Total
	}
	if rep := r.reported; rep != nil {
		v.Reported = true
		v.Total, v.Paid, v.Due, v.Payments = rep.Total, rep.Paid, rep.Due, rep.Payments
		switch rep.Status {
		case string(gateway.TicketPartiallyPaid):
			v.Status = OrderPartiallyPaid
		case string(gateway.TicketPaid), string(gateway.TicketOverpaid):
			v.Status = OrderPaid
		case string(gateway.TicketCancelled):
			v.Status = OrderCancelled
		}
	}
	if r.cancelled && v.Paid == 0 {
		v.Status = OrderCancelled
	}
	return v
}

// OrdersAfter returns up to limit of a store's orders changed after the
// cursor, in the order of their changes, and the cursor after them.
func (d *DB) OrdersAfter(ctx context.Context, storeID string, after int64, limit int) ([]PulledOrder, int64, error) {
	if _, err := d.ackedThrough(ctx, d.db, storeID); err != nil {
		return nil, 0, err
	}
	rows, err := d.db.QueryContext(ctx, d.q("SELECT body, version, cancelled, change FROM orders WHERE store_id = ? AND change > ? ORDER BY change LIMIT ?"),
		storeID, after, limit)
	if err != nil {
		return nil, 0, fmt.Errorf("hub: orders: %w", err)
	}
	defer rows.Close()
	out := []PulledOrder{}
	cursor := after
	for rows.Next() {
		var body []byte
		var o PulledOrder
		var cancelled bool
		if err := rows.Scan(&body, &o.Version, &cancelled, &cursor); err != nil {
			return nil, 0, fmt.Errorf("hub: orders: %w", err)
		}
		if err := json.Unmarshal(body, &o.TicketInput); err != nil {
			return nil, 0, fmt.Errorf("hub: orders: %w", err)
		}
		o.Status, o.Source = OrderOpen, gateway.SourceWeb
		if cancelled {
			o.Status = OrderCancelled
		}
		out = append(out, o)
	}
	return out, cursor, rows.Err()
}

// reportTicket records what a shop's event says of a web order's ticket.
func (d *DB) reportTicket(ctx context.Context, tx *sql.Tx, storeID string, seq int64, t eventTicket) error {
	if t.Source != gateway.SourceWeb || t.Ref == "" {
		return nil
	}
	rep := reported{Status: t.Status, Total: t.Total, Paid: t.Paid, Due: t.Due, Version: t.Version, Payments: []OrderPayment{}}
	for _, p := range t.Payments {
		if p.Status == string(gateway.PaymentPending) || p.Status == string(gateway.PaymentUnknown) {
			rep.InProgress = true
		}
		rep.Payments = append(rep.Payments, OrderPayment{PaymentID: p.ID, Status: p.Status, Amount: p.Amount, Tip: p.Tip,
			TransactionRef: p.TransactionRef, AuthCode: p.AuthCode, Scheme: p.Card.Scheme, MaskedPAN: p.Card.MaskedPAN, TerminalID: p.TerminalID})
	}
	b, err := json.Marshal(rep)
	if err != nil {
		return fmt.Errorf("hub: report order: %w", err)
	}
	// An order the hub does not have (posted straight to the shop's till
	// API as web, say) is not made up here.
	_, err = tx.StmtContext(ctx, d.stmts.report).ExecContext(ctx, string(b), seq, storeID, t.Ref, seq)
	if err != nil {
		return fmt.Errorf("hub: report order: %w", err)
	}
	return nil
}
