package web_test

import (
	"encoding/csv"
	"math/big"
	"net/http"
	"strings"
	"testing"

	"github.com/passerelle/passerelle/gateway"
)

// extremeLines is a valid ticket of MaxTotal whose lines are as large as the
// till API allows, at two rates that nearly cancel out: 250 lines of
// 9999 x 1 000 000,00 at 20 %, and their discounts at 0 %.
func extremeLines() []gateway.Line {
	var lines []gateway.Line
	for range 250 {
		lines = append(lines, gateway.Line{Label: "Lot", Qty: gateway.MaxQty, UnitPrice: gateway.MaxUnitPrice, VATRate: 2000})
	}
	for range 249 {
		lines = append(lines, gateway.Line{Label: "Remise", Qty: gateway.MaxQty, UnitPrice: -gateway.MaxUnitPrice, VATRate: 0})
	}
	// What is left to make the total MaxTotal.
	return append(lines, gateway.Line{Label: "Remise", Qty: gateway.MaxQty - 1, UnitPrice: -gateway.MaxUnitPrice, VATRate: 0})
}

// bigUnits is cents as the CSV writes them: 1234 is "12.34".
func bigUnits(c *big.Int) string {
	q, r := new(big.Int).QuoRem(new(big.Int).Abs(c), big.NewInt(100), new(big.Int))
	s := q.String() + "." + strings.Repeat("0", 2-len(r.String())) + r.String()
	if c.Sign() < 0 {
		s = "-" + s
	}
	return s
}

// The day report of extreme but valid tickets adds up exactly: the day's
// total at 20 % (about 50 000 billion euros here) times the rate is beyond
// int64, and the report used to show a wrapped VAT for it.
func TestReportOfExtremeTickets(t *testing.T) {
	const n = 20
	s := newShop(t)
	term := s.pair("BAR-1")
	for i := range n {
		tk := s.ticket("X"+itoa(i), "", extremeLines()...)
		if tk.Total != gateway.MaxTotal {
			t.Fatalf("ticket total %d, want MaxTotal", tk.Total)
		}
		s.pay(term, tk, tk.Due, gateway.PaymentApproved)
	}
	c := s.setup()
	c.get("/report?day=2026-03-03").want(t, http.StatusOK, "vat-row")
	r := c.get("/report.csv?day=2026-03-03")
	r.want(t, http.StatusOK)
	rows, err := csv.NewReader(strings.NewReader(r.body)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}

	// Worked out here in big integers: each payment of a whole ticket is
	// shared exactly as the ticket's rates are.
	per := func(qty int64, price int64) *big.Int {
		return new(big.Int).Mul(big.NewInt(qty), big.NewInt(price))
	}
	t20 := new(big.Int).Mul(big.NewInt(250), per(gateway.MaxQty, gateway.MaxUnitPrice))
	t20.Mul(t20, big.NewInt(n))
	t0 := new(big.Int).Add(new(big.Int).Mul(big.NewInt(249), per(gateway.MaxQty, -gateway.MaxUnitPrice)), per(gateway.MaxQty-1, -gateway.MaxUnitPrice))
	t0.Mul(t0, big.NewInt(n))
	// round(total * 2000 / 12000), half away from zero: total is positive.
	vat20 := new(big.Int).Mul(t20, big.NewInt(2000))
	vat20.Add(vat20, big.NewInt(6000)).Quo(vat20, big.NewInt(12000))
	base20 := new(big.Int).Sub(t20, vat20)
	want := map[string][]string{
		"takings": {"takings", "2026-03-03", itoa(n), bigUnits(big.NewInt(n * gateway.MaxTotal)), "0.00", "", "", ""},
		"20":      {"vat", "20", "", "", "", bigUnits(base20), bigUnits(vat20), bigUnits(t20)},
		"0":       {"vat", "0", "", "", "", bigUnits(t0), "0.00", bigUnits(t0)},
	}
	for _, row := range rows {
		key := row[1]
		if row[0] == "takings" {
			key = "takings"
		}
		if w, ok := want[key]; ok && (row[0] == "vat" || row[0] == "takings") {
			if strings.Join(row, ",") != strings.Join(w, ",") {
				t.Errorf("row %v, want %v", row, w)
			}
			delete(want, key)
		}
	}
	for _, w := range want {
		t.Errorf("no row %v in\n%s", w, r.body)
	}
}
