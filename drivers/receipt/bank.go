package receipt

import (
	"errors"
	"fmt"
	"time"

	"github.com/passerelle/passerelle/gateway"
)

// Kind is the kind of card transaction a bank ticket records.
type Kind int

// Only debits exist for now; the zero value is one.
const (
	Debit Kind = iota
)

func (k Kind) String() string {
	switch k {
	case Debit:
		return "DÉBIT"
	}
	return fmt.Sprintf("Kind(%d)", int(k))
}

// Copy says whose copy of the bank ticket is printed.
type Copy int

const (
	ClientCopy Copy = iota
	MerchantCopy
)

// BankInput is everything a bank ticket shows.
type BankInput struct {
	Shop           string // the shop's name
	MerchantID     string // the acquirer's merchant number
	TerminalID     string // the bank's terminal number, not Passerelle's terminal id
	Scheme         string // "CB"
	MaskedPAN      string // "#####5743"; a full card number is refused
	TransactionRef string // the reference the télécollecte carries
	AuthCode       string
	Amount         int64 // cents charged to the card
	Currency       string
	At             time.Time      // when the transaction was made
	Location       *time.Location // the shop's time zone, in which At is printed
	Kind           Kind
	Copy           Copy
}

// BankTicket lays out the card transaction's ticket for a cols-wide printer,
// after the brief's:
//
//	CARTE BANCAIRE
//	0000015000
//	CB
//	LE 16/08/16 19:45:02
//	NOM DU COMMERCE
//	02189020000
//	AUTO : 185568
//	#####5743
//	185568D324964D
//
//	MONTANT :
//	10,00 EUR
//	DÉBIT
//	TICKET CLIENT
//	A CONSERVER
//
// every line centred. Empty identifiers leave their line out.
func BankTicket(b BankInput, cols int) ([]string, error) {
	s, err := newSheet(cols)
	if err != nil {
		return nil, err
	}
	if b.Location == nil {
		return nil, errors.New("receipt: bank ticket without the shop's time zone")
	}
	if b.Currency == "" {
		return nil, errors.New("receipt: bank ticket without a currency")
	}
	if gateway.LooksLikePAN(b.MaskedPAN) {
		return nil, errors.New("receipt: bank ticket card number is not masked")
	}
	if b.Kind != Debit {
		return nil, fmt.Errorf("receipt: unknown transaction kind %v", b.Kind)
	}
	copyLine := "TICKET CLIENT"
	switch b.Copy {
	case ClientCopy:
	case MerchantCopy:
		copyLine = "TICKET COMMERCANT"
	default:
		return nil, fmt.Errorf("receipt: unknown ticket copy %d", b.Copy)
	}

	optional := func(v string) {
		if v != "" {
			s.center(v)
		}
	}
	s.center("CARTE BANCAIRE")
	optional(b.MerchantID)
	optional(b.Scheme)
	s.center("LE " + b.At.In(b.Location).Format("02/01/06 15:04:05"))
	optional(b.Shop)
	optional(b.TerminalID)
	if b.AuthCode != "" {
		s.center("AUTO : " + b.AuthCode)
	}
	optional(wholePAN(b.MaskedPAN, s.cols))
	optional(b.TransactionRef)
	s.blank()
	s.center("MONTANT :")
	s.whole(FormatCents(b.Amount) + " " + b.Currency)
	s.center(b.Kind.String())
	s.center(copyLine)
	s.center("A CONSERVER")
	return s.result()
}
