package gateway_test

import (
	"errors"
	"math"
	"math/big"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/passerelle/passerelle/gateway"
)

func TestVATBreakdown(t *testing.T) {
	l := func(qty, price, rate int64) gateway.Line {
		return gateway.Line{Label: "x", Qty: qty, UnitPrice: price, VATRate: rate}
	}
	cases := []struct {
		name  string
		lines []gateway.Line
		want  []gateway.VATLine
	}{
		{"the brief's note: 23,50 + 30,00 at 10 %",
			[]gateway.Line{l(1, 2350, 1000), l(1, 3000, 1000)},
			[]gateway.VATLine{{Rate: 1000, Base: 4864, Amount: 486, Total: 5350}}},
		{"10 % and 20 %, rates in ascending order",
			[]gateway.Line{l(2, 1200, 2000), l(1, 2350, 1000), l(1, 3000, 1000)},
			[]gateway.VATLine{
				{Rate: 1000, Base: 4864, Amount: 486, Total: 5350},
				{Rate: 2000, Base: 2000, Amount: 400, Total: 2400},
			}},
		{"5,5 %, 2,1 % and 0 %",
			[]gateway.Line{l(1, 1055, 550), l(3, 102, 210), l(1, 500, 0)},
			[]gateway.VATLine{
				{Rate: 0, Base: 500, Amount: 0, Total: 500},
				{Rate: 210, Base: 300, Amount: 6, Total: 306}, // 6,29… rounds down
				{Rate: 550, Base: 1000, Amount: 55, Total: 1055},
			}},
		{"a discount line at the same rate",
			[]gateway.Line{l(1, 3000, 1000), l(1, -500, 1000)},
			[]gateway.VATLine{{Rate: 1000, Base: 2273, Amount: 227, Total: 2500}}},
		// 3 × 2000 / 12000 = 0,5: half away from zero.
		{"half rounds up", []gateway.Line{l(1, 3, 2000)},
			[]gateway.VATLine{{Rate: 2000, Base: 2, Amount: 1, Total: 3}}},
		{"1,5 rounds to 2", []gateway.Line{l(1, 9, 2000)},
			[]gateway.VATLine{{Rate: 2000, Base: 7, Amount: 2, Total: 9}}},
		{"just under half rounds down", []gateway.Line{l(1, 2, 2000)},
			[]gateway.VATLine{{Rate: 2000, Base: 2, Amount: 0, Total: 2}}},
		{"at 100 %, 0,5 rounds to 1", []gateway.Line{l(1, 1, 10000)},
			[]gateway.VATLine{{Rate: 10000, Base: 0, Amount: 1, Total: 1}}},
		// A discount at another rate than what it discounts leaves that rate
		// negative: -0,5 rounds to -1, away from zero, not up to 0.
		{"negative half rounds away from zero",
			[]gateway.Line{l(1, 1000, 1000), l(1, -3, 2000)},
			[]gateway.VATLine{
				{Rate: 1000, Base: 909, Amount: 91, Total: 1000},
				{Rate: 2000, Base: -2, Amount: -1, Total: -3},
			}},
		{"negative 1,5 rounds to -2",
			[]gateway.Line{l(1, 1000, 1000), l(1, -9, 2000)},
			[]gateway.VATLine{
				{Rate: 1000, Base: 909, Amount: 91, Total: 1000},
				{Rate: 2000, Base: -7, Amount: -2, Total: -9},
			}},
		{"negative just under half", []gateway.Line{l(1, 100, 0), l(1, -2, 2000)},
			[]gateway.VATLine{
				{Rate: 0, Base: 100, Amount: 0, Total: 100},
				{Rate: 2000, Base: -2, Amount: 0, Total: -2},
			}},
		{"a rate that sums to zero",
			[]gateway.Line{l(1, 700, 2000), l(1, -700, 2000), l(1, 100, 1000)},
			[]gateway.VATLine{
				{Rate: 1000, Base: 91, Amount: 9, Total: 100},
				{Rate: 2000, Base: 0, Amount: 0, Total: 0},
			}},
		{"the largest lines", []gateway.Line{l(gateway.MaxQty, gateway.MaxUnitPrice, 2000)},
			[]gateway.VATLine{{Rate: 2000, Base: 833250000000, Amount: 166650000000, Total: 999900000000}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := gateway.VATBreakdown(c.lines)
			if !slices.Equal(got, c.want) {
				t.Errorf("got  %+v\nwant %+v", got, c.want)
			}
		})
	}
	if got := gateway.VATBreakdown(nil); len(got) != 0 {
		t.Errorf("no lines: %+v", got)
	}
}

// bigVATAmount is the spec's formula in exact arithmetic.
func bigVATAmount(total, rate int64) int64 {
	num := new(big.Rat).SetFrac(new(big.Int).Mul(big.NewInt(total), big.NewInt(rate)), big.NewInt(10000+rate))
	abs := new(big.Rat).Abs(num)
	// floor(|x| + 1/2), then the sign back.
	abs.Add(abs, big.NewRat(1, 2))
	q := new(big.Int).Quo(abs.Num(), abs.Denom())
	if num.Sign() < 0 {
		q.Neg(q)
	}
	return q.Int64()
}

func TestVATBreakdownMatchesExactArithmetic(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 11))
	rates := []int64{0, 210, 550, 1000, 2000, 10000}
	for range 20000 {
		total := rng.Int64N(2*gateway.MaxTotal+1) - gateway.MaxTotal
		rate := rates[rng.IntN(len(rates))]
		got := gateway.VATBreakdown([]gateway.Line{{Qty: 1, UnitPrice: total, VATRate: rate}})
		want := bigVATAmount(total, rate)
		if len(got) != 1 || got[0].Amount != want || got[0].Base+got[0].Amount != total || got[0].Total != total {
			t.Fatalf("total %d at %d: got %+v, want amount %d", total, rate, got, want)
		}
	}
}

func TestSplit(t *testing.T) {
	cases := []struct {
		amount int64
		n      int
		want   []int64
	}{
		{10000, 3, []int64{3334, 3333, 3333}},
		{10000, 4, []int64{2500, 2500, 2500, 2500}},
		{5350, 2, []int64{2675, 2675}},
		{1, 3, []int64{1, 0, 0}},
		{2, 3, []int64{1, 1, 0}},
		{0, 2, []int64{0, 0}},
		{7, 1, []int64{7}},
		{-100, 3, []int64{-33, -33, -34}},
		{-1, 2, []int64{0, -1}},
	}
	for _, c := range cases {
		if got := gateway.Split(c.amount, c.n); !slices.Equal(got, c.want) {
			t.Errorf("Split(%d, %d) = %v, want %v", c.amount, c.n, got, c.want)
		}
	}
	for _, n := range []int{0, -1} {
		if got := gateway.Split(100, n); got != nil {
			t.Errorf("Split(100, %d) = %v, want nil", n, got)
		}
	}
}

func TestSplitSumsExactly(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 5))
	check := func(amount int64, n int) {
		t.Helper()
		parts := gateway.Split(amount, n)
		if len(parts) != n {
			t.Fatalf("Split(%d, %d): %d parts", amount, n, len(parts))
		}
		sum := new(big.Int)
		for i, p := range parts {
			sum.Add(sum, big.NewInt(p))
			if i > 0 && (p > parts[i-1] || parts[0]-p > 1) {
				t.Fatalf("Split(%d, %d) = %v: parts must not grow and differ by at most 1", amount, n, parts)
			}
		}
		if sum.Cmp(big.NewInt(amount)) != 0 {
			t.Fatalf("Split(%d, %d) = %v sums to %v", amount, n, parts, sum)
		}
	}
	for range 20000 {
		check(rng.Int64N(2*gateway.MaxTotal+1)-gateway.MaxTotal, 1+rng.IntN(40))
	}
	for _, a := range []int64{math.MaxInt64, math.MinInt64, math.MaxInt64 - 1, math.MinInt64 + 1} {
		for _, n := range []int{1, 2, 3, 7, 10} {
			check(a, n)
		}
	}
}

func TestMulAddCents(t *testing.T) {
	mul := []struct {
		a, b int64
		want int64
		over bool
	}{
		{2350, 3, 7050, false},
		{-500, 2, -1000, false},
		{-5, -3, 15, false},
		{0, math.MinInt64, 0, false},
		{math.MinInt64, 0, 0, false},
		{math.MaxInt64, 1, math.MaxInt64, false},
		{math.MinInt64, 1, math.MinInt64, false},
		{1, math.MinInt64, math.MinInt64, false},
		{-1 << 62, 2, math.MinInt64, false},
		{3037000499, 3037000499, 9223372030926249001, false},
		{math.MaxInt64, 2, 0, true},
		{math.MinInt64, -1, 0, true},
		{-1, math.MinInt64, 0, true},
		{math.MinInt64, 2, 0, true},
		{1 << 62, 2, 0, true},
		{3037000500, 3037000500, 0, true},
		{-3037000500, 3037000500, 0, true},
		{gateway.MaxQty, math.MaxInt64 / 1000, 0, true},
	}
	for _, c := range mul {
		got, err := gateway.MulCents(c.a, c.b)
		if c.over {
			if !errors.Is(err, gateway.ErrOverflow) {
				t.Errorf("MulCents(%d, %d) = %d, %v; want overflow", c.a, c.b, got, err)
			}
			continue
		}
		if err != nil || got != c.want {
			t.Errorf("MulCents(%d, %d) = %d, %v; want %d", c.a, c.b, got, err, c.want)
		}
	}
	add := []struct {
		a, b int64
		want int64
		over bool
	}{
		{5350, -500, 4850, false},
		{math.MaxInt64, 0, math.MaxInt64, false},
		{math.MaxInt64, math.MinInt64, -1, false},
		{math.MinInt64, 0, math.MinInt64, false},
		{math.MaxInt64, 1, 0, true},
		{math.MinInt64, -1, 0, true},
		{math.MaxInt64, math.MaxInt64, 0, true},
		{math.MinInt64, math.MinInt64, 0, true},
	}
	for _, c := range add {
		got, err := gateway.AddCents(c.a, c.b)
		if c.over {
			if !errors.Is(err, gateway.ErrOverflow) {
				t.Errorf("AddCents(%d, %d) = %d, %v; want overflow", c.a, c.b, got, err)
			}
			continue
		}
		if err != nil || got != c.want {
			t.Errorf("AddCents(%d, %d) = %d, %v; want %d", c.a, c.b, got, err, c.want)
		}
	}
}

// TestMulAddCentsMatchBigInt checks both against exact arithmetic on values
// of every magnitude.
func TestMulAddCentsMatchBigInt(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	value := func() int64 {
		v := int64(rng.Uint64() >> rng.IntN(64)) // every magnitude
		if rng.IntN(2) == 0 {
			v = -v
		}
		if rng.IntN(50) == 0 {
			v = []int64{math.MinInt64, math.MaxInt64, 0, 1, -1}[rng.IntN(5)]
		}
		return v
	}
	fits := func(x *big.Int) bool { return x.IsInt64() }
	for range 50000 {
		a, b := value(), value()
		prod := new(big.Int).Mul(big.NewInt(a), big.NewInt(b))
		got, err := gateway.MulCents(a, b)
		if fits(prod) != (err == nil) || (err == nil && got != prod.Int64()) {
			t.Fatalf("MulCents(%d, %d) = %d, %v; exact %v", a, b, got, err, prod)
		}
		sum := new(big.Int).Add(big.NewInt(a), big.NewInt(b))
		got, err = gateway.AddCents(a, b)
		if fits(sum) != (err == nil) || (err == nil && got != sum.Int64()) {
			t.Fatalf("AddCents(%d, %d) = %d, %v; exact %v", a, b, got, err, sum)
		}
	}
}
