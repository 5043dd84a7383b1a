package gateway

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// MaxCardEntry is the length of a card's entry mode ("chip", "contactless").
const MaxCardEntry = 16

// Normalize makes a result's free text storable and returns what it
// changed, one warning per field, never quoting the text (it may hold a
// card number).
//
// A result's money fields decide whether it is recorded: its payment id,
// status, amount, tip and currency, the bank's references (auth_code,
// transaction_ref, merchant_id, terminal_id), the card's scheme and masked
// number; Validate refuses a result with a bad one. Its free text, the
// receipt lines and the card's entry mode, never does: by the time a
// result arrives the money was taken, and refusing it over a receipt line
// would leave the payment pending while the terminal resends it again and
// again. So in free text, a card number is masked (MaskPANs), control
// characters become spaces, bidi controls are dropped, invalid UTF-8
// becomes U+FFFD, a text too long is cut, and receipt lines past
// MaxReceiptLines are dropped.
//
// Normalize never writes to the receipt or card r shares with a copy of
// it, and a second call changes nothing.
func (r *Result) Normalize() []FieldError {
	var warns fieldErrors
	lines := r.Receipt
	if len(lines) > MaxReceiptLines {
		warns.add("receipt", "%d lines: the last %d dropped", len(lines), len(lines)-MaxReceiptLines)
		lines = lines[:MaxReceiptLines:MaxReceiptLines]
	}
	copied := false
	for i, l := range lines {
		clean, what := cleanText(l, MaxResultField)
		if len(what) == 0 {
			continue
		}
		if !copied {
			lines, copied = append([]string(nil), lines...), true
		}
		lines[i] = clean
		warns.add(fmt.Sprintf("receipt[%d]", i), "%s", strings.Join(what, "; "))
	}
	r.Receipt = lines
	if r.Card != nil {
		if clean, what := cleanText(r.Card.Entry, MaxCardEntry); len(what) > 0 {
			card := *r.Card
			card.Entry = clean
			r.Card = &card
			warns.add("card.entry", "%s", strings.Join(what, "; "))
		}
	}
	return warns
}

// cleanText returns s made acceptable to CheckText(s, 0, max), and what it
// changed.
func cleanText(s string, max int) (string, []string) {
	var what []string
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, "\uFFFD")
		what = append(what, "invalid UTF-8 replaced")
	}
	if strings.ContainsFunc(s, func(r rune) bool { return unicode.IsControl(r) || isBidiControl(r) }) {
		s = strings.Map(func(r rune) rune {
			switch {
			case isBidiControl(r):
				return -1
			case unicode.IsControl(r):
				return ' '
			}
			return r
		}, s)
		what = append(what, "control characters replaced")
	}
	if utf8.RuneCountInString(s) > max {
		s = string([]rune(s)[:max])
		what = append(what, fmt.Sprintf("over %d characters: cut", max))
	}
	// After the cut: what is stored is what is checked.
	if LooksLikePAN(s) {
		s = MaskPANs(s)
		what = append(what, "looks like a card number: masked")
	}
	return s, what
}
