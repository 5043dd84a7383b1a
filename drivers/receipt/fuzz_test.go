package receipt

import (
	"testing"
	"time"

	"github.com/passerelle/passerelle/gateway"
)

// FuzzNote lays out notes with any labels (long words, any Unicode, invalid
// UTF-8, control characters) and amounts within the till API's limits, at
// every accepted width: the note must never panic, never exceed the width
// and never split an amount. The seed corpus is in testdata/fuzz/FuzzNote.
func FuzzNote(f *testing.F) {
	f.Add("PLAT N°4", "PLAT N°1", "Julie", int64(1), int64(2350), int64(3000), 24)
	loc := time.FixedZone("CET", 3600)
	f.Fuzz(func(t *testing.T, label1, label2, server string, qty, unit1, unit2 int64, cols int) {
		cols = MinCols + abs(cols%(MaxCols-MinCols+1))
		qty = 1 + abs64(qty%gateway.MaxQty)
		unit1 %= gateway.MaxUnitPrice + 1
		unit2 %= gateway.MaxUnitPrice + 1
		tk := ticket("1253", "5", server,
			gateway.Line{Label: label1, Qty: qty, UnitPrice: unit1, VATRate: 1000},
			gateway.Line{Label: label2, Qty: 1, UnitPrice: unit2, VATRate: 2000},
		)
		in := NoteInput{
			Shop:     Header{Name: label2, Address: label1, Phone: server},
			Ticket:   tk,
			Payments: []gateway.Payment{approved("pay_1", max(1, tk.Total/2), "#####5743")},
			At:       time.Unix(unit1, 0),
			Location: loc,
		}
		lines, err := Note(in, cols)
		if err != nil {
			t.Fatalf("Note: %v", err)
		}
		checkNote(t, in, cols, lines)
	})
}

func abs(n int) int {
	if n < 0 {
		return -n
	}
	return n
}

func abs64(n int64) int64 {
	if n < 0 {
		return -n
	}
	return n
}
