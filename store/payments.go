package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/passerelle/passerelle/gateway"
)

const paymentColumns = `id, ticket_id, device_id, terminal, requested, amount, tip, currency, status, card,
	auth_code, transaction_ref, merchant_id, terminal_id, receipt, created_at, deadline, completed_at, resolved_by,
	resolution, reported_at, review, elapsed_ms, bank_at`

func scanPayment(row scanner) (gateway.Payment, error) {
	var p gateway.Payment
	var status, receipt, created, deadline, resolution string
	var card, completed, reported, bankAt *string
	var elapsed int64
	err := row.Scan(&p.ID, &p.TicketID, &p.DeviceID, &p.Terminal, &p.Requested, &p.Amount, &p.Tip, &p.Currency,
		&status, &card, &p.AuthCode, &p.TransactionRef, &p.MerchantID, &p.TerminalID, &receipt,
		&created, &deadline, &completed, &p.ResolvedBy, &resolution, &reported, &p.Review, &elapsed, &bankAt)
	if errors.Is(err, sql.ErrNoRows) {
		return p, gateway.ErrNotFound
	}
	if err != nil {
		return p, fmt.Errorf("store: read payment: %w", err)
	}
	p.Status = gateway.PaymentStatus(status)
	p.Resolution = gateway.PaymentStatus(resolution)
	p.Elapsed = time.Duration(elapsed) * time.Millisecond
	if card != nil {
		p.Card = &gateway.Card{}
		if err := json.Unmarshal([]byte(*card), p.Card); err != nil {
			return p, fmt.Errorf("store: payment %s card: %w", p.ID, err)
		}
	}
	if err := json.Unmarshal([]byte(receipt), &p.Receipt); err != nil {
		return p, fmt.Errorf("store: payment %s receipt: %w", p.ID, err)
	}
	if p.CreatedAt, err = parseTime(created); err != nil {
		return p, err
	}
	if p.Deadline, err = parseTime(deadline); err != nil {
		return p, err
	}
	if completed != nil {
		at, err := parseTime(*completed)
		if err != nil {
			return p, err
		}
		p.CompletedAt = &at
	}
	if p.ReportedAt, err = optTime(reported); err != nil {
		return p, err
	}
	if p.BankAt, err = optTime(bankAt); err != nil {
		return p, err
	}
	return p, nil
}

func queryPayments(ctx context.Context, q querier, where string, args ...any) ([]gateway.Payment, error) {
	rows, err := q.QueryContext(ctx, "SELECT "+paymentColumns+" FROM payments WHERE "+where+" ORDER BY id", args...)
	if err != nil {
		return nil, fmt.Errorf("store: payments: %w", err)
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
		return nil, fmt.Errorf("store: payments: %w", err)
	}
	return out, nil
}

func payments(ctx context.Context, q querier, ticketID string) ([]gateway.Payment, error) {
	return queryPayments(ctx, q, "ticket_id = ?", ticketID)
}

// PaymentsOf implements gateway.Tx.
func (t *txn) PaymentsOf(_ context.Context, ticketID string) ([]gateway.Payment, error) {
	return payments(t.ctx, t.tx, ticketID)
}

// PaymentByID implements gateway.Tx.
func (t *txn) PaymentByID(_ context.Context, id string) (gateway.Payment, error) {
	return scanPayment(t.tx.QueryRowContext(t.ctx, "SELECT "+paymentColumns+" FROM payments WHERE id = ?", id))
}

// Payment implements gateway.Store.
func (s *Store) Payment(ctx context.Context, id string) (gateway.Payment, error) {
	return scanPayment(s.db.QueryRowContext(ctx, "SELECT "+paymentColumns+" FROM payments WHERE id = ?", id))
}

// LastApprovedPayment implements gateway.Store.
func (s *Store) LastApprovedPayment(ctx context.Context, deviceID string) (gateway.Payment, error) {
	return scanPayment(s.db.QueryRowContext(ctx, "SELECT "+paymentColumns+` FROM payments
		WHERE device_id = ? AND status = 'approved' ORDER BY completed_at DESC, id DESC LIMIT 1`, deviceID))
}

// PaymentsInProgress implements gateway.Store.
func (s *Store) PaymentsInProgress(ctx context.Context) ([]gateway.Payment, error) {
	return queryPayments(ctx, s.db, "status IN ('pending', 'unknown')")
}

// PaymentsToReview returns the payments flagged for the manager's review:
// their terminal's result contradicted the manager's decision.
func (s *Store) PaymentsToReview(ctx context.Context) ([]gateway.Payment, error) {
	return queryPayments(ctx, s.db, "review = 1")
}

func paymentArgs(p *gateway.Payment) ([]any, error) {
	var card *string
	if p.Card != nil {
		b, err := json.Marshal(p.Card)
		if err != nil {
			return nil, fmt.Errorf("store: encode card: %w", err)
		}
		s := string(b)
		card = &s
	}
	receipt := p.Receipt
	if receipt == nil {
		receipt = []string{}
	}
	rb, err := json.Marshal(receipt)
	if err != nil {
		return nil, fmt.Errorf("store: encode receipt: %w", err)
	}
	return []any{p.TicketID, p.DeviceID, p.Terminal, p.Requested, p.Amount, p.Tip, p.Currency, string(p.Status),
		card, p.AuthCode, p.TransactionRef, p.MerchantID, p.TerminalID, string(rb), formatTime(p.CreatedAt),
		formatTime(p.Deadline), optTimeArg(p.CompletedAt), p.ResolvedBy, string(p.Resolution),
		optTimeArg(p.ReportedAt), p.Review, p.Elapsed.Milliseconds(), optTimeArg(p.BankAt), p.ID}, nil
}

// InsertPayment implements gateway.Tx.
func (t *txn) InsertPayment(_ context.Context, p *gateway.Payment) error {
	args, err := paymentArgs(p)
	if err != nil {
		return err
	}
	_, err = t.exec(`INSERT INTO payments (ticket_id, device_id, terminal, requested, amount, tip, currency, status,
		card, auth_code, transaction_ref, merchant_id, terminal_id, receipt, created_at, deadline, completed_at,
		resolved_by, resolution, reported_at, review, elapsed_ms, bank_at, id)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, args...)
	if err != nil {
		return fmt.Errorf("store: insert payment: %w", err)
	}
	return nil
}

// UpdatePayment implements gateway.Tx.
func (t *txn) UpdatePayment(_ context.Context, p *gateway.Payment) error {
	args, err := paymentArgs(p)
	if err != nil {
		return err
	}
	_, err = t.exec(`UPDATE payments SET ticket_id = ?, device_id = ?, terminal = ?, requested = ?, amount = ?,
		tip = ?, currency = ?, status = ?, card = ?, auth_code = ?, transaction_ref = ?, merchant_id = ?,
		terminal_id = ?, receipt = ?, created_at = ?, deadline = ?, completed_at = ?, resolved_by = ?,
		resolution = ?, reported_at = ?, review = ?, elapsed_ms = ?, bank_at = ? WHERE id = ?`, args...)
	if err != nil {
		return fmt.Errorf("store: update payment %s: %w", p.ID, err)
	}
	return nil
}
