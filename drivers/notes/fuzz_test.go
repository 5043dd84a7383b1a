package notes

import (
	"strings"
	"testing"
)

// FuzzRead reads any text with the default template: never a panic, and
// a note read always adds up.
func FuzzRead(f *testing.F) {
	f.Add("TABLE 5\nNOTE N° 1253\nSERVEUR : Julie\n1 X PLAT N°4 23,50\n1 X PLAT N°1 30,00\nNET À PAYER : 53,50\nTVA 10,00% 4,86")
	f.Add("NOTE 9\n1 MENU 22,00\n1 VIN 30,00\nTOTAL 52,00\nTVA 10% 2,00\nTVA 20% 5,00")
	f.Add("T.5\nNOTE 1\n9999 X A 99 999 999,99 EUR\nTOTAL -0,01")
	tpl := Default()
	f.Fuzz(func(t *testing.T, text string) {
		in, err := tpl.Read(strings.Split(text, "\n"))
		if err != nil {
			return
		}
		var sum int64
		for _, l := range in.Lines {
			if l.Qty < 1 {
				t.Fatalf("quantity %d", l.Qty)
			}
			sum += l.Qty * l.UnitPrice
		}
		if sum != in.Total || in.Ref == "" {
			t.Fatalf("read a note that does not add up: %+v", in)
		}
	})
}

// FuzzParse compiles any template file: an error or a template, never a
// panic.
func FuzzParse(f *testing.F) {
	f.Add(string(defaultYAML))
	f.Add("name: x\nref: ['(?P<v>a']")
	f.Fuzz(func(t *testing.T, src string) {
		tpl, err := Parse([]byte(src))
		if err == nil && tpl.Name == "" {
			t.Fatal("a template without a name")
		}
	})
}
