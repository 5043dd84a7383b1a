package hub

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"time"
)

// ReconEntry is one line of a reconciliation: a payment, a bank line, or
// both.
type ReconEntry struct {
	TransactionRef string `json:"transaction_ref"`
	Amount         *int64 `json:"amount,omitempty"`      // the payment's (amount + tip), cents
	BankAmount     *int64 `json:"bank_amount,omitempty"` // the file's, cents
	PaymentID      string `json:"payment_id,omitempty"`
	Line           int    `json:"line,omitempty"` // in the file
}

// Reconciliation is the day's approved payments against the bank's file.
type Reconciliation struct {
	StoreID        string       `json:"store_id"`
	Day            string       `json:"day"`
	Matched        []ReconEntry `json:"matched"`
	Missing        []ReconEntry `json:"missing"`    // approved, absent from the file
	Unexpected     []ReconEntry `json:"unexpected"` // in the file, no approved payment
	AmountMismatch []ReconEntry `json:"amount_mismatch"`
	// OtherDays counts the file's lines of other days, left out.
	OtherDays int `json:"other_days"`
}

// OK reports whether everything matched.
func (r Reconciliation) OK() bool {
	return len(r.Missing) == 0 && len(r.Unexpected) == 0 && len(r.AmountMismatch) == 0
}

// Reconcile matches a store's approved payments of day against the bank's
// lines of that day by transaction_ref, and records the result. A bank
// line seen twice is unexpected the second time (a double debit).
func (d *DB) Reconcile(ctx context.Context, storeID, day string, lines []BankLine) (Reconciliation, error) {
	pays, err := d.Payments(ctx, storeID, day)
	if err != nil {
		return Reconciliation{}, err
	}
	r := Reconciliation{StoreID: storeID, Day: day, Matched: []ReconEntry{}, Missing: []ReconEntry{},
		Unexpected: []ReconEntry{}, AmountMismatch: []ReconEntry{}}
	approved := map[string]Payment{}
	for _, p := range pays {
		if p.Status == "approved" && p.TransactionRef != "" {
			approved[p.TransactionRef] = p
		}
	}
	seen := map[string]bool{}
	for _, bl := range lines {
		if bl.Date != day {
			r.OtherDays++
			continue
		}
		bank := bl.Amount
		e := ReconEntry{TransactionRef: bl.TransactionRef, BankAmount: &bank, Line: bl.Line}
		p, ok := approved[bl.TransactionRef]
		if !ok || seen[bl.TransactionRef] {
			r.Unexpected = append(r.Unexpected, e)
			continue
		}
		seen[bl.TransactionRef] = true
		amount := p.Amount + p.Tip
		e.Amount, e.PaymentID = &amount, p.PaymentID
		if amount == bank {
			r.Matched = append(r.Matched, e)
		} else {
			r.AmountMismatch = append(r.AmountMismatch, e)
		}
	}
	for ref, p := range approved {
		if !seen[ref] {
			amount := p.Amount + p.Tip
			r.Missing = append(r.Missing, ReconEntry{TransactionRef: ref, Amount: &amount, PaymentID: p.PaymentID})
		}
	}
	sort.Slice(r.Missing, func(i, j int) bool { return r.Missing[i].TransactionRef < r.Missing[j].TransactionRef })
	b, err := json.Marshal(r)
	if err != nil {
		return r, fmt.Errorf("hub: reconciliation: %w", err)
	}
	_, err = d.wdb.ExecContext(ctx, d.q("INSERT INTO reconciliations (store_id, day, created_at, ok, result) VALUES (?, ?, ?, ?, ?)"),
		storeID, day, formatTime(d.now()), b2i(r.OK()), string(b))
	if err != nil {
		return r, fmt.Errorf("hub: record the reconciliation: %w", err)
	}
	return r, nil
}

// checkDay refuses anything but YYYY-MM-DD.
func checkDay(day string) error {
	if _, err := time.Parse(time.DateOnly, day); err != nil || len(day) != len(time.DateOnly) {
		return fmt.Errorf("%w: day must be YYYY-MM-DD", ErrInvalid)
	}
	return nil
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}
