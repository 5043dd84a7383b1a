package tillsim

import (
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/passerelle/passerelle/gateway"
)

func TestGeneratorTicketsAreValid(t *testing.T) {
	rules := gateway.DefaultConfig().Rules()
	gen := NewGenerator(42, "SIM-TEST")
	refs := map[string]bool{}
	var discounts, alcohol, food, loyalty, big int
	for i := range 2000 {
		in := gen.Next()
		if err := rules.Validate(&in); err != nil {
			t.Fatalf("ticket %d %+v: %v", i, in, err)
		}
		if want := "SIM-TEST-" + leftPad(i+1); in.Ref != want {
			t.Fatalf("ticket %d: ref %q, want %q", i, in.Ref, want)
		}
		if refs[in.Ref] {
			t.Fatalf("ref %q generated twice", in.Ref)
		}
		refs[in.Ref] = true
		if n, err := strconv.Atoi(in.Table); err != nil || n < 1 || n > Tables {
			t.Errorf("%s: table %q, want 1-%d", in.Ref, in.Table, Tables)
		}
		if in.Covers < 1 || in.Server == "" {
			t.Errorf("%s: covers %d, server %q", in.Ref, in.Covers, in.Server)
		}
		var sum int64
		seen := map[string]bool{}
		for _, l := range in.Lines {
			sum += l.Qty * l.UnitPrice
			if seen[l.Label] {
				t.Errorf("%s: %q on two lines: a till prints one line per dish", in.Ref, l.Label)
			}
			seen[l.Label] = true
			switch {
			case l.UnitPrice < 0:
				discounts++
				if l.Label != DiscountLabel || in.Loyalty == "" {
					t.Errorf("%s: negative line %+v without loyalty %q", in.Ref, l, in.Loyalty)
				}
			case l.VATRate == VATAlcohol:
				alcohol++
			case l.VATRate == VATFood:
				food++
			default:
				t.Errorf("%s: line %+v has VAT rate %d", in.Ref, l, l.VATRate)
			}
		}
		if sum != in.Total || in.Total <= 0 {
			t.Errorf("%s: total %d, lines sum to %d", in.Ref, in.Total, sum)
		}
		if in.Loyalty != "" {
			loyalty++
		}
		if len(in.Lines) >= 8 {
			big++
		}
	}
	if gen.Generated() != 2000 {
		t.Errorf("Generated() = %d after 2000 tickets", gen.Generated())
	}
	// A demo that never shows a discount or a wine is not the restaurant
	// it claims to be.
	for name, n := range map[string]int{"discount lines": discounts, "alcohol lines": alcohol,
		"food lines": food, "loyalty numbers": loyalty, "tickets of 8+ lines": big} {
		if n == 0 {
			t.Errorf("no %s in 2000 tickets", name)
		}
	}
}

func leftPad(n int) string {
	s := strconv.Itoa(n)
	return strings.Repeat("0", 6-len(s)) + s
}

func TestGeneratorIsDeterministic(t *testing.T) {
	a, b, c := NewGenerator(7, "P"), NewGenerator(7, "P"), NewGenerator(8, "P")
	differ := false
	for i := range 200 {
		x, y, z := a.Next(), b.Next(), c.Next()
		if !reflect.DeepEqual(x, y) {
			t.Fatalf("ticket %d differs with the same seed:\n%+v\n%+v", i, x, y)
		}
		if !reflect.DeepEqual(x, z) {
			differ = true
		}
	}
	if !differ {
		t.Error("seeds 7 and 8 gave the same 200 tickets")
	}
}

func TestRunPrefix(t *testing.T) {
	seen := map[string]bool{}
	for range 50 {
		p := RunPrefix()
		// The longest ref a run can make must still be a valid one.
		if msg := gateway.CheckText(p+"-999999", 1, gateway.MaxRefLen); msg != "" {
			t.Fatalf("prefix %q: %s", p, msg)
		}
		seen[p] = true
	}
	if len(seen) < 45 {
		t.Errorf("50 run prefixes have only %d distinct values", len(seen))
	}
}
