package jsonstrict

import (
	"encoding/json"
	"errors"
	"reflect"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"
)

type fuzzLine struct {
	Label string `json:"label"`
	Qty   int64  `json:"qty"`
}

type fuzzDoc struct {
	Ref   string            `json:"ref"`
	Lines []fuzzLine        `json:"lines"`
	Meta  map[string]string `json:"meta"`
	Any   any               `json:"any"`
	Ptr   *fuzzLine         `json:"ptr"`
	NoTag int
}

// FuzzFastCheck holds the walk over bytes to the walk over encoding/json's
// tokens: for every valid document, the same names refused for the same
// reason at the same path, the same names ignored.
func FuzzFastCheck(f *testing.F) {
	for _, s := range []string{
		`{"ref":"A","lines":[{"label":"x","qty":1},{"label":"y","qty":2}]}`,
		`{"ref":"A","ref":"B"}`,
		`{"REF":"A"}`,
		`{"lines":[{"label":"x","Qty":1}]}`,
		`{"r\u0065f":"A","ref":"B"}`,
		`{"meta":{"a":"1","A":"2","a":"3"}}`,
		`{"any":{"x":[1,{"y":null,"y":true}]}}`,
		`{"ptr":{"label":"\"}","other":[]},"NoTag":3,"notag":1}`,
		`{"unknown":{"deep":[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]}}`,
		` { "ref" : "A" , "lines" : [ ] } `,
		`{"lines":[{"label":"\\","qty":-1.5e3}],"any":"ſ"}`,
	} {
		f.Add(s, false)
		f.Add(s, true)
	}
	f.Fuzz(func(t *testing.T, doc string, ignore bool) {
		data := []byte(doc)
		if !json.Valid(data) || !utf8.Valid(data) || !strings.HasPrefix(strings.TrimLeft(doc, " \t\r\n"), "{") {
			return // refused before either walk
		}
		unknown := Refuse
		if ignore {
			unknown = Ignore
		}
		typ := reflect.TypeFor[fuzzDoc]()
		fastIgnored, fastErr := Check(data, typ, unknown)
		slowIgnored, slowErr := checkTokens(data, typ, unknown)
		if !sameError(fastErr, slowErr) {
			t.Fatalf("%s: bytes say %v, tokens say %v", doc, fastErr, slowErr)
		}
		if !slices.Equal(fastIgnored, slowIgnored) {
			t.Fatalf("%s: bytes ignored %q, tokens %q", doc, fastIgnored, slowIgnored)
		}
	})
}

func sameError(a, b error) bool {
	if a == nil || b == nil {
		return a == b
	}
	var fa, fb *FieldError
	if errors.As(a, &fa) && errors.As(b, &fb) {
		return *fa == *fb
	}
	return errors.Is(a, b) || a.Error() == b.Error()
}
