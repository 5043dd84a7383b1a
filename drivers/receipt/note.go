package receipt

import (
	"cmp"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/passerelle/passerelle/gateway"
)

// Header is the top of a note: the shop as its configuration describes it.
// Each field may hold several lines separated by newlines (an address often
// does).
type Header struct {
	Name    string
	Address string
	Phone   string
}

// NoteInput is everything a note shows.
type NoteInput struct {
	Shop     Header
	Ticket   gateway.Ticket // lines, total and VAT breakdown as the gateway keeps them
	Payments []gateway.Payment
	At       time.Time      // when the note is printed
	Location *time.Location // the shop's time zone, in which At is printed
}

// Note lays out the ticket's note (facturette) for a cols-wide printer, after
// the brief's:
//
//	     NOM DU RESTAURANT
//	          ADRESSE
//	         TELEPHONE
//
//	12/02/16 20:45
//	TABLE 5
//	NOTE N° 1253
//	SERVEUR : Julie
//	1 X PLAT N°4             23,50
//	1 X PLAT N°1             30,00
//
//	NET À PAYER :            53,50
//	TVA 10,00%                4,86
//	PRIX NET-SERVICE COMPRIS
//
//	CB #####5743             53,50
//
// COUVERTS and FIDÉLITÉ lines follow the server's when the ticket has them.
// A line's amount is quantity × unit price. The VAT lines are the ticket's
// (the till API's formula on VAT-inclusive prices). Only approved payments
// are listed; what remains due after them follows, or what was paid over the
// total.
func Note(n NoteInput, cols int) ([]string, error) {
	s, err := newSheet(cols)
	if err != nil {
		return nil, err
	}
	if n.Location == nil {
		return nil, errors.New("receipt: note without the shop's time zone")
	}
	t := n.Ticket

	// The lines are checked against the total so that a note never shows
	// lines that do not add up to what it asks for.
	amounts := make([]int64, len(t.Lines))
	var sum int64
	for i, l := range t.Lines {
		a, err := gateway.MulCents(l.Qty, l.UnitPrice)
		if err == nil {
			sum, err = gateway.AddCents(sum, a)
		}
		if err != nil {
			return nil, fmt.Errorf("receipt: ticket %s line %d: %w", t.Ref, i, err)
		}
		amounts[i] = a
	}
	if sum != t.Total {
		return nil, fmt.Errorf("receipt: ticket %s lines add up to %s, its total is %s",
			t.Ref, FormatCents(sum), FormatCents(t.Total))
	}
	vat := t.VAT
	if len(vat) == 0 {
		vat = gateway.VATBreakdown(t.Lines)
	}

	for _, f := range []string{n.Shop.Name, n.Shop.Address, n.Shop.Phone} {
		for l := range strings.Lines(f) {
			s.center(l)
		}
	}
	s.blank()
	s.left(n.At.In(n.Location).Format("02/01/06 15:04"))
	if t.Table != "" {
		s.left("TABLE " + t.Table)
	}
	s.left("NOTE N° " + t.Ref)
	if t.Covers > 0 {
		s.left(fmt.Sprintf("COUVERTS : %d", t.Covers))
	}
	if t.Server != "" {
		s.left("SERVEUR : " + t.Server)
	}
	if t.Loyalty != "" {
		s.left("FIDÉLITÉ : " + t.Loyalty)
	}
	for i, l := range t.Lines {
		qty := fmt.Sprintf("%d X ", l.Qty)
		s.row(qty+l.Label, FormatCents(amounts[i]), min(runes(qty), maxHang))
	}
	s.blank()
	s.total("NET À PAYER :", FormatCents(t.Total))
	for _, v := range vat {
		s.total("TVA "+formatRate(v.Rate), FormatCents(v.Amount))
	}
	s.left("PRIX NET-SERVICE COMPRIS")

	var paid int64
	first := true
	for _, p := range n.Payments {
		if p.Status != gateway.PaymentApproved {
			continue
		}
		if first {
			s.blank()
			first = false
		}
		label := "CARTE"
		if c := p.Card; c != nil {
			if gateway.LooksLikePAN(c.MaskedPAN) {
				return nil, fmt.Errorf("receipt: payment %s: card number is not masked", p.ID)
			}
			label = strings.TrimSpace(cmp.Or(c.Scheme, label) + " " + wholePAN(c.MaskedPAN, s.cols-2))
		}
		s.row(label, FormatCents(p.Amount), 2)
		if p.Tip != 0 {
			s.total("POURBOIRE", FormatCents(p.Tip))
		}
		if paid, err = gateway.AddCents(paid, p.Amount); err != nil {
			return nil, fmt.Errorf("receipt: payments on ticket %s: %w", t.Ref, err)
		}
	}
	switch rest := t.Total - paid; {
	case rest > 0 && paid > 0:
		s.total("RESTE À PAYER :", FormatCents(rest))
	case rest < 0:
		s.total("TROP PERÇU :", FormatCents(-rest))
	}
	return s.result()
}
