package terminalws_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/gorilla/websocket"

	"github.com/passerelle/passerelle/drivers/terminalws"
	"github.com/passerelle/passerelle/gateway"
)

// Bad messages, sent while a payment waits for its result, each get an
// error and change nothing: no event, the payment still pending, the
// connection still up.
func TestBadMessagesChangeNothing(t *testing.T) {
	e := newEnv(t, envOptions{unlimited: true}) // rate: see TestMessageRateLimit
	tk := e.post(t, note("1253", "5"))
	c := e.pair(t)
	c.table("5")
	c.answer("full")
	pay := c.expectPay(5350)
	events := len(e.events(t))

	otherPayment := approved(pay)
	otherPayment.PaymentID = "pay_NOTAPAYMENT"
	big := `{"type":"printed","job_id":"` + strings.Repeat("x", terminalws.MaxFrame) + `"}`

	cases := []struct {
		name string
		send any // a value to encode, or the frame's bytes
		code string
	}{
		{"unknown type", []byte(`{"type":"bogus"}`), "unknown_type"},
		{"no type", []byte(`{"screen_id":"s1","value":"x"}`), "bad_json"},
		{"bad JSON", []byte(`{"type":"answer",`), "bad_json"},
		{"not an object", []byte(`[1,2,3]`), "bad_json"},
		{"trailing data", []byte(`{"type":"printed","job_id":"x"} {}`), "bad_json"},
		{"unknown field", []byte(`{"type":"resume","payment_id":"x","extra":1}`), "bad_json"},
		{"wrong field type", []byte(`{"type":"payment_result","payment_id":"x","amount":"10"}`), "bad_json"},
		{"oversized frame", []byte(big), "too_large"},
		{"answer to a screen not shown", map[string]string{"type": "answer", "screen_id": "s999", "value": "x"}, "no_screen"},
		{"cancel during the payment", map[string]string{"type": "cancel", "screen_id": c.screen.ScreenID}, "no_screen"},
		{"hello again", hello("token", c.token), "invalid"},
		{"start during the payment", map[string]string{"type": "start", "key": "F1"}, "busy"},
		{"result of an unknown payment", otherPayment, "unknown_payment"},
		// A refused result for the payment itself: TestRefusedResults.
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c.t = t
			c.send(tc.send)
			m := c.expectError(tc.code)
			if m.Message == "" {
				t.Errorf("error %s without a message", tc.code)
			}
			if strings.Contains(m.Message, "4111") {
				t.Errorf("the error repeats the card number: %s", m)
			}
			// Still connected, and the payment still waits.
			expectState(t, c, pay.PaymentID, "pending")
		})
	}
	c.t = t
	t.Run("binary frame", func(t *testing.T) {
		c.t = t
		if err := c.ws.WriteMessage(websocket.BinaryMessage, []byte(`{"type":"printed","job_id":"x"}`)); err != nil {
			t.Fatal(err)
		}
		c.expectError("bad_json")
		expectState(t, c, pay.PaymentID, "pending")
	})
	c.t = t
	if n := len(e.events(t)); n != events {
		t.Errorf("%d events appended by bad messages", n-events)
	}
	e.checkTicket(t, tk.ID, gateway.TicketOpen, 0, 5350)
	if strings.Contains(e.logs.String(), "4111") {
		t.Errorf("the gateway logged a card number")
	}
	// The payment goes on as if nothing had happened.
	c.approve(pay)
	e.checkTicket(t, tk.ID, gateway.TicketPaid, 5350, 0)
}

// Bad messages in a row disconnect the terminal; a good one in between
// starts the count again.
func TestTooManyBadMessages(t *testing.T) {
	e := newEnv(t, envOptions{})
	c := e.pair(t)
	for range terminalws.MaxBadMessages - 1 {
		c.send([]byte(`{"type":"bogus"}`))
		c.expectError("unknown_type")
	}
	expectState(t, c, "pay_NONE", "not_found") // a good message
	for range terminalws.MaxBadMessages - 1 {
		c.send([]byte(`{"type":"bogus"}`))
		c.expectError("unknown_type")
	}
	c.send([]byte(`{"type":"bogus"}`))
	c.expectError("unknown_type")
	if err := c.expectClosed(); !isClosed(err) {
		t.Fatalf("connection ended with %v", err)
	}
}

// A frame over the hard limit closes the connection at once: it is not
// even read whole.
func TestHardFrameLimit(t *testing.T) {
	e := newEnv(t, envOptions{})
	c := e.pair(t)
	c.trySend([]byte(`{"type":"printed","job_id":"` + strings.Repeat("x", terminalws.HardReadLimit) + `"}`))
	err := c.expectClosed()
	if !isClosed(err) {
		t.Fatalf("connection ended with %v", err)
	}
	if websocket.IsCloseError(err, websocket.CloseNormalClosure) {
		t.Errorf("closed as normal: %v, want message too big", err)
	}
}

// The first message must be hello.
func TestAnswerBeforeHello(t *testing.T) {
	e := newEnv(t, envOptions{})
	c := e.connect(t)
	c.send(map[string]string{"type": "answer", "screen_id": "s1", "value": "1"})
	c.expectError("unauthorized")
	c.expectClosed()
}

// A sustained rate of messages over the limit disconnects; a burst under
// it does not.
func TestMessageRateLimit(t *testing.T) {
	e := newEnv(t, envOptions{})
	c := e.pair(t)
	printed := []byte(`{"type":"printed","job_id":"prn_1"}`)
	for range terminalws.MessageBurst / 2 {
		c.send(printed)
	}
	expectState(t, c, "pay_NONE", "not_found")
	for range 10 * terminalws.MessageBurst {
		if c.trySend(printed) != nil {
			break // closed under our feet
		}
	}
	c.expectError("rate_limited")
	if err := c.expectClosed(); !isClosed(err) {
		t.Fatalf("connection ended with %v", err)
	}
}

// Terminal apps send no Origin; a web page's upgrade carries its own and
// is refused unless it is the gateway's.
func TestOrigin(t *testing.T) {
	e := newEnv(t, envOptions{})
	host := strings.TrimPrefix(e.srv.URL, "http://")
	cases := []struct {
		origin string
		want   int
	}{
		{"", http.StatusSwitchingProtocols},
		{"http://" + host, http.StatusSwitchingProtocols},
		{"https://evil.example", http.StatusForbidden},
		{"http://" + host + ".evil.example", http.StatusForbidden},
		{"http://evil.example/" + host, http.StatusForbidden},
		{"null", http.StatusForbidden},
	}
	for _, tc := range cases {
		h := http.Header{}
		if tc.origin != "" {
			h.Set("Origin", tc.origin)
		}
		ws, resp, err := e.dial(h)
		if resp == nil {
			t.Fatalf("Origin %q: %v", tc.origin, err)
		}
		if resp.StatusCode != tc.want {
			t.Errorf("Origin %q: status %d, want %d", tc.origin, resp.StatusCode, tc.want)
		}
		if ws != nil {
			ws.Close()
		}
	}
}

// Revoking a terminal closes its connection at once, and its token stops
// working.
func TestRevokeWhileConnected(t *testing.T) {
	e := newEnv(t, envOptions{})
	c := e.pair(t)
	other := e.pair(t)
	if _, err := e.terminals.Revoke(context.Background(), c.id); err != nil {
		t.Fatal(err)
	}
	if err := c.expectClosed(); !isClosed(err) {
		t.Fatalf("connection ended with %v", err)
	}
	again := e.connect(t)
	again.send(hello("token", c.token))
	again.expectError("unauthorized")
	again.expectClosed()
	// The other terminal is not affected.
	expectState(t, other, "pay_NONE", "not_found")
}
