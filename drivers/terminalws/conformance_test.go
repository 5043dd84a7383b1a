package terminalws_test

import (
	"bytes"
	"context"
	"net/http"
	"slices"
	"testing"
	"time"

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

var _ = context.Background
var _ = gateway.ScreenMenu
