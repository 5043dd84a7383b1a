package web

import (
	"errors"
	"math/big"
	"math/rand/v2"
	"testing"

	"github.com/passerelle/passerelle/gateway"
	"github.com/passerelle/passerelle/web/views"
)

func TestShareByRate(t *testing.T) {
	for _, tc := range []struct {
		name   string
		amount int64
		lines  []gateway.Line
		want   map[int64]int64
	}{
		{"one rate", 1000, []gateway.Line{{Qty: 1, UnitPrice: 3000, VATRate: 1000}}, map[int64]int64{1000: 1000}},
		{"whole ticket", 4900, []gateway.Line{{Qty: 2, UnitPrice: 1450, VATRate: 1000}, {Qty: 1, UnitPrice: 2000, VATRate: 2000}},
			map[int64]int64{1000: 2900, 2000: 2000}},
		// A third of 100,00 split 50/50: 33,34 goes 16,67 + 16,67.
		{"a third", 3334, []gateway.Line{{Qty: 1, UnitPrice: 5000, VATRate: 550}, {Qty: 1, UnitPrice: 5000, VATRate: 2000}},
			map[int64]int64{550: 1667, 2000: 1667}},
		// An odd cent goes to the largest remainder, the lower rate on a tie.
		{"odd cent", 3333, []gateway.Line{{Qty: 1, UnitPrice: 5000, VATRate: 550}, {Qty: 1, UnitPrice: 5000, VATRate: 2000}},
			map[int64]int64{550: 1667, 2000: 1666}},
		{"discount at a rate", 1000, []gateway.Line{{Qty: 1, UnitPrice: 2000, VATRate: 1000}, {Qty: 1, UnitPrice: -1000, VATRate: 1000},
			{Qty: 1, UnitPrice: 1000, VATRate: 2000}}, map[int64]int64{1000: 500, 2000: 500}},
		{"overpaid", 6000, []gateway.Line{{Qty: 1, UnitPrice: 3000, VATRate: 1000}}, map[int64]int64{1000: 6000}},
	} {
		got := shareByRate(tc.amount, gateway.VATBreakdown(tc.lines))
		if len(got) != len(tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
			continue
		}
		for r, v := range tc.want {
			if got[r] == nil || got[r].Cmp(big.NewInt(v)) != 0 {
				t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
			}
		}
	}
}

// The shares always add up to the amount, to the cent, and none is off by
// more than a cent from its exact proportion.
func TestShareByRateAddsUp(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	rates := []int64{0, 210, 550, 1000, 2000}
	for i := 0; i < 2000; i++ {
		var lines []gateway.Line
		for n := 1 + rng.IntN(6); n > 0; n-- {
			lines = append(lines, gateway.Line{Qty: 1 + rng.Int64N(5), UnitPrice: 1 + rng.Int64N(100_000), VATRate: rates[rng.IntN(len(rates))]})
		}
		vat := gateway.VATBreakdown(lines)
		var total int64
		for _, v := range vat {
			total += v.Total
		}
		amount := 1 + rng.Int64N(total)
		var sum int64
		for rate, bshare := range shareByRate(amount, vat) {
			share := bshare.Int64()
			sum += share
			var rt int64
			for _, v := range vat {
				if v.Rate == rate {
					rt = v.Total
				}
			}
			exact := float64(amount) * float64(rt) / float64(total)
			if d := float64(share) - exact; d > 1 || d < -1 {
				t.Fatalf("%v: share %d at %d, exact %.2f", lines, share, rate, exact)
			}
		}
		if sum != amount {
			t.Fatalf("%v: shares of %d add up to %d", lines, amount, sum)
		}
	}
}

func TestFillReport(t *testing.T) {
	tk := gateway.Ticket{ID: "tkt_1", Server: "Léa", Total: 4900, Status: gateway.TicketPaid,
		VAT: gateway.VATBreakdown([]gateway.Line{{Qty: 2, UnitPrice: 1450, VATRate: 1000}, {Qty: 1, UnitPrice: 2000, VATRate: 2000}})}
	over := gateway.Ticket{ID: "tkt_2", Total: 1000, Paid: 2000, Status: gateway.TicketOverpaid,
		VAT: gateway.VATBreakdown([]gateway.Line{{Qty: 1, UnitPrice: 1000, VATRate: 550}})}
	cb := &gateway.Card{Scheme: "CB"}
	pays := []gateway.Payment{
		{TicketID: "tkt_1", Terminal: "Bar", Status: gateway.PaymentApproved, Amount: 2450, Tip: 200, Card: cb},
		{TicketID: "tkt_1", Terminal: "Salle", Status: gateway.PaymentApproved, Amount: 2450, Card: &gateway.Card{Scheme: "VISA"}},
		{TicketID: "tkt_1", Terminal: "Salle", Status: gateway.PaymentDeclined, Requested: 2450},
		{TicketID: "tkt_2", Terminal: "Bar", Status: gateway.PaymentApproved, Amount: 1000, Card: cb},
		{TicketID: "tkt_2", Terminal: "Bar", Status: gateway.PaymentApproved, Amount: 1000, Card: cb},
	}
	m := views.Report{}
	if err := fillReport(&m, pays, map[string]gateway.Ticket{"tkt_1": tk, "tkt_2": over}); err != nil {
		t.Fatal(err)
	}
	if m.Approved != (views.ReportRow{Count: 4, Amount: 6900, Tip: 200}) {
		t.Errorf("approved %+v", m.Approved)
	}
	if m.VATTotal.Total != 6900 {
		t.Errorf("VAT rows add up to %d, want the takings", m.VATTotal.Total)
	}
	want := []views.VATRow{
		{Rate: 550, Total: 2000, VAT: 104, Base: 1896},
		{Rate: 1000, Total: 2900, VAT: 264, Base: 2636},
		{Rate: 2000, Total: 2000, VAT: 333, Base: 1667},
	}
	if len(m.ByVAT) != len(want) {
		t.Fatalf("by VAT %+v", m.ByVAT)
	}
	for i := range want {
		if m.ByVAT[i] != want[i] {
			t.Errorf("by VAT [%d] = %+v, want %+v", i, m.ByVAT[i], want[i])
		}
	}
	if len(m.ByScheme) != 2 || m.ByScheme[0] != (views.ReportRow{Label: "CB", Count: 3, Amount: 4450, Tip: 200}) {
		t.Errorf("by scheme %+v", m.ByScheme)
	}
	if len(m.ByTerminal) != 2 || m.ByTerminal[0].Label != "Bar" || m.ByTerminal[0].Amount != 4450 {
		t.Errorf("by terminal %+v", m.ByTerminal)
	}
	if len(m.ByServer) != 2 || m.ByServer[1] != (views.ReportRow{Label: "Léa", Count: 2, Amount: 4900, Tip: 200}) {
		t.Errorf("by server %+v", m.ByServer)
	}
	if len(m.Other) != 1 || m.Other[0] != (views.ReportRow{Label: "declined", Count: 1, Amount: 2450}) {
		t.Errorf("other %+v", m.Other)
	}
	if len(m.Overpaid) != 1 || m.Overpaid[0].ID != "tkt_2" {
		t.Errorf("overpaid %+v", m.Overpaid)
	}
}

// The VAT of a rate's day total is the till API's formula, as
// gateway.VATIncluded works it out where that fits in int64.
func TestVATRowIsVATIncluded(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for i := 0; i < 10000; i++ {
		total := rng.Int64N(2_000_000_000_000) - 1_000_000_000_000
		rate := []int64{0, 210, 550, 1000, 2000, 10000}[rng.IntN(6)]
		if i < 8 { // ties at half a cent, both signs
			total, rate = []int64{6, -6, 18, -18, 30, -30, 1, -1}[i], 2000
		}
		row, err := vatRow(rate, big.NewInt(total))
		want := gateway.VATIncluded(total, rate)
		if err != nil || row.VAT != want || row.Base != total-want || row.Total != total || row.Rate != rate {
			t.Fatalf("vatRow(%d, %d) = %+v, %v; want VAT %d", rate, total, row, err, want)
		}
	}
}

// A report whose sums cannot be written in int64 cents is an error, not a
// wrapped number: a valid ticket of 1 cent whose rates nearly cancel out
// (249 lines of 9999 x 1 000 000,00 at 20 %, as much in discounts at 0 %,
// then 1 000 000,00 at 20 % less 999 999,99 at 0 %), paid 1 000 000,00 (a
// terminal's overpayment), makes a share at 20 % of about 2.5e22 cents.
func TestFillReportOverflowIsAnError(t *testing.T) {
	var lines []gateway.Line
	for range 249 {
		lines = append(lines, gateway.Line{Qty: gateway.MaxQty, UnitPrice: gateway.MaxUnitPrice, VATRate: 2000},
			gateway.Line{Qty: gateway.MaxQty, UnitPrice: -gateway.MaxUnitPrice, VATRate: 0})
	}
	lines = append(lines, gateway.Line{Qty: 1, UnitPrice: gateway.MaxUnitPrice, VATRate: 2000},
		gateway.Line{Qty: 1, UnitPrice: 1 - gateway.MaxUnitPrice, VATRate: 0})
	if len(lines) > 500 {
		t.Fatalf("%d lines", len(lines))
	}
	tk := gateway.Ticket{ID: "tkt_1", Total: 1, Status: gateway.TicketOverpaid, VAT: gateway.VATBreakdown(lines)}
	var total int64
	for _, v := range tk.VAT {
		total += v.Total
	}
	if total != 1 {
		t.Fatalf("ticket total %d, want 1", total)
	}
	pays := []gateway.Payment{{TicketID: "tkt_1", Terminal: "Bar", Status: gateway.PaymentApproved, Amount: gateway.MaxTotal}}
	m := views.Report{}
	err := fillReport(&m, pays, map[string]gateway.Ticket{"tkt_1": tk})
	if !errors.Is(err, gateway.ErrOverflow) {
		t.Fatalf("fillReport: %v, want ErrOverflow; report %+v", err, m.ByVAT)
	}
}

func TestParseRates(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []int64
		bad  string
	}{
		{"0 ; 5,5 ; 10 ; 20", []int64{0, 550, 1000, 2000}, ""},
		{"20; 5.5; 2,1;20", []int64{210, 550, 2000}, ""},
		{"10% 20%", []int64{1000, 2000}, ""},
		{"100", []int64{10000}, ""},
		{"5,55", []int64{555}, ""},
		{"5,555", nil, "5,555"},
		{"100,5", nil, "100,5"},
		{"-5", nil, "-5"},
		{"dix", nil, "dix"},
		{",5", nil, ",5"},
	} {
		got, bad := parseRates(tc.in)
		if bad != tc.bad || len(got) != len(tc.want) {
			t.Errorf("%q: %v %q, want %v %q", tc.in, got, bad, tc.want, tc.bad)
			continue
		}
		for i := range got {
			if got[i] != tc.want[i] {
				t.Errorf("%q: %v, want %v", tc.in, got, tc.want)
			}
		}
	}
	if got := formatRates([]int64{0, 550, 2000}, views.French); got != "0 ; 5,5 ; 20" {
		t.Errorf("formatRates fr = %q", got)
	}
	if got := formatRates([]int64{0, 550, 2000}, views.English); got != "0; 5.5; 20" {
		t.Errorf("formatRates en = %q", got)
	}
}
