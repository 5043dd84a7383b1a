package tillapi_test

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/passerelle/passerelle/gateway"
)

// eventsStatus opens GET /api/v1/events with header alone and returns the
// status; a stream is closed at once.
func (e *env) eventsStatus(t *testing.T, header http.Header) int {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, "GET", e.srv.URL+"/api/v1/events", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header = header.Clone()
	resp, err := e.client.Do(req)
	if err != nil {
		t.Fatalf("open events: %v", err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// Every error of the till API is a problem document, the router's own
// included: a path it does not serve, a method a path does not take.
func TestRouterErrorsAreProblems(t *testing.T) {
	e := newEnv(t, envOptions{})
	key := e.addTill("Caisse 1", false)
	for _, c := range []struct {
		method, path string
		status       int
		allow        string
	}{
		{"GET", "/api/v1/nothing", http.StatusNotFound, ""},
		{"GET", "/api/v2/tickets", http.StatusNotFound, ""},
		{"GET", "/api/v1/tickets/", http.StatusNotFound, ""},
		{"GET", "/api/v1/tickets/tkt_X/payments", http.StatusNotFound, ""},
		{"PUT", "/api/v1/tickets", http.StatusMethodNotAllowed, "GET, HEAD, POST"},
		{"PATCH", "/api/v1/tickets/tkt_X", http.StatusMethodNotAllowed, "DELETE, GET, HEAD"},
		{"POST", "/api/v1/events", http.StatusMethodNotAllowed, "GET, HEAD"},
		{"POST", "/healthz", http.StatusMethodNotAllowed, "GET, HEAD"},
	} {
		for _, k := range []string{key, ""} {
			r := e.do(t, c.method, c.path, k, nil)
			if r.status != c.status {
				t.Errorf("%s %s: status %d, want %d: %s", c.method, c.path, r.status, c.status, r.body)
				continue
			}
			if p := r.problem(t); p.Type == "" || p.Detail == "" {
				t.Errorf("%s %s: problem %+v", c.method, c.path, p)
			}
			if got := r.header.Get("Allow"); got != c.allow {
				t.Errorf("%s %s: Allow %q, want %q", c.method, c.path, got, c.allow)
			}
		}
	}
}

// The authentication scheme is case-insensitive (RFC 9110, 11.1), and one
// or more spaces part it from the key.
func TestBearerSchemeInAnyCase(t *testing.T) {
	e := newEnv(t, envOptions{})
	key := e.addTill("Caisse 1", false)
	for i, scheme := range []string{"bearer ", "BEARER ", "bEaReR ", "Bearer   "} {
		h := http.Header{"Authorization": {scheme + key}}
		r := e.doHeader(t, "POST", "/api/v1/tickets", "", note(itoa(i)), h)
		if r.status != http.StatusCreated {
			t.Errorf("%q: POST %d %s", scheme, r.status, r.body)
		}
		if r := e.doHeader(t, "GET", "/api/v1/tickets", "", nil, h); r.status != http.StatusOK {
			t.Errorf("%q: GET %d %s", scheme, r.status, r.body)
		}
		if status := e.eventsStatus(t, h); status != http.StatusOK {
			t.Errorf("%q: events %d", scheme, status)
		}
	}
	for _, bad := range []string{"Bearer" + key, "Bearers " + key, "Basic " + key} {
		r := e.doHeader(t, "GET", "/api/v1/tickets", "", nil, http.Header{"Authorization": {bad}})
		if r.status != http.StatusUnauthorized {
			t.Errorf("%q: %d", bad, r.status)
		}
	}
}

// A UTF-8 byte order mark before the JSON (what some Windows libraries
// write) is skipped: RFC 8259 lets a parser ignore it, and it hides
// nothing. A second one, or a UTF-16 body, is refused with a message that
// says so.
func TestByteOrderMark(t *testing.T) {
	e := newEnv(t, envOptions{})
	key := e.addTill("Caisse 1", false)
	const bom = "\xef\xbb\xbf"
	tk := e.post(t, key, []byte(bom+noteJSON), http.StatusCreated).ticket(t)
	if tk.Ref != "1" || tk.Total != 5350 {
		t.Errorf("ticket after a BOM: %+v", tk)
	}
	if got := e.post(t, key, []byte(noteJSON), http.StatusOK).ticket(t); got.Version != 1 {
		t.Errorf("the same ticket without the BOM made version %d", got.Version)
	}
	for _, c := range []struct{ name, body, detail string }{
		{"two BOMs", bom + bom + noteJSON, "byte order mark"},
		{"BOM after a space", " " + bom + noteJSON, "byte order mark"},
		{"UTF-16 LE", "\xff\xfe{\x00}\x00", "UTF-16"},
		{"UTF-16 BE", "\xfe\xff\x00{\x00}", "UTF-16"},
	} {
		r := e.do(t, "POST", "/api/v1/tickets", key, []byte(c.body))
		if r.status != http.StatusBadRequest {
			t.Errorf("%s: status %d: %s", c.name, r.status, r.body)
			continue
		}
		if p := r.problem(t); !strings.Contains(p.Detail, c.detail) {
			t.Errorf("%s: detail %q does not say %q", c.name, p.Detail, c.detail)
		}
	}
}

// A \u escape of half a UTF-16 surrogate pair is no character: encoding/json
// would make it U+FFFD without a word. It is refused, naming the field; a
// whole pair (an emoji, escaped) is kept.
func TestLoneSurrogateRefused(t *testing.T) {
	e := newEnv(t, envOptions{})
	key := e.addTill("Caisse 1", false)
	for _, c := range []struct{ name, from, to, field string }{
		{"high alone", `"ref":"1"`, `"ref":"1\ud800"`, `"ref"`},
		{"low alone", `"ref":"1"`, `"ref":"\uDC00 1"`, `"ref"`},
		{"high then not low", `"ref":"1"`, `"ref":"\ud83d\u0041"`, `"ref"`},
		{"two highs", `"ref":"1"`, `"ref":"\ud83d\ud83d\ude00"`, `"ref"`},
		{"in a line", `"label":"MENU"`, `"label":"MENU \udfff"`, `"lines[1].label"`},
		{"in a name", `"table":"5"`, `"table\ud800":"5"`, `"table`},
	} {
		body := strings.Replace(noteJSON, c.from, c.to, 1)
		r := e.do(t, "POST", "/api/v1/tickets", key, []byte(body))
		if r.status != http.StatusBadRequest {
			t.Errorf("%s: status %d: %s", c.name, r.status, r.body)
			continue
		}
		p := r.problem(t)
		if !strings.Contains(p.Detail, c.field) || !strings.Contains(p.Detail, "surrogate") {
			t.Errorf("%s: detail %q does not name %s and the surrogate", c.name, p.Detail, c.field)
		}
	}
	expectUnchanged(t, e, key)

	// A pair is a character; an escaped backslash before "ud800" is text.
	body := strings.Replace(noteJSON, `"label":"MENU"`, `"label":"MENU \ud83d\ude00 \\ud800"`, 1)
	tk := e.post(t, key, []byte(body), http.StatusCreated).ticket(t)
	if got := tk.Lines[1].Label; got != "MENU 😀 \\ud800" {
		t.Errorf("label %q", got)
	}
}

// A retry of what was accepted is the safe retry the spec promises, 200
// unchanged, even when the shop's settings changed in between (the
// manager removed a VAT rate): the content is compared before it is
// validated. New content is validated against today's settings.
func TestIdenticalRetryAfterSettingsChange(t *testing.T) {
	var mu sync.Mutex
	rates := []int64{550, 1000, 2000}
	e := newEnv(t, envOptions{rules: func() gateway.Rules {
		mu.Lock()
		defer mu.Unlock()
		return gateway.Rules{Currency: "EUR", VATRates: slices.Clone(rates)}
	}})
	key := e.addTill("Caisse 1", false)
	in := note("1253")
	in.Lines[1].VATRate = 2000
	tk := e.post(t, key, in, http.StatusCreated).ticket(t)

	mu.Lock()
	rates = []int64{550, 1000}
	mu.Unlock()
	last := e.lastSeq(t)
	got := e.post(t, key, in, http.StatusOK).ticket(t)
	if got.ID != tk.ID || got.Version != 1 || got.Lines[1].VATRate != 2000 {
		t.Errorf("retry: %+v", got)
	}
	if e.lastSeq(t) != last {
		t.Error("the retry appended events")
	}

	// New content with the removed rate, or a new ticket with it: 422.
	changed := withLine(in, line{Label: "CAFÉ", Qty: 1, UnitPrice: 180, VATRate: 1000})
	r := e.do(t, "POST", "/api/v1/tickets", key, changed)
	if r.status != http.StatusUnprocessableEntity || !hasField(r.problem(t), "lines[1].vat_rate") {
		t.Errorf("changed ticket with a removed rate: %d %s", r.status, r.body)
	}
	in.Ref = "1254"
	if r := e.do(t, "POST", "/api/v1/tickets", key, in); r.status != http.StatusUnprocessableEntity {
		t.Errorf("new ticket with a removed rate: %d %s", r.status, r.body)
	}
	if e.lastSeq(t) != last {
		t.Error("refused requests appended events")
	}
}
