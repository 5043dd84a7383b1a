package receipt

import (
	"time"

	"github.com/passerelle/passerelle/gateway"
)

// Printer lays out what the scenarios print, with the shop's header and
// time zone. It implements gateway.ReceiptPrinter.
type Printer struct {
	Shop     Header
	Location *time.Location
	Now      func() time.Time
}

var _ gateway.ReceiptPrinter = Printer{}

// BankTicket implements gateway.ReceiptPrinter: the client's copy of an
// approved payment's bank ticket, dated when the bank made the
// transaction: the terminal's time, else the gateway's time of receipt.
func (p Printer) BankTicket(pay gateway.Payment, cols int) ([]string, error) {
	in := BankInput{Shop: p.Shop.Name, MerchantID: pay.MerchantID, TerminalID: pay.TerminalID,
		TransactionRef: pay.TransactionRef, AuthCode: pay.AuthCode, Amount: pay.Amount + pay.Tip,
		Currency: pay.Currency, At: p.Now(), Location: p.Location, Kind: Debit, Copy: ClientCopy}
	switch {
	case pay.BankAt != nil:
		in.At = *pay.BankAt
	case pay.CompletedAt != nil:
		in.At = *pay.CompletedAt
	}
	if pay.Card != nil {
		in.Scheme, in.MaskedPAN = pay.Card.Scheme, pay.Card.MaskedPAN
	}
	return BankTicket(in, cols)
}

// Note implements gateway.ReceiptPrinter.
func (p Printer) Note(t gateway.Ticket, cols int) ([]string, error) {
	return Note(NoteInput{Shop: p.Shop, Ticket: t, Payments: t.Payments, At: p.Now(), Location: p.Location}, cols)
}
