package web_test

// The admin page in a real browser: a headless Chromium driven over the
// DevTools protocol (chromedp), against a whole gateway wired as
// cmd/passerelle's serve wires it (till API, terminals' WebSocket, admin
// page) on a real listener on 127.0.0.1. The browser tests skip when no
// Chromium is installed; CI installs Debian's.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/passerelle/passerelle/drivers/receipt"
	"github.com/passerelle/passerelle/drivers/terminalws"
	"github.com/passerelle/passerelle/drivers/tillapi"
	"github.com/passerelle/passerelle/gateway"
	"github.com/passerelle/passerelle/store"
	"github.com/passerelle/passerelle/web"
)

// liveGateway is a gateway as `passerelle run --no-tls` serves it, in this
// process.
type liveGateway struct {
	url       string
	dir       string // the data directory
	st        *store.Store
	scenarios *gateway.ScenarioFile
	payments  *gateway.Payments
	tillKey   string
}

func newLiveGateway(t testing.TB) *liveGateway {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	dir := t.TempDir()
	bus := gateway.NewEventBus(8192)
	st, err := store.Open(ctx, filepath.Join(dir, "passerelle.db"), discard, bus)
	if err != nil {
		t.Fatal(err)
	}
	last, err := st.LastSeq(ctx)
	if err != nil {
		t.Fatal(err)
	}
	bus.Start(last)
	scen, err := gateway.NewScenarioFile(filepath.Join(dir, gateway.ScenariosFile), discard)
	if err != nil {
		t.Fatal(err)
	}
	set := &settings{cfg: gateway.DefaultConfig()}
	tickets := gateway.NewTickets(st, func() gateway.Rules { return set.Config().Rules() }, time.Now)
	tills := gateway.NewTills(st, time.Now)
	events := gateway.NewEventLog(st, bus)
	payments := gateway.NewPayments(st, time.Now, 0)
	terminals := gateway.NewTerminals(st, time.Now)
	cfg := set.Config()
	printer := receipt.Printer{Location: cfg.Location(), Now: time.Now, Shop: receipt.Header{Name: cfg.Shop.Name}}
	hub := terminalws.New(terminalws.Config{Terminals: terminals, Payments: payments, Events: events, Log: discard,
		Sessions: gateway.NewSessions(st, payments, scen.Current, printer, time.Now)})
	mux := http.NewServeMux()
	hub.Register(mux)
	tillapi.New(tillapi.Config{Tickets: tickets, Tills: tills, Events: events, Log: discard, Abort: hub.Abort}).Register(mux)
	codes := gateway.NewSetupCodeFile(dir)
	web.New(web.Config{Admin: gateway.NewAdmin(st, codes, time.Now), Tickets: tickets, Tills: tills, Terminals: terminals,
		Payments: payments, Events: events, Store: st, Hub: hub, Scenarios: scen, Settings: set,
		PairingLink: func(code string) string { return "passerelle://pair?code=" + code },
		DataDir:     dir, Version: "test", Log: discard, Now: time.Now, OnlinePoll: 100 * time.Millisecond,
		SetupCodeFile: codes.Path()}).Register(mux)
	srv := httptest.NewServer(mux)
	var wg sync.WaitGroup
	wg.Go(func() { hub.Run(ctx) })
	wg.Go(func() { scen.Run(ctx) })
	t.Cleanup(func() {
		cancel()
		wg.Wait()
		srv.Close()
		st.Close()
	})
	_, key, err := tills.Add(ctx, gateway.NewTill{Name: "Caisse 1"})
	if err != nil {
		t.Fatal(err)
	}
	return &liveGateway{url: srv.URL, dir: dir, st: st, scenarios: scen, payments: payments, tillKey: key}
}

// post sends a ticket as the till does and returns its ID.
func (g *liveGateway) post(t testing.TB, ref, table string, lines ...gateway.Line) string {
	t.Helper()
	var total int64
	for _, l := range lines {
		total += l.Qty * l.UnitPrice
	}
	body, _ := json.Marshal(map[string]any{"ref": ref, "table": table, "server": "Léa", "lines": lines, "total": total})
	req, _ := http.NewRequest(http.MethodPost, g.url+"/api/v1/tickets", bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+g.tillKey)
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var tk struct{ ID string }
	if err := json.NewDecoder(res.Body).Decode(&tk); err != nil || res.StatusCode != http.StatusCreated {
		t.Fatalf("till POST %s: %d %v", ref, res.StatusCode, err)
	}
	return tk.ID
}

// chromium finds the browser: $PASSERELLE_CHROMIUM, else one on PATH.
func chromium(t testing.TB) string {
	if p := os.Getenv("PASSERELLE_CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "headless-shell"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Skip("no Chromium found (install Debian's chromium package, or set PASSERELLE_CHROMIUM): browser tests skipped")
	return ""
}

// browser is one headless Chromium. It records what must never happen on
// the admin page: a JavaScript dialog opened by anything but the page's own
// confirmations, an uncaught exception, a Content-Security-Policy violation.
type browser struct {
	t   testing.TB
	ctx context.Context

	mu       sync.Mutex
	dialogs  []string
	problems []string
}

func newBrowser(t testing.TB) *browser {
	t.Helper()
	exe := chromium(t)
	// The machine's network is closed: without these flags Chromium tries
	// to reach Google (updates, sync, field trials). chromedp gives it a
	// fresh --user-data-dir and removes it afterwards.
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(exe),
		chromedp.Flag("headless", true), chromedp.Flag("no-sandbox", true), chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-quic", true), chromedp.Flag("no-first-run", true),
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true))
	actx, acancel := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	if err := chromedp.Do(ctx); err != nil {
		cancel()
		acancel()
		t.Fatalf("start %s: %v", exe, err)
	}
	t.Cleanup(func() {
		cancel()
		acancel()
	})
	b := &browser{t: t, ctx: ctx}
	b.watch(ctx)
	return b
}

func (b *browser) watch(ctx context.Context) {
	console := chromedp.Console(ctx)
	dialogs := chromedp.Events(ctx, page.JavascriptDialogOpening)
	go func() {
		for m, err := range console {
			if err != nil {
				return
			}
			if m.IsException() || strings.Contains(m.Text, "Content Security Policy") {
				b.mu.Lock()
				b.problems = append(b.problems, m.String())
				b.mu.Unlock()
			}
		}
	}()
	go func() {
		for ev, err := range dialogs {
			if err != nil {
				return
			}
			b.mu.Lock()
			b.dialogs = append(b.dialogs, string(ev.Type)+": "+ev.Message)
			b.mu.Unlock()
			// The page's own confirmations are accepted; an alert is
			// closed, and fails the test.
			chromedp.Call(ctx, page.HandleJavaScriptDialog, page.HandleJavaScriptDialogParams{Accept: ev.Type != page.DialogTypeAlert})
		}
	}()
}

// check fails the test if anything it must never see happened.
func (b *browser) check() {
	b.t.Helper()
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, d := range b.dialogs {
		if !strings.HasPrefix(d, string(page.DialogTypeConfirm)+":") {
			b.t.Errorf("a JavaScript dialog opened: %s", d)
		}
	}
	for _, p := range b.problems {
		b.t.Errorf("browser console: %s", p)
	}
}

// tab is one tab of the browser.
type tab struct {
	b   *browser
	t   testing.TB
	ctx context.Context
}

func (b *browser) firstTab() *tab { return &tab{b: b, t: b.t, ctx: b.ctx} }

func (b *browser) newTab() *tab {
	b.t.Helper()
	ctx, cancel := chromedp.NewContext(b.ctx)
	if err := chromedp.Do(ctx); err != nil {
		b.t.Fatalf("new tab: %v", err)
	}
	b.t.Cleanup(cancel)
	b.watch(ctx)
	return &tab{b: b, t: b.t, ctx: ctx}
}

// browserStep bounds each step: a broken page fails the test, it does not
// hang it.
const browserStep = 15 * time.Second

func (tb *tab) do(what string, actions ...chromedp.Action[chromedp.Void]) {
	tb.t.Helper()
	ctx, cancel := context.WithTimeout(tb.ctx, browserStep)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		tb.fatal(what, err)
	}
}

func (tb *tab) fatal(what string, err error) {
	tb.t.Helper()
	ctx, cancel := context.WithTimeout(tb.ctx, 5*time.Second)
	defer cancel()
	text, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`location.href + "\n" + (document.querySelector("main") || document.body).innerText`))
	if png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100)); err == nil {
		name := filepath.Join(screenshotDir(tb.t), "failure-"+strings.ReplaceAll(tb.t.Name(), "/", "_")+".png")
		if os.WriteFile(name, png, 0o644) == nil {
			tb.t.Logf("screenshot of the failure: %s", name)
		}
	}
	tb.t.Fatalf("%s: %v\npage: %s", what, err, text)
}

func (tb *tab) navigate(url string) {
	tb.t.Helper()
	tb.do("open "+url, chromedp.Navigate(url))
}

// submit clicks a button that loads a new page, and waits for it.
func (tb *tab) submit(sel string) {
	tb.t.Helper()
	ctx, cancel := context.WithTimeout(tb.ctx, browserStep)
	defer cancel()
	if _, err := chromedp.Run(ctx, chromedp.WaitEvent(page.LoadEventFired, nil, chromedp.Click(chromedp.CSS(sel)))); err != nil {
		tb.fatal("submit "+sel, err)
	}
}

func (tb *tab) click(sel string) {
	tb.t.Helper()
	tb.do("click "+sel, chromedp.Click(chromedp.CSS(sel)))
}

func (tb *tab) wait(sel string) {
	tb.t.Helper()
	tb.do("wait for "+sel, chromedp.WaitReady(chromedp.CSS(sel)))
}

func (tb *tab) waitGone(sel string) {
	tb.t.Helper()
	tb.do("wait for no "+sel, chromedp.WaitNotPresent(chromedp.CSS(sel)))
}

func (tb *tab) text(sel string) string {
	tb.t.Helper()
	return eval[string](tb, fmt.Sprintf(`document.querySelector(%q).textContent`, sel))
}

func (tb *tab) count(sel string) int {
	tb.t.Helper()
	return eval[int](tb, fmt.Sprintf(`document.querySelectorAll(%q).length`, sel))
}

func eval[T any](tb *tab, expr string, opts ...chromedp.EvaluateOption) T {
	tb.t.Helper()
	ctx, cancel := context.WithTimeout(tb.ctx, browserStep)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr, opts...))
	if err != nil {
		tb.fatal("evaluate "+expr, err)
	}
	return v
}

// screenshotDir is where screenshots are kept after the test:
// $PASSERELLE_SCREENSHOTS, else passerelle-screenshots in the temporary
// directory.
func screenshotDir(t testing.TB) string {
	dir := os.Getenv("PASSERELLE_SCREENSHOTS")
	if dir == "" {
		dir = filepath.Join(os.TempDir(), "passerelle-screenshots")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// login goes through first start: every page leads to /setup, where the
// password is chosen with the setup code, read from the data directory as
// the box's owner reads it; then out and in again.
func login(tb *tab, g *liveGateway) {
	tb.t.Helper()
	base := g.url
	tb.navigate(base + "/tickets")
	tb.wait(`[data-testid=setup-form]`)
	path := filepath.Join(g.dir, gateway.SetupCodeFileName)
	if where := tb.text(`[data-testid=setup-code-file]`); where != path {
		tb.t.Errorf("the setup page says the code is in %q, not %q", where, path)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		tb.t.Fatalf("the setup page made no setup code: %v", err)
	}
	code := strings.TrimSpace(string(b))
	// A wrong code first: refused beside its field, nothing set.
	tb.do("type a wrong code", chromedp.SendKeys(chromedp.CSS("#code"), "ZZZZZZZZZZ"),
		chromedp.SendKeys(chromedp.CSS("#password"), password), chromedp.SendKeys(chromedp.CSS("#confirm"), password))
	tb.submit(`[data-testid=setup-submit]`)
	tb.wait(`[data-testid=error-code]`)
	tb.do("type the code and the new password", chromedp.SendKeys(chromedp.CSS("#code"), code),
		chromedp.SendKeys(chromedp.CSS("#password"), password), chromedp.SendKeys(chromedp.CSS("#confirm"), password))
	tb.submit(`[data-testid=setup-submit]`)
	tb.wait(`[data-testid=takings]`)
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		tb.t.Errorf("the setup code outlived the setup: %v", err)
	}
	tb.submit(`[data-testid=logout]`)
	tb.wait(`[data-testid=login-form]`)
	tb.do("type the password", chromedp.SendKeys(chromedp.CSS("#password"), password))
	tb.submit(`[data-testid=login-submit]`)
	tb.wait(`[data-testid=takings]`)
}

// simScreen waits for the simulator to show a screen of this kind.
func simScreen(sim *tab, kind string) {
	sim.t.Helper()
	sim.wait(`#sim-screen[data-kind="` + kind + `"]`)
}

func TestBrowser(t *testing.T) {
	if testing.Short() {
		t.Skip("the browser test takes half a minute: not with -short")
	}
	g := newLiveGateway(t)
	b := newBrowser(t)
	sim := b.firstTab()
	login(sim, g)

	// The simulator, from the terminals page: paired with one click.
	sim.navigate(g.url + "/terminals")
	sim.submit(`[data-testid=simulator-link]`)
	sim.wait(`#sim[data-state="off"]`)
	sim.click(`[data-testid=sim-pair]`)
	sim.wait(`#sim[data-state="online"]`)
	termID := eval[string](sim, `document.getElementById("sim").dataset.terminalId`)
	if !strings.HasPrefix(termID, "trm_") {
		t.Fatalf("simulator paired as %q", termID)
	}
	if tok := eval[string](sim, `sessionStorage.getItem("passerelle.sim.token") || ""`); len(tok) < 20 {
		t.Fatalf("the simulator keeps no token: %q", tok)
	}

	// A ticket posted by the till appears on the open dashboard, without
	// a reload.
	dash := b.newTab()
	dash.navigate(g.url + "/")
	dash.wait(`body[data-stream="on"]`)
	dash.wait(`[data-testid=dash-terminal] [data-testid=online]`)
	eval[chromedp.Void](dash, `window.passerelleMarker = "same page"`)
	before := eval[int](dash, `Number(document.body.dataset.liveUpdates || 0)`)
	plat := gateway.Line{Label: "PLAT N°4", Qty: 2, UnitPrice: 2350, VATRate: 1000}
	vin := gateway.Line{Label: "VIN", Qty: 1, UnitPrice: 650, VATRate: 2000}
	t5 := g.post(t, "T5", "5", plat, vin)
	dash.wait(`tr[data-ticket-id="` + t5 + `"]`)
	if m := eval[string](dash, `window.passerelleMarker || ""`); m != "same page" {
		t.Fatal("the dashboard reloaded to show the new ticket")
	}
	if after := eval[int](dash, `Number(document.body.dataset.liveUpdates || 0)`); after <= before {
		t.Errorf("data-live-updates went from %d to %d", before, after)
	}

	// F2: the table's ticket, paid in full; the card declined once, then
	// approved.
	sim.click(`[data-testid=sim-f2]`)
	simScreen(sim, "input")
	if title := sim.text(`#sim-title`); title != "NUMÉRO DE TABLE ?" {
		t.Errorf("F2's first screen is %q", title)
	}
	sim.do("type the table", chromedp.SendKeys(chromedp.CSS("#sim-input"), "5"))
	sim.click(`[data-testid=sim-ok]`)
	simScreen(sim, "ticket")
	if lines := sim.text(`#sim-lines`); !strings.Contains(lines, "PLAT N°4") || !strings.Contains(lines, "53,50") {
		t.Errorf("ticket screen shows %q", lines)
	}
	sim.click(`[data-testid=sim-choice][data-id="full"]`)
	sim.wait(`#sim-card:not([hidden])`)
	if card := sim.text(`#sim-card-text`); !strings.Contains(card, "53,50 EUR") {
		t.Errorf("card step shows %q", card)
	}
	sim.click(`[data-testid=sim-decline]`)
	simScreen(sim, "message")
	if title := sim.text(`#sim-title`); title != "PAIEMENT REFUSÉ" {
		t.Errorf("after a declined card the terminal shows %q", title)
	}
	sim.click(`[data-testid=sim-ok]`)
	simScreen(sim, "ticket")
	sim.click(`[data-testid=sim-ok]`) // OK takes the first choice: full
	sim.wait(`#sim-card:not([hidden])`)
	sim.click(`[data-testid=sim-approve]`)
	simScreen(sim, "done")
	if title := sim.text(`#sim-title`); title != "PAIEMENT ACCEPTÉ" {
		t.Errorf("after an approved card the terminal shows %q", title)
	}
	sim.wait(`[data-testid=sim-receipt]:nth-child(2)`) // F2 prints the bank ticket and the note
	receipts := eval[[]string](sim, `Array.from(document.querySelectorAll("[data-testid=sim-receipt]"), e => e.textContent)`)
	all := strings.Join(receipts, "\n")
	for _, want := range []string{"#####", "0000015000", "02189020000", "53,50", "PLAT N°4"} {
		if !strings.Contains(all, want) {
			t.Errorf("the printed receipts lack %q:\n%s", want, all)
		}
	}
	dash.waitGone(`tr[data-ticket-id="` + t5 + `"]`)
	if m := eval[string](dash, `window.passerelleMarker || ""`); m != "same page" {
		t.Fatal("the dashboard reloaded")
	}
	dash.navigate(g.url + "/tickets/" + t5)
	dash.wait(`[data-testid=ticket-status].st-paid`)
	if n := dash.count(`[data-testid=payment-row]`); n != 2 {
		t.Errorf("the paid ticket shows %d payments, want 2 (declined, approved)", n)
	}

	// Text from a till is text, in the admin page and in the simulator
	// alike: the label's markup is shown, never run.
	const xss = `<img src=x onerror=alert(1)>`
	x1 := g.post(t, "X1", "7", gateway.Line{Label: xss, Qty: 1, UnitPrice: 990, VATRate: 1000})
	sim.click(`[data-testid=sim-f1]`)
	simScreen(sim, "menu")
	sim.click(`[data-testid=sim-item][data-id="` + x1 + `"]`)
	simScreen(sim, "ticket")
	if lines := sim.text(`#sim-lines`); !strings.Contains(lines, xss) {
		t.Errorf("the simulator does not show the label as text: %q", lines)
	}
	if n := sim.count(`img[src="x"]`); n != 0 {
		t.Errorf("the simulator made %d <img src=x> of a ticket label", n)
	}
	sim.click(`[data-testid=sim-choice][data-id="full"]`)
	sim.click(`[data-testid=sim-approve]`)
	simScreen(sim, "done")
	dash.navigate(g.url + "/tickets/" + x1)
	dash.wait(`[data-testid=ticket-status].st-paid`)
	if got := dash.text(`[data-testid=line-label]`); got != xss {
		t.Errorf("ticket line shows %q, want %q", got, xss)
	}
	if n := dash.count(`img[src="x"]`); n != 0 {
		t.Errorf("the ticket page made %d <img src=x> of a ticket label", n)
	}

	// The manager aborts a payment waiting for its card: the terminal
	// stops. Then a reload in the middle of a card step: the simulator
	// comes back with its token, and the gateway learns the card step
	// never completed.
	t9 := g.post(t, "T9", "9", vin)
	sim.click(`[data-testid=sim-f2]`)
	simScreen(sim, "input")
	sim.do("type the table", chromedp.SendKeys(chromedp.CSS("#sim-input"), "9\n"))
	simScreen(sim, "ticket")
	sim.click(`[data-testid=sim-choice][data-id="full"]`)
	sim.wait(`#sim-card:not([hidden])`)
	dash.navigate(g.url + "/payments")
	dash.submit(`[data-testid=abort-payment]`)
	dash.wait(`[data-testid=notice]`)
	simScreen(sim, "message")
	if title := sim.text(`#sim-title`); title != "PAIEMENT ANNULÉ" {
		t.Errorf("after an abort the terminal shows %q", title)
	}
	sim.click(`[data-testid=sim-ok]`)
	simScreen(sim, "ticket")
	sim.click(`[data-testid=sim-choice][data-id="full"]`)
	sim.wait(`#sim-card:not([hidden])`)
	sim.do("reload the simulator", chromedp.Reload())
	sim.wait(`#sim[data-state="online"]`)
	if id := eval[string](sim, `document.getElementById("sim").dataset.terminalId`); id != termID {
		t.Errorf("after a reload the simulator is %s, not %s", id, termID)
	}
	if n := sim.count(`[data-testid=sim-receipt]`); n != 3 {
		t.Errorf("after a reload the simulator shows %d receipts, want the 3 printed", n)
	}
	waitFor(t, "the payment of T9 to end", func() bool {
		ps, err := g.st.PaymentsInProgress(context.Background())
		return err == nil && len(ps) == 0
	})
	// The gateway commits the result before its ack reaches the browser,
	// so the simulator forgets the result a moment after the store shows it.
	waitFor(t, "the simulator to forget the acknowledged result", func() bool {
		return eval[int](sim, `Object.keys(JSON.parse(sessionStorage.getItem("passerelle.sim.payments") || "{}")).length`) == 0
	})
	dash.navigate(g.url + "/tickets/" + t9)
	dash.wait(`[data-testid=ticket-status].st-open`)

	// A scenario edited with a mistake: the problem at its line, nothing
	// saved; fixed: saved and in service.
	dash.navigate(g.url + "/scenarios")
	orig := eval[string](dash, `document.getElementById("scenarios-text").value`)
	bad := strings.Replace(orig, "  F2: recherche_ticket", "  F2: recherche_inconnue", 1)
	if bad == orig {
		t.Fatal("the default scenarios have no F2 line to break")
	}
	badLine := slices.IndexFunc(strings.Split(bad, "\n"), func(l string) bool { return strings.Contains(l, "recherche_inconnue") }) + 1
	dash.do("break the scenarios", chromedp.SetValue(chromedp.CSS("#scenarios-text"), bad))
	dash.submit(`[data-testid=scenario-save]`)
	dash.wait(`[data-testid=scenario-problems]`)
	if n := dash.count(fmt.Sprintf(`[data-testid=scenario-problem][data-line="%d"]`, badLine)); n == 0 {
		t.Errorf("no problem reported at line %d: %s", badLine, dash.text(`[data-testid=scenario-problems]`))
	}
	dash.wait(fmt.Sprintf(`#L%d.bad`, badLine))
	if got := eval[string](dash, `document.getElementById("scenarios-text").value`); got != bad {
		t.Error("the text sent is not kept for fixing")
	}
	if g.scenarios.Current().Keys["F2"] != "recherche_ticket" {
		t.Fatal("a refused scenarios file was put in service")
	}
	fixed := strings.Replace(bad, "  F2: recherche_inconnue", "  F2: paiement_proximite", 1)
	dash.do("fix the scenarios", chromedp.SetValue(chromedp.CSS("#scenarios-text"), fixed))
	dash.submit(`[data-testid=scenario-save]`)
	dash.wait(`[data-testid=scenarios-saved]`)
	if got := g.scenarios.Current().Keys["F2"]; got != "paiement_proximite" {
		t.Errorf("after saving, F2 starts %q", got)
	}
	sim.click(`[data-testid=sim-f2]`)
	simScreen(sim, "menu") // F2 now starts the ticket list
	sim.click(`[data-testid=sim-cancel]`)
	simScreen(sim, "idle")

	// The simulator is pictured showing the ticket list, its receipts
	// below.
	sim.click(`[data-testid=sim-f1]`)
	simScreen(sim, "menu")
	screenshots(t, g, b, sim, "/tickets/"+t5)
	b.check()
}

// waitFor polls cond, for what the browser does not show.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(browserStep)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// screenshots saves the main pages at a phone's width and a desktop's, and
// checks that none is wider than its screen.
func screenshots(t *testing.T, g *liveGateway, b *browser, sim *tab, ticket string) {
	t.Helper()
	dir := screenshotDir(t)
	pages := []struct{ name, path string }{
		{"dashboard", "/"}, {"tickets", "/tickets"}, {"payments", "/payments"}, {"terminals", "/terminals"},
		{"tills", "/tills"}, {"scenarios", "/scenarios"}, {"report", "/report"}, {"settings", "/settings"},
		{"ticket", ticket}, {"simulator", ""}, // as it is in its own tab
	}
	other := b.newTab()
	for _, size := range []struct {
		name string
		w, h int64
		opts []chromedp.EmulateViewportOption
	}{
		{"phone", 390, 844, []chromedp.EmulateViewportOption{chromedp.EmulateMobile, chromedp.EmulateTouch}},
		{"desktop", 1366, 900, nil},
	} {
		for _, tb := range []*tab{other, sim} {
			tb.do("viewport "+size.name, chromedp.EmulateViewport(size.w, size.h, size.opts...))
		}
		for _, p := range pages {
			tb := sim
			if p.path != "" {
				tb = other
				tb.navigate(g.url + p.path)
				tb.wait(`main h1`)
			}
			// Nothing but tables, which scroll in their own box, may be
			// wider than the screen.
			if w := eval[int](tb, `document.documentElement.scrollWidth`); w > int(size.w) {
				t.Errorf("%s at %s width: the page is %d px wide, the screen %d", p.name, size.name, w, size.w)
			}
			png, err := chromedp.Run(tb.ctx, chromedp.FullScreenshot(100))
			if err != nil {
				t.Fatalf("screenshot of %s: %v", p.name, err)
			}
			if err := os.WriteFile(filepath.Join(dir, p.name+"-"+size.name+".png"), png, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	t.Logf("screenshots of %d pages at phone and desktop widths in %s", len(pages), dir)
}

// BenchmarkBrowserLiveDashboard measures, in the browser, the time from a
// till's POST to its ticket's row on an open dashboard: the event stream,
// the page's debounce, its fetch of the page and the swap.
//
//	go test -run='^$' -bench=BrowserLiveDashboard -benchtime=10x ./web/
func BenchmarkBrowserLiveDashboard(b *testing.B) {
	g := newLiveGateway(b)
	br := newBrowser(b)
	dash := br.firstTab()
	login(dash, g)
	dash.wait(`body[data-stream="on"]`)
	line := gateway.Line{Label: "CAFÉ", Qty: 1, UnitPrice: 250, VATRate: 1000}
	var ms []float64
	n := 0
	for b.Loop() {
		n++
		// The row is watched for before the POST, and timed by the
		// browser's clock, which is the machine's.
		eval[chromedp.Void](dash, `window.passerelleSeen = new Promise(resolve => {
			const before = document.querySelectorAll("[data-testid=open-ticket]").length;
			new MutationObserver((_, obs) => {
				if (document.querySelectorAll("[data-testid=open-ticket]").length > before) {
					obs.disconnect();
					resolve(performance.timeOrigin + performance.now());
				}
			}).observe(document.body, {childList: true, subtree: true});
		})`)
		start := time.Now()
		g.post(b, fmt.Sprintf("B%d", n), "", line)
		seen := eval[float64](dash, `window.passerelleSeen`, chromedp.EvalAwaitPromise)
		ms = append(ms, seen-float64(start.UnixMicro())/1000)
	}
	slices.Sort(ms)
	b.ReportMetric(ms[len(ms)/2], "ms-p50")
	b.ReportMetric(ms[0], "ms-min")
	b.ReportMetric(ms[len(ms)-1], "ms-max")
	br.check()
}
