package gateway

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// CheckText returns what is wrong with s as a text field of at most max
// characters (runes), or "" if nothing is. Control characters and the bidi
// overrides and isolates are refused: they can make a receipt or a screen
// show something other than what is stored.
func CheckText(s string, min, max int) string {
	if !utf8.ValidString(s) {
		return "must be valid UTF-8"
	}
	n := utf8.RuneCountInString(s)
	if n < min {
		if min == 1 {
			return "is required"
		}
		return "too short"
	}
	if n > max {
		return "too long"
	}
	for _, r := range s {
		if unicode.IsControl(r) {
			return "must not contain control characters"
		}
		if isBidiControl(r) {
			return "must not contain bidi override characters"
		}
	}
	if LooksLikePAN(s) {
		return "looks like a card number: card numbers are never accepted"
	}
	return ""
}

func isBidiControl(r rune) bool {
	return (r >= 0x202A && r <= 0x202E) || (r >= 0x2066 && r <= 0x2069)
}

// LooksLikePAN reports whether s carries something that looks like a full
// card number: digits of a card scheme's number range, of a length that
// scheme issues, that pass the Luhn check (see cardRanges). Digits may be of
// any script (a till or a terminal can send Arabic-Indic or full-width
// digits, which show as a card number all the same) and grouped by any
// separators (spaces, dashes, dots, slashes, invisible format characters,
// in runs of any length). A card number may sit among other numbers in the
// same run of groups ("Table 5 4970 1012 3456 7897", "4970101234567897-2"),
// so every sequence of whole groups of the run is checked.
func LooksLikePAN(s string) bool {
	found := false
	scanPANs(s, func(int, int) bool {
		found = true
		return false
	})
	return found
}

// MaskPANs returns s with every card number LooksLikePAN finds masked: its
// digits become '#' but for the last 4, which a receipt may show. Nothing
// else changes, so s keeps its length in characters (and a receipt its
// layout). The result never looks like a card number.
func MaskPANs(s string) string {
	// Masking can leave the last 4 digits of a number beside the next
	// groups of its run, a sequence the first pass did not see: mask again
	// until nothing is left. Each pass masks at least 10 digits.
	for {
		var spans [][2]int // digit indexes, from inclusive, to exclusive
		scanPANs(s, func(from, to int) bool {
			spans = append(spans, [2]int{from, to - 4})
			return true
		})
		if len(spans) == 0 {
			return s
		}
		s = maskDigits(s, spans)
	}
}

// maskDigits replaces by '#' the digits of s whose index (counting the
// digits of s only) is in one of spans.
func maskDigits(s string, spans [][2]int) string {
	var b strings.Builder
	b.Grow(len(s))
	n := 0 // the index of the next digit
	for _, r := range s {
		if _, ok := digitValue(r); ok {
			masked := false
			for _, sp := range spans {
				if n >= sp[0] && n < sp[1] {
					masked = true
					break
				}
			}
			n++
			if masked {
				b.WriteByte('#')
				continue
			}
		}
		b.WriteRune(r)
	}
	return b.String()
}

// scanPANs calls found with the digit indexes [from, to) of each card
// number in s (counting the digits of s only), until found returns false.
func scanPANs(s string, found func(from, to int) bool) {
	var digits []byte // the values of the current run's digits
	var starts []int  // where each of its groups starts in digits
	base := 0         // the index in s's digits of the run's first digit
	sep := false      // separators since the last digit
	flush := func() bool {
		defer func() {
			base += len(digits)
			digits, starts, sep = digits[:0], starts[:0], false
		}()
		for i, from := range starts {
			for j := i + 1; j <= len(starts); j++ {
				to := len(digits)
				if j < len(starts) {
					to = starts[j]
				}
				if to-from > maxPANLen {
					break
				}
				if isCardNumber(digits[from:to]) && !found(base+from, base+to) {
					return false
				}
			}
		}
		return true
	}
	for _, r := range s {
		if d, ok := digitValue(r); ok {
			if len(digits) == 0 || sep {
				starts = append(starts, len(digits))
				sep = false
			}
			digits = append(digits, d)
			continue
		}
		if len(digits) > 0 && isPANSeparator(r) {
			sep = true
			continue
		}
		if len(digits) > 0 && !flush() {
			return
		}
	}
	flush()
}

// isPANSeparator reports whether r may sit between the digit groups of a
// written card number: any space, dash, format character (zero-width
// space, soft hyphen...), and the dots, slashes and underscores people
// group digits with.
func isPANSeparator(r rune) bool {
	switch r {
	case '.', '/', '_', '·', '•', '\u2024', '\u2027', '\u2212', '\u3002', '\u30FB', '\uFF0E', '\uFF0F', '\uFF3F', '\uFF65':
		return true
	}
	return unicode.IsSpace(r) || unicode.In(r, unicode.Pd, unicode.Zs, unicode.Cf)
}

// digitValue returns the value of r if it is a decimal digit of any script
// (Unicode category Nd).
func digitValue(r rune) (byte, bool) {
	if r >= '0' && r <= '9' {
		return byte(r - '0'), true
	}
	if r < 0x80 || !unicode.IsDigit(r) {
		return 0, false
	}
	// Unicode encodes each script's decimal digits as 10 consecutive code
	// points from 0 to 9, and unicode.Digit's ranges are runs of such
	// blocks (TestDigitValue checks it): the value is the offset mod 10.
	for _, rg := range unicode.Digit.R16 {
		if r >= rune(rg.Lo) && r <= rune(rg.Hi) {
			return byte((r - rune(rg.Lo)) % 10), true
		}
	}
	for _, rg := range unicode.Digit.R32 {
		if r >= rune(rg.Lo) && r <= rune(rg.Hi) {
			return byte((r - rune(rg.Lo)) % 10), true
		}
	}
	return 0, false
}

const minPANLen, maxPANLen = 14, 19

// cardRange is a range of card number prefixes (IIN/BIN) of a scheme, and
// the lengths the scheme's numbers have there.
type cardRange struct {
	lo, hi  int    // the prefix's value, inclusive, over its first `digits` digits
	digits  int    // how many leading digits lo and hi cover
	lengths uint32 // bit n set: n-digit numbers exist
}

func lengths(ns ...int) uint32 {
	var m uint32
	for _, n := range ns {
		m |= 1 << n
	}
	return m
}

// cardRanges are the number ranges of the schemes a French shop's
// terminals take, with the lengths issued today. Cartes Bancaires (CB)
// cards carry Visa or Mastercard numbers. Numbers of 13 digits are left
// out: no scheme issues them any more (Visa stopped long ago), and 13
// digits are the EAN-13 barcodes and terminal ids of ordinary receipts.
// Of 14 digits only Diners Club's 36 range remains, and see isCardNumber
// for SIRETs.
var cardRanges = []cardRange{
	{4, 4, 1, lengths(16, 19)},               // Visa, CB
	{51, 55, 2, lengths(16)},                 // Mastercard, CB
	{2221, 2720, 4, lengths(16)},             // Mastercard 2-series
	{34, 34, 2, lengths(15)},                 // American Express
	{37, 37, 2, lengths(15)},                 // American Express
	{36, 36, 2, lengths(14, 16, 17, 18, 19)}, // Diners Club International
	{300, 305, 3, lengths(16, 17, 18, 19)},   // Diners Club
	{3095, 3095, 4, lengths(16, 17, 18, 19)}, // Diners Club
	{38, 39, 2, lengths(16, 17, 18, 19)},     // Diners Club
	{3528, 3589, 4, lengths(16, 17, 18, 19)}, // JCB
	{6011, 6011, 4, lengths(16, 17, 18, 19)}, // Discover
	{644, 649, 3, lengths(16, 17, 18, 19)},   // Discover
	{65, 65, 2, lengths(16, 17, 18, 19)},     // Discover
	{62, 62, 2, lengths(16, 17, 18, 19)},     // UnionPay (and Discover's 622126-622925)
	{2200, 2204, 4, lengths(16, 17, 18, 19)}, // Mir
	{5018, 5018, 4, lengths(16, 17, 18, 19)}, // Maestro
	{5020, 5020, 4, lengths(16, 17, 18, 19)}, // Maestro
	{5038, 5038, 4, lengths(16, 17, 18, 19)}, // Maestro
	{5893, 5893, 4, lengths(16, 17, 18, 19)}, // Maestro
	{6304, 6304, 4, lengths(16, 17, 18, 19)}, // Maestro
	{6759, 6759, 4, lengths(16, 17, 18, 19)}, // Maestro
	{6761, 6763, 4, lengths(16, 17, 18, 19)}, // Maestro
}

// isCardNumber reports whether digits (values 0-9) are a card number of
// one of cardRanges.
func isCardNumber(digits []byte) bool {
	n := len(digits)
	if n < minPANLen || n > maxPANLen || !luhn(digits) {
		return false
	}
	// A SIRET (14 digits, on every French receipt) passes the Luhn check
	// and so does its first 9 digits, the SIREN. One in ten Diners numbers
	// has that shape too: it is missed, where the SIRETs of every shop in
	// the 36 range would be refused.
	if n == 14 && luhn(digits[:9]) {
		return false
	}
	for _, c := range cardRanges {
		if c.lengths&(1<<n) == 0 {
			continue
		}
		p := 0
		for _, d := range digits[:c.digits] {
			p = p*10 + int(d)
		}
		if p >= c.lo && p <= c.hi {
			return true
		}
	}
	return false
}

// luhn reports whether digits (values 0-9) pass the Luhn check.
func luhn(digits []byte) bool {
	sum := 0
	double := false
	for i := len(digits) - 1; i >= 0; i-- {
		d := int(digits[i])
		if double {
			d *= 2
			if d > 9 {
				d -= 9
			}
		}
		sum += d
		double = !double
	}
	return sum%10 == 0
}
