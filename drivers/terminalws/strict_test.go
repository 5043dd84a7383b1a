package terminalws_test

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/passerelle/passerelle/drivers/terminalws"
	"github.com/passerelle/passerelle/gateway"
)

// Every message is decoded as strictly as a till's ticket: names exactly as
// spelt, each once. encoding/json alone takes "STATUS" for "status" and
// lets the last of two win, so a result could say declined and approved at
// once and be recorded approved.
func TestAmbiguousMessagesRefused(t *testing.T) {
	e := newEnv(t, envOptions{unlimited: true})
	tk := e.post(t, note("1253", "5"))
	c := e.pair(t)
	c.table("5")
	c.answer("full")
	pay := c.expectPay(5350)

	// A request spelt in another case, or twice, does nothing.
	for _, m := range []string{
		`{"type":"start","KEY":"F1"}`,
		`{"type":"start","key":"F2","key":"F1"}`,
		`{"type":"start","Type":"resume","key":"F1"}`,
		`{"type":"resume","payment_id":"` + pay.PaymentID + `","PAYMENT_ID":"pay_OTHER"}`,
	} {
		c.send([]byte(m))
		c.expectError("bad_json")
	}

	// A result that says two things is not recorded.
	ambiguous := []string{
		`,"status":"declined","STATUS":"approved"}`,
		`,"status":"declined","status":"approved"}`,
		`,"status":"declined","ſtatus":"approved"}`, // U+017F folds to s in encoding/json
		`,"status":"approved","card":{"scheme":"CB","SCHEME":"VISA","masked_pan":"#####5743"}}`,
	}
	for _, tail := range ambiguous {
		head := `{"type":"payment_result","payment_id":"` + pay.PaymentID + `","amount":5350,"currency":"EUR"`
		c.send([]byte(head + tail))
		if m := c.next(); m.Type != "error" || m.Code != "bad_json" {
			t.Fatalf("%s: got %s, want error bad_json", tail, m)
		}
		drainScreens(c)
	}
	if p, _ := e.payments.Get(context.Background(), pay.PaymentID); p.Status != gateway.PaymentPending {
		t.Fatalf("payment %s after ambiguous results, want pending", p.Status)
	}
	e.checkTicket(t, tk.ID, gateway.TicketOpen, 0, 5350)
}

// drainScreens takes the screens the gateway sends after a refusal, if
// any, up to the answer to a status question.
func drainScreens(c *term) {
	c.t.Helper()
	c.send(paymentState("pay_NONE", "pending"))
	c.send(map[string]string{"type": "resume", "payment_id": "pay_NONE"})
	for {
		m := c.next()
		if m.Type == "payment_state" && m.PaymentID == "pay_NONE" {
			return
		}
		if m.Type != "screen" && m.Type != "done" {
			c.t.Fatalf("got %s, want a screen or the payment_state", m)
		}
	}
}

// The size limit applies to hello too, before anything is decoded.
func TestHelloOverFrameLimit(t *testing.T) {
	e := newEnv(t, envOptions{})
	c := e.connect(t)
	h := []byte(`{"type":"hello","pairing_code":"` + e.code(t) + `","serial":"SIM0001","model":"SIM-1","app_version":"1.0.0"}`)
	padded := append(bytes.Repeat([]byte(" "), terminalws.MaxFrame), h...)
	c.send(padded)
	if m := c.next(); m.Type != "error" || m.Code != "too_large" {
		t.Fatalf("got %s, want error too_large", m)
	}
	c.expectClosed()
	if strings.Contains(e.logs.String(), "terminal connected") {
		t.Error("a hello over the limit connected a terminal")
	}
}
