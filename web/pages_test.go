package web_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/passerelle/passerelle/gateway"
)

// pages are every page of the menu, with what each must show in any shop.
var pages = []struct {
	path    string
	testids []string
}{
	{"/", []string{"takings", "open-due", "terminals-online", "sync-state", "nav-dashboard"}},
	{"/tickets", []string{"ticket-filters"}},
	{"/payments", []string{"payment-filters"}},
	{"/terminals", []string{"pairing", "new-pairing-code", "discovered"}},
	{"/tills", []string{"till-form"}},
	{"/scenarios", []string{"key-mapping", "scenario-form", "scenario-text"}},
	{"/report", []string{"report", "report-vat", "report-csv"}},
	{"/settings", []string{"shop-form", "password-form", "backup-form", "fingerprint", "db-size"}},
}

func TestPagesEmptyShop(t *testing.T) {
	s := newShop(t)
	c := s.setup()
	for _, p := range pages {
		r := c.get(p.path)
		r.want(t, http.StatusOK, p.testids...)
		checkHeaders(t, r)
	}
	c.get("/").want(t, http.StatusOK, "no-open-tickets")
	c.get("/tickets").want(t, http.StatusOK, "no-tickets")
	c.get("/payments").want(t, http.StatusOK, "no-payments")
	c.get("/terminals").want(t, http.StatusOK, "no-terminals", "no-discovered")
}

func TestPagesBusyShop(t *testing.T) {
	s := newShop(t)
	b := s.busy()
	c := s.setup()
	for _, p := range pages {
		r := c.get(p.path)
		r.want(t, http.StatusOK, p.testids...)
		checkHeaders(t, r)
	}

	dash := c.get("/")
	dash.want(t, http.StatusOK, "open-tickets", "inprogress-payment", "overpaid-ticket", "dash-terminal", "online", "offline")
	// Open and partly paid tickets: X1, 1001, 1003 (declined), 1004,
	// 1006 (unknown), 1007 (pending), 1008.
	if n := dash.count("open-ticket"); n != 7 {
		t.Errorf("dashboard lists %d open tickets, want 7", n)
	}
	if n := dash.count("inprogress-payment"); n != 2 {
		t.Errorf("dashboard lists %d payments in progress, want 2 (pending, unknown)", n)
	}
	// Taken today: 1002 in full (49,00), 1000 on 1004, 1005 twice (49,00).
	if got := dash.body; !strings.Contains(got, "157,00\u00a0€") {
		t.Errorf("today's takings are not 157,00 €:\n%s", excerpt(got))
	}

	tickets := c.get("/tickets")
	tickets.want(t, http.StatusOK, "tickets")
	if n := tickets.count("ticket-row"); n != 10 {
		t.Errorf("tickets page lists %d tickets, want 10", n)
	}
	detail := c.get("/tickets/" + b.open.ID)
	detail.want(t, http.StatusOK, "ticket-detail", "ticket-lines", "ticket-vat", "ticket-history", "cancel-ticket")
	if n := detail.count("history-event"); n != 1 {
		t.Errorf("an untouched ticket's history has %d events, want 1", n)
	}
	over := c.get("/tickets/" + b.overpaid.ID)
	over.want(t, http.StatusOK, "payments")
	if over.has("cancel-ticket") {
		t.Error("a paid ticket offers to be cancelled")
	}
	if n := over.count("payment-row"); n != 2 {
		t.Errorf("overpaid ticket shows %d payments, want 2", n)
	}

	pays := c.get("/payments")
	pays.want(t, http.StatusOK, "payments-in-progress", "resolve-approved", "resolve-declined", "abort-payment", "overpaid-ticket", "payments-total")
	// The day's 7 payments, and the 2 in progress again at the top.
	if n := pays.count("payment-row"); n != 9 {
		t.Errorf("payments page shows %d payment rows, want 9", n)
	}

	terms := c.get("/terminals")
	terms.want(t, http.StatusOK, "terminals", "rename-terminal", "revoke-terminal", "online", "offline")
	if n := terms.count("terminal-row"); n != 2 {
		t.Errorf("%d terminals listed, want 2", n)
	}
	if !strings.Contains(terms.body, "1.2.3") {
		t.Error("terminal's app version not shown")
	}

	tills := c.get("/tills")
	tills.want(t, http.StatusOK, "tills", "webhook-failing", "retry-webhook", "revoked")
	if tills.count("till-row") != 3 {
		t.Errorf("%d tills listed, want 3", tills.count("till-row"))
	}

	rep := c.get("/report")
	rep.want(t, http.StatusOK, "vat-row", "report-scheme", "report-terminal", "report-server", "report-other")
	if got := rep.text("vat-total"); got != "157,00\u00a0€" {
		t.Errorf("VAT rows add up to %q, want the takings 157,00 €", got)
	}
}

func checkHeaders(t *testing.T, r response) {
	t.Helper()
	csp := r.Header.Get("Content-Security-Policy")
	for _, want := range []string{"default-src 'self'", "frame-ancestors 'none'", "script-src 'self'", "style-src 'self'"} {
		if !strings.Contains(csp, want) {
			t.Errorf("%s: CSP %q lacks %q", r.path, csp, want)
		}
	}
	if strings.Contains(csp, "unsafe-inline") {
		t.Errorf("%s: CSP allows inline code: %q", r.path, csp)
	}
	if r.Header.Get("X-Frame-Options") != "DENY" || r.Header.Get("X-Content-Type-Options") != "nosniff" {
		t.Errorf("%s: headers %v", r.path, r.Header)
	}
	if r.Header.Get("Cache-Control") != "no-store" {
		t.Errorf("%s: Cache-Control %q", r.path, r.Header.Get("Cache-Control"))
	}
	// No inline script or style anywhere: the CSP would block it.
	for _, bad := range []string{"<script>", "<style", " style=", " onclick=", " onload=", "javascript:"} {
		if strings.Contains(r.body, bad) {
			t.Errorf("%s: page has %q", r.path, bad)
		}
	}
}

func TestTillTextIsEscaped(t *testing.T) {
	s := newShop(t)
	b := s.busy()
	c := s.setup()
	const raw = "<img src=x onerror=alert(1)>"
	const escaped = "&lt;img src=x onerror=alert(1)&gt;"
	for _, path := range []string{"/tickets/" + b.xss.ID, "/tickets/" + b.open.ID} {
		r := c.get(path)
		r.want(t, http.StatusOK)
		if strings.Contains(r.body, raw) {
			t.Errorf("%s carries the label unescaped", path)
		}
	}
	r := c.get("/tickets/" + b.xss.ID)
	if !strings.Contains(r.body, escaped) || r.text("line-label") != escaped {
		t.Errorf("the label is not shown escaped: %q", r.text("line-label"))
	}

	// A till and a terminal named with markup, too.
	s.ticket("<b>9</b>", "<i>5</i>")
	c.post("/tills", formOf("name", "<script>alert(1)</script>")).want(t, http.StatusCreated, "till-key")
	for _, path := range []string{"/", "/tickets", "/tills", "/payments"} {
		r := c.get(path)
		for _, bad := range []string{"<b>9</b>", "<i>5</i>", "<script>alert(1)"} {
			if strings.Contains(r.body, bad) {
				t.Errorf("%s carries %q unescaped", path, bad)
			}
		}
	}
}

func TestStaticAssets(t *testing.T) {
	s := newShop(t)
	c := s.client()
	for _, name := range []string{"app.css", "app.js"} {
		r := c.get("/static/" + name)
		r.want(t, http.StatusOK)
		if r.Header.Get("Content-Security-Policy") == "" || len(r.body) == 0 {
			t.Errorf("%s: %v, %d bytes", name, r.Header, len(r.body))
		}
	}
	c.get("/static/nope.js").want(t, http.StatusNotFound)
	// The page names its assets with their hash: cacheable for good.
	page := c.get("/setup")
	if !strings.Contains(page.body, `href="/static/app.css?v=`) {
		t.Errorf("stylesheet link: %s", excerpt(page.body))
	}
}

func TestUnknownPages(t *testing.T) {
	s := newShop(t)
	c := s.setup()
	c.get("/tickets/tkt_NOPE").want(t, http.StatusNotFound, "error-message")
	r := c.post("/terminals/trm_NOPE/revoke", nil)
	r.want(t, http.StatusNotFound)
	c.post("/tills/till_NOPE/revoke", nil).want(t, http.StatusNotFound)
	c.post("/payments/pay_NOPE/resolve", formOf("status", "approved")).want(t, http.StatusNotFound)
}

// Money that arrives on a cancelled ticket (a late approval) is listed to
// refund with the overpaid tickets: on the dashboard, the payments page and
// the day's report.
func TestRefundCancelledTicket(t *testing.T) {
	s := newShop(t)
	term := s.pair("BAR-1")
	tk := s.ticket("2001", "4")
	p := s.pay(term, tk, 1000, gateway.PaymentDeclined)
	if _, err := s.tickets.Cancel(t.Context(), s.till, tk.ID); err != nil {
		t.Fatal(err)
	}
	s.result(term, p, gateway.PaymentApproved, 1000)
	c := s.setup()
	for _, path := range []string{"/", "/payments", "/report"} {
		r := c.get(path)
		r.want(t, http.StatusOK, "overpaid-ticket")
		if n := r.count("overpaid-ticket"); n != 1 {
			t.Errorf("%s lists %d tickets to refund, want 1", path, n)
		}
		if !strings.Contains(r.body, "2001") || !strings.Contains(r.body, "10,00\u00a0€") {
			t.Errorf("%s does not show ticket 2001's 10,00 € to refund:\n%s", path, excerpt(r.body))
		}
	}
}
