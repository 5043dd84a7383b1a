package gateway

import "fmt"

// Limits of a ticket, from the till API.
const (
	MaxLines        = 500
	MaxRefLen       = 64
	MaxTableLen     = 16
	MaxLabelLen     = 64
	MaxNameLen      = 64 // server, loyalty
	MaxCovers       = 9999
	DefaultCurrency = "EUR"
)

// Rules are the shop's settings that a ticket is checked against.
type Rules struct {
	Currency string  // ISO 4217, the only one the shop's terminals take
	VATRates []int64 // basis points
}

// Validate normalises in (currency default) and returns every problem with
// it as a *ValidationError, or nil.
func (r Rules) Validate(in *TicketInput) error {
	var fe fieldErrors
	text := func(field, v string, min, max int) {
		if msg := CheckText(v, min, max); msg != "" {
			fe.add(field, "%s", msg)
		}
	}
	text("ref", in.Ref, 1, MaxRefLen)
	text("table", in.Table, 0, MaxTableLen)
	text("server", in.Server, 0, MaxNameLen)
	text("loyalty", in.Loyalty, 0, MaxNameLen)
	if in.Covers < 0 || in.Covers > MaxCovers {
		fe.add("covers", "must be between 0 and %d", MaxCovers)
	}
	if in.Currency == "" {
		in.Currency = r.Currency
	}
	if in.Currency != r.Currency {
		fe.add("currency", "must be %s, the shop's currency", r.Currency)
	}
	switch {
	case len(in.Lines) == 0:
		fe.add("lines", "at least one line is required")
	case len(in.Lines) > MaxLines:
		fe.add("lines", "at most %d lines", MaxLines)
	}
	var sum int64
	sumOK := len(in.Lines) <= MaxLines // only the first MaxLines are looked at
	for i, l := range in.Lines {
		if i >= MaxLines {
			break
		}
		p := fmt.Sprintf("lines[%d]", i)
		text(p+".label", l.Label, 1, MaxLabelLen)
		if l.Qty < 1 || l.Qty > MaxQty {
			fe.add(p+".qty", "must be between 1 and %d", MaxQty)
			sumOK = false
		}
		if l.UnitPrice < -MaxUnitPrice || l.UnitPrice > MaxUnitPrice {
			fe.add(p+".unit_price", "must be between %d and %d cents", -MaxUnitPrice, MaxUnitPrice)
			sumOK = false
		}
		if !r.knownRate(l.VATRate) {
			fe.add(p+".vat_rate", "must be one of the shop's VAT rates %v (basis points)", r.VATRates)
		}
		if sumOK {
			// Bounded by the checks above: no overflow is possible here.
			sum += l.Qty * l.UnitPrice
		}
	}
	if in.Total < 1 || in.Total > MaxTotal {
		fe.add("total", "must be between 1 and %d cents", MaxTotal)
	} else if sumOK && len(in.Lines) > 0 && sum != in.Total {
		fe.add("total", "must equal the sum of qty × unit_price (%d)", sum)
	}
	return fe.err()
}

func (r Rules) knownRate(rate int64) bool {
	for _, v := range r.VATRates {
		if v == rate {
			return true
		}
	}
	return false
}
