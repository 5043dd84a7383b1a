package gateway

import (
	"errors"
	"math"
	"math/bits"
	"sort"
)

// Money is always int64 minor units (cents). These limits come from the till
// API: a ticket total is 1..100000000 cents (one million euros).
const (
	MaxTotal     = 100_000_000
	MaxQty       = 9999
	MaxUnitPrice = MaxTotal // a single unit can never exceed a whole ticket
)

// ErrOverflow is returned when an amount does not fit in int64.
var ErrOverflow = errors.New("gateway: amount overflows")

// MulCents returns a*b, or ErrOverflow.
func MulCents(a, b int64) (int64, error) {
	hi, lo := bits.Mul64(magnitude(a), magnitude(b))
	neg := (a < 0) != (b < 0)
	// The negative side holds one more value: MinInt64's magnitude is 1<<63.
	limit := uint64(math.MaxInt64)
	if neg {
		limit++
	}
	if hi != 0 || lo > limit {
		return 0, ErrOverflow
	}
	if neg {
		return int64(-lo), nil // two's complement: -(1<<63) wraps to MinInt64
	}
	return int64(lo), nil
}

// AddCents returns a+b, or ErrOverflow.
func AddCents(a, b int64) (int64, error) {
	s := a + b
	if (a > 0 && b > 0 && s < 0) || (a < 0 && b < 0 && s >= 0) {
		return 0, ErrOverflow
	}
	return s, nil
}

// magnitude is |a|, exact even for MinInt64.
func magnitude(a int64) uint64 {
	if a < 0 {
		return uint64(-(a + 1)) + 1
	}
	return uint64(a)
}

// VATIncluded is the VAT inside a VAT-inclusive total at rate (basis
// points): round(total * rate / (10000 + rate)), half away from zero, the
// till API's formula. Tickets and the day report use it alike.
func VATIncluded(total, rate int64) int64 {
	return divRound(total*rate, 10000+rate)
}

// divRound divides n by d (d > 0) rounding half away from zero.
func divRound(n, d int64) int64 {
	q, r := n/d, n%d
	if r < 0 {
		r = -r
	}
	if 2*r >= d {
		if n < 0 {
			q--
		} else {
			q++
		}
	}
	return q
}

// VATLine is one rate's share of a VAT-inclusive total.
type VATLine struct {
	Rate   int64 `json:"rate"`   // basis points: 1000 = 10,00 %
	Base   int64 `json:"base"`   // total without VAT
	Amount int64 `json:"amount"` // the VAT itself
	Total  int64 `json:"total"`  // VAT included
}

// VATBreakdown sums the lines per rate and splits each rate's VAT-inclusive
// total into base and VAT, as the till API says:
// amount = round(total * rate / (10000 + rate)), half away from zero.
// Rates come out in ascending order. Lines must already be validated (no
// overflow), which Validate guarantees.
func VATBreakdown(lines []Line) []VATLine {
	per := map[int64]int64{}
	for _, l := range lines {
		per[l.VATRate] += l.Qty * l.UnitPrice
	}
	out := make([]VATLine, 0, len(per))
	for rate, total := range per {
		amount := VATIncluded(total, rate)
		out = append(out, VATLine{Rate: rate, Base: total - amount, Amount: amount, Total: total})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Rate < out[j].Rate })
	return out
}

// Split divides amount into n parts that differ by at most one cent and sum
// exactly to amount; the larger parts come first (100,00 in 3 is 33,34 +
// 33,33 + 33,33).
func Split(amount int64, n int) []int64 {
	if n <= 0 {
		return nil
	}
	parts := make([]int64, n)
	q, r := amount/int64(n), amount%int64(n)
	if r < 0 { // Go truncates toward zero: floor, so that the r extra cents are positive
		q--
		r += int64(n)
	}
	for i := range parts {
		parts[i] = q
		if int64(i) < r {
			parts[i]++
		}
	}
	return parts
}
