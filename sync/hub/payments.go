package hub

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/passerelle/passerelle/sync/wire"
)

// Payment is one payment as its shop last reported it.
type Payment struct {
	PaymentID      string    `json:"payment_id"`
	TicketRef      string    `json:"ticket_ref"`
	Status         string    `json:"status"`
	Amount         int64     `json:"amount"`
	Tip            int64     `json:"tip"`
	Currency       string    `json:"currency"`
	TransactionRef string    `json:"transaction_ref"`
	AuthCode       string    `json:"auth_code"`
	MerchantID     string    `json:"merchant_id"`
	Scheme         string    `json:"scheme"`
	MaskedPAN      string    `json:"masked_pan"`
	TerminalID     string    `json:"terminal_id"`
	Day            string    `json:"day"`
	At             time.Time `json:"at"`
}

// Payments returns a store's payments of a day (the shop's day, as its
// gateway reported it), in the order they were made.
func (d *DB) Payments(ctx context.Context, storeID, day string) ([]Payment, error) {
	if err := checkDay(day); err != nil {
		return nil, err
	}
	if _, err := d.ackedThrough(ctx, d.db, storeID); err != nil {
		return nil, err
	}
	rows, err := d.db.QueryContext(ctx, d.q(`SELECT payment_id, ticket_ref, status, amount, tip, currency, transaction_ref,
			auth_code, merchant_id, scheme, masked_pan, terminal_id, day, at
		FROM payments WHERE store_id = ? AND day = ? ORDER BY payment_id`), storeID, day)
	if err != nil {
		return nil, fmt.Errorf("hub: payments: %w", err)
	}
	defer rows.Close()
	out := []Payment{}
	for rows.Next() {
		var p Payment
		var at string
		if err := rows.Scan(&p.PaymentID, &p.TicketRef, &p.Status, &p.Amount, &p.Tip, &p.Currency, &p.TransactionRef,
			&p.AuthCode, &p.MerchantID, &p.Scheme, &p.MaskedPAN, &p.TerminalID, &p.Day, &at); err != nil {
			return nil, fmt.Errorf("hub: payments: %w", err)
		}
		if p.At, err = parseTime(at); err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, rows.Err()
}

// EventCount returns how many events the hub holds for a store, and how
// many distinct seqs (the same, unless something is doubled).
func (d *DB) EventCount(ctx context.Context, storeID string) (n int64, err error) {
	err = d.db.QueryRowContext(ctx, d.q("SELECT count(*) FROM events WHERE store_id = ?"), storeID).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("hub: count events: %w", err)
	}
	return n, nil
}

// Events returns up to limit of a store's events after seq, in order.
func (d *DB) Events(ctx context.Context, storeID string, after int64, limit int) ([]wire.Event, error) {
	rows, err := d.db.QueryContext(ctx, d.q("SELECT seq, type, at, day, data FROM events WHERE store_id = ? AND seq > ? ORDER BY seq LIMIT ?"),
		storeID, after, limit)
	if err != nil {
		return nil, fmt.Errorf("hub: events: %w", err)
	}
	defer rows.Close()
	var out []wire.Event
	for rows.Next() {
		var e wire.Event
		var at, data string
		if err := rows.Scan(&e.Seq, &e.Type, &at, &e.Day, &data); err != nil {
			return nil, fmt.Errorf("hub: events: %w", err)
		}
		if e.At, err = parseTime(at); err != nil {
			return nil, err
		}
		e.Data = json.RawMessage(data)
		out = append(out, e)
	}
	return out, rows.Err()
}
