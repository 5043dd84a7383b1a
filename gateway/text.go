package gateway

import (
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
// card number: 13 to 19 digits, possibly grouped by single spaces or dashes,
// that pass the Luhn check. A card number may sit among other numbers in the
// same run of groups ("Table 5 4970 1012 3456 7897", "4970101234567897-2"),
// so every sequence of whole groups of the run is checked.
func LooksLikePAN(s string) bool {
	var digits []byte // the current run's digits
	var starts []int  // where each of its groups starts in digits
	flush := func() bool {
		defer func() { digits, starts = digits[:0], starts[:0] }()
		for i, from := range starts {
			for j := i + 1; j <= len(starts); j++ {
				to := len(digits)
				if j < len(starts) {
					to = starts[j]
				}
				n := to - from
				if n > 19 {
					break
				}
				if n >= 13 && luhn(digits[from:to]) {
					return true
				}
			}
		}
		return false
	}
	inGroup := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= '0' && c <= '9':
			if !inGroup {
				starts = append(starts, len(digits))
				inGroup = true
			}
			digits = append(digits, c)
		case (c == ' ' || c == '-') && inGroup && i+1 < len(s) && s[i+1] >= '0' && s[i+1] <= '9':
			inGroup = false // a single separator between two groups
		default:
			if flush() {
				return true
			}
			inGroup = false
		}
	}
	return flush()
}

func luhn(digits []byte) bool {
	sum := 0
	double := false
	for i := len(digits) - 1; i >= 0; i-- {
		d := int(digits[i] - '0')
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
