package terminalws_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/passerelle/passerelle/drivers/terminalws"
	"github.com/passerelle/passerelle/gateway"
)

// Black-box checks of the frames the gateway sends against
// shared/spec/terminal-protocol.md, each through a real WebSocket terminal.

// nextRaw returns the next message as it came, refreshes included.
func (c *term) nextRaw() msg {
	c.t.Helper()
	timer := time.NewTimer(wait)
	defer timer.Stop()
	select {
	case m, ok := <-c.in:
		if !ok {
			c.t.Fatalf("connection closed: %v", c.err)
		}
		if m.Type == "screen" {
			c.screen = m
		}
		return m
	case <-timer.C:
		c.t.Fatalf("no message from the gateway in %v", wait)
	}
	return msg{}
}

// cancel cancels a ticket as its till does, over HTTP.
func (e *env) cancel(t testing.TB, id string) {
	t.Helper()
	req, err := http.NewRequest("DELETE", e.srv.URL+"/api/v1/tickets/"+id, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+e.tillKey)
	resp, err := e.srv.Client().Do(req)
	if err != nil {
		t.Fatalf("DELETE ticket: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("DELETE ticket: status %d", resp.StatusCode)
	}
}

// hasField reports whether the message's JSON names field with exactly
// the value given (as JSON).
func hasField(m msg, field, value string) bool {
	return bytes.Contains(m.raw, []byte(`"`+field+`":`+value))
}

// A message screen of timeout_s 0 waits for a key: the field says so,
// it is not left out as if the terminal should pick a time of its own.
func TestMessageScreenSaysTimeoutZero(t *testing.T) {
	e := newEnv(t, envOptions{scenarios: `
keys:
  F1: s
scenarios:
  s:
    title: S
    steps:
      - step: message
        title: PATIENCE
        timeout_s: 0
      - step: message
        title: UN INSTANT
        timeout_s: 2
      - step: done
        title: FIN
`})
	c := e.pair(t)
	c.start("F1")
	m := c.expectScreen("message")
	if !hasField(m, "timeout_s", "0") {
		t.Fatalf("message screen of timeout 0 sent as %s: want \"timeout_s\":0", m)
	}
	c.answer("")
	if m := c.expectScreen("message"); !hasField(m, "timeout_s", "2") {
		t.Fatalf("got %s", m)
	}
	c.answer("")
	if end := c.expect("done"); end.Title != "FIN" {
		t.Fatalf("got %s", end)
	}
}

// A list of tickets that a change empties is refreshed as the spec's menu
// with its items, none: "items":[], same screen, so that the next ticket
// posted shows on it.
func TestEmptiedListIsAnEmptyMenu(t *testing.T) {
	e := newEnv(t, envOptions{})
	tk := e.post(t, bill("1", "4", 1200))
	c := e.pair(t)
	c.start("F1")
	menu := c.expectScreen("menu")
	e.cancel(t, tk.ID)
	m := c.nextRaw()
	if m.Type != "screen" || m.ScreenID != menu.ScreenID || m.Kind != "menu" || !hasField(m, "items", "[]") {
		t.Fatalf("emptied list refreshed as %s, want the same menu with \"items\":[]", m)
	}
	two := e.post(t, bill("2", "5", 1500))
	m = c.nextRaw()
	if m.ScreenID != menu.ScreenID || len(m.Items) != 1 || m.Items[0].ID != two.ID {
		t.Fatalf("got %s, want the list with ticket 2", m)
	}
	c.answer(two.ID)
	c.expectScreen("ticket")
}

// Screens the engine ends by itself end on the spec's done, with their
// title and lines: shown for 3 s, nothing to answer, no empty done after
// them that would wait for a key.
func TestEngineEndsOnDone(t *testing.T) {
	e := newEnv(t, envOptions{})
	tk := e.post(t, note("1253", "5"))
	c := e.pair(t)

	c.start("F2")
	c.expectScreen("input")
	c.answer("9")
	end := c.expect("done")
	if end.Title != "Aucun ticket" || !slices.Equal(end.Lines, []string{"pour la table 9"}) || end.TimeoutS != 3 {
		t.Fatalf("no ticket for table 9: got %s, want done \"Aucun ticket\" \"pour la table 9\" for 3 s", end)
	}

	c.table("5")
	e.cancel(t, tk.ID)
	end = c.expect("done")
	if end.Title != "Ticket annulé" || !slices.Equal(end.Lines, []string{"TICKET 1253"}) || end.TimeoutS != 3 {
		t.Fatalf("ticket cancelled under the terminal: got %s, want done \"Ticket annulé\" for 3 s", end)
	}
	// Idle: nothing to answer, and a key starts a scenario at once.
	c.send(map[string]string{"type": "answer", "screen_id": end.ScreenID, "value": ""})
	c.expectError("no_screen")
	c.start("F2")
	c.expectScreen("input")
}

// pairWith pairs a new terminal whose hello is changed by edit.
func (e *env) pairWith(t testing.TB, edit func(h map[string]any)) *term {
	t.Helper()
	h := hello("pairing_code", e.code(t))
	edit(h)
	c := e.connect(t)
	c.send(h)
	w := c.expect("welcome")
	c.id, c.name, c.token = w.TerminalID, w.Name, w.Token
	return c
}

// widest is the longest print line, in characters.
func widest(jobs [][]string) int {
	n := 0
	for _, lines := range jobs {
		for _, l := range lines {
			n = max(n, len([]rune(l)))
		}
	}
	return n
}

// A printer narrower than a receipt can be laid out for (24 columns), or
// wider than it is useful (64), gets its receipts at the nearest width it
// can take: the terminal is not refused for its printer.
func TestPrinterWidthsOutOfRange(t *testing.T) {
	for _, tc := range []struct{ cols, want int }{{20, 24}, {80, 64}} {
		e := newEnv(t, envOptions{})
		e.post(t, note("1253", "5"))
		c := e.pairWith(t, func(h map[string]any) { h["printer"] = map[string]int{"cols": tc.cols} })
		c.table("5")
		c.answer("full")
		jobs, end := c.approve(c.expectPay(5350))
		if len(jobs) != 2 || end.Title != "PAIEMENT ACCEPTÉ" {
			t.Fatalf("printer of %d columns: %d print jobs, then %s", tc.cols, len(jobs), end)
		}
		if w := widest(jobs); w != tc.want {
			t.Errorf("printer of %d columns: receipts %d columns wide, want %d", tc.cols, w, tc.want)
		}
		// And again with its token: not locked out either.
		e.reconnect(t, c)
	}
}

// A terminal that says no printer (hello without printer) gets no print
// job: the print steps are skipped.
func TestNoPrinterNoPrintJobs(t *testing.T) {
	e := newEnv(t, envOptions{})
	tk := e.post(t, note("1253", "5"))
	c := e.pairWith(t, func(h map[string]any) { delete(h, "printer") })
	c.table("5")
	c.answer("full")
	jobs, end := c.approve(c.expectPay(5350))
	if len(jobs) != 0 || end.Type != "done" || end.Title != "PAIEMENT ACCEPTÉ" {
		t.Fatalf("terminal without a printer: %d print jobs, then %s", len(jobs), end)
	}
	e.checkTicket(t, tk.ID, gateway.TicketPaid, 5350, 0)
}

// A terminal renamed while connected goes by its new name at once: its
// own keys (scenarios.yaml's terminals:, by name) and the name its
// payments record, without reconnecting.
func TestRenameAppliesAtOnce(t *testing.T) {
	e := newEnv(t, envOptions{unlimited: true, scenarios: `
keys:
  F1: general
  F2: payer
terminals:
  "Terminal bar":
    F1: bar
scenarios:
  general:
    title: G
    steps:
      - step: message
        title: GENERAL
      - step: done
        title: FIN
  bar:
    title: B
    steps:
      - step: message
        title: BAR
      - step: done
        title: FIN
  payer:
    title: P
    steps:
      - step: pick_ticket
        title: Tickets
      - step: pay
      - step: done
        title: FIN
`})
	tk := e.post(t, bill("1", "4", 1200))
	c := e.pair(t)
	c.start("F1")
	if m := c.expectScreen("message"); m.Title != "GENERAL" {
		t.Fatalf("before the rename: %s", m)
	}
	c.send(map[string]string{"type": "cancel", "screen_id": c.screen.ScreenID})

	if _, err := e.terminals.Rename(context.Background(), c.id, "Terminal bar"); err != nil {
		t.Fatal(err)
	}
	// The rename reaches the connection through the event log, as a
	// revocation does: press the key until the bar's scenario starts.
	deadline := time.Now().Add(wait)
	for {
		c.start("F1")
		m := c.expectScreen("message")
		c.send(map[string]string{"type": "cancel", "screen_id": m.ScreenID})
		if m.Title == "BAR" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("F1 still starts %s after the rename, want BAR", m.Title)
		}
	}
	c.start("F2")
	c.expectScreen("menu")
	c.answer(tk.ID)
	pay := c.expectPay(1200)
	p, err := e.payments.Get(context.Background(), pay.PaymentID)
	if err != nil || p.Terminal != "Terminal bar" {
		t.Fatalf("payment recorded for terminal %q (%v), want the new name", p.Terminal, err)
	}
}

// update posts a ticket the till has already sent, changed.
func (e *env) update(t testing.TB, in gateway.TicketInput) {
	t.Helper()
	if status, _ := e.postStatus(t, in); status != http.StatusOK {
		t.Fatalf("POST ticket again: status %d", status)
	}
}

// The input screens asked from the ticket screen (parts, amount, tip)
// follow the ticket as the ticket screen does: a change to what is due
// brings the ticket screen back, refreshed (the number typed would be
// for the old amount); a ticket cancelled or paid meanwhile ends the
// scenario on a done that says so.
func TestInputScreensFollowTheTicket(t *testing.T) {
	e := newEnv(t, envOptions{})
	e.post(t, note("1253", "5"))
	c := e.pair(t)
	c.table("5")
	c.answer("amount")
	in := c.expectScreen("input")

	more := note("1253", "5")
	more.Lines = append(more.Lines, gateway.Line{Label: "CAFÉ", Qty: 1, UnitPrice: 250, VATRate: 1000})
	more.Total += 250
	e.update(t, more)
	s := c.expectScreen("ticket")
	if *s.Due != 5600 || s.ScreenID == in.ScreenID {
		t.Fatalf("after the ticket changed under the amount screen: %s, want the ticket screen due 56,00", s)
	}
	c.answer("amount")
	c.expectScreen("input")
	c.answer("5600")
	c.expectPay(5600)

	tk := e.post(t, bill("77", "6", 3000))
	other := e.pair(t)
	other.table("6")
	other.answer("split")
	other.expectScreen("input")
	e.cancel(t, tk.ID)
	if end := other.expect("done"); end.Title != "Ticket annulé" {
		t.Fatalf("ticket cancelled under the parts screen: got %s", end)
	}
}

// The terminal protocol is spoken under its subprotocol only: an upgrade
// that offers none, or only others, is refused with 400 before it is a
// WebSocket, saying which one to offer. One that offers it among others
// gets it.
func TestSubprotocolRequired(t *testing.T) {
	e := newEnv(t, envOptions{})
	url := "ws" + strings.TrimPrefix(e.srv.URL, "http") + "/ws/terminal"
	for _, offered := range [][]string{nil, {"chat.v2"}, {"passerelle.v2"}} {
		d := websocket.Dialer{Subprotocols: offered, HandshakeTimeout: wait}
		ws, resp, err := d.Dial(url, nil)
		if err == nil {
			ws.Close()
			t.Fatalf("offering %q: connected with subprotocol %q, want the upgrade refused", offered, ws.Subprotocol())
		}
		if resp == nil || resp.StatusCode != http.StatusBadRequest {
			t.Fatalf("offering %q: %v, want 400", offered, err)
		}
		body, _ := io.ReadAll(resp.Body)
		if !strings.Contains(string(body), terminalws.Subprotocol) {
			t.Errorf("offering %q: the refusal says %q, not which subprotocol to offer", offered, body)
		}
	}
	d := websocket.Dialer{Subprotocols: []string{"chat.v2", terminalws.Subprotocol}, HandshakeTimeout: wait}
	ws, _, err := d.Dial(url, nil)
	if err != nil {
		t.Fatalf("offering it among others: %v", err)
	}
	defer ws.Close()
	if ws.Subprotocol() != terminalws.Subprotocol {
		t.Errorf("subprotocol %q", ws.Subprotocol())
	}
}

// dateLine is the bank ticket's line of its date, trimmed.
func dateLine(t testing.TB, lines []string) string {
	t.Helper()
	for _, l := range lines {
		if l = strings.TrimSpace(l); strings.HasPrefix(l, "LE ") {
			return l
		}
	}
	t.Fatalf("no date on the bank ticket %q", lines)
	return ""
}

// The bank ticket shows when the bank made the transaction: the result's
// at, a time with its zone, printed in the shop's; the gateway's time of
// receipt only when at is missing or has no zone. Its duplicata shows
// the same, however late the result came.
func TestBankTicketShowsTheBankTime(t *testing.T) {
	e := newEnv(t, envOptions{})
	for i, tc := range []struct{ at, want string }{
		{"2026-11-25T17:30:00+01:00", "LE 25/11/26 17:30:00"},  // the terminal's clock, in Paris
		{"2026-11-25T16:31:05.250Z", "LE 25/11/26 17:31:05"},   // in UTC
		{"2026-11-25T17:30:00", "LE 25/11/26 19:45:02"},        // no zone: the time of receipt
		{"", "LE 25/11/26 19:45:02"},                           // none: the time of receipt
		{"2026-11-25T17:30:00+01:00 ", "LE 25/11/26 19:45:02"}, // not RFC 3339
		{"2026-11-25T18:45:02+00:00", "LE 25/11/26 19:45:02"},  // the same instant
	} {
		tk := e.post(t, bill(fmt.Sprint("B", i), "", 1000))
		c := e.pair(t)
		c.start("F1")
		c.expectScreen("menu")
		c.answer(tk.ID)
		c.expectScreen("ticket")
		c.answer("full")
		pay := c.expectPay(1000)
		r := approved(pay)
		r.At = tc.at
		jobs, _ := c.approveWith(pay, r)
		if len(jobs) != 1 {
			t.Fatalf("at %q: %d print jobs", tc.at, len(jobs))
		}
		if got := dateLine(t, jobs[0]); got != tc.want {
			t.Errorf("at %q: the bank ticket says %q, want %q", tc.at, got, tc.want)
		}
	}
}

// A masked card number is printed whole on one line, on the note and on
// the bank ticket, at 24 columns too: split, "####" above "#### 5743" no
// longer reads as a card number.
func TestMaskedPANNeverSplit(t *testing.T) {
	for _, pan := range []string{"#### #### #### 5743", "4970 10## #### #### 5743", "497010-######-5743"} {
		e := newEnv(t, envOptions{})
		e.post(t, note("1253", "5"))
		c := e.pairWith(t, func(h map[string]any) { h["printer"] = map[string]int{"cols": 24} })
		c.table("5")
		c.answer("full")
		pay := c.expectPay(5350)
		r := approved(pay)
		r.Card.MaskedPAN = pan
		jobs, _ := c.approveWith(pay, r)
		if len(jobs) != 2 {
			t.Fatalf("%d print jobs", len(jobs))
		}
		for i, what := range []string{"bank ticket", "note"} {
			whole := false
			for _, l := range jobs[i] {
				whole = whole || strings.Contains(l, pan) || strings.Contains(l, strings.NewReplacer(" ", "", "-", "").Replace(pan))
			}
			if !whole {
				t.Errorf("%s at 24 columns splits the card number %q:\n%s", what, pan, strings.Join(jobs[i], "\n"))
			}
		}
	}
}

// prints collects the print jobs up to the next screen or done, which it
// returns, answering printed.
func (c *term) prints() ([][]string, msg) {
	c.t.Helper()
	var jobs [][]string
	for {
		m := c.next()
		switch m.Type {
		case "print":
			jobs = append(jobs, m.Lines)
			c.send(map[string]string{"type": "printed", "job_id": m.JobID})
		case "screen", "done":
			return jobs, m
		default:
			c.t.Fatalf("got %s among print jobs", m)
		}
	}
}

// checkDuplicata fails unless jobs are the bank ticket and the note of
// ticket 1253 paid by the brief's card at 17:30:00 Paris time, each
// headed DUPLICATA.
func checkDuplicata(t *testing.T, jobs [][]string) {
	t.Helper()
	if len(jobs) != 2 {
		t.Fatalf("%d print jobs, want the bank ticket and the note", len(jobs))
	}
	for _, lines := range jobs {
		if strings.TrimSpace(lines[0]) != "DUPLICATA" {
			t.Errorf("a reprint headed %q, want DUPLICATA", lines[0])
		}
	}
	if got := dateLine(t, jobs[0]); got != "LE 25/11/26 17:30:00" {
		t.Errorf("duplicata of the bank ticket dated %q, want the bank's time", got)
	}
	bank, note := strings.Join(jobs[0], "\n"), strings.Join(jobs[1], "\n")
	if !strings.Contains(bank, "AUTO : 185568") || !strings.Contains(bank, "53,50 EUR") {
		t.Errorf("bank ticket duplicata:\n%s", bank)
	}
	if !strings.Contains(note, "NOTE N° 1253") || !strings.Contains(note, "CB #####5743") {
		t.Errorf("note duplicata:\n%s", note)
	}
}

// A terminal that lost its connection during the payment printed nothing
// for it: once the result is settled on reconnection, its duplicata key
// (F4 in the default scenarios, a reprint step) prints the bank ticket
// and the note again, marked DUPLICATA, the bank ticket as the bank dated
// it. The admin page's reprint sends the same to the terminal.
func TestReprintAfterReconnect(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, envOptions{})
	e.post(t, note("1253", "5"))
	c := e.pair(t)

	c.start("F4")
	if end := c.expect("done"); end.Title != "Rien à réimprimer" {
		t.Fatalf("nothing paid yet: got %s", end)
	}

	c.table("5")
	c.answer("full")
	pay := c.expectPay(5350)
	c.drop()
	waitUntil(t, "the terminal is offline", func() bool { return !e.hub.Online(c.id) })
	if ok, err := e.hub.Reprint(ctx, pay.PaymentID); err == nil {
		t.Fatalf("reprint of a pending payment: %v, %v; want refused", ok, err)
	}
	c = e.reconnect(t, c)
	if r := c.expect("status_request"); r.PaymentID != pay.PaymentID {
		t.Fatalf("status_request for %s", r.PaymentID)
	}
	r := approved(pay)
	r.At = "2026-11-25T17:30:00+01:00" // the card; the result reaches the gateway at 19:45
	c.send(r)
	c.expect("ack")

	c.start("F4")
	jobs, end := c.prints()
	if end.Type != "done" || end.Title != "DUPLICATA IMPRIMÉ" {
		t.Fatalf("after the reprint: %s", end)
	}
	checkDuplicata(t, jobs)

	// From the admin page: to the terminal that took it, while connected.
	if ok, err := e.hub.Reprint(ctx, pay.PaymentID); !ok || err != nil {
		t.Fatalf("reprint from the admin page: %v, %v", ok, err)
	}
	var admin [][]string
	for len(admin) < 2 {
		m := c.expect("print")
		admin = append(admin, m.Lines)
		c.send(map[string]string{"type": "printed", "job_id": m.JobID})
	}
	checkDuplicata(t, admin)
	c.drop()
	waitUntil(t, "the terminal is offline", func() bool { return !e.hub.Online(c.id) })
	if ok, err := e.hub.Reprint(ctx, pay.PaymentID); ok || err != nil {
		t.Fatalf("reprint with the terminal gone: %v, %v; want not sent, no error", ok, err)
	}
}
