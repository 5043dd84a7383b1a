package tillapi

import (
	"reflect"
	"testing"
)

// FuzzDecodeOneUnmarshal holds the one-Unmarshal decoding of a ticket to
// the line-by-line one it replaced: whatever DecodeTicket accepts, the
// line-by-line decoding accepts too, with the same ticket.
func FuzzDecodeOneUnmarshal(f *testing.F) {
	for _, s := range []string{
		`{"ref":"A1","lines":[{"label":"CAFÉ","qty":2,"unit_price":220,"vat_rate":1000}],"total":440}`,
		`{"ref":"A2","table":"4","covers":2,"server":"Léa","loyalty":"12","currency":"EUR","lines":[],"total":0}`,
		`{"ref":"A3","lines":null,"total":0}`,
		`{"ref":"A4","lines":[{"label":"X","qty":1.0,"unit_price":1,"vat_rate":0}],"total":1}`,
		`{"ref":"A5","lines":[{"label":"X","qty":"1"}],"total":1}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		in, err := DecodeTicket(body)
		if err != nil {
			return
		}
		body, _ = skipBOM(body)
		slow, err := decodeByLines(body)
		if err != nil {
			t.Fatalf("%s: decoded in one, refused line by line: %v", body, err)
		}
		if !reflect.DeepEqual(in, slow) {
			t.Fatalf("%s:\none Unmarshal %+v\nline by line %+v", body, in, slow)
		}
	})
}
