package terminalws_test

import (
	"slices"
	"strconv"
	"testing"

	"github.com/passerelle/passerelle/gateway"
)

// Scenarios of the tests below: an amount typed in an input step (F3), a
// split with no print step after pay (F4), a waiter's own tickets (F5).
const ruleScenarios = `
keys:
  F3: amount
  F4: split
  F5: julie
scenarios:
  amount:
    steps:
      - {step: input, title: TABLE, input: numeric, var: table}
      - {step: lookup, by: table}
      - {step: input, title: MONTANT, input: numeric, var: amount}
      - {step: pay}
      - {step: done, title: FIN}
  split:
    steps:
      - {step: input, title: TABLE, input: numeric, var: table}
      - {step: lookup, by: table}
      - {step: show_ticket, choices: [split]}
      - {step: pay}
      - {step: done, title: PAIEMENT ACCEPTÉ}
  julie:
    steps:
      - {step: pick_ticket, title: MES TICKETS, server: Julie}
      - {step: show_ticket, choices: [full]}
      - {step: pay}
      - {step: done, title: FIN}
`

// Typing 0 as the amount is refused and the amount screen stays; so is an
// amount above what is due. Neither pays the whole due.
func TestTerminalAmountZeroRefused(t *testing.T) {
	e := newEnv(t, envOptions{scenarios: ruleScenarios})
	tk := e.post(t, note("1253", "5"))
	c := e.pair(t)
	c.start("F3")
	c.expectScreen("input")
	c.answer("5")
	amount := c.expectScreen("input")
	if amount.Title != "MONTANT" {
		t.Fatalf("got %s, want the amount asked", amount)
	}
	for _, bad := range []string{"0", "5351"} {
		c.answer(bad)
		c.expectError("bad_answer")
	}
	c.answer("1000")
	pay := c.expectPay(1000)
	if _, end := c.approve(pay); end.Type != "done" {
		t.Fatalf("ends with %s", end)
	}
	e.checkTicket(t, tk.ID, gateway.TicketPartiallyPaid, 1000, 4350)
}

// A split's parts follow pay with no print step after it, and a split
// stopped early ends on a screen that says what is still due.
func TestTerminalSplitWithoutPrint(t *testing.T) {
	e := newEnv(t, envOptions{scenarios: ruleScenarios})
	tk := e.post(t, note("1253", "5"))
	c := e.pair(t)
	c.start("F4")
	c.expectScreen("input")
	c.answer("5")
	c.expectScreen("ticket")
	c.answer("split")
	c.expectScreen("input")
	c.answer("2")
	jobs, next := c.approve(c.expectPay(2675))
	if len(jobs) != 0 || next.Type != "screen" || next.Title != "PART 2/2" ||
		!slices.Equal(choiceIDs(next), []string{"next", "stop"}) {
		t.Fatalf("after the first part: %d print jobs and %s, want PART 2/2", len(jobs), next)
	}
	c.answer("stop")
	// Not on the scenario's done, whose title says the payment is accepted.
	m := c.expect("done")
	if m.Title != "PAIEMENT PARTIEL" || !slices.Equal(m.Lines, []string{"TICKET 1253", "RESTE DÛ 26,75"}) {
		t.Fatalf("stopped with 26,75 due: %s", m)
	}
	e.checkTicket(t, tk.ID, gateway.TicketPartiallyPaid, 2675, 2675)
}

// pick_ticket server: lists the waiter's tickets even behind more than a
// menu's worth of older open tickets of other servers.
func TestTerminalPickTicketServer(t *testing.T) {
	e := newEnv(t, envOptions{scenarios: ruleScenarios})
	for i := range gateway.MaxMenuTickets {
		e.post(t, bill(strconv.Itoa(100+i), "", 1000))
	}
	mine := e.post(t, note("1253", "5")) // Julie's
	c := e.pair(t)
	c.start("F5")
	menu := c.expectScreen("menu")
	if want := []item{{mine.ID, "TICKET 1253 - T5 - 53,50"}}; !slices.Equal(menu.Items, want) {
		t.Fatalf("Julie's menu: %s, want %v", menu, want)
	}
	c.answer(mine.ID)
	c.expectScreen("ticket")
	c.answer("full")
	c.approve(c.expectPay(5350))
	e.checkTicket(t, mine.ID, gateway.TicketPaid, 5350, 0)
}
