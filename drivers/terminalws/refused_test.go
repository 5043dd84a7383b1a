package terminalws_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/passerelle/passerelle/gateway"
)

// withExtra is r as JSON with more fields: top-level ones, and card ones.
func withExtra(t testing.TB, r result, top, inCard map[string]any) []byte {
	t.Helper()
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	for k, v := range top {
		m[k] = v
	}
	for k, v := range inCard {
		m["card"].(map[string]any)[k] = v
	}
	b, err = json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// A result is never refused for fields it does not need: a newer terminal
// app's card.aid or EMV data is ignored and logged once, and the approval
// is recorded.
func TestResultUnknownFieldsIgnored(t *testing.T) {
	e := newEnv(t, envOptions{})
	tk := e.post(t, note("1253", "5"))
	c := e.pair(t)
	c.table("5")
	c.answer("full")
	pay := c.expectPay(5350)
	data := withExtra(t, approved(pay),
		map[string]any{"emv": map[string]any{"tvr": "0000008000", "tags": []any{1, 2}}, "batch": 12},
		map[string]any{"aid": "A0000000421010", "label": "CB"})
	c.send(data)
	if a := c.expect("ack"); a.PaymentID != pay.PaymentID {
		t.Fatalf("ack for %s", a.PaymentID)
	}
	e.checkTicket(t, tk.ID, gateway.TicketPaid, 5350, 0)
	// The same copy again (no ack received, say) is acked again; the
	// fields ignored are not logged again.
	c.send(data)
	for m := c.next(); m.Type != "ack"; m = c.next() {
		if m.Type != "print" && m.Type != "screen" && m.Type != "done" {
			t.Fatalf("got %s", m)
		}
	}
	for _, f := range []string{"card.aid", "card.label", "emv", "batch"} {
		if n := strings.Count(e.logs.String(), `field=`+f+` `); n != 1 {
			t.Errorf("field %s logged %d times, want once", f, n)
		}
	}
	e.checkTicket(t, tk.ID, gateway.TicketPaid, 5350, 0)
}

// An "at" without a time zone (or not a time at all) does not cost the
// shop its approval: the gateway's time of receipt stands.
func TestResultAtWithoutZone(t *testing.T) {
	for _, at := range []string{"2026-11-25T19:45:02", "2026-11-25 19:45:02", "yesterday"} {
		t.Run(at, func(t *testing.T) {
			e := newEnv(t, envOptions{})
			tk := e.post(t, note("1253", "5"))
			c := e.pair(t)
			c.table("5")
			c.answer("full")
			pay := c.expectPay(5350)
			r := approved(pay)
			r.At = at
			c.approveWith(pay, r)
			e.checkTicket(t, tk.ID, gateway.TicketPaid, 5350, 0)
			if !strings.Contains(e.logs.String(), "field=at ") {
				t.Error("the ignored at was not logged")
			}
		})
	}
}

// A result that is refused (ambiguous: a name given twice) is not
// recorded, and the terminal is not left stuck: its session stops waiting,
// says so, and is idle again; the payment, still pending with the terminal
// online, becomes unknown at its deadline for the manager to resolve. A
// payment whose session still waits for its result stays pending.
func TestRefusedResultReleasesTerminal(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, envOptions{unlimited: true, expireEvery: 5 * time.Millisecond})
	tk := e.post(t, note("1253", "5"))
	other := e.post(t, bill("1254", "6", 2000))
	c := e.pair(t)
	waiting := e.pair(t)
	waiting.table("6")
	waiting.answer("full")
	payOther := waiting.expectPay(2000)
	expectState(t, waiting, "pay_NONE", "not_found") // its loop is past the pay

	c.table("5")
	c.answer("full")
	pay := c.expectPay(5350)
	c.send([]byte(`{"type":"payment_result","payment_id":"` + pay.PaymentID +
		`","status":"declined","status":"approved","amount":5350,"currency":"EUR"}`))
	c.expectError("bad_json")
	m := c.expect("done")
	if m.Title != "PAIEMENT NON ENREGISTRÉ" {
		t.Errorf("after the refused result: %s", m)
	}
	// Not busy, not stuck: the waiter goes on.
	c.start("F1")
	c.expectScreen("menu")
	c.send(map[string]string{"type": "cancel", "screen_id": c.screen.ScreenID})
	expectState(t, c, "pay_NONE", "not_found")

	e.payClock.Advance(2 * gateway.DefaultPaymentDeadline)
	waitUntil(t, "the refused payment is unknown", func() bool {
		p, err := e.payments.Get(ctx, pay.PaymentID)
		return err == nil && p.Status == gateway.PaymentUnknown
	})
	// The same sweep saw the other payment past its deadline too, its
	// session waiting for it.
	if p, _ := e.payments.Get(ctx, payOther.PaymentID); p.Status != gateway.PaymentPending {
		t.Errorf("the payment a terminal still waits for is %s, want pending", p.Status)
	}
	if !e.hub.Online(c.id) {
		t.Error("the terminal went offline")
	}
	if _, err := e.payments.Resolve(ctx, pay.PaymentID, gateway.PaymentDeclined); err != nil {
		t.Fatalf("the manager cannot resolve it: %v", err)
	}
	e.checkTicket(t, tk.ID, gateway.TicketOpen, 0, 5350)
	waiting.approve(payOther)
	e.checkTicket(t, other.ID, gateway.TicketPaid, 2000, 0)
}

// Each refused result of the payment a terminal waits for gets its error,
// records nothing and never echoes a card number; the session stops
// waiting and says so, the payment stays pending (reserved) for the
// deadline sweep and the manager.
func TestRefusedResults(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, envOptions{unlimited: true})
	c := e.pair(t)
	cases := []struct {
		name   string
		change func(*result)
		code   string
	}{
		{"bad status", func(r *result) { r.Status = "maybe" }, "invalid"},
		{"full card number", func(r *result) { r.Card.MaskedPAN = "4111111111111111" }, "invalid"},
		{"full card number, grouped", func(r *result) { r.Card.MaskedPAN = "4111 1111 1111 1111" }, "invalid"},
		{"first 6 and last 5", func(r *result) { r.Card.MaskedPAN = "411111######11111" }, "invalid"},
		{"last 6", func(r *result) { r.Card.MaskedPAN = "######123456" }, "invalid"},
		{"amount a string", nil, "bad_json"},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c.t = t
			table := fmt.Sprint(10 + i)
			tk := e.post(t, bill(fmt.Sprint(2000+i), table, 5350))
			c.table(table)
			c.answer("full")
			pay := c.expectPay(5350)
			events := len(e.events(t))
			r := approved(pay)
			if tc.change != nil {
				tc.change(&r)
				c.send(r)
			} else {
				c.send([]byte(`{"type":"payment_result","payment_id":"` + pay.PaymentID + `","status":"approved","amount":"53,50"}`))
			}
			m := c.expectError(tc.code)
			if strings.Contains(m.Message, "4111") {
				t.Errorf("the error repeats the card number: %s", m)
			}
			if s := c.expect("done"); s.Title != "PAIEMENT NON ENREGISTRÉ" {
				t.Errorf("after the refused result: %s", s)
			}
			if n := len(e.events(t)); n != events {
				t.Errorf("%d events appended by a refused result", n-events)
			}
			if p, _ := e.payments.Get(ctx, pay.PaymentID); p.Status != gateway.PaymentPending {
				t.Errorf("payment %s, want pending", p.Status)
			}
			e.checkTicket(t, tk.ID, gateway.TicketOpen, 0, 5350)
		})
	}
	c.t = t
	if strings.Contains(e.logs.String(), "4111") {
		t.Errorf("the gateway logged a card number")
	}
}
