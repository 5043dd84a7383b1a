package views

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/passerelle/passerelle/gateway"
)

// Money writes cents in the page's language: "1 234,56 €" or "€1,234.56".
func (p Page) Money(cents int64) string {
	cur := p.Currency
	if cur == "" {
		cur = gateway.DefaultCurrency
	}
	if p.L == English {
		s := strings.NewReplacer(" ", ",", ",", ".").Replace(gateway.FormatCents(cents))
		sign := ""
		if cents < 0 {
			sign, s = "-", s[1:]
		}
		if cur == "EUR" {
			return sign + "€" + s
		}
		return sign + s + " " + cur
	}
	sym := cur
	if cur == "EUR" {
		sym = "€"
	}
	// No-break spaces: an amount never wraps across two lines.
	return strings.ReplaceAll(gateway.FormatCents(cents), " ", "\u00a0") + "\u00a0" + sym
}

// Rate writes a VAT rate in basis points: "5,5 %" or "5.5%".
func (p Page) Rate(bps int64) string {
	s := strconv.FormatInt(bps/100, 10)
	if frac := bps % 100; frac != 0 {
		f := strings.TrimRight(fmt.Sprintf("%02d", frac), "0")
		sep := ","
		if p.L == English {
			sep = "."
		}
		s += sep + f
	}
	if p.L == English {
		return s + "%"
	}
	return s + "\u00a0%"
}

func (p Page) loc() *time.Location {
	if p.Loc == nil {
		return time.UTC
	}
	return p.Loc
}

// Time writes a moment in the shop's time zone.
func (p Page) Time(t time.Time) string {
	if t.IsZero() {
		return "—"
	}
	if p.L == English {
		return t.In(p.loc()).Format("2006-01-02 15:04")
	}
	return t.In(p.loc()).Format("02/01/2006 15:04")
}

// Clock writes the time of day only, for what happened today.
func (p Page) Clock(t time.Time) string {
	if t.IsZero() {
		return "—"
	}
	return t.In(p.loc()).Format("15:04:05")
}

// TimePtr is Time for an optional moment.
func (p Page) TimePtr(t *time.Time) string {
	if t == nil {
		return "—"
	}
	return p.Time(*t)
}

// Day writes a date: "mardi 3 mars 2026" or "Tuesday 3 March 2026".
func (p Page) Day(d time.Time) string {
	if p.L == English {
		return d.Format("Monday 2 January 2006")
	}
	days := [...]string{"dimanche", "lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi"}
	months := [...]string{"janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août",
		"septembre", "octobre", "novembre", "décembre"}
	return fmt.Sprintf("%s %d %s %d", days[d.Weekday()], d.Day(), months[d.Month()-1], d.Year())
}

// Bytes writes a size: "12,3 Mo" or "12.3 MB".
func (p Page) Bytes(n int64) string {
	units := []string{"o", "Ko", "Mo", "Go"}
	if p.L == English {
		units = []string{"B", "KB", "MB", "GB"}
	}
	f := float64(n)
	i := 0
	for f >= 1024 && i < len(units)-1 {
		f /= 1024
		i++
	}
	s := strconv.FormatFloat(f, 'f', 1, 64)
	if i == 0 {
		s = strconv.FormatInt(n, 10)
	}
	if p.L != English {
		s = strings.Replace(s, ".", ",", 1)
	}
	return s + " " + units[i]
}

// Int writes a count.
func Int[T ~int | ~int64](n T) string { return strconv.FormatInt(int64(n), 10) }

// TicketStatus is a ticket status's name in the page's language.
func (p Page) TicketStatus(s gateway.TicketStatus) string { return p.L.T("status." + string(s)) }

// PaymentStatus is a payment status's name in the page's language.
func (p Page) PaymentStatus(s gateway.PaymentStatus) string { return p.L.T("pstatus." + string(s)) }

// EventName says what an event of the log tells, in the page's language.
func (p Page) EventName(typ string) string {
	if s, ok := lookup("event."+typ, p.L); ok {
		return s
	}
	return typ
}

// Card writes what is known of a payment's card: "CB #####5743".
func Card(c *gateway.Card) string {
	if c == nil {
		return "—"
	}
	return strings.TrimSpace(c.Scheme + " " + c.MaskedPAN)
}

// OrDash returns s, or a dash for nothing.
func OrDash(s string) string {
	if s == "" {
		return "—"
	}
	return s
}

// clockOffset shows a clock's offset signed, to the second: "+1h0m0s" when
// the other clock is ahead of the box's.
func clockOffset(d time.Duration) string {
	sign := "+"
	if d < 0 {
		sign = "−"
	}
	return sign + d.Abs().Round(time.Second).String()
}
