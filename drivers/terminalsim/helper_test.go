package terminalsim_test

import (
	"context"
	"crypto/tls"
	"io"
	stdlog "log"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/passerelle/passerelle/drivers/receipt"
	"github.com/passerelle/passerelle/drivers/terminalsim"
	"github.com/passerelle/passerelle/drivers/terminalws"
	"github.com/passerelle/passerelle/gateway"
	"github.com/passerelle/passerelle/store"
)

// gw is an in-process gateway wired as cmd/passerelle's serve wires it,
// on a real store in a temporary directory and a real listener.
type gw struct {
	t        *testing.T
	srv      *httptest.Server
	url      string
	st       *store.Store
	tickets  *gateway.Tickets
	terms    *gateway.Terminals
	payments *gateway.Payments
	hub      *terminalws.Hub
	till     gateway.Till
}

// newGateway starts a gateway; with cert it serves TLS with that
// certificate.
func newGateway(t *testing.T, cert *tls.Certificate) *gw {
	t.Helper()
	return newGatewayWith(t, cert, nil)
}

// newGatewayWith is newGateway with the hub's configuration changed by
// tune, if not nil.
func newGatewayWith(t *testing.T, cert *tls.Certificate, tune func(*terminalws.Config)) *gw {
	t.Helper()
	ctx := context.Background()
	log := slog.New(slog.DiscardHandler)
	bus := gateway.NewEventBus(8192)
	st, err := store.Open(ctx, filepath.Join(t.TempDir(), "passerelle.db"), log, bus)
	if err != nil {
		t.Fatalf("store.Open: %v", err)
	}
	t.Cleanup(func() { st.Close() })
	last, err := st.LastSeq(ctx)
	if err != nil {
		t.Fatal(err)
	}
	bus.Start(last)
	scenarios, err := gateway.ParseScenarios(gateway.DefaultScenariosYAML())
	if err != nil {
		t.Fatal(err)
	}
	cfg := gateway.DefaultConfig()
	g := &gw{t: t, st: st,
		tickets:  gateway.NewTickets(st, cfg.Rules, time.Now),
		terms:    gateway.NewTerminals(st, time.Now),
		payments: gateway.NewPayments(st, time.Now, 0),
	}
	printer := receipt.Printer{Location: cfg.Location(), Now: time.Now, Shop: receipt.Header{Name: "CHEZ JULIE"}}
	hc := terminalws.Config{
		Terminals: g.terms,
		Payments:  g.payments,
		Sessions:  gateway.NewSessions(st, g.payments, func() gateway.ScenarioSet { return scenarios }, printer, time.Now),
		Events:    gateway.NewEventLog(st, bus),
		Log:       log,
		// The tests drive terminals faster than waiters do.
		RateLimit: 1000,
		RateBurst: 1000,
	}
	if tune != nil {
		tune(&hc)
	}
	g.hub = terminalws.New(hc)
	mux := http.NewServeMux()
	g.hub.Register(mux)
	g.srv = httptest.NewUnstartedServer(mux)
	g.srv.Config.ErrorLog = stdlog.New(io.Discard, "", 0) // refused certificates are what some tests want
	if cert != nil {
		g.srv.TLS = &tls.Config{Certificates: []tls.Certificate{*cert}}
		g.srv.StartTLS()
	} else {
		g.srv.Start()
	}
	g.url = g.srv.URL
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		g.hub.Run(runCtx)
	}()
	t.Cleanup(func() {
		cancel()
		<-done
		g.srv.Close()
	})
	g.till, _, err = gateway.NewTills(st, time.Now).Add(ctx, gateway.NewTill{Name: "Caisse 1"})
	if err != nil {
		t.Fatal(err)
	}
	return g
}

// table5 posts the brief's note for table 5: 23,50 + 30,00 at 10 %.
func (g *gw) table5() gateway.Ticket {
	g.t.Helper()
	tk, _, err := g.tickets.Submit(context.Background(), g.till, gateway.TicketInput{
		Ref: "1253", Table: "5", Server: "Julie", Loyalty: "502",
		Lines: []gateway.Line{
			{Label: "PLAT N°4", Qty: 1, UnitPrice: 2350, VATRate: 1000},
			{Label: "PLAT N°1", Qty: 1, UnitPrice: 3000, VATRate: 1000},
		},
		Total: 5350,
	})
	if err != nil {
		g.t.Fatalf("post ticket: %v", err)
	}
	return tk
}

func (g *gw) code() string {
	g.t.Helper()
	code, _, err := g.terms.NewPairingCode(context.Background())
	if err != nil {
		g.t.Fatal(err)
	}
	return code
}

func (g *gw) ticket(id string) gateway.Ticket {
	g.t.Helper()
	tk, err := g.st.Ticket(context.Background(), id)
	if err != nil {
		g.t.Fatal(err)
	}
	return tk
}

// eventTypes returns the type of every event in the log, oldest first.
func (g *gw) eventTypes() []string {
	g.t.Helper()
	evs, err := g.st.EventsAfter(context.Background(), gateway.EventQuery{Limit: 1000})
	if err != nil {
		g.t.Fatal(err)
	}
	var out []string
	for _, e := range evs {
		out = append(out, e.Type)
	}
	return out
}

func count(list []string, s string) int {
	n := 0
	for _, v := range list {
		if v == s {
			n++
		}
	}
	return n
}

// dial connects a terminal and closes it at the end of the test.
func dial(t *testing.T, opts terminalsim.Options) *terminalsim.Terminal {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	term, err := terminalsim.Dial(ctx, opts)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	t.Cleanup(func() { term.Close() })
	return term
}

// expect reads messages until one of type typ, and returns it together
// with the messages read before it. An error message fails the test. The
// timeout only bounds a gateway that never answers.
func expect(t *testing.T, term *terminalsim.Terminal, typ string) (terminalsim.Message, []terminalsim.Message) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var before []terminalsim.Message
	for {
		m, err := term.Next(ctx)
		if err != nil {
			t.Fatalf("waiting for %s: %v; got %+v", typ, err, before)
		}
		if m.Type == typ {
			return m, before
		}
		if m.Type == "error" {
			t.Fatalf("waiting for %s: the gateway says %s: %s", typ, m.Code, m.Text)
		}
		before = append(before, m)
	}
}

// screen answers nothing: it waits for the next screen and checks its
// kind and title.
func screen(t *testing.T, term *terminalsim.Terminal, kind, title string) terminalsim.Message {
	t.Helper()
	m, _ := expect(t, term, "screen")
	if m.Kind != kind || m.Title != title {
		t.Fatalf("screen %s %q, want %s %q: %+v", m.Kind, m.Title, kind, title, m)
	}
	return m
}

func answer(t *testing.T, term *terminalsim.Terminal, value string) {
	t.Helper()
	if err := term.Answer(value); err != nil {
		t.Fatalf("answer %q: %v", value, err)
	}
}

// toPay runs F2 up to the pay request for table 5, paid in full.
func toPay(t *testing.T, term *terminalsim.Terminal) terminalsim.Message {
	t.Helper()
	if err := term.Start("F2"); err != nil {
		t.Fatal(err)
	}
	screen(t, term, "input", "NUMÉRO DE TABLE ?")
	answer(t, term, "5")
	tk := screen(t, term, "ticket", "Table 5")
	if tk.Due == nil || *tk.Due != 5350 || !slices.ContainsFunc(tk.Choices, func(c gateway.MenuItem) bool { return c.ID == "full" }) {
		t.Fatalf("ticket screen %+v", tk)
	}
	answer(t, term, "full")
	pay, _ := expect(t, term, "pay")
	if pay.Amount != 5350 || pay.Currency != "EUR" || pay.TicketRef != "1253" || pay.PaymentID == "" {
		t.Fatalf("pay %+v", pay)
	}
	return pay
}

func card(t *testing.T, term *terminalsim.Terminal, o terminalsim.Outcome) terminalsim.Result {
	t.Helper()
	r, err := term.Card(context.Background(), o)
	if err != nil {
		t.Fatalf("card %s: %v", o, err)
	}
	return r
}

func loadState(t *testing.T, path string) terminalsim.State {
	t.Helper()
	s, err := terminalsim.LoadState(path)
	if err != nil {
		t.Fatal(err)
	}
	return s
}
