package terminalsim

import (
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/passerelle/passerelle/gateway"
)

// Outcome is how a simulated card step ends.
type Outcome string

const (
	Approve Outcome = "approve" // the card is accepted
	Decline Outcome = "decline" // the bank refuses it
	// Slow approves after Options.SlowDelay, unless the gateway aborts the
	// payment meanwhile: then the result is cancelled.
	Slow Outcome = "slow"
	// Drop approves, stores the result, and loses the connection before
	// sending it: the result goes out after the reconnection.
	Drop Outcome = "drop"
)

// ParseOutcome returns the outcome named s.
func ParseOutcome(s string) (Outcome, error) {
	switch o := Outcome(s); o {
	case Approve, Decline, Slow, Drop:
		return o, nil
	}
	return "", fmt.Errorf("terminalsim: unknown card outcome %q (approve, decline, slow, drop)", s)
}

// The acquirer's identifiers the simulated bank kernel reports, those of the
// brief's bank ticket.
const (
	MerchantID     = "0000015000"
	BankTerminalID = "02189020000"
)

// Result is a payment_result as the terminal sends it.
type Result struct {
	Type           string        `json:"type"`
	PaymentID      string        `json:"payment_id"`
	Status         string        `json:"status"`
	Amount         int64         `json:"amount"`
	Tip            int64         `json:"tip"`
	Currency       string        `json:"currency"`
	Card           *gateway.Card `json:"card,omitempty"`
	AuthCode       string        `json:"auth_code,omitempty"`
	TransactionRef string        `json:"transaction_ref,omitempty"`
	MerchantID     string        `json:"merchant_id,omitempty"`
	TerminalID     string        `json:"terminal_id,omitempty"`
	At             string        `json:"at"`
	Receipt        []string      `json:"receipt,omitempty"`
}

// cardResult is what the simulated bank kernel reports for p.
func cardResult(p Payment, status string, now time.Time) *Result {
	r := &Result{Type: "payment_result", PaymentID: p.PaymentID, Status: status,
		Amount: p.Amount, Tip: p.Tip, Currency: p.Currency, At: now.UTC().Format(time.RFC3339)}
	if status == "cancelled" || status == "error" {
		return r // no card was read
	}
	// Only the last four digits ever leave the kernel.
	r.Card = &gateway.Card{Scheme: "CB", MaskedPAN: fmt.Sprintf("#####%04d", rand.IntN(10000)), Entry: "chip"}
	r.MerchantID, r.TerminalID = MerchantID, BankTerminalID
	if status == "approved" {
		r.AuthCode = fmt.Sprintf("%06d", rand.IntN(1_000_000))
		r.TransactionRef = fmt.Sprintf("%sD%06dD", r.AuthCode, rand.IntN(1_000_000))
	}
	r.Receipt = bankReceipt(p, r, now)
	return r
}

// bankReceipt is the client's copy as the terminal's own bank application
// prints it, laid out as on the brief's ticket.
func bankReceipt(p Payment, r *Result, now time.Time) []string {
	label := p.Label
	if label == "" {
		label = "DÉBIT"
	}
	lines := []string{"CARTE BANCAIRE", r.MerchantID, r.Card.Scheme,
		"LE " + now.Format("02/01/06 15:04:05"), r.TerminalID}
	if r.AuthCode != "" {
		lines = append(lines, "AUTO : "+r.AuthCode)
	}
	lines = append(lines, r.Card.MaskedPAN)
	if r.TransactionRef != "" {
		lines = append(lines, r.TransactionRef)
	}
	lines = append(lines, "", "MONTANT :", gateway.FormatCents(p.Amount+p.Tip)+" "+p.Currency, label)
	if r.Status != "approved" {
		lines = append(lines, "PAIEMENT REFUSÉ")
	}
	return append(lines, "TICKET CLIENT", "A CONSERVER")
}
