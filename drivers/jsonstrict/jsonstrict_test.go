package jsonstrict_test

import (
	"errors"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/passerelle/passerelle/drivers/jsonstrict"
)

type card struct {
	Scheme string `json:"scheme"`
}

type base struct {
	ID string `json:"id"`
}

type msg struct {
	base
	Status string            `json:"status"`
	Card   *card             `json:"card"`
	Lines  []card            `json:"lines"`
	Meta   map[string]string `json:"meta"`
	Any    any               `json:"any"`
	NoTag  int
	Skip   string `json:"-"`
}

func TestCheck(t *testing.T) {
	cases := []struct {
		in      string
		unknown jsonstrict.Unknown
		err     error  // nil when taken, else the error (errors.Is)
		reason  string // for a field error, what its message says
		ignored []string
	}{
		{`{"id":"1","status":"ok","card":{"scheme":"CB"},"lines":[{"scheme":"V"}],"NoTag":1}`, jsonstrict.Refuse, nil, "", nil},
		{`{"meta":{"Status":"x","status":"y"},"any":{"A":1,"a":2}}`, jsonstrict.Refuse, nil, "", nil},
		{` {"status":"ok"} `, jsonstrict.Refuse, nil, "", nil},
		{`{"st\u0061tus":"ok"}`, jsonstrict.Refuse, nil, "", nil},
		{`{"status":"a","status":"b"}`, jsonstrict.Refuse, nil, `duplicate field "status"`, nil},
		{`{"status":"a","st\u0061tus":"b"}`, jsonstrict.Ignore, nil, `duplicate field "status"`, nil},
		{`{"status":"a","STATUS":"b"}`, jsonstrict.Ignore, nil, `field "STATUS" must be spelt "status"`, nil},
		{`{"ſtatus":"b"}`, jsonstrict.Ignore, nil, `must be spelt "status"`, nil},
		{`{"ID":"1"}`, jsonstrict.Ignore, nil, `must be spelt "id"`, nil},
		{`{"notag":1}`, jsonstrict.Ignore, nil, `must be spelt "NoTag"`, nil},
		{`{"card":{"scheme":"CB","Scheme":"V"}}`, jsonstrict.Ignore, nil, `field "card.Scheme" must be spelt "scheme"`, nil},
		{`{"lines":[{},{"scheme":"a","scheme":"b"}]}`, jsonstrict.Ignore, nil, `duplicate field "lines[1].scheme"`, nil},
		{`{"meta":{"a":"1","a":"2"}}`, jsonstrict.Ignore, nil, `duplicate field "meta.a"`, nil},
		{`{"Skip":"x"}`, jsonstrict.Refuse, nil, `unknown field "Skip"`, nil},
		{`{"card":{"aid":"A0000000421010"}}`, jsonstrict.Refuse, nil, `unknown field "card.aid"`, nil},
		{`{"4111111111111111":1}`, jsonstrict.Refuse, nil, `looks like a card number`, nil},
		{`{"card":{"aid":"A0","x":{"y":[1]}},"emv":[{"k":1}]}`, jsonstrict.Ignore, nil, "", []string{"card.aid", "card.x", "emv"}},
		{`{"emv":{"k":1,"k":2}}`, jsonstrict.Ignore, nil, `duplicate field "emv.k"`, nil},
		{`{"status":{"x":1}}`, jsonstrict.Refuse, nil, "", nil}, // a type error, for the decoder
		{``, jsonstrict.Refuse, jsonstrict.ErrNotObject, "", nil},
		{`[]`, jsonstrict.Refuse, jsonstrict.ErrNotObject, "", nil},
		{`null`, jsonstrict.Refuse, jsonstrict.ErrNotObject, "", nil},
		{`{"status":"ok"`, jsonstrict.Refuse, jsonstrict.ErrIncomplete, "", nil},
		{`{"status":"ok"} {}`, jsonstrict.Refuse, jsonstrict.ErrTrailing, "", nil},
		{`{"status":"ok"} x`, jsonstrict.Refuse, jsonstrict.ErrTrailing, "", nil},
		{"{\"status\":\"\xff\"}", jsonstrict.Refuse, jsonstrict.ErrNotUTF8, "", nil},
		{`{"any":` + strings.Repeat("[", 40) + strings.Repeat("]", 40) + `}`, jsonstrict.Refuse, jsonstrict.ErrTooDeep, "", nil},
	}
	for _, c := range cases {
		ignored, err := jsonstrict.Check([]byte(c.in), reflect.TypeFor[msg](), c.unknown)
		var fe *jsonstrict.FieldError
		switch {
		case c.reason != "":
			if !errors.As(err, &fe) || !strings.Contains(fe.Error(), c.reason) {
				t.Errorf("Check(%s) = %v, want a field error saying %s", c.in, err, c.reason)
			}
			if strings.Contains(err.Error(), "4111") {
				t.Errorf("Check(%s): the error repeats a card number: %v", c.in, err)
			}
		case c.err != nil:
			if !errors.Is(err, c.err) {
				t.Errorf("Check(%s) = %v, want %v", c.in, err, c.err)
			}
		case err != nil:
			t.Errorf("Check(%s) = %v, want it taken", c.in, err)
		case !slices.Equal(ignored, c.ignored):
			t.Errorf("Check(%s) ignored %q, want %q", c.in, ignored, c.ignored)
		}
	}
}

func TestDecode(t *testing.T) {
	var m msg
	ignored, err := jsonstrict.Decode([]byte(`{"id":"1","status":"ok","card":{"scheme":"CB","aid":"x"}}`), &m, jsonstrict.Ignore)
	if err != nil || m.ID != "1" || m.Status != "ok" || m.Card == nil || m.Card.Scheme != "CB" || !slices.Equal(ignored, []string{"card.aid"}) {
		t.Fatalf("Decode: %+v, ignored %q, %v", m, ignored, err)
	}
	if _, err := jsonstrict.Decode([]byte(`{"status":1}`), &m, jsonstrict.Refuse); err == nil {
		t.Fatal("Decode took a number for a string")
	}
}
