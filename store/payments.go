package store

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/passerelle/passerelle/gateway"
)

const paymentColumns = `id, ticket_id, terminal, amount, tip, currency, status, card, auth_code,
	transaction_ref, merchant_id, terminal_id, created_at, completed_at`

func scanPayment(row scanner) (gateway.Payment, error) {
	var p gateway.Payment
	var status, created string
	var card, completed *string
	err := row.Scan(&p.ID, &p.TicketID, &p.Terminal, &p.Amount, &p.Tip, &p.Currency, &status, &card,
		&p.AuthCode, &p.TransactionRef, &p.MerchantID, &p.TerminalID, &created, &completed)
	if err != nil {
		return p, fmt.Errorf("store: read payment: %w", err)
	}
	p.Status = gateway.PaymentStatus(status)
	if card != nil {
		p.Card = &gateway.Card{}
		if err := json.Unmarshal([]byte(*card), p.Card); err != nil {
			return p, fmt.Errorf("store: payment %s card: %w", p.ID, err)
		}
	}
	if p.CreatedAt, err = parseTime(created); err != nil {
		return p, err
	}
	if completed != nil {
		at, err := parseTime(*completed)
		if err != nil {
			return p, err
		}
		p.CompletedAt = &at
	}
	return p, nil
}

func payments(ctx context.Context, q querier, ticketID string) ([]gateway.Payment, error) {
	rows, err := q.QueryContext(ctx, "SELECT "+paymentColumns+" FROM payments WHERE ticket_id = ? ORDER BY id", ticketID)
	if err != nil {
		return nil, fmt.Errorf("store: payments of %s: %w", ticketID, err)
	}
	defer rows.Close()
	out := []gateway.Payment{}
	for rows.Next() {
		p, err := scanPayment(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: payments of %s: %w", ticketID, err)
	}
	return out, nil
}

// PaymentsOf implements gateway.Tx.
func (t *txn) PaymentsOf(_ context.Context, ticketID string) ([]gateway.Payment, error) {
	return payments(t.ctx, t.tx, ticketID)
}
