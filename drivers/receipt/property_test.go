package receipt

import (
	"errors"
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/passerelle/passerelle/gateway"
)

var words = []string{
	"PLAT", "N°4", "DU", "JOUR", "CRÈME", "BRÛLÉE", "Ça", "1/2", "CAFÉ", "X",
	"寿司", "🍣🍣🍣", "שקשוקה", "ΚΑΦΕΣ", "crème\u00A0fraîche", "23,50", "-5,00",
	strings.Repeat("É", 30),
	"ANTICONSTITUTIONNELLEMENT_SUPERCALIFRAGILISTICEXPIALIDOCIOUS",
}

func randomText(r *rand.Rand, maxWords int) string {
	var b []string
	for range 1 + r.IntN(maxWords) {
		b = append(b, words[r.IntN(len(words))])
	}
	s := strings.Join(b, " ")
	if rs := []rune(s); len(rs) > gateway.MaxLabelLen {
		s = string(rs[:gateway.MaxLabelLen])
	}
	return s
}

// randomNote returns a note whose lines are within the till API's limits.
func randomNote(r *rand.Rand, loc *time.Location) NoteInput {
	var lines []gateway.Line
	for range 1 + r.IntN(8) {
		l := gateway.Line{
			Label:     randomText(r, 8),
			Qty:       1 + r.Int64N(3),
			UnitPrice: r.Int64N(10000) - 1000,
			VATRate:   []int64{0, 210, 550, 1000, 2000}[r.IntN(5)],
		}
		if r.IntN(10) == 0 {
			l.Qty = 1 + r.Int64N(gateway.MaxQty)
			l.UnitPrice = r.Int64N(2*gateway.MaxUnitPrice+1) - gateway.MaxUnitPrice
		}
		lines = append(lines, l)
	}
	tk := ticket(randomText(r, 2), randomText(r, 1), randomText(r, 3), lines...)
	tk.Covers = r.Int64N(4)
	var payments []gateway.Payment
	for i := range r.IntN(4) {
		p := approved("pay_"+strconv.Itoa(i), 1+r.Int64N(max(tk.Total, 1)), "#####"+strconv.Itoa(1000+r.IntN(9000)))
		p.Status = []gateway.PaymentStatus{gateway.PaymentApproved, gateway.PaymentApproved,
			gateway.PaymentDeclined, gateway.PaymentPending}[r.IntN(4)]
		if r.IntN(4) == 0 {
			p.Tip = r.Int64N(1000)
		}
		if r.IntN(5) == 0 {
			p.Card = nil
		}
		payments = append(payments, p)
	}
	return NoteInput{
		Shop:     Header{Name: randomText(r, 6), Address: randomText(r, 10) + "\n" + randomText(r, 3), Phone: "04 78 00 00 00"},
		Ticket:   tk,
		Payments: payments,
		At:       time.Unix(r.Int64N(2e9), 0),
		Location: loc,
	}
}

func TestNoteProperties(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	loc := paris(t)
	for range 500 {
		in := randomNote(r, loc)
		cols := MinCols + r.IntN(MaxCols-MinCols+1)
		lines, err := Note(in, cols)
		if err != nil {
			t.Fatalf("Note(%+v, %d): %v", in, cols, err)
		}
		checkNote(t, in, cols, lines)
	}
}

func TestBankTicketProperties(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	b := briefBank(t)
	for range 300 {
		b.Shop = randomText(r, 8)
		b.TransactionRef = randomText(r, 2)
		b.Amount = 1 + r.Int64N(gateway.MaxTotal)
		b.Copy = Copy(r.IntN(2))
		cols := MinCols + r.IntN(MaxCols-MinCols+1)
		lines, err := BankTicket(b, cols)
		if err != nil {
			t.Fatal(err)
		}
		checkWidth(t, lines, cols)
		amount := FormatCents(b.Amount) + " EUR"
		found := false
		for i, l := range lines {
			if strings.TrimLeft(l, " ") == amount {
				found = true
				if i == 0 || strings.TrimSpace(lines[i-1]) != "MONTANT :" {
					t.Errorf("amount %s does not follow MONTANT :", amount)
				}
			}
		}
		if !found {
			t.Fatalf("amount %s is not on a line of its own at %d columns:\n%s", amount, cols, strings.Join(lines, "\n"))
		}
	}
}

// parseCents reads what FormatCents prints, as a person reading the
// receipt would.
func parseCents(s string) (int64, error) {
	neg := strings.HasPrefix(s, "-")
	units, cents, ok := strings.Cut(strings.TrimPrefix(s, "-"), ",")
	if !ok || len(cents) != 2 {
		return 0, errors.New("no cents")
	}
	groups := strings.Split(units, " ")
	for i, g := range groups {
		if len(g) == 0 || len(g) > 3 || (i > 0 && len(g) != 3) {
			return 0, errors.New("bad thousands grouping")
		}
	}
	u, err := strconv.ParseUint(strings.Join(groups, "")+cents, 10, 64)
	if err != nil {
		return 0, err
	}
	if neg {
		return int64(-u), nil
	}
	return int64(u), nil
}

func TestFormatCentsReadsBack(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	for range 2000 {
		c := int64(r.Uint64())
		if r.IntN(2) == 0 {
			c %= 1_000_000_00
		}
		got, err := parseCents(FormatCents(c))
		if err != nil || got != c {
			t.Fatalf("FormatCents(%d) = %q reads back as %d, %v", c, FormatCents(c), got, err)
		}
	}
	for _, c := range []int64{math.MinInt64, math.MaxInt64, 0} {
		if got, err := parseCents(FormatCents(c)); err != nil || got != c {
			t.Errorf("FormatCents(%d) = %q reads back as %d, %v", c, FormatCents(c), got, err)
		}
	}
}
