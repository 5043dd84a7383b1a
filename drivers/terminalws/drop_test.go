package terminalws_test

import (
	"testing"

	"github.com/passerelle/passerelle/gateway"
)

// The link drops at each boundary of a payment's messages. Whatever the
// boundary, the terminal reconnects with its token and the payment ends
// exactly once: approved if the card was charged, cancelled if the card
// step never ran; never twice, and the ticket's paid, due and status agree.
func TestDropAtEachBoundary(t *testing.T) {
	cases := []struct {
		name string
		// run drops the link somewhere in the payment of the table's
		// ticket, shown on c, reconnects and settles the payment; it
		// reports whether the card was charged.
		run func(t *testing.T, e *env, c *term) (charged bool)
	}{
		{"before pay, status_request answered not_found", func(t *testing.T, e *env, c *term) bool {
			c.answer("full")
			c.drop() // the pay request is lost
			c = reconnectAfterDrop(t, e, c)
			r := c.expect("status_request")
			c.send(paymentState(r.PaymentID, "not_found"))
			expectState(t, c, r.PaymentID, "cancelled")
			return false
		}},
		{"after pay, status_request answered not_found", func(t *testing.T, e *env, c *term) bool {
			c.answer("full")
			pay := c.expectPay(5350)
			c.drop() // before the card step
			c = reconnectAfterDrop(t, e, c)
			if r := c.expect("status_request"); r.PaymentID != pay.PaymentID {
				t.Fatalf("status_request for %s, want %s", r.PaymentID, pay.PaymentID)
			}
			c.send(paymentState(pay.PaymentID, "not_found"))
			expectState(t, c, pay.PaymentID, "cancelled")
			return false
		}},
		{"before the result, status_request answered with it", func(t *testing.T, e *env, c *term) bool {
			c.answer("full")
			pay := c.expectPay(5350)
			c.drop() // the card was charged, the result not sent
			c = reconnectAfterDrop(t, e, c)
			if r := c.expect("status_request"); r.PaymentID != pay.PaymentID {
				t.Fatalf("status_request for %s, want %s", r.PaymentID, pay.PaymentID)
			}
			c.send(approved(pay))
			c.expect("ack")
			expectState(t, c, pay.PaymentID, "approved")
			return true
		}},
		{"before the result, terminal resumes", func(t *testing.T, e *env, c *term) bool {
			c.answer("full")
			pay := c.expectPay(5350)
			c.drop()
			c = reconnectAfterDrop(t, e, c)
			c.expect("status_request")
			expectState(t, c, pay.PaymentID, "pending")
			c.send(approved(pay))
			c.expect("ack")
			return true
		}},
		{"after the result, before the ack", func(t *testing.T, e *env, c *term) bool {
			c.answer("full")
			pay := c.expectPay(5350)
			c.send(approved(pay))
			c.drop() // the ack, if any, is lost
			c = e.reconnect(t, c)
			// The terminal got no ack: it sends its result again. The
			// gateway may still be committing the first copy, and then
			// asks about the payment too.
			c.send(approved(pay))
			switch m := c.next(); m.Type {
			case "status_request":
				c.send(approved(pay))
				c.expect("ack")
				c.expect("ack")
			case "ack":
			default:
				t.Fatalf("got %s, want an ack", m)
			}
			expectState(t, c, pay.PaymentID, "approved")
			return true
		}},
		{"after the result, before the ack, terminal resumes", func(t *testing.T, e *env, c *term) bool {
			c.answer("full")
			pay := c.expectPay(5350)
			c.send(approved(pay))
			c.drop()
			c = reconnectAfterDrop(t, e, c)
			expectState(t, c, pay.PaymentID, "approved")
			return true
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, envOptions{unlimited: true})
			tk := e.post(t, note("1253", "5"))
			c := e.pair(t)
			c.table("5")
			charged := tc.run(t, e, c)

			got := e.ticket(t, tk.ID)
			n := statuses(got)
			if len(got.Payments) != 1 {
				t.Fatalf("%d payments, want 1: %v", len(got.Payments), n)
			}
			id := got.Payments[0].ID
			if charged {
				e.checkTicket(t, tk.ID, gateway.TicketPaid, 5350, 0)
				if n[gateway.PaymentApproved] != 1 {
					t.Errorf("payments %v, want 1 approved", n)
				}
				if k := e.countEvents(t, gateway.EventPaymentApproved, id); k != 1 {
					t.Errorf("%d payment.approved events, want 1", k)
				}
				if k := e.countEvents(t, gateway.EventTicketPaid, ""); k != 1 {
					t.Errorf("%d ticket.paid events, want 1", k)
				}
				return
			}
			e.checkTicket(t, tk.ID, gateway.TicketOpen, 0, 5350)
			if n[gateway.PaymentCancelled] != 1 {
				t.Errorf("payments %v, want 1 cancelled", n)
			}
			if k := e.countEvents(t, gateway.EventPaymentCancelled, id); k != 1 {
				t.Errorf("%d payment.cancelled events, want 1", k)
			}
			// Nothing was charged: the ticket is paid anew, once.
			c = e.reconnect(t, c)
			c.table("5")
			c.answer("full")
			c.approve(c.expectPay(5350))
			e.checkTicket(t, tk.ID, gateway.TicketPaid, 5350, 0)
			if k := e.countEvents(t, gateway.EventPaymentApproved, ""); k != 1 {
				t.Errorf("%d payment.approved events, want 1", k)
			}
		})
	}
}

// reconnectAfterDrop waits until the gateway has handled what the dropped
// connection sent (its connection is gone, and the ticket's payment exists),
// then reconnects.
func reconnectAfterDrop(t *testing.T, e *env, c *term) *term {
	t.Helper()
	waitUntil(t, "the dropped terminal is offline", func() bool { return !e.hub.Online(c.id) })
	return e.reconnect(t, c)
}

// expectState asks about a payment with resume and checks the answer.
func expectState(t *testing.T, c *term, paymentID, status string) {
	t.Helper()
	c.send(map[string]string{"type": "resume", "payment_id": paymentID})
	m := c.expect("payment_state")
	if m.PaymentID != paymentID || m.Status != status {
		t.Fatalf("got %s, want payment %s %s", m, paymentID, status)
	}
}
