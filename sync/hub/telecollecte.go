package hub

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Limits of a télécollecte file.
const (
	MaxTelecollecteBytes = 16 << 20
	MaxTelecollecteLines = 200000
	MaxBankField         = 256
	// MaxBankAmount bounds an amount, in cents: far above any card
	// payment, far below an overflow.
	MaxBankAmount = 1_000_000_000_00
)

// BankLine is one transaction of a télécollecte file.
type BankLine struct {
	Line           int    // in the file, from 1 (the header)
	TransactionRef string // as the bank wrote it, trimmed
	Amount         int64  // cents
	Date           string // YYYY-MM-DD
}

// ParseError is a malformed file: the line and the column at fault.
type ParseError struct {
	Line   int
	Column string // the header's name of the column, or "" for the line
	Msg    string
}

func (e *ParseError) Error() string {
	if e.Column == "" {
		return fmt.Sprintf("line %d: %s", e.Line, e.Msg)
	}
	return fmt.Sprintf("line %d, column %s: %s", e.Line, e.Column, e.Msg)
}

// required columns of the header.
var bankColumns = []string{"transaction_ref", "amount", "date"}

// ParseTelecollecte reads a bank's télécollecte export: CSV with a header
// naming at least transaction_ref, amount and date (in any order, other
// columns ignored), "," or ";" as the separator (whichever the header
// uses), amounts in euros with "." or "," as the decimal mark, dates as
// YYYY-MM-DD or DD/MM/YYYY, UTF-8 with or without a BOM. The whole file is
// read before anything is returned: a malformed file is refused whole.
func ParseTelecollecte(r io.Reader) ([]BankLine, error) {
	data, err := io.ReadAll(io.LimitReader(r, MaxTelecollecteBytes+1))
	if err != nil {
		return nil, fmt.Errorf("hub: read the file: %w", err)
	}
	if len(data) > MaxTelecollecteBytes {
		return nil, &ParseError{Line: 0, Msg: fmt.Sprintf("the file is larger than %d bytes", MaxTelecollecteBytes)}
	}
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	if !utf8.Valid(data) {
		return nil, &ParseError{Line: firstBadLine(data), Msg: "not UTF-8"}
	}
	header, _, _ := bytes.Cut(data, []byte("\n"))
	cr := csv.NewReader(bytes.NewReader(data))
	cr.Comma = ','
	if bytes.Count(header, []byte(";")) > bytes.Count(header, []byte(",")) {
		cr.Comma = ';'
	}
	cr.ReuseRecord = true
	cols, err := readHeader(cr)
	if err != nil {
		return nil, err
	}
	var out []BankLine
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, csvError(err) // its line is in the error: FieldPos is for read records only
		}
		line, _ := cr.FieldPos(0)
		if len(out) >= MaxTelecollecteLines {
			return nil, &ParseError{Line: line, Msg: fmt.Sprintf("more than %d transactions", MaxTelecollecteLines)}
		}
		bl, err := parseBankLine(rec, cols, line)
		if err != nil {
			return nil, err
		}
		out = append(out, bl)
	}
}

func firstBadLine(data []byte) int {
	for i, l := range bytes.Split(data, []byte("\n")) {
		if !utf8.Valid(l) {
			return i + 1
		}
	}
	return 1
}

// csvError turns encoding/csv's error into the line at fault.
func csvError(err error) error {
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		if errors.Is(pe.Err, csv.ErrFieldCount) {
			return &ParseError{Line: pe.Line, Msg: "not as many columns as the header"}
		}
		return &ParseError{Line: pe.Line, Msg: pe.Err.Error()}
	}
	return &ParseError{Line: 0, Msg: err.Error()}
}

// readHeader returns the index of each required column.
func readHeader(cr *csv.Reader) (map[string]int, error) {
	rec, err := cr.Read()
	if errors.Is(err, io.EOF) {
		return nil, &ParseError{Line: 1, Msg: "the file is empty: a header is required"}
	}
	if err != nil {
		return nil, csvError(err)
	}
	cols := map[string]int{}
	for i, name := range rec {
		name = strings.ToLower(strings.TrimSpace(name))
		if _, dup := cols[name]; dup && name != "" {
			return nil, &ParseError{Line: 1, Column: name, Msg: "named twice in the header"}
		}
		cols[name] = i
	}
	for _, need := range bankColumns {
		if _, ok := cols[need]; !ok {
			return nil, &ParseError{Line: 1, Column: need, Msg: "missing from the header"}
		}
	}
	cr.FieldsPerRecord = len(rec)
	return cols, nil
}

func parseBankLine(rec []string, cols map[string]int, line int) (BankLine, error) {
	bl := BankLine{Line: line}
	field := func(name string) (string, error) {
		v := strings.TrimSpace(rec[cols[name]])
		if len(v) > MaxBankField {
			return "", &ParseError{Line: line, Column: name, Msg: fmt.Sprintf("longer than %d bytes", MaxBankField)}
		}
		if v == "" {
			return "", &ParseError{Line: line, Column: name, Msg: "empty"}
		}
		return v, nil
	}
	var err error
	if bl.TransactionRef, err = field("transaction_ref"); err != nil {
		return bl, err
	}
	amount, err := field("amount")
	if err != nil {
		return bl, err
	}
	if bl.Amount, err = parseEuros(amount); err != nil {
		return bl, &ParseError{Line: line, Column: "amount", Msg: err.Error()}
	}
	date, err := field("date")
	if err != nil {
		return bl, err
	}
	if bl.Date, err = parseBankDate(date); err != nil {
		return bl, &ParseError{Line: line, Column: "date", Msg: err.Error()}
	}
	return bl, nil
}

// parseEuros reads "10.00", "10,00", "-3,5", "1 234,56" (spaces, also
// non-breaking, group thousands) or "12" into cents.
func parseEuros(s string) (int64, error) {
	bad := fmt.Errorf("%q is not an amount in euros such as 10,00 or 10.00", s)
	s = strings.NewReplacer(" ", "", "\u00a0", "", "\u202f", "").Replace(s)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	units, frac, hasFrac := strings.Cut(strings.Replace(s, ",", ".", 1), ".")
	if units == "" || len(units) > 12 || !digits(units) || (hasFrac && (len(frac) < 1 || len(frac) > 2 || !digits(frac))) {
		return 0, bad
	}
	e, _ := strconv.ParseInt(units, 10, 64)
	var c int64
	if hasFrac {
		c, _ = strconv.ParseInt(frac, 10, 64)
		if len(frac) == 1 {
			c *= 10
		}
	}
	cents := e*100 + c
	if cents > MaxBankAmount {
		return 0, fmt.Errorf("%q is more than a bank line may be", s)
	}
	if neg {
		cents = -cents
	}
	return cents, nil
}

func digits(s string) bool {
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

// parseBankDate reads YYYY-MM-DD or DD/MM/YYYY into YYYY-MM-DD.
func parseBankDate(s string) (string, error) {
	for _, layout := range []string{time.DateOnly, "02/01/2006"} {
		if t, err := time.Parse(layout, s); err == nil && len(s) == len(layout) {
			return t.Format(time.DateOnly), nil
		}
	}
	return "", fmt.Errorf("%q is not a date as YYYY-MM-DD or DD/MM/YYYY", s)
}
