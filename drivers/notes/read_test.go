package notes

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/passerelle/passerelle/gateway"
)

func read(t *testing.T, note string) (gateway.TicketInput, error) {
	t.Helper()
	return Default().Read(strings.Split(note, "\n"))
}

func TestDefaultReadsTheSpecNote(t *testing.T) {
	in, err := read(t, `TABLE 5
NOTE N° 1253
SERVEUR : Julie
1 X PLAT N°4          23,50
1 X PLAT N°1          30,00
NET À PAYER :         53,50
TVA 10,00%             4,86`)
	if err != nil {
		t.Fatal(err)
	}
	want := gateway.TicketInput{Ref: "1253", Table: "5", Server: "Julie", Total: 5350, Lines: []gateway.Line{
		{Label: "PLAT N°4", Qty: 1, UnitPrice: 2350, VATRate: 1000},
		{Label: "PLAT N°1", Qty: 1, UnitPrice: 3000, VATRate: 1000}}}
	if !reflect.DeepEqual(in, want) {
		t.Fatalf("read %+v\nwant %+v", in, want)
	}
}

// The brief's own note (shared/seed): a header, a date, a garbled server
// line, and two VAT lines each printed on the whole total.
func TestDefaultReadsTheBriefNote(t *testing.T) {
	in, err := read(t, `NOM DU RESTAURANT
ADRESSE
TELEPHONE

12/02/16
TABLE 5
NOTE N° 1253
VOUSER : DATEUSE :
1 X PLAT N°4 23,50
1 X PLAT N°1 30,00

NET À PAYER : 53,50
TVA 10,00% 5,35
TVA 20,00% 10,7
PRIX NET-SERVICE COMPRIS`)
	if err != nil {
		t.Fatal(err)
	}
	if in.Ref != "1253" || in.Table != "5" || in.Total != 5350 || len(in.Lines) != 2 || in.Lines[0].VATRate != 1000 {
		t.Fatalf("read %+v", in)
	}
}

func TestDefaultLayouts(t *testing.T) {
	cases := []struct {
		name, note string
		ref, table string
		covers     int64
		lines      []gateway.Line
		total      int64
	}{
		{"TOTAL TTC, quantity before the label, €", "Table 12\nNote 88\nCouverts : 2\n2 PLAT DU JOUR 31,00 €\n1 CAFÉ CRÈME 3,50 €\nTOTAL TTC 34,50 €\nTVA 10,00% 3,14 €",
			"88", "12", 2, []gateway.Line{{Label: "PLAT DU JOUR", Qty: 2, UnitPrice: 1550, VATRate: 1000}, {Label: "CAFÉ CRÈME", Qty: 1, UnitPrice: 350, VATRate: 1000}}, 3450},
		{"T.5, A PAYER, EUR", "T.5\nNOTE N° 4410\n1 x Entrecôte 24,00 EUR\n3 x Bière 16,50 EUR\nA PAYER 40,50 EUR",
			"4410", "5", 0, []gateway.Line{{Label: "Entrecôte", Qty: 1, UnitPrice: 2400, VATRate: 1000}, {Label: "Bière", Qty: 3, UnitPrice: 550, VATRate: 1000}}, 4050},
		{"TOTAL, thousands", "NOTE 7\n2 COUVERTS\n1 MAGNUM 1 234,00\nTOTAL 1 234,00",
			"7", "", 2, []gateway.Line{{Label: "MAGNUM", Qty: 1, UnitPrice: 123400, VATRate: 1000}}, 123400},
		{"two rates shared by their amounts", "NOTE 9\n1 MENU 22,00\n1 VIN 30,00\nTOTAL 52,00\nTVA 10% 2,00\nTVA 20% 5,00",
			"9", "", 0, []gateway.Line{{Label: "MENU", Qty: 1, UnitPrice: 2200, VATRate: 1000}, {Label: "VIN", Qty: 1, UnitPrice: 3000, VATRate: 2000}}, 5200},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			in, err := read(t, c.note)
			if err != nil {
				t.Fatal(err)
			}
			if in.Ref != c.ref || in.Table != c.table || in.Covers != c.covers || in.Total != c.total || !reflect.DeepEqual(in.Lines, c.lines) {
				t.Fatalf("read %+v", in)
			}
		})
	}
}

func TestDefaultUnparsed(t *testing.T) {
	cases := map[string]string{
		"lines do not add up": "NOTE 1\n1 PLAT 10,00\n1 VIN 5,00\nTOTAL 16,00",
		"no note number":      "TABLE 3\n1 PLAT 10,00\nTOTAL 10,00",
		"no total":            "NOTE 1\n1 PLAT 10,00",
		"no line":             "NOTE 1\nTOTAL 10,00",
		"uneven quantity":     "NOTE 1\n3 PLAT 10,00\nTOTAL 10,00",
		"unmatched VAT":       "NOTE 1\n1 PLAT 10,00\nTOTAL 10,00\nTVA 5,5% 3,00\nTVA 20% 4,00",
		"a kitchen ticket":    "CUISINE\nTABLE 4\n2 ENTRECOTE\n1 SALADE",
	}
	for name, note := range cases {
		t.Run(name, func(t *testing.T) {
			if _, err := read(t, note); !errors.Is(err, ErrUnparsed) {
				t.Fatalf("err = %v, want unparsed", err)
			}
		})
	}
}

func TestParseTemplateErrors(t *testing.T) {
	cases := map[string]string{
		"no name":         "ref: ['NOTE (?P<v>\\d+)']\nline: ['(?P<qty>\\d) (?P<label>.+) {amount}']\ntotal: ['TOTAL {amount}']",
		"missing group":   "name: x\nref: ['NOTE (\\d+)']\nline: ['(?P<qty>\\d) (?P<label>.+) {amount}']\ntotal: ['TOTAL {amount}']",
		"bad regexp":      "name: x\nref: ['NOTE (?P<v>\\d+']\nline: ['(?P<qty>\\d) (?P<label>.+) {amount}']\ntotal: ['TOTAL {amount}']",
		"no total":        "name: x\nref: ['NOTE (?P<v>\\d+)']\nline: ['(?P<qty>\\d) (?P<label>.+) {amount}']",
		"unknown field":   "name: x\nrefs: []",
		"vat_default 150": "name: x\nref: ['NOTE (?P<v>\\d+)']\nline: ['(?P<qty>\\d) (?P<label>.+) {amount}']\ntotal: ['TOTAL {amount}']\nvat_default: 150",
		"too large":       "name: x\n#" + strings.Repeat("x", MaxTemplateBytes),
	}
	for name, src := range cases {
		t.Run(name, func(t *testing.T) {
			if _, err := Parse([]byte(src)); err == nil {
				t.Fatal("parsed")
			}
		})
	}
	if _, err := Parse([]byte("name: mine\nref: ['^BON (?P<v>\\d+)$']\nline: ['^(?P<qty>\\d+) (?P<label>.+) {amount}$']\ntotal: ['^SOMME {amount}$']\nvat_default: 5.5")); err != nil {
		t.Fatal(err)
	}
}

func TestParseAmount(t *testing.T) {
	for s, want := range map[string]int64{"23,50": 2350, "10,7": 1070, "1 234,50": 123450, "1.234,50": 123450, "12.50": 1250, "-3,00": -300, "0,05": 5} {
		if got, err := parseAmount(s); err != nil || got != want {
			t.Errorf("parseAmount(%q) = %d, %v; want %d", s, got, err, want)
		}
	}
}
