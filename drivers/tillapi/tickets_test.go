package tillapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/passerelle/passerelle/gateway"
)

func TestHealthzNeedsNoKey(t *testing.T) {
	e := newEnv(t, envOptions{})
	r := e.do(t, "GET", "/healthz", "", nil)
	if r.status != http.StatusOK {
		t.Fatalf("status %d: %s", r.status, r.body)
	}
	var h struct{ Status, Version, Store, Upstream string }
	if err := json.Unmarshal(r.body, &h); err != nil {
		t.Fatal(err)
	}
	if h.Status != "ok" || h.Store != "ok" || h.Upstream != "disabled" || h.Version == "" {
		t.Errorf("health = %+v", h)
	}
}

func TestCreateRetryUpdate(t *testing.T) {
	e := newEnv(t, envOptions{})
	key := e.addTill("Caisse 1", false)

	created := e.post(t, key, note("1253"), http.StatusCreated).ticket(t)
	if created.ID == "" || created.Version != 1 || created.Status != gateway.TicketOpen ||
		created.Total != 5350 || created.Due != 5350 || created.Paid != 0 ||
		created.Till != "Caisse 1" || created.Source != "till" || created.Currency != "EUR" {
		t.Errorf("created = %+v", created)
	}
	wantVAT := []gateway.VATLine{{Rate: 1000, Base: 4864, Amount: 486, Total: 5350}}
	if !slices.Equal(created.VAT, wantVAT) {
		t.Errorf("vat = %+v, want %+v", created.VAT, wantVAT)
	}
	if got := e.lastSeq(t); got != 1 {
		t.Fatalf("events after create: %d, want 1", got)
	}

	// The identical retry changes nothing, even with the default currency
	// spelt out.
	in := note("1253")
	in.Currency = "EUR"
	again := e.post(t, key, in, http.StatusOK).ticket(t)
	if again.ID != created.ID || again.Version != 1 || !again.UpdatedAt.Equal(created.UpdatedAt) {
		t.Errorf("retry = id %s version %d updated %v; want %s 1 %v", again.ID, again.Version, again.UpdatedAt, created.ID, created.UpdatedAt)
	}
	if got := e.lastSeq(t); got != 1 {
		t.Errorf("events after retry: %d, want 1", got)
	}

	// A dish added to the table's note.
	more := withLine(note("1253"), line{Label: "CAFÉ", Qty: 2, UnitPrice: 180, VATRate: 1000})
	updated := e.post(t, key, more, http.StatusOK).ticket(t)
	if updated.ID != created.ID || updated.Version != 2 || updated.Total != 5710 || updated.Due != 5710 || len(updated.Lines) != 3 {
		t.Errorf("updated = %+v", updated)
	}
	if !updated.UpdatedAt.After(created.UpdatedAt) || !updated.CreatedAt.Equal(created.CreatedAt) {
		t.Errorf("times: created %v→%v updated %v→%v", created.CreatedAt, updated.CreatedAt, created.UpdatedAt, updated.UpdatedAt)
	}
	if got := e.lastSeq(t); got != 2 {
		t.Errorf("events after update: %d, want 2", got)
	}
	if got := e.get(t, key, created.ID); got.Version != 2 || got.Total != 5710 {
		t.Errorf("GET after update: version %d total %d", got.Version, got.Total)
	}

	// The same ref from another till is another ticket.
	other := e.addTill("Caisse 2", false)
	if t2 := e.post(t, other, note("1253"), http.StatusCreated).ticket(t); t2.ID == created.ID {
		t.Error("another till's ref 1253 reused the first till's ticket")
	}
}

// conflict posts in, expects 409, and checks that nothing changed.
func expectConflict(t *testing.T, e *env, key string, in ticketIn, id string) {
	t.Helper()
	before := e.get(t, key, id)
	seq := e.lastSeq(t)
	r := e.do(t, "POST", "/api/v1/tickets", key, in)
	if r.status != http.StatusConflict {
		t.Fatalf("status %d, want 409: %s", r.status, r.body)
	}
	if p := r.problem(t); p.Detail == "" {
		t.Error("409 without a reason")
	}
	after := e.get(t, key, id)
	if after.Version != before.Version || after.Total != before.Total || after.Status != before.Status {
		t.Errorf("the refused update changed the ticket: %+v → %+v", before, after)
	}
	if got := e.lastSeq(t); got != seq {
		t.Errorf("the refused update appended events: %d → %d", seq, got)
	}
}

func TestUpdateConflicts(t *testing.T) {
	e := newEnv(t, envOptions{})
	key := e.addTill("Caisse 1", false)
	more := func(ref string) ticketIn {
		return withLine(note(ref), line{Label: "VIN", Qty: 1, UnitPrice: 650, VATRate: 2000})
	}

	t.Run("cancelled", func(t *testing.T) {
		tk := e.post(t, key, note("c1"), http.StatusCreated).ticket(t)
		if r := e.do(t, "DELETE", "/api/v1/tickets/"+tk.ID, key, nil); r.status != http.StatusOK {
			t.Fatalf("cancel: %d %s", r.status, r.body)
		}
		expectConflict(t, e, key, more("c1"), tk.ID)
		// The till's retry of what it sent first is still a safe retry.
		if got := e.post(t, key, note("c1"), http.StatusOK).ticket(t); got.Status != gateway.TicketCancelled {
			t.Errorf("retry of a cancelled ticket: status %s", got.Status)
		}
	})

	t.Run("payment pending", func(t *testing.T) {
		tk := e.post(t, key, note("p1"), http.StatusCreated).ticket(t)
		e.addPayment(t, tk.ID, gateway.PaymentPending, 1000)
		expectConflict(t, e, key, more("p1"), tk.ID)
	})

	t.Run("payment unknown", func(t *testing.T) {
		tk := e.post(t, key, note("u1"), http.StatusCreated).ticket(t)
		e.addPayment(t, tk.ID, gateway.PaymentUnknown, 1000)
		expectConflict(t, e, key, more("u1"), tk.ID)
	})

	t.Run("total below paid", func(t *testing.T) {
		tk := e.post(t, key, note("a1"), http.StatusCreated).ticket(t)
		e.addPayment(t, tk.ID, gateway.PaymentApproved, 3000)
		less := ticketIn{Ref: "a1", Lines: []line{{Label: "PLAT N°4", Qty: 1, UnitPrice: 2350, VATRate: 1000}}, Total: 2350}
		expectConflict(t, e, key, less, tk.ID)

		// Still at or above what is paid, nothing in progress: accepted.
		got := e.post(t, key, more("a1"), http.StatusOK).ticket(t)
		if got.Version != 2 || got.Paid != 3000 || got.Due != 6000-3000 || got.Status != gateway.TicketPartiallyPaid {
			t.Errorf("update above paid: version %d paid %d due %d status %s", got.Version, got.Paid, got.Due, got.Status)
		}
		if len(got.Payments) != 1 || got.Payments[0].Status != gateway.PaymentApproved {
			t.Errorf("payments = %+v", got.Payments)
		}

		// Down to exactly what is paid: the ticket is paid, and says so.
		seq := e.lastSeq(t)
		exact := ticketIn{Ref: "a1", Lines: []line{{Label: "FORMULE", Qty: 1, UnitPrice: 3000, VATRate: 1000}}, Total: 3000}
		got = e.post(t, key, exact, http.StatusOK).ticket(t)
		if got.Status != gateway.TicketPaid || got.Due != 0 || got.Version != 3 {
			t.Errorf("update to paid: status %s due %d version %d", got.Status, got.Due, got.Version)
		}
		evs, err := e.st.EventsAfter(context.Background(), gateway.EventQuery{After: seq, Limit: 10})
		if err != nil {
			t.Fatal(err)
		}
		var types []string
		for _, ev := range evs {
			types = append(types, ev.Type)
		}
		if want := []string{gateway.EventTicketUpdated, gateway.EventTicketPaid}; !slices.Equal(types, want) {
			t.Errorf("events = %v, want %v", types, want)
		}
	})
}

func TestCancel(t *testing.T) {
	e := newEnv(t, envOptions{})
	key := e.addTill("Caisse 1", false)
	other := e.addTill("Caisse 2", false)
	tk := e.post(t, key, note("1"), http.StatusCreated).ticket(t)

	// Another till's ticket does not exist for it.
	if r := e.do(t, "DELETE", "/api/v1/tickets/"+tk.ID, other, nil); r.status != http.StatusNotFound {
		t.Fatalf("other till's cancel: %d %s", r.status, r.body)
	}
	if r := e.do(t, "DELETE", "/api/v1/tickets/tkt_NOSUCH", key, nil); r.status != http.StatusNotFound {
		t.Errorf("unknown ticket: %d %s", r.status, r.body)
	}
	if got := e.get(t, key, tk.ID); got.Status != gateway.TicketOpen {
		t.Fatalf("after the other till's cancel: %s", got.Status)
	}

	for i := range 2 {
		r := e.do(t, "DELETE", "/api/v1/tickets/"+tk.ID, key, nil)
		if r.status != http.StatusOK {
			t.Fatalf("cancel #%d: %d %s", i+1, r.status, r.body)
		}
		if got := r.ticket(t); got.Status != gateway.TicketCancelled || got.ID != tk.ID {
			t.Errorf("cancel #%d: %+v", i+1, got)
		}
	}
	evs, err := e.st.EventsAfter(context.Background(), gateway.EventQuery{After: 0, Limit: 10})
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) != 2 || evs[1].Type != gateway.EventTicketCancelled {
		t.Errorf("events = %+v, want created then one cancelled", evs)
	}

	for _, st := range []gateway.PaymentStatus{gateway.PaymentApproved, gateway.PaymentPending, gateway.PaymentUnknown} {
		t.Run(string(st), func(t *testing.T) {
			tk := e.post(t, key, note("pay-"+string(st)), http.StatusCreated).ticket(t)
			e.addPayment(t, tk.ID, st, 1000)
			seq := e.lastSeq(t)
			r := e.do(t, "DELETE", "/api/v1/tickets/"+tk.ID, key, nil)
			if r.status != http.StatusConflict {
				t.Fatalf("cancel with a %s payment: %d %s", st, r.status, r.body)
			}
			r.problem(t)
			if got := e.get(t, key, tk.ID); got.Status == gateway.TicketCancelled {
				t.Error("the refused cancel cancelled the ticket")
			}
			if e.lastSeq(t) != seq {
				t.Error("the refused cancel appended an event")
			}
		})
	}

	// Declined payments leave nothing paid: the ticket can go.
	tk = e.post(t, key, note("declined"), http.StatusCreated).ticket(t)
	e.addPayment(t, tk.ID, gateway.PaymentDeclined, 1000)
	if r := e.do(t, "DELETE", "/api/v1/tickets/"+tk.ID, key, nil); r.status != http.StatusOK {
		t.Errorf("cancel with a declined payment: %d %s", r.status, r.body)
	}
}

func TestAuth(t *testing.T) {
	e := newEnv(t, envOptions{})
	key := e.addTill("Caisse 1", false)
	cases := []struct {
		name   string
		header string
	}{
		{"missing", ""},
		{"wrong key", "Bearer ptk_NOTAKEY"},
		{"empty bearer", "Bearer "},
		{"basic", "Basic " + key},
		{"bare key", key},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			for _, req := range []struct{ method, path string }{
				{"POST", "/api/v1/tickets"}, {"GET", "/api/v1/tickets"},
				{"GET", "/api/v1/tickets/tkt_X"}, {"DELETE", "/api/v1/tickets/tkt_X"}, {"GET", "/api/v1/events"},
			} {
				h := http.Header{}
				if c.header != "" {
					h.Set("Authorization", c.header)
				}
				var body any
				if req.method == "POST" {
					body = note("1")
				}
				r := e.doHeader(t, req.method, req.path, "", body, h)
				if r.status != http.StatusUnauthorized {
					t.Fatalf("%s %s: %d %s", req.method, req.path, r.status, r.body)
				}
				r.problem(t)
				if r.header.Get("WWW-Authenticate") == "" {
					t.Errorf("%s %s: no WWW-Authenticate", req.method, req.path)
				}
			}
		})
	}
	if e.lastSeq(t) != 0 {
		t.Error("unauthorized requests appended events")
	}

	t.Run("revoked", func(t *testing.T) {
		e.post(t, key, note("1"), http.StatusCreated)
		if err := e.tills.Revoke(context.Background(), "Caisse 1"); err != nil {
			t.Fatal(err)
		}
		r := e.do(t, "POST", "/api/v1/tickets", key, note("2"))
		if r.status != http.StatusUnauthorized {
			t.Fatalf("revoked key: %d %s", r.status, r.body)
		}
		if r := e.do(t, "GET", "/api/v1/tickets", key, nil); r.status != http.StatusUnauthorized {
			t.Errorf("revoked key list: %d", r.status)
		}
	})
}

func TestTillIsolation(t *testing.T) {
	e := newEnv(t, envOptions{})
	a := e.addTill("Caisse A", false)
	b := e.addTill("Caisse B", false)
	admin := e.addTill("Manager", true)
	ta := e.post(t, a, note("A1"), http.StatusCreated).ticket(t)
	tb := e.post(t, b, note("B1"), http.StatusCreated).ticket(t)

	if r := e.do(t, "GET", "/api/v1/tickets/"+ta.ID, b, nil); r.status != http.StatusNotFound {
		t.Errorf("B gets A's ticket: %d %s", r.status, r.body)
	}
	if r := e.do(t, "DELETE", "/api/v1/tickets/"+ta.ID, b, nil); r.status != http.StatusNotFound {
		t.Errorf("B cancels A's ticket: %d %s", r.status, r.body)
	}
	if ids := e.listIDs(t, b, ""); !slices.Equal(ids, []string{tb.ID}) {
		t.Errorf("B lists %v, want only %s", ids, tb.ID)
	}
	if ids := e.listIDs(t, b, "ref=A1"); len(ids) != 0 {
		t.Errorf("B finds A's ref: %v", ids)
	}
	if ids := e.listIDs(t, admin, ""); !slices.Equal(ids, []string{ta.ID, tb.ID}) {
		t.Errorf("admin lists %v, want both", ids)
	}
	if got := e.get(t, admin, ta.ID); got.Till != "Caisse A" {
		t.Errorf("admin GET: till %q", got.Till)
	}

	// B's event stream from the start holds only B's ticket.
	s := e.openEvents(t, b, "?after=0", nil)
	if ev := s.next(t); ev.TicketID != tb.ID {
		t.Errorf("B's first event is about %s, want %s", ev.TicketID, tb.ID)
	}
	e.post(t, a, note("A2"), http.StatusCreated)
	tb2 := e.post(t, b, note("B2"), http.StatusCreated).ticket(t)
	if ev := s.next(t); ev.TicketID != tb2.ID {
		t.Errorf("B's next event is about %s (%s), want %s", ev.TicketID, ev.Type, tb2.ID)
	}
	s.close()

	// The admin's stream holds everyone's.
	s = e.openEvents(t, admin, "?after=0", nil)
	for i := int64(1); i <= 4; i++ {
		if ev := s.next(t); ev.ID != i {
			t.Errorf("admin event %d has id %d", i, ev.ID)
		}
	}
	s.close()

	// A cancelled by the admin is cancelled for A too.
	if r := e.do(t, "DELETE", "/api/v1/tickets/"+ta.ID, admin, nil); r.status != http.StatusOK {
		t.Fatalf("admin cancel: %d %s", r.status, r.body)
	}
	if got := e.get(t, a, ta.ID); got.Status != gateway.TicketCancelled {
		t.Errorf("A sees %s", got.Status)
	}
}

type listResponse struct {
	Tickets    []gateway.Ticket `json:"tickets"`
	NextCursor string           `json:"next_cursor"`
}

func (e *env) list(t testing.TB, key, query string) listResponse {
	t.Helper()
	r := e.do(t, "GET", "/api/v1/tickets?"+query, key, nil)
	if r.status != http.StatusOK {
		t.Fatalf("list ?%s: %d %s", query, r.status, r.body)
	}
	var l listResponse
	if err := json.Unmarshal(r.body, &l); err != nil {
		t.Fatal(err)
	}
	return l
}

func (e *env) listIDs(t testing.TB, key, query string) []string {
	t.Helper()
	var ids []string
	for _, tk := range e.list(t, key, query).Tickets {
		ids = append(ids, tk.ID)
	}
	return ids
}

func TestListFilters(t *testing.T) {
	e := newEnv(t, envOptions{})
	key := e.addTill("Caisse 1", false)
	mk := func(ref, table string) gateway.Ticket {
		in := note(ref)
		in.Table = table
		return e.post(t, key, in, http.StatusCreated).ticket(t)
	}
	t1 := mk("1", "5")
	t2 := mk("2", "5")
	t3 := mk("3", "12")
	t4 := mk("4", "")
	if r := e.do(t, "DELETE", "/api/v1/tickets/"+t2.ID, key, nil); r.status != http.StatusOK {
		t.Fatal(r.status)
	}
	e.addPayment(t, t3.ID, gateway.PaymentApproved, 1000)

	cases := []struct {
		query string
		want  []string
	}{
		{"", []string{t1.ID, t2.ID, t3.ID, t4.ID}},
		{"status=open", []string{t1.ID, t4.ID}},
		{"status=open&status=cancelled", []string{t1.ID, t2.ID, t4.ID}},
		{"status=partially_paid", []string{t3.ID}},
		{"status=paid", nil},
		{"table=5", []string{t1.ID, t2.ID}},
		{"table=5&status=open", []string{t1.ID}},
		{"table=7", nil},
		{"ref=3", []string{t3.ID}},
		{"ref=" + url.QueryEscape("3 "), nil},
		// t2 was updated (cancelled) after t4 was created.
		{"since=" + url.QueryEscape(t4.UpdatedAt.Format(time.RFC3339Nano)), []string{t2.ID, t4.ID}},
		{"since=" + url.QueryEscape(t1.UpdatedAt.Add(-time.Hour).Format(time.RFC3339)), []string{t1.ID, t2.ID, t3.ID, t4.ID}},
		{"since=" + url.QueryEscape(time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC).Format(time.RFC3339)), nil},
		{"limit=1", []string{t1.ID}},
		{"limit=1000", []string{t1.ID, t2.ID, t3.ID, t4.ID}},
	}
	for _, c := range cases {
		if got := e.listIDs(t, key, c.query); !slices.Equal(got, c.want) {
			t.Errorf("?%s = %v, want %v", c.query, got, c.want)
		}
	}

	// A list carries paid and due, not payments.
	for _, tk := range e.list(t, key, "ref=3").Tickets {
		if tk.Paid != 1000 || tk.Due != 4350 {
			t.Errorf("listed t3: paid %d due %d", tk.Paid, tk.Due)
		}
	}

	for _, q := range []string{"limit=0", "limit=1001", "limit=-1", "limit=ten", "status=bogus",
		"status=open&status=", "since=yesterday", "cursor=!!!", "cursor=eHl6"} {
		r := e.do(t, "GET", "/api/v1/tickets?"+q, key, nil)
		if r.status != http.StatusBadRequest {
			t.Errorf("?%s: %d, want 400: %s", q, r.status, r.body)
			continue
		}
		if p := r.problem(t); len(p.Errors) != 1 {
			t.Errorf("?%s: errors %+v, want one naming the parameter", q, p.Errors)
		}
	}
}

func TestListPaging(t *testing.T) {
	e := newEnv(t, envOptions{})
	key := e.addTill("Caisse 1", false)
	other := e.addTill("Caisse 2", false)
	const n = 250
	// Concurrent posts share commits: quicker, and a test of that too.
	refs := make(chan int)
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for i := range refs {
				in := note(itoa(i))
				if r := e.do(t, "POST", "/api/v1/tickets", key, in); r.status != http.StatusCreated {
					t.Errorf("ticket %d: %d %s", i, r.status, r.body)
				}
			}
		})
	}
	for i := range n {
		refs <- i
	}
	close(refs)
	wg.Wait()
	e.post(t, other, note("x"), http.StatusCreated)

	seen := map[string]int{}
	var pages []int
	cursor := ""
	for {
		q := "limit=100"
		if cursor != "" {
			q += "&cursor=" + url.QueryEscape(cursor)
		}
		l := e.list(t, key, q)
		pages = append(pages, len(l.Tickets))
		for _, tk := range l.Tickets {
			seen[tk.Ref]++
		}
		if l.NextCursor == "" {
			break
		}
		if len(pages) > 10 {
			t.Fatal("paging does not end")
		}
		cursor = l.NextCursor
	}
	if len(seen) != n {
		t.Errorf("paging saw %d distinct tickets, want %d (pages %v)", len(seen), n, pages)
	}
	for ref, c := range seen {
		if c != 1 {
			t.Errorf("ticket %s seen %d times", ref, c)
		}
	}
	if !slices.Equal(pages, []int{100, 100, 50}) {
		t.Errorf("pages = %v", pages)
	}
}

// A cancelled ticket stays cancelled when the bank approves one of its
// declined parts after the cancel: the till cannot reopen it by posting its
// ref (409), and what it reads owes nothing.
func TestCancelledTicketAfterLateApproval(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, envOptions{})
	key := e.addTill("Caisse 1", false)
	terminals := gateway.NewTerminals(e.st, time.Now)
	code, _, err := terminals.NewPairingCode(ctx)
	if err != nil {
		t.Fatal(err)
	}
	term, _, err := terminals.Connect(ctx, "10.0.0.7", gateway.Hello{Serial: "BAR-1", PairingCode: code})
	if err != nil {
		t.Fatal(err)
	}
	payments := gateway.NewPayments(e.st, time.Now, 0)

	// 53,50 split in two; the first part is declined, the till cancels.
	tk := e.post(t, key, note("1253"), http.StatusCreated).ticket(t)
	part, _, err := payments.Start(ctx, term, tk.ID, 2675, 0)
	if err != nil {
		t.Fatal(err)
	}
	result := gateway.Result{PaymentID: part.ID, Status: gateway.PaymentDeclined, Currency: "EUR"}
	if _, _, err := payments.Record(ctx, term.ID, result); err != nil {
		t.Fatal(err)
	}
	if r := e.do(t, "DELETE", "/api/v1/tickets/"+tk.ID, key, nil); r.status != http.StatusOK {
		t.Fatalf("cancel: %d %s", r.status, r.body)
	} else if got := r.ticket(t); got.Due != 0 {
		t.Errorf("the cancelled ticket is due %d, want 0", got.Due)
	}
	// The bank approves that part after all.
	result.Status, result.Amount = gateway.PaymentApproved, 2675
	result.Card = &gateway.Card{Scheme: "CB", MaskedPAN: "#####5743", Entry: "chip"}
	if _, _, err := payments.Record(ctx, term.ID, result); err != nil {
		t.Fatal(err)
	}

	got := e.get(t, key, tk.ID)
	if got.Status != gateway.TicketCancelled || got.Paid != 2675 || got.Due != 0 {
		t.Errorf("after the late approval: %s paid %d due %d, want cancelled paid 2675 due 0", got.Status, got.Paid, got.Due)
	}
	more := withLine(note("1253"), line{Label: "CAFE", Qty: 1, UnitPrice: 250, VATRate: 1000})
	expectConflict(t, e, key, more, tk.ID)
	if got := e.get(t, key, tk.ID); got.Status != gateway.TicketCancelled || got.Due != 0 {
		t.Errorf("after the refused POST: %s due %d", got.Status, got.Due)
	}
}

// An overpaid ticket that the till brings back to exactly what was paid is
// updated, not paid a second time: ticket.updated alone.
func TestOverpaidUpdatedToPaid(t *testing.T) {
	e := newEnv(t, envOptions{})
	key := e.addTill("Caisse 1", false)
	tk := e.post(t, key, note("o1"), http.StatusCreated).ticket(t)
	e.addPayment(t, tk.ID, gateway.PaymentApproved, 5350)
	e.addPayment(t, tk.ID, gateway.PaymentApproved, 650)
	if got := e.get(t, key, tk.ID); got.Status != gateway.TicketOverpaid {
		t.Fatalf("ticket %s, want overpaid", got.Status)
	}
	seq := e.lastSeq(t)
	more := withLine(note("o1"), line{Label: "VIN", Qty: 1, UnitPrice: 650, VATRate: 2000})
	if got := e.post(t, key, more, http.StatusOK).ticket(t); got.Status != gateway.TicketPaid || got.Due != 0 {
		t.Errorf("after the update: %s due %d, want paid due 0", got.Status, got.Due)
	}
	evs, err := e.st.EventsAfter(context.Background(), gateway.EventQuery{After: seq, Limit: 10})
	if err != nil {
		t.Fatal(err)
	}
	var types []string
	for _, ev := range evs {
		types = append(types, ev.Type)
	}
	if want := []string{gateway.EventTicketUpdated}; !slices.Equal(types, want) {
		t.Errorf("events = %v, want %v", types, want)
	}
}

// The answer to a POST, written from the JSON encoded for the ticket's
// event, is byte for byte what a GET of the ticket answers, created or
// updated.
func TestPostAnswerIsTheTicketsJSON(t *testing.T) {
	e := newEnv(t, envOptions{})
	key := e.addTill("Caisse 1", false)
	for _, want := range []int{http.StatusCreated, http.StatusOK} {
		in := note("1")
		if want == http.StatusOK {
			in = withLine(in, line{Label: "CAFÉ <2>", Qty: 2, UnitPrice: 250, VATRate: 1000})
		}
		r := e.post(t, key, in, want)
		got := e.do(t, "GET", "/api/v1/tickets/"+r.ticket(t).ID, key, nil)
		if !bytes.Equal(r.body, got.body) {
			t.Errorf("POST answered\n%s\nGET answers\n%s", r.body, got.body)
		}
		if ct := r.header.Get("Content-Type"); ct != "application/json" {
			t.Errorf("Content-Type %q", ct)
		}
	}
}
