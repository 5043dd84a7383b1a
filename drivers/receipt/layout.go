package receipt

import (
	"errors"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/passerelle/passerelle/gateway"
)

// The printer widths accepted. Terminal printers are 24 to 48 columns wide in
// practice; below 24 a receipt's amounts and labels no longer fit together.
const (
	MinCols = gateway.MinPrinterCols
	MaxCols = gateway.MaxPrinterCols
)

// ErrWidth is returned for a printer width outside MinCols..MaxCols.
var ErrWidth = errors.New("receipt: printer width out of range")

// maxHang caps the hanging indent of an item's continuation lines, so that a
// huge quantity cannot leave no room for the label.
const maxHang = 8

// sheet collects the lines of one receipt. The first error is kept and the
// later calls do nothing, so that the layout code reads top to bottom.
type sheet struct {
	cols  int
	lines []string
	err   error
}

func newSheet(cols int) (*sheet, error) {
	if cols < MinCols || cols > MaxCols {
		return nil, fmt.Errorf("%w: %d columns, want %d to %d", ErrWidth, cols, MinCols, MaxCols)
	}
	return &sheet{cols: cols}, nil
}

func (s *sheet) result() ([]string, error) {
	if s.err != nil {
		return nil, s.err
	}
	for i, l := range s.lines {
		s.lines[i] = strings.ReplaceAll(l, nbsp, " ")
	}
	return s.lines, nil
}

// nbsp binds the parts of a text that must stay on one line: wrap breaks
// only at ordinary spaces, and result prints it as one.
const nbsp = "\u00a0"

// wholePAN returns a masked card number as one word that wrap never breaks,
// for a line of width columns: "####" above "#### 5743" no longer reads
// as a card number. One wider than the line loses its separators
// ("4970 10## #### #### 5743" at 23 columns is "497010##########5743").
func wholePAN(pan string, width int) string {
	if runes(pan) > width {
		pan = strings.NewReplacer(" ", "", "-", "").Replace(pan)
	}
	return strings.ReplaceAll(pan, " ", nbsp)
}

func (s *sheet) blank() {
	if s.err == nil {
		s.lines = append(s.lines, "")
	}
}

// left prints text wrapped, flush left.
func (s *sheet) left(text string) {
	if s.err == nil {
		s.lines = append(s.lines, wrap(clean(text), s.cols, 0)...)
	}
}

// center prints text wrapped, each line centred.
func (s *sheet) center(text string) {
	if s.err != nil {
		return
	}
	for _, l := range wrap(clean(text), s.cols, 0) {
		s.lines = append(s.lines, strings.Repeat(" ", (s.cols-runes(l))/2)+l)
	}
}

// whole prints text centred on one line, never wrapped nor cut: it is for
// lines that carry an amount.
func (s *sheet) whole(text string) {
	if s.err != nil {
		return
	}
	text = clean(text)
	n := runes(text)
	if n > s.cols {
		s.err = fmt.Errorf("receipt: %q is wider than the %d-column printer", text, s.cols)
		return
	}
	s.lines = append(s.lines, strings.Repeat(" ", (s.cols-n)/2)+text)
}

// row prints label wrapped, with amount right-aligned on its last line.
// Continuation lines are indented by indent columns.
func (s *sheet) row(label, amount string, indent int) {
	if s.err != nil {
		return
	}
	a := runes(amount)
	if a > s.cols {
		s.err = fmt.Errorf("receipt: amount %s is wider than the %d-column printer", amount, s.cols)
		return
	}
	lines := wrap(clean(label), s.cols, indent)
	if len(lines) == 0 {
		s.lines = append(s.lines, s.right("", amount))
		return
	}
	last := lines[len(lines)-1]
	if runes(last)+1+a <= s.cols {
		lines[len(lines)-1] = s.right(last, amount)
		s.lines = append(s.lines, lines...)
		return
	}
	// The amount does not fit beside the last line: move that line's last
	// words down to a continuation line of their own, as many as fit beside
	// the amount. They are never all of them, since together they did not fit.
	pad := strings.Repeat(" ", indent)
	words := strings.Split(strings.TrimLeft(last, " "), " ")
	room := s.cols - indent - 1 - a
	i, n := len(words), -1
	for i > 0 && n+1+runes(words[i-1]) <= room {
		n += 1 + runes(words[i-1])
		i--
	}
	if i == len(words) {
		// Not even one word fits beside the amount.
		s.lines = append(s.lines, lines...)
		s.lines = append(s.lines, s.right("", amount))
		return
	}
	lines[len(lines)-1] = strings.TrimRight(last[:len(last)-len(strings.Join(words[i:], " "))], " ")
	s.lines = append(s.lines, lines...)
	s.lines = append(s.lines, s.right(pad+strings.Join(words[i:], " "), amount))
}

// total prints a short fixed label such as "NET À PAYER :" with amount
// right-aligned beside it, or alone on the next line if they do not fit
// together: cut, such a label reads badly ("NET À" above "PAYER :").
func (s *sheet) total(label, amount string) {
	if runes(label) <= s.cols && runes(label)+1+runes(amount) > s.cols {
		s.left(label)
		label = ""
	}
	s.row(label, amount, 0)
}

// right returns text with amount right-aligned after it on a full line; the
// caller has checked that they fit.
func (s *sheet) right(text, amount string) string {
	return text + strings.Repeat(" ", s.cols-runes(text)-runes(amount)) + amount
}

// wrap breaks text into lines of at most width runes at its spaces, the
// lines after the first indented by indent spaces. A word longer than a whole
// line is cut: a label is printed in full, even if not prettily.
func wrap(text string, width, indent int) []string {
	var lines []string
	var cur strings.Builder
	n, room := 0, width
	newLine := func() {
		lines = append(lines, cur.String())
		cur.Reset()
		cur.WriteString(strings.Repeat(" ", indent))
		n, room = 0, width-indent
	}
	for w := range strings.SplitSeq(text, " ") {
		for w != "" {
			wn := runes(w)
			switch {
			case n == 0 && wn <= room:
				cur.WriteString(w)
				n, w = wn, ""
			case n > 0 && n+1+wn <= room:
				cur.WriteString(" ")
				cur.WriteString(w)
				n, w = n+1+wn, ""
			case n > 0 && wn > width-indent && room-n-1 > 0:
				// It will be cut anyway: start it here rather than leave a
				// short line behind.
				var head string
				head, w = cutRunes(w, room-n-1)
				cur.WriteString(" ")
				cur.WriteString(head)
				newLine()
			case n > 0:
				newLine()
			default:
				var head string
				head, w = cutRunes(w, room)
				cur.WriteString(head)
				newLine()
			}
		}
	}
	if n > 0 {
		lines = append(lines, cur.String())
	}
	return lines
}

// clean makes s printable on one line: invalid UTF-8 becomes U+FFFD, control
// characters and line or paragraph separators become spaces, and bidi
// controls are dropped so that the paper shows the characters in the order
// they were stored. The gateway refuses these in tickets already; the
// shop's configuration and the terminals' reports may still carry them.
func clean(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case unicode.Is(unicode.Bidi_Control, r):
			return -1
		case unicode.IsControl(r), unicode.In(r, unicode.Zl, unicode.Zp):
			return ' '
		}
		return r
	}, s)
}

// cutRunes splits s after its first n runes.
func cutRunes(s string, n int) (string, string) {
	i := 0
	for range n {
		_, size := utf8.DecodeRuneInString(s[i:])
		i += size
	}
	return s[:i], s[i:]
}

func runes(s string) int { return utf8.RuneCountInString(s) }
