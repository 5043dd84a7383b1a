package web_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"html"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/passerelle/passerelle/gateway"
	"github.com/passerelle/passerelle/store"
)

func TestFilterValidation(t *testing.T) {
	s := newShop(t)
	c := s.setup()
	for _, tc := range []struct {
		path, field string
	}{
		{"/tickets?day=2026-13-45", "day"},
		{"/tickets?status=lost", "status"},
		{"/tickets?table=" + strings.Repeat("9", 65), "table"},
		{"/payments?day=yesterday", "day"},
		{"/payments?status=maybe", "status"},
		{"/report?day=03/03/2026", "day"},
	} {
		c.get(tc.path).want(t, http.StatusUnprocessableEntity, "error-"+tc.field)
	}
}

func TestTicketFilters(t *testing.T) {
	s := newShop(t)
	b := s.busy()
	c := s.setup()
	if r := c.get("/tickets?status=overpaid&day="); r.count("ticket-row") != 1 || !strings.Contains(r.body, b.overpaid.ID) {
		t.Errorf("status filter: %d rows", r.count("ticket-row"))
	}
	if r := c.get("/tickets?table=5&day=2026-03-03"); r.count("ticket-row") != 1 || !strings.Contains(r.body, b.open.ID) {
		t.Errorf("table filter: %d rows", r.count("ticket-row"))
	}
	if r := c.get("/tickets?day=2026-03-02"); !r.has("no-tickets") {
		t.Error("the day before has tickets")
	}
	// Paging: a page and a link to the next.
	s.fill(205)
	r := c.get("/tickets")
	if r.count("ticket-row") != 200 || !r.has("next-page") {
		t.Fatalf("first page: %d rows, next link %v", r.count("ticket-row"), r.has("next-page"))
	}
	next := strings.ReplaceAll(between(r.body, `href="`, `" data-testid="next-page"`), "&amp;", "&")
	if r := c.get(next); r.count("ticket-row") != 10+205-200 || r.has("next-page") {
		t.Fatalf("second page %q: %d rows", next, r.count("ticket-row"))
	}
}

func TestCancelTicket(t *testing.T) {
	s := newShop(t)
	b := s.busy()
	c := s.setup()
	c.get("/tickets/" + b.open.ID)
	r := c.post("/tickets/"+b.open.ID+"/cancel", nil)
	if r.StatusCode != http.StatusSeeOther {
		t.Fatalf("cancel: %d\n%s", r.StatusCode, excerpt(r.body))
	}
	got, _ := s.st.Ticket(t.Context(), b.open.ID)
	if got.Status != gateway.TicketCancelled {
		t.Fatalf("ticket is %s", got.Status)
	}
	d := c.get(r.location())
	d.want(t, http.StatusOK, "notice")
	if d.has("cancel-ticket") {
		t.Error("a cancelled ticket offers cancel")
	}
	// A paid ticket cannot be cancelled; the page says why.
	r = c.post("/tickets/"+b.paid.ID+"/cancel", nil)
	r.want(t, http.StatusConflict, "form-error")
	if got, _ := s.st.Ticket(t.Context(), b.paid.ID); got.Status != gateway.TicketPaid {
		t.Fatalf("paid ticket became %s", got.Status)
	}
}

func TestResolveAndAbortPayments(t *testing.T) {
	s := newShop(t)
	b := s.busy()
	c := s.setup()
	c.get("/payments")
	// Only the manager's two outcomes are taken.
	c.post("/payments/"+b.unknown.ID+"/resolve", formOf("status", "pending")).want(t, http.StatusUnprocessableEntity)
	// A pending payment may still get its result: not the manager's.
	c.post("/payments/"+b.pending.ID+"/resolve", formOf("status", "approved")).want(t, http.StatusConflict)
	r := c.post("/payments/"+b.unknown.ID+"/resolve", formOf("status", "approved"))
	if r.StatusCode != http.StatusSeeOther {
		t.Fatalf("resolve: %d\n%s", r.StatusCode, excerpt(r.body))
	}
	p, _ := s.payments.Get(t.Context(), b.unknown.ID)
	if p.Status != gateway.PaymentApproved || p.ResolvedBy != "manager" {
		t.Fatalf("resolved payment: %s by %q", p.Status, p.ResolvedBy)
	}
	pays := c.get(r.location())
	pays.want(t, http.StatusOK, "notice")
	if pays.has("resolve-approved") {
		t.Error("nothing is left to resolve, yet the buttons are there")
	}
	// Twice is refused, with the reason.
	c.post("/payments/"+b.unknown.ID+"/resolve", formOf("status", "declined")).want(t, http.StatusConflict)

	if r := c.post("/payments/"+b.pending.ID+"/abort", nil); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("abort: %d", r.StatusCode)
	}
	if !slices.Equal(s.hub.aborted, []string{b.pending.ID}) {
		t.Fatalf("hub asked to abort %v", s.hub.aborted)
	}
}

// A terminal's result that contradicts the manager's decision is listed to
// check, with the decision, until the manager says it is checked.
func TestReviewContradictedResolution(t *testing.T) {
	s := newShop(t)
	b := s.busy() // 1005: resolved declined by hand, then the terminal's approval
	c := s.setup()
	pays := c.get("/payments")
	pays.want(t, http.StatusOK, "review-payment", "review-badge", "reviewed")
	if n := pays.count("review-payment"); n != 1 {
		t.Fatalf("%d payments to check, want 1", n)
	}
	if !strings.Contains(pays.body, "Décision du gérant : Refusé") || !strings.Contains(pays.body, "1005") {
		t.Errorf("the payment to check does not say the manager's decision:\n%s", excerpt(pays.body))
	}
	toReview, err := s.st.PaymentsToReview(t.Context())
	if err != nil || len(toReview) != 1 || toReview[0].TicketID != b.overpaid.ID {
		t.Fatalf("payments to review: %+v, %v", toReview, err)
	}
	r := c.post("/payments/"+toReview[0].ID+"/reviewed", nil)
	if r.StatusCode != http.StatusSeeOther {
		t.Fatalf("reviewed: %d\n%s", r.StatusCode, excerpt(r.body))
	}
	after := c.get(r.location())
	after.want(t, http.StatusOK, "notice")
	if after.has("review-payment") || after.has("review-badge") {
		t.Error("the checked payment is still listed to check")
	}
	if p, _ := s.payments.Get(t.Context(), toReview[0].ID); p.Status != gateway.PaymentApproved || p.Review {
		t.Errorf("checked payment: %s review %v", p.Status, p.Review)
	}
}

// An approved payment whose terminal is connected gets a duplicata button;
// pressing it asks the hub to print its receipts again on that terminal.
func TestReprintPayment(t *testing.T) {
	s := newShop(t)
	b := s.busy()
	c := s.setup()
	paid, err := s.st.Ticket(t.Context(), b.paid.ID)
	if err != nil || len(paid.Payments) != 1 {
		t.Fatalf("paid ticket: %v", err)
	}
	pay := paid.Payments[0]
	r := c.get("/payments")
	r.want(t, http.StatusOK, "reprint-payment")
	if !strings.Contains(r.body, `action="/payments/`+pay.ID+`/reprint"`) {
		t.Errorf("no reprint for the approved payment of the connected terminal")
	}
	// The bar's two approvals; not the room's, whose terminal is offline.
	if n := r.count("reprint-payment"); n != 2 {
		t.Errorf("%d reprint buttons, want 2", n)
	}
	r = c.post("/payments/"+pay.ID+"/reprint", nil)
	if r.StatusCode != http.StatusSeeOther || !strings.Contains(r.location(), "notice=pay.reprinted") {
		t.Fatalf("reprint: %d to %s", r.StatusCode, r.location())
	}
	if !slices.Equal(s.hub.reprinted, []string{pay.ID}) {
		t.Fatalf("hub asked to reprint %v", s.hub.reprinted)
	}
}

func TestTerminalForms(t *testing.T) {
	s := newShop(t)
	b := s.busy()
	c := s.setup()
	c.get("/terminals")

	r := c.post("/terminals/pair", nil)
	r.want(t, http.StatusOK, "pairing-code", "pairing-qr", "pairing-link")
	code := r.text("pairing-code")
	if len(code) != 6 || !strings.Contains(r.text("pairing-link"), "code="+code) {
		t.Fatalf("code %q, link %q", code, r.text("pairing-link"))
	}
	if !strings.Contains(r.body, `<path d="M`) {
		t.Fatal("the QR code has no modules")
	}
	// The code works once, on a terminal.
	if _, _, err := s.terminals.Connect(t.Context(), "10.0.0.9", gateway.Hello{Serial: "NEW", PairingCode: code}); err != nil {
		t.Fatalf("pairing with the page's code: %v", err)
	}
	if c.get("/terminals").has("pairing-code") {
		t.Fatal("the code is shown again")
	}

	for _, tc := range []struct {
		name   string
		status int
	}{
		{"", http.StatusUnprocessableEntity},
		{strings.Repeat("x", 65), http.StatusUnprocessableEntity},
		{"Bad\u202Ename", http.StatusUnprocessableEntity},
		{b.room.Name, http.StatusConflict},
	} {
		r := c.post("/terminals/"+b.bar.ID+"/rename", formOf("name", tc.name))
		r.want(t, tc.status, "error-rename-"+b.bar.ID)
	}
	if r := c.post("/terminals/"+b.bar.ID+"/rename", formOf("name", "Bar")); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("rename: %d", r.StatusCode)
	}
	if got, _ := s.terminals.Find(t.Context(), b.bar.ID); got.Name != "Bar" {
		t.Fatalf("name is %q", got.Name)
	}

	if r := c.post("/terminals/"+b.room.ID+"/revoke", nil); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("revoke: %d", r.StatusCode)
	}
	if got, _ := s.terminals.Find(t.Context(), b.room.ID); got.RevokedAt == nil {
		t.Fatal("not revoked")
	}
	page := c.get("/terminals")
	if page.count("revoked") != 1 || page.count("revoke-terminal") != 2 {
		t.Fatalf("after revoke: %d revoked, %d revoke buttons", page.count("revoked"), page.count("revoke-terminal"))
	}
}

func TestTillForms(t *testing.T) {
	s := newShop(t)
	b := s.busy()
	c := s.setup()
	c.get("/tills")
	for _, tc := range []struct {
		form   []string
		status int
		field  string
	}{
		{[]string{"name", ""}, http.StatusUnprocessableEntity, "name"},
		{[]string{"name", "Bar", "callback_url", "ftp://x"}, http.StatusUnprocessableEntity, "callback_url"},
		{[]string{"name", "Bar", "callback_url", "javascript:alert(1)"}, http.StatusUnprocessableEntity, "callback_url"},
		{[]string{"name", "Caisse 1"}, http.StatusConflict, "name"},
		{[]string{"name", "4111 1111 1111 1111"}, http.StatusUnprocessableEntity, "name"},
	} {
		r := c.post("/tills", formOf(tc.form...))
		r.want(t, tc.status, "error-"+tc.field)
		if r.has("till-key") {
			t.Fatalf("%v: a key was shown", tc.form)
		}
	}
	r := c.post("/tills", formOf("name", "Terrasse", "callback_url", "https://till.example/hook", "admin", "1"))
	r.want(t, http.StatusCreated, "till-created", "till-key", "webhook-secret")
	key := r.text("till-key")
	till, err := s.tills.Authenticate(t.Context(), key)
	if err != nil || till.Name != "Terrasse" || !till.Admin {
		t.Fatalf("the key shown: %+v, %v", till, err)
	}
	if strings.Contains(c.get("/tills").body, key) {
		t.Fatal("the key is shown again")
	}

	if r := c.post("/tills/"+b.hookTill.ID+"/retry", nil); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("retry: %d", r.StatusCode)
	}
	if !slices.Equal(s.retrier.tills, []string{b.hookTill.ID}) {
		t.Fatalf("retried %v", s.retrier.tills)
	}
	if r := c.post("/tills/"+till.ID+"/revoke", nil); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("revoke: %d", r.StatusCode)
	}
	if _, err := s.tills.Authenticate(t.Context(), key); err == nil {
		t.Fatal("the revoked key still works")
	}
}

// A till's callback URL is edited in its row: refused with the problem at
// the row, saved, cleared; a till that had none is shown its secret.
func TestTillCallbackForm(t *testing.T) {
	s := newShop(t)
	b := s.busy()
	c := s.setup()
	c.get("/tills").want(t, http.StatusOK, "callback-form", "callback-input")
	callback := func(id string) string {
		t.Helper()
		tills, err := s.tills.List(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		for _, tl := range tills {
			if tl.ID == id {
				return tl.CallbackURL
			}
		}
		t.Fatalf("no till %s", id)
		return ""
	}
	hook := b.hookTill.ID
	for _, bad := range []string{"ftp://x", "javascript:alert(1)", "https://x.example/" + strings.Repeat("a", gateway.MaxCallbackURLLen)} {
		r := c.post("/tills/"+hook+"/callback", formOf("callback_url", bad))
		r.want(t, http.StatusUnprocessableEntity, "error-callback-"+hook)
		if got := callback(hook); got != b.hookTill.CallbackURL {
			t.Fatalf("after a refused %.30q the callback is %q", bad, got)
		}
		if !strings.Contains(r.body, html.EscapeString(bad[:min(len(bad), 40)])) {
			t.Errorf("the refused URL %.30q is not given back to correct", bad)
		}
	}
	// The box itself and link-local services: the page says why.
	for _, bad := range []string{"http://127.0.0.1:8420/api/v1/tickets", "http://localhost:8080/hook", "http://169.254.169.254/latest/meta-data/", "http://[::1]/hook"} {
		r := c.post("/tills/"+hook+"/callback", formOf("callback_url", bad))
		r.want(t, http.StatusUnprocessableEntity, "error-callback-"+hook)
		if got := callback(hook); got != b.hookTill.CallbackURL {
			t.Fatalf("after a refused %q the callback is %q", bad, got)
		}
		if msg := r.text("error-callback-" + hook); !strings.Contains(msg, "ce boîtier") || !strings.Contains(msg, "link-local") {
			t.Errorf("refused %q: the page says %q, not why", bad, msg)
		}
		r = c.post("/tills", formOf("name", "Boucle", "callback_url", bad))
		r.want(t, http.StatusUnprocessableEntity)
		if msg := r.text("error-callback_url"); !strings.Contains(msg, "ce boîtier") {
			t.Errorf("a new till with %q: the page says %q, not why", bad, msg)
		}
	}
	r := c.post("/tills/"+hook+"/callback", formOf("callback_url", " https://shop.example/v2/hook "))
	if r.StatusCode != http.StatusSeeOther || callback(hook) != "https://shop.example/v2/hook" {
		t.Fatalf("a new URL: %d, callback %q", r.StatusCode, callback(hook))
	}
	if r := c.post("/tills/"+hook+"/callback", formOf("callback_url", "")); r.StatusCode != http.StatusSeeOther || callback(hook) != "" {
		t.Fatalf("cleared: %d, callback %q", r.StatusCode, callback(hook))
	}
	s.retrier.mu.Lock()
	rescans := s.retrier.rescans
	s.retrier.mu.Unlock()
	if rescans != 2 {
		t.Errorf("the deliveries were told of %d changes of URL, want 2", rescans)
	}

	// Caisse 1 was created without a callback: nobody saw its secret.
	r = c.post("/tills/"+s.till.ID+"/callback", formOf("callback_url", "https://caisse.example/hook"))
	r.want(t, http.StatusOK, "till-secret", "webhook-secret")
	if r.text("webhook-secret") != s.till.WebhookSecret {
		t.Fatalf("the secret shown is not the till's")
	}
	if c.get("/tills").has("webhook-secret") {
		t.Fatal("the secret is shown again")
	}

	if r := c.post("/tills/till_NONE/callback", formOf("callback_url", "https://x.example/")); r.StatusCode != http.StatusNotFound {
		t.Errorf("an unknown till: %d", r.StatusCode)
	}
	if err := s.tills.Revoke(t.Context(), s.till.Name); err != nil {
		t.Fatal(err)
	}
	if r := c.post("/tills/"+s.till.ID+"/callback", formOf("callback_url", "https://x.example/")); r.StatusCode != http.StatusConflict {
		t.Errorf("a revoked till: %d", r.StatusCode)
	}
}

func TestScenarioForm(t *testing.T) {
	s := newShop(t)
	c := s.setup()
	page := c.get("/scenarios")
	page.want(t, http.StatusOK, "key-row")
	before, err := os.ReadFile(s.scenarios.Path())
	if err != nil {
		t.Fatal(err)
	}
	// The editor holds the file as it is.
	if !strings.Contains(page.body, "paiement_proximite") {
		t.Fatal("the editor does not show the file")
	}

	// A broken file: the problem at its line, nothing saved. Browsers send
	// CRLF.
	bad := strings.Replace(string(before), "keys:\n  F1: paiement_proximite", "keys:\n  F1: nulle_part", 1)
	if bad == string(before) {
		t.Fatal("test file not changed")
	}
	badLine := strings.Count(bad[:strings.Index(bad, "nulle_part")], "\n") + 1
	for _, action := range []string{"validate", "save"} {
		r := c.post("/scenarios", formOf("text", strings.ReplaceAll(bad, "\n", "\r\n"), "action", action))
		r.want(t, http.StatusUnprocessableEntity, "scenario-problems", "scenario-problem", "scenario-listing", "bad-line")
		if !strings.Contains(r.body, `data-line="`+itoa(badLine)+`"`) || !strings.Contains(r.body, `id="L`+itoa(badLine)+`" class="bad"`) {
			t.Fatalf("%s: the problem is not shown at line %d:\n%s", action, badLine, excerpt(r.body))
		}
		if !strings.Contains(r.body, "nulle_part") {
			t.Fatalf("%s: the edited text is lost", action)
		}
	}
	after, _ := os.ReadFile(s.scenarios.Path())
	if !bytes.Equal(before, after) {
		t.Fatal("an invalid file was saved")
	}

	good := strings.Replace(string(before), "F2: recherche_ticket", "F3: recherche_ticket", 1)
	r := c.post("/scenarios", formOf("text", good, "action", "validate"))
	r.want(t, http.StatusOK, "scenarios-valid")
	if after, _ := os.ReadFile(s.scenarios.Path()); !bytes.Equal(before, after) {
		t.Fatal("validate saved")
	}
	r = c.post("/scenarios", formOf("text", strings.ReplaceAll(good, "\n", "\r\n"), "action", "save"))
	r.want(t, http.StatusOK, "scenarios-saved")
	after, _ = os.ReadFile(s.scenarios.Path())
	if string(after) != good {
		t.Fatal("the file saved is not the text sent (with plain newlines)")
	}
	if _, ok := s.scenarios.Current().Keys["F3"]; !ok {
		t.Fatal("the saved scenarios are not in service")
	}
}

func TestSettingsForms(t *testing.T) {
	s := newShop(t)
	c := s.setup()
	c.get("/settings").want(t, http.StatusOK)
	valid := []string{"name", "Chez Lucien", "address", "1 rue de la Paix, Paris", "phone", "01 23 45 67 89",
		"vat_rates", "0 ; 5,5 ; 10 ; 20", "time_zone", "Europe/Paris"}
	for _, tc := range []struct {
		field, value string
	}{
		{"name", ""},
		{"vat_rates", "5,5 ; dix"},
		{"vat_rates", "120"},
		{"vat_rates", "5,555"},
		{"vat_rates", ""},
		{"time_zone", "Mars/Olympus"},
		{"address", strings.Repeat("a", 129)},
	} {
		form := formOf(valid...)
		form.Set(tc.field, tc.value)
		c.post("/settings/shop", form).want(t, http.StatusUnprocessableEntity, "error-"+tc.field)
	}
	if s.settings.Config().Shop.Name != gateway.DefaultConfig().Shop.Name {
		t.Fatal("a refused form changed the settings")
	}
	r := c.post("/settings/shop", formOf(valid...))
	if r.StatusCode != http.StatusSeeOther {
		t.Fatalf("save: %d\n%s", r.StatusCode, excerpt(r.body))
	}
	shop := s.settings.Config().Shop
	if shop.Name != "Chez Lucien" || !slices.Equal(shop.VATRates, []int64{0, 550, 1000, 2000}) || shop.Phone != "01 23 45 67 89" {
		t.Fatalf("saved %+v", shop)
	}
	if r := c.get(r.location()); !strings.Contains(r.body, `value="0 ; 5,5 ; 10 ; 20"`) || !r.has("notice") {
		t.Fatalf("the form does not show what was saved:\n%s", excerpt(r.body))
	}
}

func TestChangePassword(t *testing.T) {
	s := newShop(t)
	c := s.setup()
	c.get("/settings")
	const next = "le plat du lendemain"
	for _, tc := range []struct {
		current, pw, confirm, field string
	}{
		{"wrong current password", next, next, "current"},
		{password, "short", "short", "password"},
		{password, next, next + "?", "confirm"},
	} {
		c.post("/settings/password", formOf("current", tc.current, "password", tc.pw, "confirm", tc.confirm)).
			want(t, http.StatusUnprocessableEntity, "error-"+tc.field)
	}
	old := c.session()
	r := c.post("/settings/password", formOf("current", password, "password", next, "confirm", next))
	if r.StatusCode != http.StatusSeeOther || c.session() == old || c.session() == "" {
		t.Fatalf("change: %d, session rotated: %v", r.StatusCode, c.session() != old)
	}
	c.get(r.location()).want(t, http.StatusOK, "notice")
	if _, err := s.admin.Login(context.Background(), "x", next); err != nil {
		t.Fatalf("the new password: %v", err)
	}
}

func TestBackup(t *testing.T) {
	s := newShop(t)
	s.busy()
	c := s.setup()
	c.get("/settings")
	r := c.post("/settings/backup", nil)
	r.want(t, http.StatusOK)
	if !strings.HasPrefix(r.body, "SQLite format 3\x00") {
		t.Fatalf("backup is not a SQLite file: %q", r.body[:min(len(r.body), 32)])
	}
	if !strings.Contains(r.Header.Get("Content-Disposition"), `filename="passerelle-20260303-`) {
		t.Errorf("Content-Disposition %q", r.Header.Get("Content-Disposition"))
	}
	// It holds the shop's data, and nothing is left behind.
	path := filepath.Join(t.TempDir(), "copy.db")
	if err := os.WriteFile(path, []byte(r.body), 0o600); err != nil {
		t.Fatal(err)
	}
	left, _ := filepath.Glob(filepath.Join(s.dir, ".backup-*"))
	if len(left) != 0 {
		t.Fatalf("backup files left: %v", left)
	}
	copyStore := openCopy(t, path)
	ts, err := copyStore.Tickets(t.Context(), gateway.TicketQuery{Limit: 100})
	if err != nil || len(ts) != 10 {
		t.Fatalf("the backup holds %d tickets (%v)", len(ts), err)
	}
}

func TestReportCSV(t *testing.T) {
	s := newShop(t)
	s.busy()
	c := s.setup()
	r := c.get("/report.csv?day=2026-03-03")
	r.want(t, http.StatusOK)
	if r.Header.Get("Content-Type") != "text/csv; charset=utf-8" {
		t.Fatalf("Content-Type %q", r.Header.Get("Content-Type"))
	}
	rows, err := csv.NewReader(strings.NewReader(r.body)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	find := func(section, label string) []string {
		for _, row := range rows {
			if row[0] == section && row[1] == label {
				return row
			}
		}
		t.Fatalf("no row %s/%s in\n%s", section, label, r.body)
		return nil
	}
	if row := find("takings", "2026-03-03"); row[2] != "4" || row[3] != "157.00" {
		t.Errorf("takings row %v", row)
	}
	if row := find("scheme", "CB"); row[3] != "157.00" {
		t.Errorf("CB row %v", row)
	}
	find("vat", "10")
	find("vat", "20")
	find("not_approved", "declined")
	if r := c.get("/report.csv?day=nope"); r.StatusCode != http.StatusUnprocessableEntity {
		t.Errorf("bad day: %d", r.StatusCode)
	}
}

func itoa(n int) string { return strconv.Itoa(n) }

// openCopy opens a database file, such as a backup, as the gateway would.
func openCopy(t *testing.T, path string) *store.Store {
	t.Helper()
	st, err := store.Open(t.Context(), path, discard, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

func between(s, from, to string) string {
	j := strings.Index(s, to)
	if j < 0 {
		return ""
	}
	i := strings.LastIndex(s[:j], from)
	if i < 0 {
		return ""
	}
	return s[i+len(from) : j]
}
