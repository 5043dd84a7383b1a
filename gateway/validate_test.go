package gateway_test

import (
	"bytes"
	"errors"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/passerelle/passerelle/gateway"
)

var shopRules = gateway.DefaultConfig().Rules()

func validNote() gateway.TicketInput {
	return gateway.TicketInput{Ref: "1253", Table: "5", Lines: []gateway.Line{
		{Label: "PLAT N°4", Qty: 1, UnitPrice: 2350, VATRate: 1000},
		{Label: "MENU", Qty: 1, UnitPrice: 3000, VATRate: 1000},
	}, Total: 5350}
}

// fieldsOfErr returns the fields a *ValidationError names, or fails.
func fieldsOfErr(t *testing.T, err error) []string {
	t.Helper()
	var ve *gateway.ValidationError
	if !errors.As(err, &ve) {
		t.Fatalf("error %v (%T) is not a *ValidationError", err, err)
	}
	var out []string
	for _, f := range ve.Fields {
		if f.Message == "" {
			t.Errorf("field %s has no message", f.Field)
		}
		out = append(out, f.Field)
	}
	return out
}

func TestValidate(t *testing.T) {
	in := validNote()
	if err := shopRules.Validate(&in); err != nil {
		t.Fatalf("the brief's note: %v", err)
	}
	if in.Currency != "EUR" {
		t.Errorf("currency defaulted to %q", in.Currency)
	}

	lines := func(ls ...gateway.Line) []gateway.Line { return ls }
	many := make([]gateway.Line, gateway.MaxLines+1)
	for i := range many {
		many[i] = gateway.Line{Label: "x", Qty: 1, UnitPrice: 1, VATRate: 1000}
	}
	cases := []struct {
		name   string
		edit   func(in *gateway.TicketInput)
		fields []string
	}{
		{"discount line", func(in *gateway.TicketInput) {
			in.Lines = append(in.Lines, gateway.Line{Label: "REMISE", Qty: 1, UnitPrice: -350, VATRate: 1000})
			in.Total = 5000
		}, nil},
		{"500 lines", func(in *gateway.TicketInput) { in.Lines, in.Total = many[:500], 500 }, nil},
		{"501 lines", func(in *gateway.TicketInput) { in.Lines, in.Total = many, 501 }, []string{"lines"}},
		{"the largest total", func(in *gateway.TicketInput) {
			in.Lines = lines(gateway.Line{Label: "x", Qty: 1, UnitPrice: gateway.MaxTotal, VATRate: 2000})
			in.Total = gateway.MaxTotal
		}, nil},
		// Overflowing products are refused by their factors' bounds, before
		// anything is multiplied.
		{"qty × price overflows int64", func(in *gateway.TicketInput) {
			in.Lines = lines(gateway.Line{Label: "x", Qty: math.MaxInt64, UnitPrice: math.MaxInt64, VATRate: 1000})
		}, []string{"lines[0].qty", "lines[0].unit_price"}},
		{"qty × price overflows negatively", func(in *gateway.TicketInput) {
			in.Lines = lines(gateway.Line{Label: "x", Qty: math.MaxInt64, UnitPrice: math.MinInt64, VATRate: 1000})
		}, []string{"lines[0].qty", "lines[0].unit_price"}},
		{"huge price", func(in *gateway.TicketInput) {
			in.Lines = lines(gateway.Line{Label: "x", Qty: 2, UnitPrice: math.MaxInt64 / 2, VATRate: 1000})
		}, []string{"lines[0].unit_price"}},
		{"negative qty", func(in *gateway.TicketInput) {
			in.Lines = lines(gateway.Line{Label: "x", Qty: math.MinInt64, UnitPrice: -1, VATRate: 1000})
		}, []string{"lines[0].qty"}},
		{"sum beyond the max total", func(in *gateway.TicketInput) {
			in.Lines = slices.Clone(many[:gateway.MaxLines])
			for i := range in.Lines {
				in.Lines[i].Qty, in.Lines[i].UnitPrice = gateway.MaxQty, gateway.MaxUnitPrice
			}
			in.Total = gateway.MaxTotal
		}, []string{"total"}},
		{"negative total", func(in *gateway.TicketInput) {
			in.Lines = lines(gateway.Line{Label: "REMISE", Qty: 1, UnitPrice: -100, VATRate: 1000})
			in.Total = -100
		}, []string{"total"}},
		{"total mismatch", func(in *gateway.TicketInput) { in.Total = 5351 }, []string{"total"}},
		{"unknown rate", func(in *gateway.TicketInput) { in.Lines[1].VATRate = 1960 }, []string{"lines[1].vat_rate"}},
		{"ref too long", func(in *gateway.TicketInput) { in.Ref = strings.Repeat("r", 65) }, []string{"ref"}},
		{"ref of 64", func(in *gateway.TicketInput) { in.Ref = strings.Repeat("r", 64) }, nil},
		{"table of 17", func(in *gateway.TicketInput) { in.Table = strings.Repeat("7", 17) }, []string{"table"}},
		{"covers", func(in *gateway.TicketInput) { in.Covers = gateway.MaxCovers + 1 }, []string{"covers"}},
		{"currency", func(in *gateway.TicketInput) { in.Currency = "eur" }, []string{"currency"}},
		{"card number in a label", func(in *gateway.TicketInput) { in.Lines[0].Label = "4111 1111 1111 1111" }, []string{"lines[0].label"}},
		{"bidi in server", func(in *gateway.TicketInput) { in.Server = "\u202eJulie" }, []string{"server"}},
		{"control in loyalty", func(in *gateway.TicketInput) { in.Loyalty = "50\x072" }, []string{"loyalty"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			in := validNote()
			in.Lines = slices.Clone(in.Lines)
			c.edit(&in)
			err := shopRules.Validate(&in)
			if c.fields == nil {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			if got := fieldsOfErr(t, err); !slices.Equal(got, c.fields) {
				t.Errorf("fields %v, want %v (%v)", got, c.fields, err)
			}
		})
	}
}

func TestContentHash(t *testing.T) {
	a := validNote()
	b := validNote()
	b.Lines = slices.Clone(b.Lines)
	if !bytes.Equal(a.ContentHash(), b.ContentHash()) {
		t.Fatal("equal inputs hash differently")
	}
	edits := []func(in *gateway.TicketInput){
		func(in *gateway.TicketInput) { in.Ref = "1254" },
		func(in *gateway.TicketInput) { in.Table = "" },
		func(in *gateway.TicketInput) { in.Covers = 2 },
		func(in *gateway.TicketInput) { in.Server = "Julie" },
		func(in *gateway.TicketInput) { in.Loyalty = "502" },
		func(in *gateway.TicketInput) { in.Currency = "EUR" },
		func(in *gateway.TicketInput) { in.Lines[0].Label = "PLAT N°5" },
		func(in *gateway.TicketInput) { in.Lines[0].Qty = 2 },
		func(in *gateway.TicketInput) { in.Lines[0].UnitPrice = 2351 },
		func(in *gateway.TicketInput) { in.Lines[0].VATRate = 2000 },
		func(in *gateway.TicketInput) { in.Lines = in.Lines[:1] },
		func(in *gateway.TicketInput) { in.Lines[0], in.Lines[1] = in.Lines[1], in.Lines[0] },
		func(in *gateway.TicketInput) { in.Total = 5351 },
		// Text boundaries are part of the content: table "5" is not
		// server "5".
		func(in *gateway.TicketInput) { in.Table, in.Server = "", "5" },
	}
	base := validNote()
	for i, edit := range edits {
		in := validNote()
		in.Lines = slices.Clone(in.Lines)
		edit(&in)
		if bytes.Equal(in.ContentHash(), base.ContentHash()) {
			t.Errorf("edit %d does not change the hash", i)
		}
	}
}
