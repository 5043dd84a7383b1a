package tillapi_test

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/passerelle/passerelle/gateway"
)

// What docs/till-api.md promises a till developer, checked from outside.

// A list page leaves the payments out (the detail has them): "payments": []
// on a paid ticket would say that it has none.
func TestListLeavesOutPayments(t *testing.T) {
	e := newEnv(t, envOptions{})
	key := e.addTill("Caisse 1", false)
	tk := e.post(t, key, note("1253"), http.StatusCreated).ticket(t)
	e.addPayment(t, tk.ID, gateway.PaymentApproved, 5350)
	open := e.post(t, key, note("1254"), http.StatusCreated).ticket(t)

	r := e.do(t, "GET", "/api/v1/tickets", key, nil)
	if r.status != http.StatusOK {
		t.Fatalf("list: %d %s", r.status, r.body)
	}
	var page struct {
		Tickets []map[string]json.RawMessage `json:"tickets"`
	}
	if err := json.Unmarshal(r.body, &page); err != nil {
		t.Fatal(err)
	}
	if len(page.Tickets) != 2 {
		t.Fatalf("%d tickets listed: %s", len(page.Tickets), r.body)
	}
	for _, listed := range page.Tickets {
		if p, ok := listed["payments"]; ok {
			t.Errorf("ticket %s listed with \"payments\": %s", listed["id"], p)
		}
		if _, ok := listed["paid"]; !ok {
			t.Errorf("ticket %s listed without paid", listed["id"])
		}
	}
	if got := e.get(t, key, tk.ID); got.Status != gateway.TicketPaid || len(got.Payments) != 1 {
		t.Errorf("detail of the paid ticket: status %s, %d payments", got.Status, len(got.Payments))
	}
	// The detail of a ticket without payments says so with [].
	d := e.do(t, "GET", "/api/v1/tickets/"+open.ID, key, nil)
	var detail map[string]json.RawMessage
	if err := json.Unmarshal(d.body, &detail); err != nil || string(detail["payments"]) != "[]" {
		t.Errorf("detail of an open ticket: payments %s (%v)", detail["payments"], err)
	}
}

// Event ids are the gateway's log seqs, shared by every till: a till's own
// events come with gaps, which are no loss.
func TestEventIDsAreGatewayWide(t *testing.T) {
	e := newEnv(t, envOptions{})
	a := e.addTill("Caisse 1", false)
	b := e.addTill("Caisse 2", false)
	for _, ref := range []string{"1", "2", "3"} {
		e.post(t, a, note("A"+ref), http.StatusCreated)
		e.post(t, b, note("B"+ref), http.StatusCreated)
	}
	s := e.openEvents(t, a, "?after=0", nil)
	var ids []int64
	for range 3 {
		ids = append(ids, s.next(t).ID)
	}
	if want := []int64{1, 3, 5}; !slices.Equal(ids, want) {
		t.Errorf("till A's event ids %v, want %v", ids, want)
	}
}

// Last-Event-ID wins over ?after=: a browser's EventSource opened on
// ?after=0 reconnects to the same URL with Last-Event-ID, and must go on
// from there, not replay the log.
func TestLastEventIDWinsOverAfter(t *testing.T) {
	e := newEnv(t, envOptions{})
	key := e.addTill("Caisse 1", false)
	for _, ref := range []string{"1", "2", "3", "4"} {
		e.post(t, key, note(ref), http.StatusCreated)
	}
	for _, c := range []struct {
		query, lastID string
		first         int64
	}{
		{"?after=0", "2", 3},
		{"?after=3", "0", 1},
		{"?after=", "3", 4},
		{"?after=1", "", 2},      // an empty header is no header
		{"?after=bogus", "1", 2}, // after is not read at all then
	} {
		s := e.openEvents(t, key, c.query, http.Header{"Last-Event-ID": {c.lastID}})
		if ev := s.next(t); ev.ID != c.first {
			t.Errorf("%s with Last-Event-ID %q: first event %d, want %d", c.query, c.lastID, ev.ID, c.first)
		}
		s.close()
	}
}

// Nothing is removed from the objects a till reads within v1: every field
// the spec names is there (a till ignores the ones it does not know).
func TestV1FieldsStay(t *testing.T) {
	e := newEnv(t, envOptions{})
	key := e.addTill("Caisse 1", false)
	tk := e.post(t, key, note("1253"), http.StatusCreated).ticket(t)
	e.addPayment(t, tk.ID, gateway.PaymentApproved, 1000)
	fillPayment(t, e, tk.ID)

	detail := e.do(t, "GET", "/api/v1/tickets/"+tk.ID, key, nil)
	ticketFields := []string{"id", "ref", "table", "covers", "server", "loyalty", "currency",
		"lines", "lines[].label", "lines[].qty", "lines[].unit_price", "lines[].vat_rate",
		"total", "status", "paid", "due", "vat", "vat[].rate", "vat[].base", "vat[].amount", "vat[].total",
		"version", "source", "till", "created_at", "updated_at"}
	paymentFields := []string{"id", "ticket_id", "terminal", "amount", "tip", "currency", "status",
		"card", "card.scheme", "card.masked_pan", "card.entry", "auth_code", "transaction_ref",
		"merchant_id", "terminal_id", "created_at", "completed_at"}
	want := append(slices.Clone(ticketFields), "payments")
	for _, f := range paymentFields {
		want = append(want, "payments[]."+f)
	}
	checkFields(t, "ticket detail", detail.body, want)

	list := e.do(t, "GET", "/api/v1/tickets", key, nil)
	var page map[string]json.RawMessage
	if err := json.Unmarshal(list.body, &page); err != nil {
		t.Fatal(err)
	}
	var listed []json.RawMessage
	if err := json.Unmarshal(page["tickets"], &listed); err != nil || len(listed) != 1 {
		t.Fatalf("list: %s", list.body)
	}
	checkFields(t, "listed ticket", listed[0], ticketFields)

	s := e.openEvents(t, key, "?after=0", nil)
	ev := s.next(t)
	want = []string{"type", "ticket_id", "ticket_ref", "at", "ticket"}
	for _, f := range ticketFields {
		want = append(want, "ticket."+f)
	}
	checkFields(t, "event", []byte(ev.Data), want)
}

// fillPayment gives the ticket's payment every optional field a terminal's
// result fills.
func fillPayment(t *testing.T, e *env, ticketID string) {
	t.Helper()
	ctx := context.Background()
	err := e.st.Update(ctx, func(tx gateway.Tx) error {
		ps, err := tx.PaymentsOf(ctx, ticketID)
		if err != nil {
			return err
		}
		p := ps[0]
		p.Card = &gateway.Card{Scheme: "CB", MaskedPAN: "############5743", Entry: "chip"}
		p.AuthCode, p.TransactionRef, p.MerchantID, p.TerminalID = "185568", "185568D324964D", "0000015000", "02189020000"
		now := time.Now().UTC()
		p.CompletedAt = &now
		return tx.UpdatePayment(ctx, &p)
	})
	if err != nil {
		t.Fatalf("fill payment: %v", err)
	}
}

// checkFields fails for every path of want missing from the JSON object
// doc. A path names an object's field with ".", an array's elements with
// "[]".
func checkFields(t *testing.T, what string, doc []byte, want []string) {
	t.Helper()
	var v any
	if err := json.Unmarshal(doc, &v); err != nil {
		t.Fatalf("%s: %v: %s", what, err, doc)
	}
	have := map[string]bool{}
	var walk func(prefix string, v any)
	walk = func(prefix string, v any) {
		switch x := v.(type) {
		case map[string]any:
			for k, c := range x {
				p := strings.TrimPrefix(prefix+"."+k, ".")
				have[p] = true
				walk(p, c)
			}
		case []any:
			for _, c := range x {
				walk(prefix+"[]", c)
			}
		}
	}
	walk("", v)
	for _, f := range want {
		if !have[f] {
			t.Errorf("%s: no %q in %s", what, f, doc)
		}
	}
}
