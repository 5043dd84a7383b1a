package gateway_test

import (
	"strings"
	"testing"

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
		{"4222222222222", true},       // 13 digits
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
	}
	for _, c := range cases {
		if got := gateway.LooksLikePAN(c.s); got != c.want {
			t.Errorf("LooksLikePAN(%q) = %v, want %v", c.s, got, c.want)
		}
	}

	// Every length from 13 to 19 digits, alone and grouped by fours, with
	// and without a valid check digit; and neither 12 nor 20.
	prefix := "4970101234567890123456"
	group := func(s, sep string) string {
		var b strings.Builder
		for i := 0; i < len(s); i += 4 {
			if i > 0 {
				b.WriteString(sep)
			}
			b.WriteString(s[i:min(i+4, len(s))])
		}
		return b.String()
	}
	for n := 12; n <= 20; n++ {
		pan := withLuhnDigit(prefix[:n-1])
		want := n >= 13 && n <= 19
		for _, s := range []string{pan, group(pan, " "), group(pan, "-")} {
			if got := gateway.LooksLikePAN(s); got != want {
				t.Errorf("%d digits: LooksLikePAN(%q) = %v, want %v", n, s, got, want)
			}
			if gateway.LooksLikePAN(breakLuhn(s)) {
				t.Errorf("%d digits: %q fails the Luhn check, yet looks like a card number", n, breakLuhn(s))
			}
		}
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
