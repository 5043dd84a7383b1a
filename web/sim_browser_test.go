package web_test

// The browser simulator (static/sim.js) on protocol v1.1, in a real
// headless Chromium against a whole gateway (browser_test.go has the
// tools). What the page receives and sends is watched by a wrapper of its
// WebSocket, installed before any of the page's scripts runs: the shipped
// page has no hook for tests.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/passerelle/passerelle/gateway"
)

// wsSpy is the wrapper: window.passerelleSpy records the subprotocols the
// page offered and the one chosen, every message received and sent, and
// the items the page showed when it asked a snapshot. It drops the next
// spy.drop list_delta frames, as a frame lost on the way would be, and
// passes the next one through spy.rewrite when it is set. With
// offer not nil, the connection offers that instead of the page's choice,
// as an older gateway would narrow it.
const wsSpy = `(() => {
	const Native = window.WebSocket;
	const spy = window.passerelleSpy = {offered: null, chosen: "", received: [], sent: [], dropped: [], drop: 0, rewrite: null, shownAtSnapshot: null};
	const offer = %s;
	window.WebSocket = class extends Native {
		constructor(url, protocols) {
			spy.offered = protocols;
			super(url, offer || protocols);
			this.addEventListener("open", () => { spy.chosen = this.protocol; });
		}
		get onmessage() { return super.onmessage; }
		set onmessage(fn) {
			super.onmessage = (e) => {
				let m = JSON.parse(e.data);
				if (m.type === "list_delta" && spy.drop > 0) {
					spy.drop--;
					spy.dropped.push(m);
					return;
				}
				if (m.type === "list_delta" && spy.rewrite) {
					m = spy.rewrite(m);
					spy.rewrite = null;
					e = new MessageEvent("message", {data: JSON.stringify(m)});
				}
				spy.received.push(m);
				fn.call(this, e);
			};
		}
		send(data) {
			const m = JSON.parse(data);
			if (m.type === "snapshot") {
				spy.shownAtSnapshot = Array.from(document.querySelectorAll("[data-testid=sim-item]"), e => e.textContent);
			}
			spy.sent.push(m);
			super.send(data);
		}
	};
})();`

// simTab opens a tab whose WebSocket is spied on (offering offer if not
// nil), on the simulator, paired.
func simTab(t *testing.T, b *browser, g *liveGateway, offer []string) *tab {
	t.Helper()
	sim := b.newTab()
	o := "null"
	if offer != nil {
		j, _ := json.Marshal(offer)
		o = string(j)
	}
	ctx, cancel := context.WithTimeout(sim.ctx, browserStep)
	defer cancel()
	if _, err := chromedp.Call(ctx, page.AddScriptToEvaluateOnNewDocument,
		page.AddScriptToEvaluateOnNewDocumentParams{Source: fmt.Sprintf(wsSpy, o)}); err != nil {
		t.Fatalf("install the WebSocket spy: %v", err)
	}
	sim.navigate(g.url + "/simulator")
	sim.wait(`#sim[data-state="off"]`)
	sim.click(`[data-testid=sim-pair]`)
	sim.wait(`#sim[data-state="online"]`)
	return sim
}

// simItems returns the menu shown, an item a line: "<id> <label>".
func simItems(sim *tab) []string {
	sim.t.Helper()
	return eval[[]string](sim, `Array.from(document.querySelectorAll("[data-testid=sim-item]"), e => e.dataset.id + " " + e.textContent)`)
}

// simCount returns a counter of the simulator's (data-deltas,
// data-snapshots).
func simCount(sim *tab, name string) int {
	sim.t.Helper()
	return eval[int](sim, `Number(document.getElementById("sim").getAttribute("data-`+name+`") || 0)`)
}

// spied returns how many messages of type typ the page received, or sent.
func spied(sim *tab, list, typ string) int {
	sim.t.Helper()
	return eval[int](sim, fmt.Sprintf(`window.passerelleSpy.%s.filter(m => m.type === %q).length`, list, typ))
}

// tillSend sends a request to the till API as the till does, and fails
// the test unless it answers want.
func (g *liveGateway) tillSend(t testing.TB, method, path string, body any, want int) {
	t.Helper()
	var r *bytes.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		r = bytes.NewReader(b)
	} else {
		r = bytes.NewReader(nil)
	}
	req, _ := http.NewRequest(method, g.url+path, r)
	req.Header.Set("Authorization", "Bearer "+g.tillKey)
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != want {
		t.Fatalf("till %s %s: %d, want %d", method, path, res.StatusCode, want)
	}
}

func item(id string) string { return `[data-testid=sim-item][data-id="` + id + `"]` }

func TestBrowserSimulatorV11(t *testing.T) {
	if testing.Short() {
		t.Skip("a browser test: not with -short")
	}
	g := newLiveGateway(t)
	b := newBrowser(t)
	login(b.firstTab(), g)
	dish := func(cents int64) gateway.Line {
		return gateway.Line{Label: "PLAT", Qty: 1, UnitPrice: cents, VATRate: 1000}
	}
	a1 := g.post(t, "A1", "1", dish(1000))
	a2 := g.post(t, "A2", "2", dish(2000))

	// The ticket list follows the tills' changes as list_delta frames: a
	// ticket posted, one whose amount changes, one cancelled.
	sim := simTab(t, b, g, nil)
	if got := eval[[]string](sim, `window.passerelleSpy.offered`); !slices.Equal(got, []string{"passerelle.v1.1", "passerelle.v1"}) {
		t.Errorf("the page offers %q", got)
	}
	if got := eval[string](sim, `document.getElementById("sim").dataset.protocol + " " + window.passerelleSpy.chosen`); got != "passerelle.v1.1 passerelle.v1.1" {
		t.Errorf("protocol shown and chosen: %q", got)
	}
	sim.click(`[data-testid=sim-f1]`)
	simScreen(sim, "menu")
	if got, want := simItems(sim), []string{a1 + " TICKET A1 - T1 - 10,00", a2 + " TICKET A2 - T2 - 20,00"}; !slices.Equal(got, want) {
		t.Fatalf("the ticket list shows %q, want %q", got, want)
	}
	a3 := g.post(t, "A3", "3", dish(3000))
	sim.wait(item(a3))
	g.tillSend(t, http.MethodPost, "/api/v1/tickets",
		map[string]any{"ref": "A2", "table": "2", "server": "Léa", "lines": []gateway.Line{dish(2500)}, "total": 2500}, http.StatusOK)
	waitFor(t, "the list to show A2's new amount", func() bool {
		return slices.Contains(simItems(sim), a2+" TICKET A2 - T2 - 25,00")
	})
	g.tillSend(t, http.MethodDelete, "/api/v1/tickets/"+a1, nil, http.StatusOK)
	sim.waitGone(item(a1))
	rebuilt := simItems(sim)
	if want := []string{a2 + " TICKET A2 - T2 - 25,00", a3 + " TICKET A3 - T3 - 30,00"}; !slices.Equal(rebuilt, want) {
		t.Errorf("after the changes the list shows %q, want %q", rebuilt, want)
	}
	deltas := spied(sim, "received", "list_delta")
	if deltas < 3 || simCount(sim, "deltas") != deltas {
		t.Errorf("the page received %d list_delta and applied %d, want 3 or more, all applied", deltas, simCount(sim, "deltas"))
	}
	if n := simCount(sim, "snapshots"); n != 0 {
		t.Errorf("the page asked %d snapshots, want none", n)
	}
	if n := spied(sim, "received", "screen"); n != 1 {
		t.Errorf("the page received %d screens, want the first menu only", n)
	}
	wantNote(sim, "tDelta", "delta")
	// An answer names the screen_id of the last delta: the gateway takes it.
	sim.click(item(a3))
	simScreen(sim, "ticket")
	if lines := sim.text(`#sim-lines`); !strings.Contains(lines, "30,00") {
		t.Errorf("A3 chosen from the list shows %q", lines)
	}
	// The list rebuilt from deltas is the list sent whole.
	sim.click(`[data-testid=sim-cancel]`)
	simScreen(sim, "idle")
	sim.click(`[data-testid=sim-f1]`)
	simScreen(sim, "menu")
	if whole := simItems(sim); !slices.Equal(whole, rebuilt) {
		t.Errorf("the list sent whole is %q, the one rebuilt from deltas %q", whole, rebuilt)
	}
	sim.click(`[data-testid=sim-cancel]`)
	simScreen(sim, "idle")

	// A list_delta lost on the way (A2's amount changed): the next one
	// (B1 posted) does not follow the menu shown, so the page changes
	// nothing, asks a snapshot, and shows the menu whole that answers it.
	lost := simTab(t, b, g, nil)
	lost.click(`[data-testid=sim-f1]`)
	simScreen(lost, "menu")
	before := simItems(lost)
	menuID := eval[string](lost, `document.getElementById("sim-screen").dataset.screenId`)
	eval[chromedp.Void](lost, `window.passerelleSpy.drop = 1`)
	g.tillSend(t, http.MethodPost, "/api/v1/tickets",
		map[string]any{"ref": "A2", "table": "2", "server": "Léa", "lines": []gateway.Line{dish(2600)}, "total": 2600}, http.StatusOK)
	waitFor(t, "the spy to drop the list_delta of A2's change", func() bool {
		return eval[int](lost, `window.passerelleSpy.dropped.length`) == 1
	})
	if got := simItems(lost); !slices.Equal(got, before) {
		t.Errorf("with A2's delta lost, the list shows %q, want %q", got, before)
	}
	b1 := g.post(t, "B1", "4", dish(4000))
	lost.wait(item(b1))
	want := []string{a2 + " TICKET A2 - T2 - 26,00", a3 + " TICKET A3 - T3 - 30,00", b1 + " TICKET B1 - T4 - 40,00"}
	if got := simItems(lost); !slices.Equal(got, want) {
		t.Errorf("after the snapshot the list shows %q, want %q", got, want)
	}
	if n, d := simCount(lost, "snapshots"), simCount(lost, "deltas"); n != 1 || d != 0 {
		t.Errorf("the page asked %d snapshots and applied %d deltas, want 1 and 0", n, d)
	}
	shown := eval[[]string](lost, `window.passerelleSpy.shownAtSnapshot`)
	var labels []string
	for _, it := range before {
		labels = append(labels, it[strings.IndexByte(it, ' ')+1:])
	}
	if !slices.Equal(shown, labels) {
		t.Errorf("when it asked the snapshot the page showed %q, want %q unchanged", shown, labels)
	}
	if got := eval[string](lost, `JSON.stringify(window.passerelleSpy.sent.filter(m => m.type === "snapshot"))`); got != `[{"type":"snapshot","screen_id":"`+menuID+`"}]` {
		t.Errorf("the page sent %s, want one snapshot of screen %s", got, menuID)
	}
	wantNote(lost, "tSnapshot", "snapshot")

	// Deltas that break one rule each, made of the one a new ticket sends:
	// none is applied, each gets a snapshot, whose menu has the ticket.
	// Then deltas apply again.
	for i, forge := range []struct{ rule, js string }{
		{"removes an item not shown", `m => Object.assign(m, {removed: ["tkt_not_shown"], added: []})`},
		{"changes an item not shown", `m => Object.assign(m, {changed: [{id: "tkt_not_shown", label: "FORGED"}]})`},
		{"adds an item twice", `m => Object.assign(m, {added: [m.added[0], m.added[0]]})`},
		{"adds after an item not shown", `m => Object.assign(m, {added: [Object.assign({}, m.added[0], {after: "tkt_not_shown"})]})`},
		{"makes a version other than from + 1", `m => Object.assign(m, {version: m.version + 1})`},
	} {
		eval[chromedp.Void](lost, `window.passerelleSpy.rewrite = `+forge.js)
		ref := fmt.Sprintf("F%d", i+1)
		id := g.post(t, ref, "8", dish(100))
		lost.wait(item(id))
		want = append(want, id+" TICKET "+ref+" - T8 - 1,00")
		if got := simItems(lost); !slices.Equal(got, want) {
			t.Errorf("a delta that %s: the list shows %q, want %q", forge.rule, got, want)
		}
		if n, d := simCount(lost, "snapshots"), simCount(lost, "deltas"); n != 2+i || d != 0 {
			t.Errorf("a delta that %s: the page asked %d snapshots and applied %d deltas, want %d and 0", forge.rule, n, d, 2+i)
		}
	}
	b2 := g.post(t, "B2", "5", dish(5000))
	lost.wait(item(b2))
	if n, d := simCount(lost, "snapshots"), simCount(lost, "deltas"); n != 6 || d != 1 {
		t.Errorf("the page asked %d snapshots and applied %d deltas, want 6 and 1", n, d)
	}
	lost.click(item(b1))
	simScreen(lost, "ticket")
	if lines := lost.text(`#sim-lines`); !strings.Contains(lines, "40,00") {
		t.Errorf("B1 chosen from the list shows %q", lines)
	}

	// A gateway that speaks only v1: menus come whole, as before.
	v1 := simTab(t, b, g, []string{"passerelle.v1"})
	if got := eval[string](v1, `document.getElementById("sim").dataset.protocol`); got != "passerelle.v1" {
		t.Errorf("v1 only: the page says %q", got)
	}
	v1.click(`[data-testid=sim-f1]`)
	simScreen(v1, "menu")
	c1 := g.post(t, "C1", "7", dish(7000))
	v1.wait(item(c1))
	if n := spied(v1, "received", "list_delta"); n != 0 {
		t.Errorf("v1 only: the page received %d list_delta", n)
	}
	if n := eval[int](v1, `window.passerelleSpy.received.filter(m => m.type === "screen" && "version" in m).length`); n != 0 {
		t.Errorf("v1 only: %d screens with a version", n)
	}
	if n := spied(v1, "received", "screen"); n < 2 {
		t.Errorf("v1 only: %d screens received, want the menu and its refresh", n)
	}
	v1.click(item(c1))
	simScreen(v1, "ticket")
	b.check()
}

// wantNote checks that the simulator's log says, in the page's language
// (data-t-<what>), what it did.
func wantNote(sim *tab, key, what string) {
	sim.t.Helper()
	text := eval[string](sim, `document.getElementById("sim").dataset.`+key)
	if text == "" {
		sim.t.Fatalf("the page has no data-t- attribute for %s", what)
	}
	notes := eval[[]string](sim, `Array.from(document.querySelectorAll("#sim-log li.note"), e => e.textContent)`)
	prefix := "· " + strings.SplitN(text, "%s", 2)[0]
	if !slices.ContainsFunc(notes, func(n string) bool { return strings.HasPrefix(n, prefix) }) {
		sim.t.Errorf("the log has no %s note %q: %q", what, prefix, notes)
	}
}

// TestBrowserSimulatorPages: the page tells 16 display rows, so a v1.1
// gateway sends it menus of 15 tickets a page; its buttons turn them, and
// a ticket posted onto the page shown arrives there.
func TestBrowserSimulatorPages(t *testing.T) {
	if testing.Short() {
		t.Skip("a browser test: not with -short")
	}
	g := newLiveGateway(t)
	b := newBrowser(t)
	login(b.firstTab(), g)
	dish := []gateway.Line{{Label: "PLAT", Qty: 1, UnitPrice: 1000, VATRate: 1000}}
	var ids []string
	for i := range 17 {
		ids = append(ids, g.post(t, fmt.Sprintf("P%02d", i), "4", dish...))
	}
	sim := simTab(t, b, g, nil)
	sim.click(`[data-testid=sim-f1]`)
	simScreen(sim, "menu")
	shown := func() []string {
		return eval[[]string](sim, `Array.from(document.querySelectorAll("[data-testid=sim-item]"), e => e.dataset.id)`)
	}
	buttons := func() string {
		return eval[string](sim, `Array.from(document.querySelectorAll(".sim-page"), e => e.dataset.testid).join(" ")`)
	}
	if got := shown(); !slices.Equal(got, ids[:15]) || buttons() != "sim-page-next" {
		t.Fatalf("page 1 shows %d tickets and buttons %q, want the first 15 and a next", len(got), buttons())
	}
	sim.click(`[data-testid=sim-page-next]`)
	sim.wait(item(ids[16]))
	if got := shown(); !slices.Equal(got, ids[15:]) || buttons() != "sim-page-prev" {
		t.Fatalf("page 2 shows %v and buttons %q, want %v and a previous", got, buttons(), ids[15:])
	}
	late := g.post(t, "P17", "4", dish...)
	sim.wait(item(late))
	if n := simCount(sim, "deltas"); n < 1 {
		t.Errorf("the ticket posted onto page 2 came in %d deltas", n)
	}
	sim.click(`[data-testid=sim-page-prev]`)
	sim.wait(item(ids[0]))
	if got := shown(); !slices.Equal(got, ids[:15]) {
		t.Errorf("back on page 1: %v", got)
	}
	b.check()
}
