package terminalws_test

import (
	"slices"
	"strconv"
	"testing"

	"github.com/passerelle/passerelle/gateway"
)

// Scenarios of the tests below: a waiter's own tickets (F5).
const ruleScenarios = `
keys:
  F5: julie
scenarios:
  julie:
    steps:
      - {step: pick_ticket, title: MES TICKETS, server: Julie}
      - {step: show_ticket, choices: [full]}
      - {step: pay}
      - {step: done, title: FIN}
`

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
