package terminalws

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
)

func TestDecode(t *testing.T) {
	cases := []struct {
		in   string
		typ  string // "" when refused
		code string // the refusal's code
	}{
		{`{"type":"start","key":"F1"}`, "start", ""},
		{`{"type":"answer","screen_id":"s1","value":""}`, "answer", ""},
		{`{"type":"printed","job_id":"prn_1"}`, "printed", ""},
		{`{"type":"payment_state","payment_id":"pay_1","status":"not_found"}`, "payment_state", ""},
		{`{"type":"start","key":"F1"}  `, "start", ""},
		{`{"type":"start","key":"F1","x":1}`, "", codeBadJSON},
		{`{"type":"start","key":1}`, "", codeBadJSON},
		{`{"type":"start"} {"type":"start"}`, "", codeBadJSON},
		{`{"type":"welcome"}`, "", codeUnknownType}, // ours, not the terminal's
		{`{"type":""}`, "", codeBadJSON},
		{`{}`, "", codeBadJSON},
		{`null`, "", codeBadJSON},
		{`"start"`, "", codeBadJSON},
		{``, "", codeBadJSON},
		{`{"type":"payment_result","payment_id":"p","amount":1.5}`, "", codeBadJSON},
		{`{"type":"start","KEY":"F1"}`, "", codeBadJSON},
		{`{"type":"start","key":"F1","key":"F2"}`, "", codeBadJSON},
		{`{"type":"start","TYPE":"hello","key":"F1"}`, "", codeBadJSON},
		{`{"TYPE":"start","key":"F1"}`, "", codeBadJSON},
		{`{"type":"payment_result","payment_id":"p","status":"declined","STATUS":"approved"}`, "", codeBadJSON},
		{`{"type":"payment_result","payment_id":"p","status":"declined","status":"approved"}`, "", codeBadJSON},
		{`{"type":"payment_result","payment_id":"p","card":{"scheme":"CB","Scheme":"VISA"}}`, "", codeBadJSON},
		{`{"type":"hello","model":"` + strings.Repeat("x", MaxFrame) + `"}`, "", codeTooLarge},
		{"{\"type\":\"start\",\"key\":\"F\xff\"}", "", codeBadJSON},
	}
	for _, tc := range cases {
		m, err := Decode([]byte(tc.in))
		var pe *protoError
		switch {
		case tc.typ != "" && (err != nil || m.typ != tc.typ):
			t.Errorf("Decode(%s) = %q, %v; want a %s", tc.in, m.typ, err, tc.typ)
		case tc.typ == "" && (!errors.As(err, &pe) || pe.code != tc.code):
			t.Errorf("Decode(%s) = %q, %v; want error %s", tc.in, m.typ, err, tc.code)
		}
	}
}

// FuzzDecode: Decode never panics, refuses only with a protocol error, and
// what it accepts encodes back to a message it accepts as the same.
func FuzzDecode(f *testing.F) {
	f.Add([]byte(`{"type":"hello","pairing_code":"123456","display":{"cols":16,"rows":8},"printer":{"cols":32},"keys":["F1"]}`))
	f.Add([]byte(`{"type":"payment_result","payment_id":"pay_1","status":"approved","amount":1000,"card":{"masked_pan":"#####5743"}}`))
	f.Add([]byte(`{"type":"snapshot","screen_id":"s4"}`))
	f.Add([]byte(`{"type":"page","screen_id":"s4","page":2}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := Decode(data)
		if err != nil {
			var pe *protoError
			if !errors.As(err, &pe) || pe.code == "" {
				t.Fatalf("Decode refused %q with %v, not a protocol error", data, err)
			}
			return
		}
		switch v := m.v.(type) {
		case *helloMsg:
			v.hello()
		case *resultMsg:
			v.result()
		}
		out, err := json.Marshal(m.v)
		if err != nil {
			t.Fatalf("Decode accepted %q as %#v, which does not encode: %v", data, m.v, err)
		}
		again, err := Decode(out)
		if err != nil {
			t.Fatalf("Decode accepted %q but refuses it re-encoded as %s: %v", data, out, err)
		}
		if again.typ != m.typ || !reflect.DeepEqual(again.v, m.v) {
			t.Fatalf("%q decodes as %s %#v, re-encoded as %s %#v", data, m.typ, m.v, again.typ, again.v)
		}
	})
}
