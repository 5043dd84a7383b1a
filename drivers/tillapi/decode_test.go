package tillapi_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/passerelle/passerelle/drivers/tillapi"
	"github.com/passerelle/passerelle/gateway"
)

// noteJSON is note("1") as a till would write it by hand.
const noteJSON = `{"ref":"1","table":"5","lines":[{"label":"PLAT N°4","qty":1,"unit_price":2350,"vat_rate":1000},{"label":"MENU","qty":1,"unit_price":3000,"vat_rate":1000}],"total":5350}`

// expectUnchanged checks that a refused request left the store as it was.
func expectUnchanged(t *testing.T, e *env, key string) {
	t.Helper()
	if n := e.lastSeq(t); n != 0 {
		t.Errorf("a refused request appended %d events", n)
	}
	if ids := e.listIDs(t, key, ""); len(ids) != 0 {
		t.Errorf("a refused request stored tickets %v", ids)
	}
}

func TestMalformedBody(t *testing.T) {
	e := newEnv(t, envOptions{})
	key := e.addTill("Caisse 1", false)
	cases := []struct {
		name   string
		body   string
		detail string // what the problem's detail must say
	}{
		{"empty", ``, "JSON object"},
		{"not JSON", `ref=1&total=5350`, "JSON object"},
		{"top-level array", `[` + noteJSON + `]`, "JSON object"},
		{"top-level string", `"ticket"`, "JSON object"},
		{"null", `null`, "JSON object"},
		{"truncated", noteJSON[:40], "complete JSON"},
		{"bad syntax", `{"ref":"1",}`, "invalid character"},
		{"single quotes", `{'ref':'1'}`, "invalid character"},
		{"trailing object", noteJSON + `{}`, "trailing data"},
		{"trailing garbage", noteJSON + `x`, ""},
		{"trailing comma", noteJSON + `,`, ""},
		{"unknown field", `{"ref":"1","tip":100,"lines":[],"total":1}`, `"tip"`},
		{"unknown nested field", strings.Replace(noteJSON, `"qty":1,"unit_price":3000`, `"qty":1,"discount":5,"unit_price":3000`, 1), `discount`},
		{"duplicate field", `{"ref":"1","ref":"2","lines":[],"total":1}`, `duplicate field "ref"`},
		{"duplicate field, escaped", `{"ref":"1","r\u0065f":"2","lines":[],"total":1}`, `duplicate field "ref"`},
		{"duplicate nested field", strings.Replace(noteJSON, `"qty":1,"unit_price":3000`, `"qty":1,"qty":9,"unit_price":3000`, 1), `duplicate field "lines[1].qty"`},
		// encoding/json matches names regardless of case: "Ref" would
		// silently overwrite "ref".
		{"duplicate field, other case", `{"ref":"1","Ref":"2","lines":[],"total":1}`, `"Ref"`},
		{"field in other case", strings.Replace(noteJSON, `"total"`, `"TOTAL"`, 1), `"TOTAL"`},
		{"nested field in other case", strings.Replace(noteJSON, `"vat_rate":1000}]`, `"VAT_RATE":1000}]`, 1), `"lines[1].VAT_RATE"`},
		{"invalid UTF-8", strings.Replace(noteJSON, "N°4", "N\xb04", 1), "UTF-8"},
		{"invalid UTF-8 in a name", "{\"r\xffef\":\"1\"}", "UTF-8"},
		{"too deep", `{"ref":` + strings.Repeat(`[`, 40) + strings.Repeat(`]`, 40) + `}`, "deeply"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := e.do(t, "POST", "/api/v1/tickets", key, []byte(c.body))
			if r.status != http.StatusBadRequest {
				t.Fatalf("status %d, want 400: %s", r.status, r.body)
			}
			p := r.problem(t)
			if !strings.Contains(p.Detail, c.detail) {
				t.Errorf("detail %q does not say %q", p.Detail, c.detail)
			}
		})
	}
	expectUnchanged(t, e, key)
}

func TestBodyLimit(t *testing.T) {
	e := newEnv(t, envOptions{})
	key := e.addTill("Caisse 1", false)
	// Whitespace is valid JSON padding: exactly at the limit is accepted,
	// one byte over is not.
	pad := func(n int) []byte {
		b := []byte(noteJSON)
		return append(b, bytes.Repeat([]byte(" "), n-len(b))...)
	}
	r := e.do(t, "POST", "/api/v1/tickets", key, pad(tillapi.MaxBodyBytes+1))
	if r.status != http.StatusRequestEntityTooLarge {
		t.Fatalf("status %d, want 413: %s", r.status, r.body)
	}
	r.problem(t)
	expectUnchanged(t, e, key)
	if r := e.do(t, "POST", "/api/v1/tickets", key, pad(tillapi.MaxBodyBytes)); r.status != http.StatusCreated {
		t.Errorf("a body of exactly %d bytes: %d %s", tillapi.MaxBodyBytes, r.status, r.body)
	}
}

func TestInvalidTicket(t *testing.T) {
	e := newEnv(t, envOptions{})
	key := e.addTill("Caisse 1", false)
	long := strings.Repeat("é", gateway.MaxLabelLen+1)
	cases := []struct {
		name   string
		body   any
		fields []string
	}{
		{"unit price too high", ticketIn{Ref: "1", Lines: []line{
			{Label: "A", Qty: 1, UnitPrice: 100, VATRate: 1000},
			{Label: "B", Qty: 1, UnitPrice: 100, VATRate: 1000},
			{Label: "C", Qty: 1, UnitPrice: gateway.MaxUnitPrice + 1, VATRate: 1000},
		}, Total: 300}, []string{"lines[2].unit_price"}},
		{"unit price not a number", strings.Replace(noteJSON, `"unit_price":3000`, `"unit_price":"30,00"`, 1), []string{"lines[1].unit_price"}},
		{"unit price a fraction", strings.Replace(noteJSON, `"unit_price":3000`, `"unit_price":30.5`, 1), []string{"lines[1].unit_price"}},
		{"qty beyond int64", strings.Replace(noteJSON, `"qty":1,"unit_price":3000`, `"qty":1e30,"unit_price":3000`, 1), []string{"lines[1].qty"}},
		{"total a string", strings.Replace(noteJSON, `"total":5350`, `"total":"5350"`, 1), []string{"total"}},
		{"lines an object", `{"ref":"1","lines":{"label":"A"},"total":1}`, []string{"lines"}},
		{"line a number", `{"ref":"1","lines":[{"label":"A","qty":1,"unit_price":1,"vat_rate":1000},7],"total":1}`, []string{"lines[1]"}},
		{"total mismatch", ticketIn{Ref: "1", Lines: note("1").Lines, Total: 5300}, []string{"total"}},
		{"total zero", ticketIn{Ref: "1", Lines: []line{{Label: "A", Qty: 1, UnitPrice: 0, VATRate: 1000}}}, []string{"total"}},
		{"total over the max", ticketIn{Ref: "1", Lines: []line{{Label: "A", Qty: 2, UnitPrice: gateway.MaxUnitPrice, VATRate: 1000}}, Total: 2 * gateway.MaxUnitPrice}, []string{"total"}},
		{"unknown VAT rate", ticketIn{Ref: "1", Lines: []line{{Label: "A", Qty: 1, UnitPrice: 100, VATRate: 1960}}, Total: 100}, []string{"lines[0].vat_rate"}},
		{"VAT rate as a percentage", ticketIn{Ref: "1", Lines: []line{{Label: "A", Qty: 1, UnitPrice: 100, VATRate: 10}}, Total: 100}, []string{"lines[0].vat_rate"}},
		{"label too long", ticketIn{Ref: "1", Lines: []line{{Label: long, Qty: 1, UnitPrice: 100, VATRate: 1000}}, Total: 100}, []string{"lines[0].label"}},
		{"label missing", ticketIn{Ref: "1", Lines: []line{{Qty: 1, UnitPrice: 100, VATRate: 1000}}, Total: 100}, []string{"lines[0].label"}},
		{"qty zero", ticketIn{Ref: "1", Lines: []line{{Label: "A", Qty: 0, UnitPrice: 100, VATRate: 1000}}, Total: 100}, []string{"lines[0].qty"}},
		{"qty too high", ticketIn{Ref: "1", Lines: []line{{Label: "A", Qty: gateway.MaxQty + 1, UnitPrice: 1, VATRate: 1000}}, Total: gateway.MaxQty + 1}, []string{"lines[0].qty"}},
		{"no lines", ticketIn{Ref: "1", Lines: []line{}, Total: 100}, []string{"lines"}},
		{"ref missing", ticketIn{Lines: note("1").Lines, Total: 5350}, []string{"ref"}},
		{"ref too long", ticketIn{Ref: strings.Repeat("9", gateway.MaxRefLen+1), Lines: note("1").Lines, Total: 5350}, []string{"ref"}},
		{"table too long", ticketIn{Ref: "1", Table: strings.Repeat("T", gateway.MaxTableLen+1), Lines: note("1").Lines, Total: 5350}, []string{"table"}},
		{"covers negative", ticketIn{Ref: "1", Covers: -1, Lines: note("1").Lines, Total: 5350}, []string{"covers"}},
		{"other currency", ticketIn{Ref: "1", Currency: "USD", Lines: note("1").Lines, Total: 5350}, []string{"currency"}},
		{"control character", ticketIn{Ref: "1", Lines: []line{{Label: "PLAT\tN°4", Qty: 1, UnitPrice: 100, VATRate: 1000}}, Total: 100}, []string{"lines[0].label"}},
		{"escaped NUL", strings.Replace(noteJSON, `"table":"5"`, `"table":"5\u0000"`, 1), []string{"table"}},
		{"C1 control", ticketIn{Ref: "1", Server: "Julie\u0085", Lines: note("1").Lines, Total: 5350}, []string{"server"}},
		{"bidi override U+202E", ticketIn{Ref: "1", Lines: []line{{Label: "CAFÉ \u202e0001", Qty: 1, UnitPrice: 100, VATRate: 1000}}, Total: 100}, []string{"lines[0].label"}},
		{"bidi isolate U+2066", ticketIn{Ref: "1", Table: "\u20665", Lines: note("1").Lines, Total: 5350}, []string{"table"}},
		{"bidi embedding U+202A, escaped", strings.Replace(noteJSON, `"ref":"1"`, `"ref":"\u202a1"`, 1), []string{"ref"}},
		{"every problem at once", ticketIn{Ref: "", Covers: 10000, Lines: []line{
			{Label: "", Qty: 0, UnitPrice: 100, VATRate: 1000},
			{Label: "B", Qty: 1, UnitPrice: 100, VATRate: 3},
		}, Total: 0}, []string{"ref", "covers", "lines[0].label", "lines[0].qty", "lines[1].vat_rate", "total"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := e.do(t, "POST", "/api/v1/tickets", key, c.body)
			if r.status != http.StatusUnprocessableEntity {
				t.Fatalf("status %d, want 422: %s", r.status, r.body)
			}
			p := r.problem(t)
			got := fieldsOf(p)
			if !slices.Equal(got, c.fields) {
				t.Errorf("fields %v, want %v", got, c.fields)
			}
			for _, f := range p.Errors {
				if f.Message == "" {
					t.Errorf("field %s has no message", f.Field)
				}
			}
		})
	}
	expectUnchanged(t, e, key)
}

func TestUnicodeKeptByteForByte(t *testing.T) {
	e := newEnv(t, envOptions{})
	key := e.addTill("Caisse 1", false)
	in := ticketIn{
		Ref:     "طاولة-٧",
		Table:   "שולחן 3",
		Server:  "Zoë",
		Loyalty: "Łukasz 502",
		Lines: []line{
			{Label: "Crème brûlée", Qty: 1, UnitPrice: 800, VATRate: 1000},
			{Label: "Cafe\u0301 (NFD)", Qty: 1, UnitPrice: 200, VATRate: 1000}, // not normalised
			{Label: strings.Repeat("é", gateway.MaxLabelLen), Qty: 1, UnitPrice: 100, VATRate: 1000},
			{Label: "كباب 🍢", Qty: 2, UnitPrice: 650, VATRate: 1000},
			{Label: "\u200fRLM is no override", Qty: 1, UnitPrice: 50, VATRate: 1000},
		},
	}
	for _, l := range in.Lines {
		in.Total += l.Qty * l.UnitPrice
	}
	created := e.post(t, key, in, http.StatusCreated).ticket(t)
	for _, got := range []gateway.Ticket{created, e.get(t, key, created.ID)} {
		if got.Ref != in.Ref || got.Table != in.Table || got.Server != in.Server || got.Loyalty != in.Loyalty {
			t.Errorf("texts changed: %q %q %q %q", got.Ref, got.Table, got.Server, got.Loyalty)
		}
		for i, l := range got.Lines {
			if l.Label != in.Lines[i].Label {
				t.Errorf("label %d: % x, sent % x", i, l.Label, in.Lines[i].Label)
			}
		}
	}
	if ids := e.listIDs(t, key, "ref="+in.Ref); !slices.Equal(ids, []string{created.ID}) {
		t.Errorf("list by Arabic ref: %v", ids)
	}
	// The same text, escaped, is the same content: a safe retry.
	b, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	escaped := strings.Replace(string(b), "Zoë", `Zo\u00eb`, 1)
	if got := e.post(t, key, []byte(escaped), http.StatusOK).ticket(t); got.Version != 1 {
		t.Errorf("escaped retry made version %d", got.Version)
	}
}

// luhnComplete appends the check digit that makes digits a valid card number.
func luhnComplete(digits string) string {
	sum := 0
	for i := len(digits) - 1; i >= 0; i-- {
		d := int(digits[i] - '0')
		if (len(digits)-1-i)%2 == 0 {
			d *= 2
			if d > 9 {
				d -= 9
			}
		}
		sum += d
	}
	return digits + string(rune('0'+(10-sum%10)%10))
}

func TestCardNumbersRefused(t *testing.T) {
	e := newEnv(t, envOptions{})
	key := e.addTill("Caisse 1", false)
	pan := luhnComplete("497010123456789") // 16 digits
	if !gateway.LooksLikePAN(pan) {
		t.Fatalf("%s is not a valid card number: the test is broken", pan)
	}
	spaced := pan[:4] + " " + pan[4:8] + " " + pan[8:12] + " " + pan[12:]
	dashed := strings.ReplaceAll(spaced, " ", "-")
	pan15 := luhnComplete("37828224631000") // American Express
	pan19 := luhnComplete("497010123456789012")

	// A ticket is first stored without any card number, so that the files
	// hold something and a later leak would show.
	e.post(t, key, note("ok"), http.StatusCreated)

	set := func(field, v string) ticketIn {
		in := note("pan")
		switch field {
		case "ref":
			in.Ref = v
		case "table":
			in.Table = v
		case "server":
			in.Server = v
		case "loyalty":
			in.Loyalty = v
		case "lines[1].label":
			in.Lines[1].Label = v
		}
		return in
	}
	cases := []struct {
		field, value string
	}{
		{"lines[1].label", pan},
		{"lines[1].label", "CB " + spaced},
		{"lines[1].label", "carte:" + dashed + "!"},
		{"loyalty", pan},
		{"loyalty", spaced},
		{"ref", pan},
		{"ref", pan15},
		{"server", pan19},
		{"table", pan15},
		{"loyalty", "fidélité " + pan + " 2"},
	}
	var sent []string
	for _, c := range cases {
		r := e.do(t, "POST", "/api/v1/tickets", key, set(c.field, c.value))
		if r.status != http.StatusUnprocessableEntity {
			t.Errorf("%s = %q: status %d, want 422", c.field, c.value, r.status)
			continue
		}
		if p := r.problem(t); !hasField(p, c.field) {
			t.Errorf("%s = %q: fields %v", c.field, c.value, fieldsOf(p))
		}
		sent = append(sent, c.value)
		checkAbsent(t, "the response", r.body, pan, pan15, pan19)
	}

	// A card number where the schema wants something else, or as a field
	// name: refused without being echoed either.
	for _, body := range []string{
		strings.Replace(noteJSON, `"table":"5"`, `"table":`+pan, 1),
		strings.Replace(noteJSON, `"total":5350`, `"total":`+pan, 1),
		strings.Replace(noteJSON, `"table":"5"`, `"`+pan+`":"5"`, 1),
		strings.Replace(noteJSON, `"table":"5"`, `"table":"5","`+spaced+`":1`, 1),
	} {
		r := e.do(t, "POST", "/api/v1/tickets", key, []byte(body))
		if r.status < 400 || r.status >= 500 {
			t.Errorf("%s: status %d", body, r.status)
		}
		checkAbsent(t, "the response", r.body, pan, spaced)
	}

	// Nothing of it in the database, its WAL, or the logs.
	var files []byte
	for _, f := range []string{e.dbPath, e.dbPath + "-wal"} {
		b, err := os.ReadFile(f)
		if err != nil && !os.IsNotExist(err) {
			t.Fatal(err)
		}
		files = append(files, b...)
	}
	if !bytes.Contains(files, []byte("MENU ENFANT")) {
		t.Fatal("the database files do not hold the stored ticket: the check below would prove nothing")
	}
	checkAbsent(t, "the database files", files, append([]string{pan, pan15, pan19, spaced, dashed, pan[4:]}, sent...)...)
	checkAbsent(t, "the logs", []byte(e.logs.String()), append([]string{pan, pan15, pan19, spaced, dashed, pan[4:]}, sent...)...)
	if n := e.lastSeq(t); n != 1 {
		t.Errorf("refused tickets appended events: last seq %d", n)
	}

	// Numbers that are not card numbers are kept.
	notPAN := pan[:15] + string(rune('0'+(pan[15]-'0'+1)%10)) // Luhn fails
	in := note("kept")
	in.Loyalty = notPAN
	in.Lines[0].Label = "Tel 0612345678"
	if got := e.post(t, key, in, http.StatusCreated).ticket(t); got.Loyalty != notPAN {
		t.Errorf("loyalty %q, want %q", got.Loyalty, notPAN)
	}
}

func checkAbsent(t *testing.T, where string, b []byte, values ...string) {
	t.Helper()
	for _, v := range values {
		if bytes.Contains(b, []byte(v)) {
			t.Errorf("%s hold the card number %q", where, v)
		}
	}
}
