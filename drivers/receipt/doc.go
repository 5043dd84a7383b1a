// Package receipt lays out the bank ticket and the note (facturette) for a
// terminal's printer width.
//
// The terminal protocol sends print jobs as lines already laid out for the
// terminal's printer.cols, so everything about columns lives here: a width is
// counted in runes (an accented letter is one column, as on the terminals'
// printers), and every line this package returns is at most that many runes.
// A character that a printer draws two columns wide (CJK, emoji) still counts
// as one: the protocol's widths are in characters.
//
// Text is wrapped on spaces, and a word longer than a whole line is cut. A
// masked card number is never split: it goes whole on a line of its own if
// need be, without its separators if it is wider than the paper. An
// amount never is: it is printed whole and right-aligned at the end of its
// label's last line, or on a line of its own when not even one word of the
// label fits beside it. An amount wider than the paper is an error rather than
// a wrong receipt.
//
// Amounts are French style, "1 234,56", with an ordinary space between
// thousands: the narrow no-break space that French typography prefers is
// missing from many printer fonts, and since an amount is placed as one piece
// the ordinary space can never be a line break.
package receipt
