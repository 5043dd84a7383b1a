package gateway_test

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"
	"unicode"

	"github.com/passerelle/passerelle/gateway"
)

// withLuhnDigit appends the check digit that makes digits pass the Luhn
// check.
func withLuhnDigit(digits string) string {
	sum := 0
	for i := len(digits) - 1; i >= 0; i-- {
		d := int(digits[i] - '0')
		if (len(digits)-1-i)%2 == 0 {
			d *= 2
			if d > 9 {
				d -= 9
			}
		}
		sum += d
	}
	return digits + string(rune('0'+(10-sum%10)%10))
}

// breakLuhn changes the last digit so that the check fails.
func breakLuhn(pan string) string {
	last := pan[len(pan)-1]
	return pan[:len(pan)-1] + string(rune('0'+(last-'0'+1)%10))
}

func TestLooksLikePAN(t *testing.T) {
	const visa = "4111111111111111"
	cases := []struct {
		s    string
		want bool
	}{
		{visa, true},
		{"4111 1111 1111 1111", true},
		{"4111-1111-1111-1111", true},
		{"3782 822463 10005", true},   // American Express, 15 digits
		{"6011-0009-9013-9424", true}, // Discover
		{"5555555555554444", true},    // Mastercard
		{"carte " + visa + " merci", true},
		{"CB:" + visa + ".", true},
		{"x" + visa + "x", true},
		{"4111 1111 1111 1111\n", true},
		// A card number beside other numbers in the same run of groups.
		{"4111 1111 1111 1111 2", true},
		{"12 4111 1111 1111 1111", true},
		{visa + "-7", true},
		{"Table 5 " + visa, true},
		{"12345678901234567890 " + visa, true},

		{"", false},
		{"Crème brûlée", false},
		{breakLuhn(visa), false},
		{"4111 1111 1111 1112", false},
		{"411111111111", false}, // 12 digits
		{"0612345678", false},   // a phone number
		{"2026-11-25", false},
		{"1253", false},
		// 13 digits: no scheme issues them any more (the old Visa test
		// number), and they are barcodes and terminal ids.
		{"4222222222222", false},
	}
	for _, c := range cases {
		if got := gateway.LooksLikePAN(c.s); got != c.want {
			t.Errorf("LooksLikePAN(%q) = %v, want %v", c.s, got, c.want)
		}
	}

	// Visa's lengths, alone and grouped by fours, with and without a
	// valid check digit; and none of the others.
	prefix := "4970101234567890123456"
	for n := 12; n <= 20; n++ {
		pan := withLuhnDigit(prefix[:n-1])
		want := n == 16 || n == 19
		for _, s := range []string{pan, group4(pan, " "), group4(pan, "-")} {
			if got := gateway.LooksLikePAN(s); got != want {
				t.Errorf("%d digits: LooksLikePAN(%q) = %v, want %v", n, s, got, want)
			}
			if gateway.LooksLikePAN(breakLuhn(s)) {
				t.Errorf("%d digits: %q fails the Luhn check, yet looks like a card number", n, breakLuhn(s))
			}
		}
	}
}

// group4 writes s in groups of 4 separated by sep, as a card shows it.
func group4(s, sep string) string {
	var b strings.Builder
	for i := 0; i < len(s); i += 4 {
		if i > 0 {
			b.WriteString(sep)
		}
		b.WriteString(s[i:min(i+4, len(s))])
	}
	return b.String()
}

// inScript writes the ASCII digits of s with the digits of the script
// whose zero is zero.
func inScript(s string, zero rune) string {
	return strings.Map(func(r rune) rune {
		if r >= '0' && r <= '9' {
			return zero + r - '0'
		}
		return r
	}, s)
}

// Test numbers of every scheme, and numbers of their ranges and lengths.
var schemePANs = []struct{ scheme, pan string }{
	{"Visa", "4111111111111111"},
	{"Visa", "4012888888881881"},
	{"Visa 19", withLuhnDigit("400000000000000000")},
	{"CB", withLuhnDigit("497010000000000")},
	{"Mastercard", "5555555555554444"},
	{"Mastercard", "5105105105105100"},
	{"Mastercard 2-series", "2223000048400011"},
	{"Mastercard 2-series", withLuhnDigit("272099999999999")},
	{"American Express", "378282246310005"},
	{"American Express", "371449635398431"},
	{"American Express", withLuhnDigit("34000000000000")},
	{"Diners Club 14", "36227206271667"},
	{"Diners Club 16", "3056930009020004"},
	{"Diners Club 16", withLuhnDigit("309500000000000")},
	{"Diners Club 16", withLuhnDigit("380000000000000")},
	{"Discover", "6011111111111117"},
	{"Discover", "6011000990139424"},
	{"Discover", withLuhnDigit("644000000000000")},
	{"Discover", withLuhnDigit("650000000000000000")},
	{"JCB", "3530111333300000"},
	{"JCB", "3566002020360505"},
	{"UnionPay", "6200000000000005"},
	{"UnionPay 19", withLuhnDigit("621234567890123456")},
	{"Maestro", "6759649826438453"},
	{"Maestro", withLuhnDigit("501800000000000")},
	{"Maestro 19", withLuhnDigit("630412345678901234")},
	{"Mir", withLuhnDigit("220000000000000")},
}

// Real card numbers are found however they are written: digits of any
// script, any separators, among other text.
func TestLooksLikePANSchemes(t *testing.T) {
	zeros := map[string]rune{"ASCII": '0', "Arabic-Indic": '\u0660', "Extended Arabic-Indic": '\u06F0',
		"Devanagari": '\u0966', "full-width": '\uFF10', "mathematical bold": '\U0001D7CE'}
	seps := map[string]string{"none": "", "space": " ", "double space": "  ", "dash": "-", "dot": ".",
		"spaced dash": " - ", "no-break space": "\u00a0", "narrow no-break space": "\u202f",
		"ideographic space": "\u3000", "full-width dash": "\uff0d", "full-width dot": "\uff0e",
		"slash": "/", "zero-width space": "\u200b", "soft hyphen": "\u00ad", "tab": "\t", "en dash": "\u2013"}
	for _, p := range schemePANs {
		for script, zero := range zeros {
			for sepName, sep := range seps {
				s := inScript(group4(p.pan, sep), zero)
				for _, in := range []string{s, "CARTE " + s + " MERCI", "Table 5 " + s, "n°" + s + "."} {
					if !gateway.LooksLikePAN(in) {
						t.Errorf("%s %s, %s digits, %s: %q is missed", p.scheme, p.pan, script, sepName, in)
					}
				}
				if bad := inScript(group4(breakLuhn(p.pan), sep), zero); gateway.LooksLikePAN(bad) {
					t.Errorf("%s %s, %s digits, %s: %q fails the Luhn check, yet looks like a card number",
						p.scheme, p.pan, script, sepName, bad)
				}
			}
		}
		// Mixed scripts, as a copy and paste can make.
		mixed := inScript(p.pan[:8], '\uFF10') + p.pan[8:]
		if !gateway.LooksLikePAN(mixed) {
			t.Errorf("%s: %q is missed", p.scheme, mixed)
		}
	}
	// American Express as its cards group it.
	if !gateway.LooksLikePAN("3782 822463 10005") || !gateway.LooksLikePAN(inScript("3782 822463 10005", '\u0660')) {
		t.Error("American Express in 4-6-5 groups is missed")
	}
}

// Every decimal digit Unicode knows is read at its value: a card number
// written in any script's digits is found.
func TestLooksLikePANEveryScript(t *testing.T) {
	var zeros []rune
	for _, rg := range unicode.Digit.R16 {
		if rg.Stride != 1 || (rg.Hi-rg.Lo+1)%10 != 0 {
			t.Fatalf("digits %U-%U are not blocks of 10: the digit values are wrong", rg.Lo, rg.Hi)
		}
		for z := rune(rg.Lo); z < rune(rg.Hi); z += 10 {
			zeros = append(zeros, z)
		}
	}
	for _, rg := range unicode.Digit.R32 {
		if rg.Stride != 1 || (rg.Hi-rg.Lo+1)%10 != 0 {
			t.Fatalf("digits %U-%U are not blocks of 10: the digit values are wrong", rg.Lo, rg.Hi)
		}
		for z := rune(rg.Lo); z < rune(rg.Hi); z += 10 {
			zeros = append(zeros, z)
		}
	}
	// Numbers holding every digit, so that a digit read at a wrong value
	// would break the check.
	pans := []string{withLuhnDigit("401234567890123"), withLuhnDigit("498765432109876")}
	for _, z := range zeros {
		if !unicode.IsDigit(z) {
			t.Fatalf("%U is not a digit", z)
		}
		for _, pan := range pans {
			if s := inScript(pan, z); !gateway.LooksLikePAN(s) {
				t.Errorf("digits from %U: %q is missed", z, s)
			}
			if s := inScript(breakLuhn(pan), z); gateway.LooksLikePAN(s) {
				t.Errorf("digits from %U: %q fails the Luhn check, yet looks like a card number", z, s)
			}
		}
	}
	// Digits that are not decimal digits are not digits of a number.
	for _, s := range []string{"⁴¹¹¹¹¹¹¹¹¹¹¹¹¹¹¹", "④①①①①①①①①①①①①①①①", "Ⅳ"} {
		if gateway.LooksLikePAN(s) {
			t.Errorf("%q looks like a card number", s)
		}
	}
}

// Numbers of ordinary tickets and receipts that pass the Luhn check, or
// look like card numbers at a glance, are not card numbers.
func TestLooksLikePANNotCardNumbers(t *testing.T) {
	check := func(kind, s string) {
		t.Helper()
		if gateway.LooksLikePAN(s) {
			t.Errorf("%s %q looks like a card number", kind, s)
		}
	}
	// Dated refs, the ticket numbers of many tills: every day of two
	// years, with counters of every width up to 19 digits in all.
	day := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for ; day.Year() < 2028; day = day.AddDate(0, 0, 1) {
		ymd, dmy := day.Format("20060102"), day.Format("02012006")
		for n := 0; n < 60; n++ {
			for w := 4; w <= 11; w++ {
				num := fmt.Sprintf("%0*d", w, n*n*7+n)
				check("dated ref", ymd+"-"+num)
				check("dated ref", ymd+num)
				if w <= 7 { // day first: up to 15 digits
					check("dated ref", dmy+"-"+num)
				}
			}
			check("dated ref", day.Format("2006-01-02")+fmt.Sprintf("-%05d", n))
			check("dated ref", "T"+ymd+fmt.Sprintf("-%05d", n))
		}
	}
	check("dated ref", "20261202-00004")

	// SIRETs: a SIREN that passes the Luhn check, then 5 digits that make
	// the 14 pass it too; of every first digit, Diners Club's 36 too.
	rnd := rand.New(rand.NewPCG(13, 19))
	for i := range 3000 {
		siren := withLuhnDigit(fmt.Sprintf("%d%07d", i%10, rnd.IntN(1e7)))
		if i%10 == 3 {
			siren = withLuhnDigit(fmt.Sprintf("36%06d", rnd.IntN(1e6)))
		}
		siret := withLuhnDigit(siren + fmt.Sprintf("%04d", rnd.IntN(1e4)))
		spaced := siret[:3] + " " + siret[3:6] + " " + siret[6:9] + " " + siret[9:]
		for _, s := range []string{siret, spaced, "SIRET : " + spaced, "SIRET " + siret + " - APE 5610A"} {
			check("SIRET", s)
		}
	}
	check("SIRET", "SIRET 362 521 874 00036")
	check("SIRET", "73282932000074")

	// EAN-13 barcodes of every country prefix, and 13-digit terminal ids
	// that pass the Luhn check.
	for i := range 3000 {
		body := fmt.Sprintf("%03d%09d", i%1000, rnd.IntN(1e9))
		ean := body + eanDigit(body)
		check("EAN-13", ean)
		check("EAN-13", ean[:1]+" "+ean[1:7]+" "+ean[7:])
		check("terminal id", withLuhnDigit(body))
	}

	// Phone numbers, alone and side by side.
	for _, s := range []string{"04 78 00 00 00", "+33 4 78 00 00 00", "+33 (0)4 78 00 00 00", "0033478000000",
		"06.12.34.56.78", "Tél. 04 78 12 34 56 / 06 12 34 56 78", "04 78 12 34 56 - 06 12 34 56 78",
		"04.78.12.34.56 06.12.34.56.78 04.78.00.00.00", "+1 415-555-2671", "+44 20 7946 0958",
		"+49 30 901820", "+212 5 22 45 67 89", inScript("0612345678 0478123456", '٠'),
		"0800 123 456 / 0478 123 456 / 0612 345 678"} {
		check("phone number", s)
	}

	// Lines of a bank receipt.
	for _, s := range []string{"0000015000 02189020000 185568D324964D", "A0000000421010", "No AUTO : 185568",
		"MONTANT 53,50 EUR", "##########5743", "#####5743", "25/11/2026 19:45:02", "TOTAL 1 234 567,89"} {
		check("receipt line", s)
	}
}

// eanDigit is the EAN-13 check digit of 12 digits.
func eanDigit(digits string) string {
	sum := 0
	for i := range len(digits) {
		d := int(digits[i] - '0')
		if i%2 == 1 {
			d *= 3
		}
		sum += d
	}
	return string(rune('0' + (10-sum%10)%10))
}

func TestMaskPANs(t *testing.T) {
	cases := []struct{ in, want string }{
		{"", ""},
		{"CARTE BANCAIRE", "CARTE BANCAIRE"},
		{"4111111111111111", "############1111"},
		{"CB 4111 1111 1111 1111 MERCI", "CB #### #### #### 1111 MERCI"},
		{"4111.1111.1111.1111", "####.####.####.1111"},
		{"４１１１ １１１１ １１１１ １１１１", "#### #### #### １１１１"},
		{"٤١١١١١١١١١١١١١١١", "############١١١١"},
		{"378282246310005 et 5555555555554444", "###########0005 et ############4444"},
		{"SIRET 362 521 874 00036", "SIRET 362 521 874 00036"},
		{"20261202-00004", "20261202-00004"},
	}
	for _, c := range cases {
		got := gateway.MaskPANs(c.in)
		if got != c.want {
			t.Errorf("MaskPANs(%q) = %q, want %q", c.in, got, c.want)
		}
		if gateway.LooksLikePAN(got) {
			t.Errorf("MaskPANs(%q) = %q still looks like a card number", c.in, got)
		}
	}
	// The last 4 digits of a number kept beside the next groups of its
	// run would make another one: masked too.
	tail := withLuhnDigit("411111111111111")
	long := "41111 11111 11111 1" + " " + tail[4:]
	if got := gateway.MaskPANs(long); gateway.LooksLikePAN(got) {
		t.Errorf("MaskPANs(%q) = %q still looks like a card number", long, got)
	}
}

func TestCheckText(t *testing.T) {
	cases := []struct {
		s        string
		min, max int
		want     string // a word of the message; "" for accepted
	}{
		{"", 0, 16, ""},
		{"", 1, 16, "required"},
		{"5", 1, 16, ""},
		{strings.Repeat("é", 16), 1, 16, ""}, // runes, not bytes
		{strings.Repeat("é", 17), 1, 16, "too long"},
		{"ab", 3, 16, "too short"},
		{"\xff", 0, 16, "UTF-8"},
		{"a\x00b", 0, 16, "control"},
		{"a\tb", 0, 16, "control"},
		{"a\nb", 0, 16, "control"},
		{"a\u007fb", 0, 16, "control"},
		{"a\u0085b", 0, 16, "control"},
		{"\u202a", 0, 16, "bidi"},
		{"\u202b", 0, 16, "bidi"},
		{"\u202c", 0, 16, "bidi"},
		{"\u202d", 0, 16, "bidi"},
		{"abc\u202edef", 0, 16, "bidi"},
		{"\u2066", 0, 16, "bidi"},
		{"\u2067", 0, 16, "bidi"},
		{"\u2068", 0, 16, "bidi"},
		{"\u2069", 0, 16, "bidi"},
		{"طاولة ٧", 1, 16, ""},
		{"שולחן", 1, 16, ""},
		{"Cafe\u0301", 1, 16, ""},
		{"Łódź 🍢", 1, 16, ""},
		{"4111 1111 1111 1111", 1, 64, "card number"},
	}
	for _, c := range cases {
		got := gateway.CheckText(c.s, c.min, c.max)
		if (got == "") != (c.want == "") || !strings.Contains(got, c.want) {
			t.Errorf("CheckText(%q, %d, %d) = %q, want %q", c.s, c.min, c.max, got, c.want)
		}
	}
}
