package terminalws_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/passerelle/passerelle/gateway"
)

// 100,00 € split in 3: parts of 33,34 + 33,33 + 33,33, each paid by its
// own card; the note comes once, after the last part.
func TestSplitInThree(t *testing.T) {
	e := newEnv(t, envOptions{})
	tk := e.post(t, bill("1300", "5", 10000))
	c := e.pair(t)

	c.table("5")
	c.answer("split")
	if s := c.expectScreen("input"); s.Title != "NOMBRE DE PARTS ?" {
		t.Fatalf("split asks %s", s)
	}
	c.answer("3")
	var paid []string
	cards := []string{"#####5743", "#####0019", "497010######8281"}
	for i, amount := range []int64{3334, 3333, 3333} {
		pay := c.expectPay(amount)
		paid = append(paid, pay.PaymentID)
		r := approved(pay) // each guest's own card
		r.Card.MaskedPAN, r.AuthCode = cards[i], fmt.Sprintf("18556%d", i)
		jobs, next := c.approveWith(pay, r)
		if i < 2 {
			want := fmt.Sprintf("PART %d/3", i+2)
			if len(jobs) != 1 || next.Type != "screen" || next.Title != want ||
				!slices.Equal(choiceIDs(next), []string{"next", "stop"}) {
				t.Fatalf("after part %d: %d print jobs then %s, want the bank ticket then %q", i+1, len(jobs), next, want)
			}
			c.answer("next")
			continue
		}
		if len(jobs) != 2 || next.Type != "done" {
			t.Fatalf("after the last part: %d print jobs then %s, want bank ticket, note, done", len(jobs), next)
		}
		note := strings.Join(jobs[1], "\n")
		for _, want := range []string{"CB #####5743               33,34", "CB #####0019               33,33",
			"CB 497010######8281        33,33"} {
			if !strings.Contains(note, want) {
				t.Errorf("the note lacks %q:\n%s", want, note)
			}
		}
	}
	got := e.checkTicket(t, tk.ID, gateway.TicketPaid, 10000, 0)
	var amounts []int64
	for i, p := range got.Payments {
		if p.Status != gateway.PaymentApproved || i >= len(paid) || p.ID != paid[i] || p.Card.MaskedPAN != cards[i] {
			t.Errorf("payment %d: %s is %s by %s, want %v approved by %v", i, p.ID, p.Status, p.Card.MaskedPAN, paid, cards)
		}
		amounts = append(amounts, p.Amount)
	}
	if !slices.Equal(amounts, []int64{3334, 3333, 3333}) {
		t.Errorf("payments %v, want 3334 3333 3333", amounts)
	}
	if n := e.countEvents(t, gateway.EventPaymentApproved, ""); n != 3 {
		t.Errorf("%d payment.approved events, want 3", n)
	}
	if n := e.countEvents(t, gateway.EventTicketPaid, ""); n != 1 {
		t.Errorf("%d ticket.paid events, want 1", n)
	}
}

// Part of the bill on one terminal, the rest on another.
func TestPartialThenRestOnAnotherTerminal(t *testing.T) {
	e := newEnv(t, envOptions{})
	tk := e.post(t, bill("1301", "5", 10000))
	a, b := e.pair(t), e.pair(t)
	if a.name == b.name {
		t.Fatalf("two terminals named %q", a.name)
	}

	a.table("5")
	a.answer("amount")
	a.expectScreen("input")
	a.answer("4000")
	first := a.expectPay(4000)
	if _, end := a.approve(first); end.Type != "done" {
		t.Fatalf("after a partial payment: %s", end)
	}
	e.checkTicket(t, tk.ID, gateway.TicketPartiallyPaid, 4000, 6000)

	s := b.table("5")
	if *s.Due != 6000 || *s.Total != 10000 || !slices.Contains(s.Lines, "DÉJÀ PAYÉ   40,00") || s.Choices[0].Label != "Payer 60,00" {
		t.Fatalf("second terminal's ticket screen %s", s)
	}
	b.answer("full")
	rest := b.expectPay(6000)
	b.approve(rest)
	got := e.checkTicket(t, tk.ID, gateway.TicketPaid, 10000, 0)
	if n := statuses(got); n[gateway.PaymentApproved] != 2 || len(got.Payments) != 2 {
		t.Errorf("payments %v, want 2 approved", n)
	}
	if got.Payments[1].DeviceID != b.id || got.Payments[0].DeviceID != a.id {
		t.Errorf("payments made on %s and %s, want %s then %s", got.Payments[0].Terminal, got.Payments[1].Terminal, a.name, b.name)
	}
}

// A result sent twice (the terminal got no ack the first time) is acked
// twice and recorded once.
func TestResultTwiceIsRecordedOnce(t *testing.T) {
	e := newEnv(t, envOptions{})
	tk := e.post(t, note("1253", "5"))
	c := e.pair(t)
	c.table("5")
	c.answer("full")
	pay := c.expectPay(5350)
	c.approve(pay)
	c.send(approved(pay))
	if a := c.expect("ack"); a.PaymentID != pay.PaymentID {
		t.Fatalf("second ack for %s", a.PaymentID)
	}
	got := e.checkTicket(t, tk.ID, gateway.TicketPaid, 5350, 0)
	if len(got.Payments) != 1 {
		t.Errorf("%d payments, want 1", len(got.Payments))
	}
	if n := e.countEvents(t, gateway.EventPaymentApproved, pay.PaymentID); n != 1 {
		t.Errorf("%d payment.approved events, want 1", n)
	}
	if n := e.countEvents(t, gateway.EventTicketPaid, ""); n != 1 {
		t.Errorf("%d ticket.paid events, want 1", n)
	}
}

// A refusal followed by the approval of the same payment (the bank's
// answer came late): the approval is kept, and the ticket, paid meanwhile
// by a second payment, is overpaid.
func TestLateApprovalIsKept(t *testing.T) {
	for _, first := range []string{"declined", "cancelled"} {
		t.Run(first, func(t *testing.T) {
			e := newEnv(t, envOptions{})
			tk := e.post(t, note("1253", "5"))
			c := e.pair(t)
			c.table("5")
			c.answer("full")
			pay1 := c.expectPay(5350)
			r := declined(pay1)
			r.Status = first
			c.send(r)
			c.expect("ack")
			m := c.expectScreen("message")
			if want := map[string]string{"declined": "PAIEMENT REFUSÉ", "cancelled": "PAIEMENT ANNULÉ"}[first]; m.Title != want {
				t.Fatalf("after %s: %s, want %q", first, m, want)
			}
			c.answer("")
			c.expectScreen("ticket") // back to the ticket, to pay again
			e.checkTicket(t, tk.ID, gateway.TicketOpen, 0, 5350)

			c.answer("full")
			pay2 := c.expectPay(5350)
			c.approve(pay2)
			e.checkTicket(t, tk.ID, gateway.TicketPaid, 5350, 0)

			c.send(approved(pay1))
			c.expect("ack")
			got := e.checkTicket(t, tk.ID, gateway.TicketOverpaid, 10700, 0)
			if n := statuses(got); n[gateway.PaymentApproved] != 2 {
				t.Errorf("payments %v, want both approved", n)
			}
			if n := e.countEvents(t, gateway.EventPaymentApproved, pay1.PaymentID); n != 1 {
				t.Errorf("%d payment.approved events for the late one, want 1", n)
			}
			if n := e.countEvents(t, gateway.EventTicketPaid, ""); n != 1 {
				t.Errorf("%d ticket.paid events, want 1", n)
			}
			// A refusal after the approval changes nothing.
			c.send(declined(pay1))
			c.expect("ack")
			e.checkTicket(t, tk.ID, gateway.TicketOverpaid, 10700, 0)
		})
	}
}

// A payment left pending past its deadline, its terminal gone, becomes
// unknown: its amount stays reserved, and when the terminal comes back it
// is asked, and its approval settles the ticket. Another is resolved by
// the manager.
func TestDeadlineUnknownThenSettled(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, envOptions{deadline: 1})
	offline := func(gateway.Payment) bool { return false }

	tk := e.post(t, note("1253", "5"))
	c := e.pair(t)
	c.table("5")
	c.answer("full")
	pay := c.expectPay(5350)
	c.drop()
	waitUntil(t, "the terminal is offline", func() bool { return !e.hub.Online(c.id) })

	if n, err := e.payments.Expire(ctx, e.hub.Running); err != nil || n != 1 {
		t.Fatalf("Expire: %d, %v; want 1", n, err)
	}
	if p, _ := e.payments.Get(ctx, pay.PaymentID); p.Status != gateway.PaymentUnknown {
		t.Fatalf("payment is %s, want unknown", p.Status)
	}
	if n := e.countEvents(t, gateway.EventPaymentUnknown, pay.PaymentID); n != 1 {
		t.Errorf("%d payment.unknown events, want 1", n)
	}
	e.checkTicket(t, tk.ID, gateway.TicketOpen, 0, 5350)

	// Reserved: another terminal cannot pay it meanwhile.
	other := e.pair(t)
	other.table("5")
	other.answer("full")
	if m := other.expect("done"); m.Title != "Ticket en cours de paiement sur "+c.name {
		t.Fatalf("second terminal got %s", m)
	}

	c = e.reconnect(t, c)
	if r := c.expect("status_request"); r.PaymentID != pay.PaymentID {
		t.Fatalf("status_request for %s, want %s", r.PaymentID, pay.PaymentID)
	}
	c.send(approved(pay))
	c.expect("ack")
	e.checkTicket(t, tk.ID, gateway.TicketPaid, 5350, 0)

	// The manager resolves the one whose terminal never comes back.
	tk2 := e.post(t, bill("1254", "6", 2000))
	other.table("6")
	other.answer("full")
	pay2 := other.expectPay(2000)
	other.drop()
	waitUntil(t, "the terminal is offline", func() bool { return !e.hub.Online(other.id) })
	if n, err := e.payments.Expire(ctx, offline); err != nil || n != 1 {
		t.Fatalf("Expire: %d, %v; want 1", n, err)
	}
	if _, err := e.payments.Resolve(ctx, pay2.PaymentID, gateway.PaymentApproved); err != nil {
		t.Fatal(err)
	}
	e.checkTicket(t, tk2.ID, gateway.TicketPaid, 2000, 0)
	if n := e.countEvents(t, gateway.EventTicketPaid, ""); n != 2 {
		t.Errorf("%d ticket.paid events, want 2", n)
	}
}

// The manager aborts a payment: the terminal is asked to stop, answers
// with its result, and the waiter is back on the ticket.
func TestAbort(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, envOptions{})
	tk := e.post(t, note("1253", "5"))
	c := e.pair(t)
	c.table("5")
	c.answer("full")
	pay := c.expectPay(5350)
	if ok, err := e.hub.Abort(ctx, pay.PaymentID); !ok || err != nil {
		t.Fatalf("Abort: %v, %v", ok, err)
	}
	if m := c.expect("abort"); m.PaymentID != pay.PaymentID {
		t.Fatalf("abort of %s", m.PaymentID)
	}
	r := declined(pay)
	r.Status = "cancelled"
	c.send(r)
	c.expect("ack")
	if m := c.expectScreen("message"); m.Title != "PAIEMENT ANNULÉ" {
		t.Fatalf("after the abort: %s", m)
	}
	e.checkTicket(t, tk.ID, gateway.TicketOpen, 0, 5350)
	var cerr *gateway.ConflictError
	if _, err := e.hub.Abort(ctx, pay.PaymentID); !errors.As(err, &cerr) {
		t.Errorf("Abort of a cancelled payment: %v, want a conflict", err)
	}
}

// The till cancels a ticket while a terminal pays it: 409, and the terminal
// is asked to abort; once it reports the payment cancelled, the till's retry
// cancels the ticket.
func TestTillCancelAbortsPayment(t *testing.T) {
	e := newEnv(t, envOptions{})
	tk := e.post(t, note("1253", "5"))
	c := e.pair(t)
	c.table("5")
	c.answer("full")
	pay := c.expectPay(5350)

	del := func() (int, string) {
		req, _ := http.NewRequest("DELETE", e.srv.URL+"/api/v1/tickets/"+tk.ID, nil)
		req.Header.Set("Authorization", "Bearer "+e.tillKey)
		resp, err := e.srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, body := del(); code != http.StatusConflict || !strings.Contains(body, "asked to abort") {
		t.Fatalf("DELETE while paying: %d %s", code, body)
	}
	if m := c.expect("abort"); m.PaymentID != pay.PaymentID {
		t.Fatalf("abort of %s, want %s", m.PaymentID, pay.PaymentID)
	}
	r := declined(pay)
	r.Status = "cancelled"
	c.send(r)
	c.expect("ack")
	if code, body := del(); code != http.StatusOK {
		t.Fatalf("DELETE after the abort: %d %s", code, body)
	}
	e.checkTicket(t, tk.ID, gateway.TicketCancelled, 0, 0)
}
