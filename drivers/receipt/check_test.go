package receipt

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/passerelle/passerelle/gateway"
)

// checkNote checks the properties every note has, whatever its input: no
// line wider than the paper, and every amount the input calls for printed
// whole, right-aligned, in order: the lines' (quantity × unit price,
// computed here), the total, the VAT, the approved payments and what remains.
func checkNote(t *testing.T, in NoteInput, cols int, lines []string) {
	t.Helper()
	checkWidth(t, lines, cols)
	var want []int64
	var sum int64
	for _, l := range in.Ticket.Lines {
		want = append(want, l.Qty*l.UnitPrice)
		sum += l.Qty * l.UnitPrice
	}
	if sum != in.Ticket.Total {
		t.Fatalf("test input is wrong: lines add up to %d, total %d", sum, in.Ticket.Total)
	}
	want = append(want, in.Ticket.Total)
	vat := in.Ticket.VAT
	if len(vat) == 0 {
		vat = gateway.VATBreakdown(in.Ticket.Lines)
	}
	for _, v := range vat {
		want = append(want, v.Amount)
	}
	var paid int64
	for _, p := range in.Payments {
		if p.Status == gateway.PaymentApproved {
			paid += p.Amount
			want = append(want, p.Amount)
			if p.Tip != 0 {
				want = append(want, p.Tip)
			}
		}
	}
	if rest := in.Ticket.Total - paid; paid > 0 && rest != 0 {
		want = append(want, max(rest, -rest))
	}

	next := 0
	for i, a := range want {
		amt := FormatCents(a)
		for next < len(lines) && !endsWithAmount(lines[next], amt, cols) {
			next++
		}
		if next == len(lines) {
			t.Fatalf("amount %s is not printed whole and right-aligned in its place (%d columns):\n%s",
				amt, cols, strings.Join(lines, "\n"))
		}
		// The total's label may be wrapped, or left on the line above.
		if i == len(in.Ticket.Lines) && !strings.Contains(lines[next], "PAYER :") &&
			!strings.Contains(lines[next-1], "PAYER :") {
			t.Fatalf("total %s is not the NET À PAYER line's:\n%s", amt, strings.Join(lines, "\n"))
		}
		next++
	}
}

// endsWithAmount reports whether line is a full line that ends with amt
// standing alone.
func endsWithAmount(line, amt string, cols int) bool {
	if utf8.RuneCountInString(line) != cols || !strings.HasSuffix(line, amt) {
		return false
	}
	before := line[:len(line)-len(amt)]
	return before == "" || strings.HasSuffix(before, " ")
}
