package web_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/passerelle/passerelle/gateway"
	"github.com/passerelle/passerelle/store"
	"github.com/passerelle/passerelle/web"
	"github.com/passerelle/passerelle/web/views"
)

var discard = slog.New(slog.NewTextHandler(io.Discard, nil))

// clock is the shop's time, moved by the tests.
type clock struct {
	mu   sync.Mutex
	t    time.Time
	mono time.Duration // the monotonic clock payments' deadlines count on
}

func (c *clock) Elapsed() time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.mono
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mono += d
	c.mu.Unlock()
}

// hub stands in for the terminals' connections: which are online, and the
// aborts and reprints asked.
type hub struct {
	mu        sync.Mutex
	online    map[string]bool
	aborted   []string
	reprinted []string
}

func (h *hub) OnlineIDs() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []string
	for id, on := range h.online {
		if on {
			out = append(out, id)
		}
	}
	return out
}

func (h *hub) set(id string, on bool) {
	h.mu.Lock()
	h.online[id] = on
	h.mu.Unlock()
}

func (h *hub) Abort(_ context.Context, paymentID string) (bool, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.aborted = append(h.aborted, paymentID)
	return true, nil
}

func (h *hub) Reprint(_ context.Context, paymentID string) (bool, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.reprinted = append(h.reprinted, paymentID)
	return true, nil
}

// settings keeps the configuration in memory, as cmd/passerelle keeps it
// in its file.
type settings struct {
	mu  sync.Mutex
	cfg gateway.Config
}

func (s *settings) Config() gateway.Config {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.cfg
}

func (s *settings) SaveShop(_ context.Context, shop gateway.Shop) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.cfg
	c.Shop = shop
	if err := c.Validate(); err != nil {
		return err
	}
	s.cfg = c
	return nil
}

type retrier struct {
	mu      sync.Mutex
	tills   []string
	rescans int
}

func (r *retrier) Retry(id string) {
	r.mu.Lock()
	r.tills = append(r.tills, id)
	r.mu.Unlock()
}

func (r *retrier) Rescan() {
	r.mu.Lock()
	r.rescans++
	r.mu.Unlock()
}

// shop is a gateway with its admin page, on a real store in a temporary
// directory.
type shop struct {
	t         testing.TB
	dir       string
	st        *store.Store
	clock     *clock
	codes     *gateway.SetupCodeFile
	admin     *gateway.Admin
	tickets   *gateway.Tickets
	tills     *gateway.Tills
	terminals *gateway.Terminals
	payments  *gateway.Payments
	events    *gateway.EventLog
	scenarios *gateway.ScenarioFile
	hub       *hub
	settings  *settings
	retrier   *retrier
	h         http.Handler

	till gateway.Till // the till the tickets come from

	alerts views.Alerts // what the dashboard is told is wrong with the box
}

// shopDay is "today" in the tests: a Tuesday in Paris.
var shopDay = time.Date(2026, 3, 3, 12, 0, 0, 0, time.UTC)

func newShop(t testing.TB) *shop {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	bus := gateway.NewEventBus(1024)
	st, err := store.Open(ctx, filepath.Join(dir, "passerelle.db"), discard, bus)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	last, err := st.LastSeq(ctx)
	if err != nil {
		t.Fatal(err)
	}
	bus.Start(last)
	scen, err := gateway.NewScenarioFile(filepath.Join(dir, gateway.ScenariosFile), discard)
	if err != nil {
		t.Fatal(err)
	}
	c := &clock{t: shopDay}
	s := &shop{t: t, dir: dir, st: st, clock: c, hub: &hub{online: map[string]bool{}},
		settings: &settings{cfg: gateway.DefaultConfig()}, retrier: &retrier{}, scenarios: scen}
	s.codes = gateway.NewSetupCodeFile(dir)
	s.admin = gateway.NewAdmin(st, s.codes, c.Now)
	s.tickets = gateway.NewTickets(st, func() gateway.Rules { return s.settings.Config().Rules() }, c.Now)
	s.tills = gateway.NewTills(st, c.Now)
	s.terminals = gateway.NewTerminals(st, c.Now)
	s.payments = gateway.NewPayments(st, c.Now, 0)
	s.payments.SetMonotonic(c.Elapsed)
	s.events = gateway.NewEventLog(st, bus)
	srv := web.New(web.Config{
		Admin: s.admin, Tickets: s.tickets, Tills: s.tills, Terminals: s.terminals, Payments: s.payments,
		Events: s.events, Store: st, Hub: s.hub, Scenarios: scen, Settings: s.settings, Webhooks: s.retrier,
		PairingLink: func(code string) string {
			return "passerelle://pair?addr=192.168.1.10:8420&fp=ab12&code=" + code
		},
		Fingerprint: "ab12cd34", DataDir: dir, SetupCodeFile: s.codes.Path(), Version: "test", Log: discard, Now: c.Now,
		Heartbeat: 100 * time.Millisecond, OnlinePoll: 20 * time.Millisecond,
		Alerts: func() views.Alerts { return s.alerts },
	})
	s.h = srv.Handler()
	s.till, _, err = s.tills.Add(ctx, gateway.NewTill{Name: "Caisse 1"})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// ticket posts a ticket from the till, as the till API would.
func (s *shop) ticket(ref, table string, lines ...gateway.Line) gateway.Ticket {
	s.t.Helper()
	if len(lines) == 0 {
		lines = []gateway.Line{{Label: "Plat du jour", Qty: 2, UnitPrice: 1450, VATRate: 1000},
			{Label: "Vin", Qty: 1, UnitPrice: 2000, VATRate: 2000}}
	}
	var total int64
	for _, l := range lines {
		total += l.Qty * l.UnitPrice
	}
	t, _, err := s.tickets.Submit(context.Background(), s.till, gateway.TicketInput{Ref: ref, Table: table,
		Server: "Léa", Currency: "EUR", Lines: lines, Total: total})
	if err != nil {
		s.t.Fatal(err)
	}
	return t
}

// pair pairs a terminal and returns it.
func (s *shop) pair(serial string) gateway.Terminal {
	s.t.Helper()
	ctx := context.Background()
	code, _, err := s.terminals.NewPairingCode(ctx)
	if err != nil {
		s.t.Fatal(err)
	}
	term, _, err := s.terminals.Connect(ctx, "10.0.0.50", gateway.Hello{Serial: serial, Model: "Sim", AppVersion: "1.2.3",
		PairingCode: code, DisplayCols: 16, DisplayRows: 8, PrinterCols: 32, Keys: []string{"F1", "F2"}})
	if err != nil {
		s.t.Fatal(err)
	}
	return term
}

// pay runs a payment on a ticket to the given end: approved, declined,
// pending, or unknown (its terminal gone past the deadline).
func (s *shop) pay(term gateway.Terminal, t gateway.Ticket, amount int64, end gateway.PaymentStatus) gateway.Payment {
	s.t.Helper()
	ctx := context.Background()
	p, _, err := s.payments.Start(ctx, term, t.ID, amount, 0)
	if err != nil {
		s.t.Fatal(err)
	}
	switch end {
	case gateway.PaymentPending:
		return p
	case gateway.PaymentUnknown:
		s.clock.Add(gateway.DefaultPaymentDeadline + time.Second)
		if _, err := s.payments.Expire(ctx, func(gateway.Payment) bool { return false }); err != nil {
			s.t.Fatal(err)
		}
		p, err = s.payments.Get(ctx, p.ID)
		if err != nil {
			s.t.Fatal(err)
		}
		return p
	}
	return s.result(term, p, end, amount)
}

func (s *shop) result(term gateway.Terminal, p gateway.Payment, st gateway.PaymentStatus, amount int64) gateway.Payment {
	s.t.Helper()
	r := gateway.Result{PaymentID: p.ID, Status: st, Amount: amount, Currency: "EUR", At: s.clock.Now()}
	if st == gateway.PaymentApproved {
		r.Card = &gateway.Card{Scheme: "CB", MaskedPAN: "#####5743", Entry: "chip"}
		r.AuthCode, r.TransactionRef = "185568", "185568D324964D"
	}
	out, _, err := s.payments.Record(context.Background(), term.ID, r)
	if err != nil {
		s.t.Fatal(err)
	}
	return out
}

// busy fills the shop: tickets in every state, payments in every state, two
// terminals (one online), a till with a failing webhook, an overpaid
// ticket. It returns what the tests look for.
type busyShop struct {
	xss       gateway.Ticket // a label with markup
	open      gateway.Ticket
	paid      gateway.Ticket
	unknown   gateway.Payment
	pending   gateway.Payment
	overpaid  gateway.Ticket
	bar, room gateway.Terminal
	hookTill  gateway.Till
}

func (s *shop) busy() busyShop {
	s.t.Helper()
	ctx := context.Background()
	var b busyShop
	b.bar, b.room = s.pair("BAR-1"), s.pair("SALLE-2")
	s.hub.set(b.bar.ID, true)
	b.xss = s.ticket("X1", "7", gateway.Line{Label: "<img src=x onerror=alert(1)>", Qty: 1, UnitPrice: 990, VATRate: 1000})
	b.open = s.ticket("1001", "5")
	b.paid = s.ticket("1002", "6")
	s.pay(b.bar, b.paid, b.paid.Due, gateway.PaymentApproved)
	declined := s.ticket("1003", "8")
	s.pay(b.bar, declined, 1000, gateway.PaymentDeclined)
	partial := s.ticket("1004", "9")
	s.pay(b.room, partial, 1000, gateway.PaymentApproved)
	// Overpaid: a payment lost (unknown), resolved declined by the manager,
	// paid again in full, and then the terminal reports the first approved.
	b.overpaid = s.ticket("1005", "10")
	lost := s.pay(b.room, b.overpaid, b.overpaid.Due, gateway.PaymentUnknown)
	if _, err := s.payments.Resolve(ctx, lost.ID, gateway.PaymentDeclined); err != nil {
		s.t.Fatal(err)
	}
	s.pay(b.bar, b.overpaid, b.overpaid.Due, gateway.PaymentApproved)
	s.result(b.room, lost, gateway.PaymentApproved, b.overpaid.Due)
	var err error
	if b.overpaid, err = s.st.Ticket(ctx, b.overpaid.ID); err != nil || b.overpaid.Status != gateway.TicketOverpaid {
		s.t.Fatalf("overpaid ticket: %v %v", b.overpaid.Status, err)
	}
	b.unknown = s.pay(b.room, s.ticket("1006", "11"), 1500, gateway.PaymentUnknown)
	b.pending = s.pay(b.bar, s.ticket("1007", "12"), 1200, gateway.PaymentPending)
	s.ticket("1008", "")
	if _, err := s.tickets.Cancel(ctx, s.till, s.ticket("1009", "3").ID); err != nil {
		s.t.Fatal(err)
	}
	b.hookTill, _, err = s.tills.Add(ctx, gateway.NewTill{Name: "Web shop", CallbackURL: "https://shop.example/hook"})
	if err != nil {
		s.t.Fatal(err)
	}
	if err := s.st.SaveWebhookCursor(ctx, gateway.WebhookCursor{TillID: b.hookTill.ID, DeliveredSeq: 3, Attempts: 4,
		LastError: "callback answered 502 Bad Gateway", LastAttempt: s.clock.Now()}, 0, b.hookTill.CallbackURL); err != nil {
		s.t.Fatal(err)
	}
	old, _, err := s.tills.Add(ctx, gateway.NewTill{Name: "Old till"})
	if err != nil {
		s.t.Fatal(err)
	}
	if err := s.tills.Revoke(ctx, old.Name); err != nil {
		s.t.Fatal(err)
	}
	return b
}

// client is a browser: it keeps its cookies and reads the CSRF token from
// the pages it gets.
type client struct {
	t       testing.TB
	h       http.Handler
	cookies map[string]*http.Cookie
	csrf    string
	addr    string
	lang    string
}

func (s *shop) client() *client {
	return &client{t: s.t, h: s.h, cookies: map[string]*http.Cookie{}, addr: "192.168.1.20:51000"}
}

type response struct {
	*http.Response
	body   string
	method string
	path   string
}

func (c *client) do(method, path string, form url.Values, hdr map[string]string) response {
	c.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	r := httptest.NewRequest(method, "http://192.168.1.10:8420"+path, body)
	r.RemoteAddr = c.addr
	if form != nil {
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	if c.lang != "" {
		r.Header.Set("Accept-Language", c.lang)
	}
	for k, v := range hdr {
		r.Header.Set(k, v)
	}
	for _, ck := range c.cookies {
		r.AddCookie(ck)
	}
	w := httptest.NewRecorder()
	c.h.ServeHTTP(w, r)
	res := w.Result()
	for _, ck := range res.Cookies() {
		if ck.MaxAge < 0 {
			delete(c.cookies, ck.Name)
		} else {
			c.cookies[ck.Name] = ck
		}
	}
	b, _ := io.ReadAll(res.Body)
	out := response{Response: res, body: string(b), method: method, path: path}
	if m := csrfMeta.FindStringSubmatch(out.body); m != nil {
		c.csrf = m[1]
	}
	return out
}

var csrfMeta = regexp.MustCompile(`<meta name="csrf-token" content="([^"]+)">`)

func (c *client) get(path string) response {
	c.t.Helper()
	return c.do(http.MethodGet, path, nil, nil)
}

// post sends a form with the page's CSRF token, unless the form sets its
// own "csrf".
func (c *client) post(path string, form url.Values) response {
	c.t.Helper()
	if form == nil {
		form = url.Values{}
	}
	if _, ok := form["csrf"]; !ok {
		form.Set("csrf", c.csrf)
	}
	return c.do(http.MethodPost, path, form, nil)
}

const password = "la soupe du jour"

// passwordHash is password's stored hash, worked out once: Argon2id is
// slow on purpose, and most tests only need to be logged in.
var passwordHash = sync.OnceValues(func() (string, error) {
	dir, err := os.MkdirTemp("", "passerelle-web-test-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(dir)
	st, err := store.Open(context.Background(), filepath.Join(dir, "p.db"), discard, nil)
	if err != nil {
		return "", err
	}
	defer st.Close()
	if err := gateway.NewAdmin(st, nil, time.Now).ResetPassword(context.Background(), password, password); err != nil {
		return "", err
	}
	return st.AdminPasswordHash(context.Background())
})

// setup sets the password and returns a logged-in client, its session
// stored as a login stores it. TestSetup goes through the setup page.
func (s *shop) setup() *client {
	s.t.Helper()
	ctx := context.Background()
	hash, err := passwordHash()
	if err != nil {
		s.t.Fatal(err)
	}
	now := s.clock.Now().UTC()
	if err := s.st.InitAdminPassword(ctx, hash, now); err != nil {
		s.t.Fatal(err)
	}
	tok := gateway.NewSecret("pas", 32)
	if err := s.st.InsertAdminSession(ctx, gateway.AdminSession{TokenHash: gateway.HashKey(tok), CreatedAt: now,
		LastSeen: now, ExpiresAt: now.Add(gateway.AdminSessionTTL)}); err != nil {
		s.t.Fatal(err)
	}
	c := s.client()
	c.cookies["passerelle"] = &http.Cookie{Name: "passerelle", Value: tok}
	if r := c.get("/"); r.StatusCode != http.StatusOK { // for the CSRF token
		s.t.Fatalf("logged-in dashboard: %d", r.StatusCode)
	}
	return c
}

// session is the client's session cookie value.
func (c *client) session() string {
	if ck, ok := c.cookies["passerelle"]; ok {
		return ck.Value
	}
	return ""
}

func (r response) has(testid string) bool { return r.count(testid) > 0 }

func (r response) count(testid string) int {
	return strings.Count(r.body, `data-testid="`+testid+`"`)
}

// text returns the text of the first element with this testid (markup
// inside it left in).
func (r response) text(testid string) string {
	re := regexp.MustCompile(`data-testid="` + regexp.QuoteMeta(testid) + `"[^>]*>([^<]*)`)
	m := re.FindStringSubmatch(r.body)
	if m == nil {
		return ""
	}
	return strings.TrimSpace(m[1])
}

func (r response) location() string { return r.Header.Get("Location") }

func (r response) want(t *testing.T, status int, testids ...string) {
	t.Helper()
	if r.StatusCode != status {
		t.Fatalf("%s %s: status %d, want %d\n%s", r.method, r.path, r.StatusCode, status, excerpt(r.body))
	}
	for _, id := range testids {
		if !r.has(id) {
			t.Errorf("%s %s: no data-testid=%q\n%s", r.method, r.path, id, excerpt(r.body))
		}
	}
}

func excerpt(s string) string {
	if i := strings.Index(s, "<main"); i >= 0 {
		s = s[i:]
	}
	if len(s) > 3000 {
		s = s[:3000] + "…"
	}
	return s
}

// formOf builds a form from name, value pairs.
func formOf(kv ...string) url.Values {
	v := url.Values{}
	for i := 0; i+1 < len(kv); i += 2 {
		v.Add(kv[i], kv[i+1])
	}
	return v
}
