package tillapi_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"

	"github.com/passerelle/passerelle/docs"
	"github.com/passerelle/passerelle/gateway"
)

// specCheck validates real requests and answers of a gateway against
// docs/openapi.yaml, and records which documented answers were seen.
type specCheck struct {
	doc    *openapi3.T
	router routers.Router
	seen   map[string]bool // "GET /api/v1/tickets 200"
}

func newSpecCheck(t *testing.T) *specCheck {
	t.Helper()
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromData(docs.OpenAPI)
	if err != nil {
		t.Fatalf("load docs/openapi.yaml: %v", err)
	}
	if err := doc.Validate(loader.Context); err != nil {
		t.Fatalf("docs/openapi.yaml is not valid OpenAPI: %v", err)
	}
	if doc.OpenAPI != "3.0.3" {
		t.Errorf("openapi = %q, want 3.0.3", doc.OpenAPI)
	}
	// The served document leaves objects open (the gateway may add fields
	// within v1); the test closes them, so that a field the gateway sends
	// and the document does not describe fails here.
	closeObjects(doc.Components.Schemas, map[*openapi3.Schema]bool{})
	doc.Servers = nil // match the test server's address
	router, err := gorillamux.NewRouter(doc)
	if err != nil {
		t.Fatalf("router: %v", err)
	}
	return &specCheck{doc: doc, router: router, seen: map[string]bool{}}
}

func closeObjects(schemas openapi3.Schemas, done map[*openapi3.Schema]bool) {
	for _, ref := range schemas {
		closeObject(ref, done)
	}
}

func closeObject(ref *openapi3.SchemaRef, done map[*openapi3.Schema]bool) {
	if ref == nil || ref.Value == nil || done[ref.Value] {
		return
	}
	s := ref.Value
	done[s] = true
	if len(s.Properties) > 0 && s.AdditionalProperties.Schema == nil {
		no := false
		s.AdditionalProperties = openapi3.AdditionalProperties{Has: &no}
	}
	closeObjects(s.Properties, done)
	closeObject(s.Items, done)
}

func (c *specCheck) options() *openapi3filter.Options {
	return &openapi3filter.Options{
		IncludeResponseStatus: true,
		MultiError:            true,
		AuthenticationFunc: func(_ context.Context, in *openapi3filter.AuthenticationInput) error {
			if bearerKeyOf(in.RequestValidationInput.Request) == "" {
				return errors.New("no bearer key")
			}
			return nil
		},
	}
}

func bearerKeyOf(r *http.Request) string {
	scheme, key, _ := strings.Cut(r.Header.Get("Authorization"), " ")
	if !strings.EqualFold(scheme, "Bearer") {
		return ""
	}
	return key
}

// call sends a request to e and validates the answer against the
// document; a request meant to succeed (valid) is validated too. It
// returns the answer, its body read whole.
func (c *specCheck) call(t *testing.T, e *env, method, path, key string, body []byte, header http.Header, valid bool) response {
	t.Helper()
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequest(method, e.srv.URL+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := e.client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	got, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	r := response{status: resp.StatusCode, header: resp.Header, body: got}
	c.validate(t, req, body, r, valid)
	return r
}

func (c *specCheck) validate(t *testing.T, req *http.Request, reqBody []byte, r response, valid bool) {
	t.Helper()
	ctx := context.Background()
	route, params, err := c.router.FindRoute(req)
	if err != nil {
		t.Errorf("%s %s: not in docs/openapi.yaml: %v", req.Method, req.URL.Path, err)
		return
	}
	if reqBody != nil {
		req.Body = io.NopCloser(bytes.NewReader(reqBody))
	}
	in := &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route, Options: c.options()}
	if valid {
		if err := openapi3filter.ValidateRequest(ctx, in); err != nil {
			t.Errorf("%s %s: the request does not match docs/openapi.yaml: %v", req.Method, req.URL.Path, err)
		}
	}
	out := &openapi3filter.ResponseValidationInput{RequestValidationInput: in, Status: r.status, Header: r.header,
		Body: io.NopCloser(bytes.NewReader(r.body)), Options: c.options()}
	if err := openapi3filter.ValidateResponse(ctx, out); err != nil {
		t.Errorf("%s %s: answer %d does not match docs/openapi.yaml: %v\nbody: %.500s", req.Method, req.URL.Path, r.status, err, r.body)
	}
	c.seen[route.Method+" "+route.Path+" "+itoa(r.status)] = true
}

// expect fails the test unless r has status want.
func expect(t *testing.T, what string, r response, want int) {
	t.Helper()
	if r.status != want {
		t.Fatalf("%s: status %d, want %d: %s", what, r.status, want, r.body)
	}
}

// TestOpenAPIDescribesTheAPI drives a real gateway through every endpoint
// and every answer the document lists, and validates each request and
// answer against docs/openapi.yaml: field names, types, required fields,
// no field left undescribed, content types and headers.
func TestOpenAPIDescribesTheAPI(t *testing.T) {
	openapi3filter.RegisterBodyDecoder("text/event-stream", openapi3filter.PlainBodyDecoder)
	var compacted atomic.Int64
	e := newEnv(t, envOptions{compacted: compacted.Load})
	c := newSpecCheck(t)
	key := e.addTill("Caisse 1", false)
	admin := e.addTill("Manager", true)
	j := func(v any) []byte {
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}

	// The document itself, and health.
	r := c.call(t, e, "GET", "/api/v1/openapi.yaml", "", nil, nil, true)
	expect(t, "openapi.yaml", r, 200)
	if !bytes.Equal(r.body, docs.OpenAPI) {
		t.Error("GET /api/v1/openapi.yaml is not docs/openapi.yaml")
	}
	expect(t, "healthz", c.call(t, e, "GET", "/healthz", "", nil, nil, true), 200)

	// Tickets: created, retried, updated, listed, read.
	created := c.call(t, e, "POST", "/api/v1/tickets", key, j(note("1253")), nil, true)
	expect(t, "create", created, 201)
	tk := created.ticket(t)
	expect(t, "retry", c.call(t, e, "POST", "/api/v1/tickets", key, j(note("1253")), nil, true), 200)
	expect(t, "update", c.call(t, e, "POST", "/api/v1/tickets", key,
		j(withLine(note("1253"), line{Label: "CAFÉ", Qty: 2, UnitPrice: 250, VATRate: 1000})), nil, true), 200)
	minimal := ticketIn{Ref: "A-2", Lines: []line{{Label: "BIÈRE", Qty: 1, UnitPrice: 600, VATRate: 2000}}, Total: 600}
	expect(t, "minimal", c.call(t, e, "POST", "/api/v1/tickets", key, j(minimal), nil, true), 201)
	for i := range 3 {
		expect(t, "more", c.call(t, e, "POST", "/api/v1/tickets", key, j(note("P"+itoa(i))), nil, true), 201)
	}
	page := c.call(t, e, "GET", "/api/v1/tickets?limit=2", key, nil, nil, true)
	expect(t, "list", page, 200)
	var list struct {
		NextCursor string `json:"next_cursor"`
	}
	json.Unmarshal(page.body, &list)
	if list.NextCursor == "" {
		t.Fatal("a full page has no next_cursor")
	}
	expect(t, "next page", c.call(t, e, "GET", "/api/v1/tickets?limit=2&cursor="+list.NextCursor, key, nil, nil, true), 200)
	expect(t, "filtered", c.call(t, e, "GET", "/api/v1/tickets?status=open&status=paid&table=5&since=2026-01-01T00:00:00Z", admin, nil, nil, true), 200)
	expect(t, "get", c.call(t, e, "GET", "/api/v1/tickets/"+tk.ID, key, nil, nil, true), 200)

	// A ticket with payments: one approved, one declined, read with them.
	paid := c.call(t, e, "POST", "/api/v1/tickets", key, j(note("PAID")), nil, true)
	expect(t, "paid ticket", paid, 201)
	paidID := paid.ticket(t).ID
	e.addPayment(t, paidID, gateway.PaymentDeclined, 1000)
	e.addPayment(t, paidID, gateway.PaymentApproved, 2000)
	withPayments := c.call(t, e, "GET", "/api/v1/tickets/"+paidID, key, nil, nil, true)
	expect(t, "get with payments", withPayments, 200)
	if n := len(withPayments.ticket(t).Payments); n != 2 {
		t.Fatalf("%d payments, want 2", n)
	}
	lower := note("PAID")
	lower.Lines = []line{{Label: "CAFÉ", Qty: 1, UnitPrice: 250, VATRate: 1000}}
	lower.Total = 250
	expect(t, "update below paid", c.call(t, e, "POST", "/api/v1/tickets", key, j(lower), nil, true), 409)
	expect(t, "cancel paid", c.call(t, e, "DELETE", "/api/v1/tickets/"+paidID, key, nil, nil, true), 409)

	// Cancel.
	expect(t, "cancel", c.call(t, e, "DELETE", "/api/v1/tickets/"+tk.ID, key, nil, nil, true), 200)
	expect(t, "cancel again", c.call(t, e, "DELETE", "/api/v1/tickets/"+tk.ID, key, nil, nil, true), 200)

	// Refusals.
	expect(t, "no key", c.call(t, e, "POST", "/api/v1/tickets", "", j(note("X")), nil, false), 401)
	expect(t, "bad key", c.call(t, e, "GET", "/api/v1/tickets", "ptk_nothing", nil, nil, false), 401)
	expect(t, "get no key", c.call(t, e, "GET", "/api/v1/tickets/"+tk.ID, "", nil, nil, false), 401)
	expect(t, "delete no key", c.call(t, e, "DELETE", "/api/v1/tickets/"+tk.ID, "", nil, nil, false), 401)
	expect(t, "events no key", c.call(t, e, "GET", "/api/v1/events", "", nil, nil, false), 401)
	expect(t, "bad json", c.call(t, e, "POST", "/api/v1/tickets", key, []byte(`{"ref":"1",`), nil, false), 400)
	expect(t, "unknown field", c.call(t, e, "POST", "/api/v1/tickets", key, []byte(`{"ref":"1","tip":3}`), nil, false), 400)
	expect(t, "too large", c.call(t, e, "POST", "/api/v1/tickets", key, bytes.Repeat([]byte(" "), tillapiMaxBody+1), nil, false), 413)
	bad := note("BAD")
	bad.Total = 1
	invalid := c.call(t, e, "POST", "/api/v1/tickets", key, j(bad), nil, false)
	expect(t, "invalid", invalid, 422)
	if !hasField(invalid.problem(t), "total") {
		t.Errorf("422 names %v, want total", fieldsOf(invalid.problem(t)))
	}
	expect(t, "bad limit", c.call(t, e, "GET", "/api/v1/tickets?limit=0", key, nil, nil, false), 400)
	expect(t, "unknown ticket", c.call(t, e, "GET", "/api/v1/tickets/tkt_nothing", key, nil, nil, true), 404)
	expect(t, "cancel unknown", c.call(t, e, "DELETE", "/api/v1/tickets/tkt_nothing", key, nil, nil, true), 404)
	expect(t, "bad resume point", c.call(t, e, "GET", "/api/v1/events", key, nil, http.Header{"Last-Event-ID": {"x"}}, false), 400)
	past := c.call(t, e, "GET", "/api/v1/events?after=999999", key, nil, nil, true)
	expect(t, "resume past end", past, 409)
	if p := past.problem(t); p.LastSeq == nil {
		t.Errorf("resume-past-end without last_seq: %s", past.body)
	}

	// The event stream: its answer and each event's data.
	c.checkEvents(t, e, key)

	// A resume point before the compaction horizon.
	compacted.Store(2)
	old := c.call(t, e, "GET", "/api/v1/events?after=1", key, nil, nil, true)
	expect(t, "resume compacted", old, 409)
	if p := old.problem(t); p.CompactedThrough == nil || *p.CompactedThrough != 2 || p.Type != "urn:passerelle:problem:resume-compacted" {
		t.Errorf("resume-compacted: %s", old.body)
	}
	compacted.Store(0)

	// Paths and methods the document does not have: 404 and 405 as
	// problems, the 405's Allow listing the document's methods.
	c.checkUndocumented(t, e, key)

	// The store gone: 500 for every till request, 503 for health.
	e.st.Close()
	expect(t, "healthz down", c.call(t, e, "GET", "/healthz", "", nil, nil, true), 503)
	expect(t, "post down", c.call(t, e, "POST", "/api/v1/tickets", key, j(note("DOWN")), nil, true), 500)
	expect(t, "list down", c.call(t, e, "GET", "/api/v1/tickets", key, nil, nil, true), 500)
	expect(t, "get down", c.call(t, e, "GET", "/api/v1/tickets/"+tk.ID, key, nil, nil, true), 500)
	expect(t, "delete down", c.call(t, e, "DELETE", "/api/v1/tickets/"+tk.ID, key, nil, nil, true), 500)
	expect(t, "events down", c.call(t, e, "GET", "/api/v1/events", key, nil, nil, true), 500)

	c.checkCoverage(t)
}

// tillapiMaxBody is the spec's limit, 256 KiB.
const tillapiMaxBody = 256 << 10

// checkEvents replays the log on a stream, validates its answer and each
// event's data against the Event schema.
func (c *specCheck) checkEvents(t *testing.T, e *env, key string) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, "GET", e.srv.URL+"/api/v1/events?after=0", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+key)
	resp, err := e.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	// Read until the last event of the log, then stop the stream.
	last := e.lastSeq(t)
	var read bytes.Buffer
	var events []sseEvent
	err = readSSE(bufio.NewReader(io.TeeReader(resp.Body, &read)), func(ev sseEvent) bool {
		if ev.Comment != "" {
			return true
		}
		events = append(events, ev)
		return ev.ID < last
	})
	if err != nil {
		t.Fatalf("read the stream: %v", err)
	}
	c.validate(t, req, nil, response{status: resp.StatusCode, header: resp.Header, body: read.Bytes()}, true)
	schema := c.doc.Components.Schemas["Event"].Value
	types := map[string]bool{}
	for _, ev := range events {
		var v any
		if err := json.Unmarshal([]byte(ev.Data), &v); err != nil {
			t.Fatalf("event %d: %v", ev.ID, err)
		}
		if err := schema.VisitJSON(v); err != nil {
			t.Errorf("event %d (%s) does not match the Event schema: %v\n%s", ev.ID, ev.Type, err, ev.Data)
		}
		types[ev.Type] = true
	}
	for _, want := range []string{"ticket.created", "ticket.updated", "ticket.cancelled"} {
		if !types[want] {
			t.Errorf("no %s event was checked (got %v)", want, types)
		}
	}
}

func (c *specCheck) checkUndocumented(t *testing.T, e *env, key string) {
	t.Helper()
	for _, tc := range []struct{ method, path string }{
		{"GET", "/api/v1/nothing"},
		{"GET", "/api/v1/tickets/"},
		{"PUT", "/api/v1/tickets"},
		{"POST", "/healthz"},
		{"PATCH", "/api/v1/tickets/tkt_x"},
		{"POST", "/api/v1/events"},
	} {
		r := e.do(t, tc.method, tc.path, key, nil)
		req, _ := http.NewRequest(tc.method, e.srv.URL+tc.path, nil)
		_, _, err := c.router.FindRoute(req)
		switch {
		case errors.Is(err, routers.ErrPathNotFound):
			expect(t, tc.method+" "+tc.path, r, 404)
		case errors.Is(err, routers.ErrMethodNotAllowed):
			expect(t, tc.method+" "+tc.path, r, 405)
			if got, want := r.header.Get("Allow"), c.methodsOf(tc.path); got != want {
				t.Errorf("%s %s: Allow %q, the document has %q", tc.method, tc.path, got, want)
			}
		default:
			t.Fatalf("%s %s: the document has it (%v)", tc.method, tc.path, err)
		}
		var v any
		if err := json.Unmarshal(r.body, &v); err != nil {
			t.Fatalf("%s %s: %v", tc.method, tc.path, err)
		}
		if err := c.doc.Components.Schemas["Problem"].Value.VisitJSON(v); err != nil {
			t.Errorf("%s %s: the %d is not a Problem: %v", tc.method, tc.path, r.status, err)
		}
	}
}

// methodsOf lists the document's methods for path (a concrete path
// matched against its templates), as an Allow header lists them: HEAD
// wherever GET is (HTTP's rule, which the document says once).
func (c *specCheck) methodsOf(path string) string {
	var out []string
	for _, m := range []string{"DELETE", "GET", "HEAD", "PATCH", "POST", "PUT"} {
		ask := m
		if m == "HEAD" {
			ask = "GET"
		}
		req, _ := http.NewRequest(ask, "http://x"+path, nil)
		if _, _, err := c.router.FindRoute(req); err == nil {
			out = append(out, m)
		}
	}
	return strings.Join(out, ", ")
}

// checkCoverage fails for every answer the document lists that the test
// did not see, but those this test cannot give: 421 comes from the
// listener (drivers/listener tests it), 507 from a full disk
// (TestDiskFull in cmd/passerelle fills a real one and checks the problem).
func (c *specCheck) checkCoverage(t *testing.T) {
	t.Helper()
	var missing []string
	for path, item := range c.doc.Paths.Map() {
		for method, op := range item.Operations() {
			for status := range op.Responses.Map() {
				k := method + " " + path + " " + status
				if status == "421" || status == "507" || c.seen[k] {
					continue
				}
				missing = append(missing, k)
			}
		}
	}
	slices.Sort(missing)
	for _, m := range missing {
		t.Errorf("documented but never seen in this test: %s", m)
	}
}
