package gateway_test

import (
	"math/big"
	"slices"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/passerelle/passerelle/gateway"
)

var fuzzRates = []int64{0, 210, 550, 1000, 2000, 10000}

// FuzzVATBreakdown checks the breakdown of up to 498 valid lines (three
// lines, repeated) against exact arithmetic.
func FuzzVATBreakdown(f *testing.F) {
	f.Fuzz(func(t *testing.T, q1, p1, r1, q2, p2, r2, q3, p3, r3, repeat int64) {
		var set []gateway.Line
		for _, l := range [][3]int64{{q1, p1, r1}, {q2, p2, r2}, {q3, p3, r3}} {
			qty, price, rate := l[0], l[1], l[2]
			if qty == 0 {
				continue // fewer lines
			}
			if qty < 1 || qty > gateway.MaxQty || price < -gateway.MaxUnitPrice || price > gateway.MaxUnitPrice {
				return // not a valid line: Validate refuses it before any sum
			}
			rate = fuzzRates[((rate%int64(len(fuzzRates)))+int64(len(fuzzRates)))%int64(len(fuzzRates))]
			set = append(set, gateway.Line{Label: "x", Qty: qty, UnitPrice: price, VATRate: rate})
		}
		n := 1 + int((repeat%166+166)%166)
		var lines []gateway.Line
		for range n {
			lines = append(lines, set...)
		}

		exact := map[int64]*big.Int{}
		all := new(big.Int)
		for _, l := range lines {
			v := new(big.Int).Mul(big.NewInt(l.Qty), big.NewInt(l.UnitPrice))
			if exact[l.VATRate] == nil {
				exact[l.VATRate] = new(big.Int)
			}
			exact[l.VATRate].Add(exact[l.VATRate], v)
			all.Add(all, v)
		}

		got := gateway.VATBreakdown(lines)
		if len(got) != len(exact) {
			t.Fatalf("%d rates, want %d: %+v", len(got), len(exact), got)
		}
		sum, bases, amounts := new(big.Int), new(big.Int), new(big.Int)
		for i, v := range got {
			if i > 0 && v.Rate <= got[i-1].Rate {
				t.Fatalf("rates not ascending: %+v", got)
			}
			want := exact[v.Rate]
			if want == nil || !want.IsInt64() || v.Total != want.Int64() {
				t.Fatalf("rate %d: total %d, exact %v", v.Rate, v.Total, want)
			}
			if v.Base+v.Amount != v.Total {
				t.Fatalf("rate %d: base %d + amount %d != total %d", v.Rate, v.Base, v.Amount, v.Total)
			}
			if a := bigVATAmount(v.Total, v.Rate); v.Amount != a {
				t.Fatalf("rate %d total %d: amount %d, exact rounding gives %d", v.Rate, v.Total, v.Amount, a)
			}
			if (v.Amount > 0 && v.Total < 0) || (v.Amount < 0 && v.Total > 0) ||
				new(big.Int).Abs(big.NewInt(v.Amount)).Cmp(new(big.Int).Abs(big.NewInt(v.Total))) > 0 {
				t.Fatalf("rate %d: amount %d out of proportion with total %d", v.Rate, v.Amount, v.Total)
			}
			sum.Add(sum, big.NewInt(v.Total))
			bases.Add(bases, big.NewInt(v.Base))
			amounts.Add(amounts, big.NewInt(v.Amount))
		}
		if sum.Cmp(all) != 0 {
			t.Fatalf("totals sum to %v, lines to %v", sum, all)
		}
		// Bases and amounts together account for every cent of the lines.
		if new(big.Int).Add(bases, amounts).Cmp(all) != 0 {
			t.Fatalf("bases %v + amounts %v != lines %v", bases, amounts, all)
		}
	})
}

// FuzzLooksLikePAN checks properties that hold whatever the text around a
// card number is, and whatever digits and separators write it.
func FuzzLooksLikePAN(f *testing.F) {
	pans := []string{"4970101234567893", "4970 1012 3456 7893", "4970-1012-3456-7893", "4970.1012.3456.7893",
		"4970  1012  3456  7893", "４９７０ １０１２ ３４５６ ７８９３", "٤٩٧٠١٠١٢٣٤٥٦٧٨٩٣", "378282246310005",
		"36227206271667", withLuhnDigit("601100099013942412")}
	for _, p := range pans {
		if !gateway.LooksLikePAN(p) {
			f.Fatalf("%q is meant to be a card number", p)
		}
		f.Add(p)
	}
	// Both kinds: numbers that are not card numbers, and card numbers
	// hidden in text.
	for _, s := range []string{"20261202-00004", "2026120200004", "SIRET 362 521 874 00036", "3006760300018",
		"04 78 12 34 56 / 06 12 34 56 78", "Table 5 4111 1111 1111 1111", "carte:4111\u200b1111\u200b1111\u200b1111!",
		"n°５５５５ ５５５５ ５５５５ ４４４４", "4222222222222", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got := gateway.LooksLikePAN(s)
		digits := 0
		for _, r := range s {
			if unicode.IsDigit(r) {
				digits++
			}
		}
		if got && digits < 14 {
			t.Fatalf("%q has %d digits, yet looks like a card number", s, digits)
		}
		if gateway.LooksLikePAN("x"+s+"x") != got {
			t.Fatalf("letters around %q change the verdict", s)
		}
		noDigits := strings.Map(func(r rune) rune {
			if unicode.IsDigit(r) {
				return -1
			}
			return r
		}, s)
		if gateway.LooksLikePAN(noDigits) {
			t.Fatalf("%q has no digits, yet looks like a card number", noDigits)
		}
		// Neither the script of the digits nor the separators matter.
		for name, v := range map[string]string{
			"full-width digits": strings.Map(func(r rune) rune {
				if r >= '0' && r <= '9' {
					return r - '0' + '０'
				}
				return r
			}, s),
			"double spaces":    strings.ReplaceAll(s, " ", "  "),
			"dots, not dashes": strings.ReplaceAll(s, "-", "."),
		} {
			if gateway.LooksLikePAN(v) != got {
				t.Fatalf("%q with %s (%q) changes the verdict", s, name, v)
			}
		}
		// Masking leaves no card number, changes nothing else, and only
		// what LooksLikePAN finds.
		m := gateway.MaskPANs(s)
		switch {
		case gateway.LooksLikePAN(m):
			t.Fatalf("MaskPANs(%q) = %q still looks like a card number", s, m)
		case !got && m != s:
			t.Fatalf("MaskPANs(%q) = %q changed text without a card number", s, m)
		case got && m == s:
			t.Fatalf("MaskPANs(%q) masked nothing", s)
		case utf8.RuneCountInString(m) != utf8.RuneCountInString(s):
			t.Fatalf("MaskPANs(%q) = %q changed the length", s, m)
		case gateway.MaskPANs(m) != m:
			t.Fatalf("MaskPANs(%q) = %q is masked again", s, m)
		}
		rs, rm := []rune(s), []rune(m)
		for i := range rs {
			if rs[i] != rm[i] && (rm[i] != '#' || !unicode.IsDigit(rs[i])) {
				t.Fatalf("MaskPANs(%q) = %q changed %q, not a digit", s, m, rs[i])
			}
		}
		// A card number is found next to anything, separated by a space, a
		// dash or a letter.
		for _, p := range pans {
			for _, c := range []string{s + " " + p, p + " " + s, s + "-" + p + "-" + s, s + "x" + p, s + " " + p + " " + s} {
				if !gateway.LooksLikePAN(c) {
					t.Fatalf("the card number in %q is missed", c)
				}
			}
		}
	})
}

// FuzzResultNormalize checks that whatever free text a terminal sends, the
// normalized result passes Validate, holds no card number, and a second
// Normalize changes nothing.
func FuzzResultNormalize(f *testing.F) {
	for _, s := range []string{"CARTE BANCAIRE", "SIRET 362 521 874 00036", "CB 4111 1111 1111 1111",
		"４１１１ １１１１ １１１１ １１１１", strings.Repeat("=", 52) + "4111 1111 1111 1111", "a\tb\u202ec\xff", ""} {
		f.Add(s, "chip", uint8(3))
	}
	f.Add("LIGNE", "contactless 4111111111111111", uint8(120))
	f.Fuzz(func(t *testing.T, line, entry string, n uint8) {
		r := gateway.Result{PaymentID: "pay_1", Status: gateway.PaymentApproved, Amount: 1000, Currency: "EUR",
			Card: &gateway.Card{Scheme: "CB", MaskedPAN: "#####5743", Entry: entry}}
		for i := range int(n) {
			r.Receipt = append(r.Receipt, strings.Repeat(line, i%3+1))
		}
		r.Normalize()
		if err := r.Validate(); err != nil {
			t.Fatalf("normalized, still refused: %v", err)
		}
		for i, l := range append(slices.Clone(r.Receipt), r.Card.Entry) {
			if gateway.LooksLikePAN(l) {
				t.Fatalf("line %d: %q looks like a card number", i, l)
			}
		}
		again := r
		if w := again.Normalize(); len(w) != 0 {
			t.Fatalf("a second Normalize changed %v", w)
		}
	})
}
