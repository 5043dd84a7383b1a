package receipt

import (
	"math"
	"strings"
	"testing"

	"github.com/passerelle/passerelle/gateway"
)

func TestBankTicketRefuses(t *testing.T) {
	const fullPAN = "4111111111111111"
	if !gateway.LooksLikePAN(fullPAN) {
		t.Fatal("test card number does not look like one")
	}
	cases := []struct {
		name string
		edit func(*BankInput)
	}{
		{"no time zone", func(b *BankInput) { b.Location = nil }},
		{"no currency", func(b *BankInput) { b.Currency = "" }},
		{"full card number", func(b *BankInput) { b.MaskedPAN = fullPAN }},
		{"unknown kind", func(b *BankInput) { b.Kind = 7 }},
		{"unknown copy", func(b *BankInput) { b.Copy = 7 }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			b := briefBank(t)
			c.edit(&b)
			lines, err := BankTicket(b, 32)
			if err == nil {
				t.Fatalf("laid out anyway: %q", lines)
			}
			if strings.Contains(err.Error(), fullPAN) {
				t.Errorf("error carries the card number: %v", err)
			}
		})
	}
}

func TestBankTicketMerchantCopy(t *testing.T) {
	b := briefBank(t)
	b.Copy = MerchantCopy
	lines, err := BankTicket(b, 32)
	if err != nil {
		t.Fatal(err)
	}
	got := strings.Join(lines, "\n")
	if !strings.Contains(got, "TICKET COMMERCANT") || strings.Contains(got, "TICKET CLIENT") {
		t.Errorf("merchant copy:\n%s", got)
	}
}

func TestNoteRefuses(t *testing.T) {
	cases := []struct {
		name string
		edit func(*NoteInput)
	}{
		{"no time zone", func(n *NoteInput) { n.Location = nil }},
		{"lines do not add up", func(n *NoteInput) { n.Ticket.Total++ }},
		{"line overflows", func(n *NoteInput) {
			n.Ticket.Lines[0].Qty, n.Ticket.Lines[0].UnitPrice = math.MaxInt64, 2
		}},
		{"full card number", func(n *NoteInput) { n.Payments[0].Card.MaskedPAN = "4111 1111 1111 1111" }},
		{"amount wider than the paper", func(n *NoteInput) {
			n.Ticket.Lines = []gateway.Line{{Label: "X", Qty: 1, UnitPrice: math.MinInt64}}
			n.Ticket.Total, n.Ticket.VAT = math.MinInt64, nil
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			n := briefNote(t)
			c.edit(&n)
			if lines, err := Note(n, 24); err == nil {
				t.Fatalf("laid out anyway: %q", lines)
			}
		})
	}
}

// A ticket read back without its VAT breakdown still gets one, the gateway's.
func TestNoteComputesMissingVAT(t *testing.T) {
	n := variantNote(t)
	want, err := Note(n, 32)
	if err != nil {
		t.Fatal(err)
	}
	n.Ticket.VAT = nil
	got, err := Note(n, 32)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("without VAT:\n%s\nwith:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// What was paid over the total is shown, so that the note adds up.
func TestNoteOverpaid(t *testing.T) {
	n := briefNote(t)
	n.Payments = append(n.Payments, approved("pay_2", 500, "#####1234"))
	lines, err := Note(n, 32)
	if err != nil {
		t.Fatal(err)
	}
	checkNote(t, n, 32, lines)
	if last := lines[len(lines)-1]; !strings.HasPrefix(last, "TROP PERÇU :") {
		t.Errorf("last line %q, want TROP PERÇU", last)
	}
}
