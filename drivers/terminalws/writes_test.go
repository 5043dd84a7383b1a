package terminalws_test

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// The gateway pings a terminal every PingInterval while it does nothing,
// one ping after another, and goes on serving it.
func TestPingsIdleTerminal(t *testing.T) {
	e := newEnv(t, envOptions{pingInterval: time.Millisecond})
	ws, _, err := e.dial(nil)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	t.Cleanup(func() { ws.Close() })
	pings := make(chan struct{}, 1)
	ws.SetPingHandler(func(data string) error {
		select {
		case pings <- struct{}{}:
		default:
		}
		return ws.WriteControl(websocket.PongMessage, []byte(data), time.Now().Add(wait))
	})
	c := &term{t: t, ws: ws, in: make(chan msg, 1024)}
	go c.read()
	c.send(hello("pairing_code", e.code(t)))
	c.expect("welcome")
	timer := time.NewTimer(wait)
	defer timer.Stop()
	for i := range 3 {
		select {
		case <-pings:
		case <-timer.C:
			t.Fatalf("%d pings in %v", i, wait)
		}
	}
	expectState(t, c, "pay_NONE", "not_found") // still served
}

// A terminal that stops reading is dropped once OutboxSize messages wait
// for it: the gateway neither queues for it without bound nor waits for it.
func TestSlowTerminalDropped(t *testing.T) {
	e := newEnv(t, envOptions{unlimited: true})
	ws, _, err := e.dial(nil)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	t.Cleanup(func() { ws.Close() }) // before the hub stops: the gateway's blocked write fails
	ws.SetWriteDeadline(time.Now().Add(wait))
	ws.SetReadDeadline(time.Now().Add(wait))
	if err := ws.WriteJSON(hello("pairing_code", e.code(t))); err != nil {
		t.Fatal(err)
	}
	var welcome msg
	if err := ws.ReadJSON(&welcome); err != nil || welcome.Type != "welcome" {
		t.Fatalf("welcome: %+v, %v", welcome, err)
	}
	waitUntil(t, "the terminal online", func() bool { return e.hub.Online(welcome.TerminalID) })
	ws.SetWriteDeadline(time.Time{})
	// Every resume is answered with its payment ID, 16 KiB of it here, so
	// that the sockets' buffers fill after a few hundred answers; the
	// terminal reads none of them.
	resume, _ := json.Marshal(map[string]string{"type": "resume", "payment_id": strings.Repeat("x", 16<<10)})
	// The terminal writes until the gateway stops reading it, or the
	// test ends and closes it.
	written := make(chan struct{})
	go func() {
		defer close(written)
		for ws.WriteMessage(websocket.TextMessage, resume) == nil {
		}
	}()
	t.Cleanup(func() {
		ws.Close()
		<-written
	})
	waitUntil(t, "the terminal dropped", func() bool { return !e.hub.Online(welcome.TerminalID) })
	if !strings.Contains(e.logs.String(), `reason="terminal too slow to read"`) {
		t.Errorf("the terminal went offline, but not as too slow to read:\n%s", e.logs.String())
	}
}

// A connection that ends says why in its close frame, once what was queued
// before is written.
func TestCloseFrameSaysWhy(t *testing.T) {
	e := newEnv(t, envOptions{})
	old := e.pair(t)
	e.reconnect(t, old)
	err := old.expectClosed()
	var ce *websocket.CloseError
	if !errors.As(err, &ce) || ce.Code != websocket.CloseNormalClosure || ce.Text != "replaced by a new connection" {
		t.Fatalf("the replaced connection ended with %v", err)
	}
}
