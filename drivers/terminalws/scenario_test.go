package terminalws_test

import (
	"slices"
	"testing"

	"github.com/passerelle/passerelle/gateway"
)

// checkPaidEvents checks what the till learns of a ticket paid at once by
// payment paymentID: its stream holds, in order, the ticket's creation, the
// payment's start and approval, and the ticket paid.
func checkPaidEvents(t *testing.T, e *env, tk gateway.Ticket, paymentID string) {
	t.Helper()
	var got []string
	for _, ev := range e.tillEvents(t) {
		if ev.Data.TicketID != tk.ID {
			continue
		}
		got = append(got, ev.Type)
		if ev.Type != ev.Data.Type || ev.Data.TicketRef != tk.Ref {
			t.Errorf("event %s: data says type %s ref %s", ev.Type, ev.Data.Type, ev.Data.TicketRef)
		}
		switch ev.Type {
		case gateway.EventPaymentStarted, gateway.EventPaymentApproved:
			if ev.Data.PaymentID != paymentID {
				t.Errorf("%s: payment %s, want %s", ev.Type, ev.Data.PaymentID, paymentID)
			}
		case gateway.EventTicketPaid:
			if tkp := ev.Data.Ticket; tkp.Status != gateway.TicketPaid || tkp.Due != 0 || tkp.Paid != tk.Total {
				t.Errorf("ticket.paid: status %s paid %d due %d", tkp.Status, tkp.Paid, tkp.Due)
			}
		}
	}
	want := []string{gateway.EventTicketCreated, gateway.EventPaymentStarted, gateway.EventPaymentApproved, gateway.EventTicketPaid}
	if !slices.Equal(got, want) {
		t.Errorf("till events for ticket %s: %v, want %v", tk.Ref, got, want)
	}
}

func choiceIDs(s msg) []string {
	var out []string
	for _, c := range s.Choices {
		out = append(out, c.ID)
	}
	return out
}

// The brief's first scenario, F1 "Paiement de proximité": the waiter picks
// the ticket from the list, the client pays, the bank ticket is printed.
func TestBriefScenarioF1(t *testing.T) {
	e := newEnv(t, envOptions{})
	one := e.post(t, gateway.TicketInput{Ref: "1", Loyalty: "502",
		Lines: []gateway.Line{{Label: "PRODUIT", Qty: 2, UnitPrice: 500, VATRate: 550}}, Total: 1000})
	two := e.post(t, bill("2", "7", 2350))
	c := e.pair(t)

	c.start("F1")
	menu := c.expectScreen("menu")
	wantItems := []item{{one.ID, "TICKET 1 - 10,00"}, {two.ID, "TICKET 2 - T7 - 23,50"}}
	if menu.Title != "Sélection du ticket" || !slices.Equal(menu.Items, wantItems) {
		t.Fatalf("menu %s, want %q with %v", menu, "Sélection du ticket", wantItems)
	}
	c.answer(one.ID)
	s := c.expectScreen("ticket")
	if *s.Total != 1000 || *s.Due != 1000 || !slices.Equal(choiceIDs(s), []string{"full", "split", "amount", "tip"}) ||
		s.Choices[0].Label != "Payer 10,00" {
		t.Fatalf("ticket screen %s", s)
	}
	c.answer("full")
	pay := c.expectPay(1000)
	if pay.TicketRef != "1" || pay.Label != "DÉBIT" {
		t.Errorf("pay %s, want ticket_ref 1 and label DÉBIT", pay)
	}
	jobs, end := c.approve(pay)
	if end.Type != "done" || end.Title != "PAIEMENT ACCEPTÉ" {
		t.Errorf("scenario ends with %s", end)
	}
	if len(jobs) != 1 {
		t.Fatalf("%d print jobs, want the bank ticket alone", len(jobs))
	}
	goldenLines(t, "f1_print.golden", jobs)

	checkPaidEvents(t, e, one, pay.PaymentID)
	e.checkTicket(t, one.ID, gateway.TicketPaid, 1000, 0)
	e.checkTicket(t, two.ID, gateway.TicketOpen, 0, 2350)
}

// The brief's second scenario, F2 "Recherche d'un ticket pour règlement":
// the waiter types the table, the table's ticket shows, the client pays,
// the bank ticket and the note are printed.
func TestBriefScenarioF2(t *testing.T) {
	e := newEnv(t, envOptions{})
	e.post(t, bill("1252", "4", 1200))
	tk := e.post(t, note("1253", "5"))
	c := e.pair(t)

	s := c.table("5")
	wantLines := []string{"1 X PLAT N°4   23,50", "1 X PLAT N°1   30,00"}
	if s.Title != "Table 5" || !slices.Equal(s.Lines, wantLines) || *s.Total != 5350 || *s.Due != 5350 ||
		!slices.Equal(choiceIDs(s), []string{"full", "split", "amount"}) {
		t.Fatalf("ticket screen %s", s)
	}
	c.answer("full")
	pay := c.expectPay(5350)
	if pay.TicketRef != "1253" {
		t.Errorf("pay %s, want ticket_ref 1253", pay)
	}
	jobs, end := c.approve(pay)
	if end.Type != "done" || end.Title != "PAIEMENT ACCEPTÉ" {
		t.Errorf("scenario ends with %s", end)
	}
	if len(jobs) != 2 {
		t.Fatalf("%d print jobs, want the bank ticket and the note", len(jobs))
	}
	goldenLines(t, "f2_print.golden", jobs)

	checkPaidEvents(t, e, tk, pay.PaymentID)
	e.checkTicket(t, tk.ID, gateway.TicketPaid, 5350, 0)
}

// A table with no open ticket ends the scenario on a done that says so.
func TestScenarioNoTicketForTable(t *testing.T) {
	e := newEnv(t, envOptions{})
	e.post(t, note("1253", "5"))
	c := e.pair(t)
	c.start("F2")
	c.expectScreen("input")
	c.answer("9")
	m := c.expect("done")
	if m.Title != "Aucun ticket" || !slices.Equal(m.Lines, []string{"pour la table 9"}) {
		t.Fatalf("got %s", m)
	}
	// Idle again: F2 starts over.
	c.table("5")
}
