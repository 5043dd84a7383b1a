package notes

import (
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/passerelle/passerelle/gateway"
)

// ErrUnparsed is why a note was not read into a ticket: Read's errors wrap
// it, with the reason.
var ErrUnparsed = errors.New("unparsed")

// maxVATSearch bounds the ways to give several printed VAT rates to the
// lines (rates^lines) that Read tries.
const maxVATSearch = 1 << 14

// vatLine is a printed VAT line: the rate and the VAT amount.
type vatLine struct {
	rate, amount int64
}

// lineAmount is a read line with the amount printed (the line's total).
type lineAmount struct {
	label  string
	qty    int64
	amount int64
}

// Read reads a note's printed lines into a ticket. The ticket is only
// returned when it has a reference, lines, and a total that the lines add
// up to; every other case is an error wrapping ErrUnparsed.
func (t *Template) Read(lines []string) (gateway.TicketInput, error) {
	var in gateway.TicketInput
	var items []lineAmount
	var vats []vatLine
	total, haveTotal := int64(0), false
	for _, raw := range lines {
		l := strings.Join(strings.Fields(raw), " ")
		if l == "" {
			continue
		}
		if in.Ref == "" {
			if v, ok := first(t.ref, l, "v"); ok {
				in.Ref = v
				continue
			}
		}
		if in.Table == "" {
			if v, ok := first(t.table, l, "v"); ok {
				in.Table = v
				continue
			}
		}
		if in.Server == "" {
			if v, ok := first(t.server, l, "v"); ok {
				in.Server = v
				continue
			}
		}
		if in.Covers == 0 {
			if v, ok := first(t.covers, l, "v"); ok {
				n, err := strconv.ParseInt(v, 10, 64)
				if err == nil {
					in.Covers = n
					continue
				}
			}
		}
		if m := match(t.vat, l); m != nil {
			rate, err := parseRate(m["rate"])
			if err != nil {
				return in, fmt.Errorf("%w: %v", ErrUnparsed, err)
			}
			amount, err := parseAmount(m["amount"])
			if err != nil {
				return in, fmt.Errorf("%w: %v", ErrUnparsed, err)
			}
			vats = append(vats, vatLine{rate, amount})
			continue
		}
		if haveTotal {
			continue // after the total: payment modes, thanks, the footer
		}
		if m := match(t.total, l); m != nil {
			v, err := parseAmount(m["amount"])
			if err != nil {
				return in, fmt.Errorf("%w: %v", ErrUnparsed, err)
			}
			total, haveTotal = v, true
			continue
		}
		if m := match(t.line, l); m != nil {
			it, err := readLine(m)
			if err != nil {
				return in, err
			}
			items = append(items, it)
		}
	}
	switch {
	case in.Ref == "":
		return in, fmt.Errorf("%w: no note number", ErrUnparsed)
	case len(items) == 0:
		return in, fmt.Errorf("%w: no line", ErrUnparsed)
	case !haveTotal:
		return in, fmt.Errorf("%w: no total", ErrUnparsed)
	}
	var sum int64
	for _, it := range items {
		sum += it.amount
	}
	if sum != total {
		return in, fmt.Errorf("%w: the lines add up to %s, the total is %s", ErrUnparsed, cents(sum), cents(total))
	}
	rates, err := t.rates(items, vats)
	if err != nil {
		return in, err
	}
	for i, it := range items {
		in.Lines = append(in.Lines, gateway.Line{Label: it.label, Qty: it.qty, UnitPrice: it.amount / it.qty, VATRate: rates[i]})
	}
	in.Total = total
	return in, nil
}

func readLine(m map[string]string) (lineAmount, error) {
	qty, err := strconv.ParseInt(m["qty"], 10, 64)
	if err != nil || qty < 1 || qty > gateway.MaxQty {
		return lineAmount{}, fmt.Errorf("%w: quantity %q", ErrUnparsed, m["qty"])
	}
	amount, err := parseAmount(m["amount"])
	if err != nil {
		return lineAmount{}, fmt.Errorf("%w: %v", ErrUnparsed, err)
	}
	if amount%qty != 0 {
		return lineAmount{}, fmt.Errorf("%w: %d × %q is not %s split evenly", ErrUnparsed, qty, m["label"], cents(amount))
	}
	return lineAmount{label: strings.TrimSpace(m["label"]), qty: qty, amount: amount}, nil
}

// rates gives each line its VAT rate: the one printed, or the template's
// default when none is; with several printed, the only way to share the
// lines between the rates that gives the printed VAT amounts.
func (t *Template) rates(items []lineAmount, vats []vatLine) ([]int64, error) {
	out := make([]int64, len(items))
	distinct := map[int64]bool{}
	for _, v := range vats {
		distinct[v.rate] = true
	}
	if len(distinct) <= 1 {
		r := t.vatDefault
		for rate := range distinct {
			r = rate
		}
		for i := range out {
			out[i] = r
		}
		return out, nil
	}
	n := 1
	for range items {
		n *= len(vats)
		if n > maxVATSearch {
			return nil, fmt.Errorf("%w: too many lines to share between %d VAT rates", ErrUnparsed, len(vats))
		}
	}
	var found []int64
	for k := range n {
		c, choice := k, make([]int64, len(items))
		for i := range items {
			choice[i] = vats[c%len(vats)].rate
			c /= len(vats)
		}
		if vatMatches(items, choice, vats) {
			if found != nil {
				return nil, fmt.Errorf("%w: the lines can be shared between the VAT rates in more than one way", ErrUnparsed)
			}
			found = choice
		}
	}
	if found == nil && distinct[t.vatDefault] {
		// No sharing gives the printed amounts (some tills print each
		// rate applied to the whole total): the template's default rate
		// is one of those printed, and the one the lines take.
		found = make([]int64, len(items))
		for i := range found {
			found[i] = t.vatDefault
		}
	}
	if found == nil {
		return nil, fmt.Errorf("%w: the printed VAT amounts do not match the lines", ErrUnparsed)
	}
	return found, nil
}

// vatMatches reports whether giving the lines the rates of choice gives
// each printed VAT amount, to a cent per line (tills round per line or
// per rate).
func vatMatches(items []lineAmount, choice []int64, vats []vatLine) bool {
	for _, v := range vats {
		var base, n int64
		for i, it := range items {
			if choice[i] == v.rate {
				base += it.amount
				n++
			}
		}
		if n == 0 {
			return false
		}
		vat := (base*v.rate + (10000+v.rate)/2) / (10000 + v.rate)
		if d := vat - v.amount; d > n || d < -n {
			return false
		}
	}
	return true
}

// first returns group g of the first pattern that matches l.
func first(res []*regexp.Regexp, l, g string) (string, bool) {
	if m := match(res, l); m != nil {
		return strings.TrimSpace(m[g]), true
	}
	return "", false
}

// match returns the named groups of the first pattern that matches l.
func match(res []*regexp.Regexp, l string) map[string]string {
	for _, re := range res {
		sm := re.FindStringSubmatch(l)
		if sm == nil {
			continue
		}
		out := map[string]string{}
		for i, name := range re.SubexpNames() {
			if name != "" {
				out[name] = sm[i]
			}
		}
		return out
	}
	return nil
}

func cents(v int64) string {
	sign := ""
	if v < 0 {
		sign, v = "-", -v
	}
	return fmt.Sprintf("%s%d,%02d", sign, v/100, v%100)
}
