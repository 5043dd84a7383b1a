package gateway

import "strconv"

// FormatCents writes cents the French way: "1 234,56", "-5,00". Screens and
// receipts use it; the API's JSON keeps integers.
func FormatCents(c int64) string {
	neg := c < 0
	u := uint64(c)
	if neg {
		u = uint64(-c) // MinInt64 wraps to itself as uint64: still right
	}
	units := strconv.FormatUint(u/100, 10)
	cents := u % 100
	var b []byte
	if neg {
		b = append(b, '-')
	}
	for i, d := range units {
		if i > 0 && (len(units)-i)%3 == 0 {
			b = append(b, ' ')
		}
		b = append(b, byte(d))
	}
	b = append(b, ',', byte('0'+cents/10), byte('0'+cents%10))
	return string(b)
}
