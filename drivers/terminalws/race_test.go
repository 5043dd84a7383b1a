package terminalws_test

import (
	"context"
	"strconv"
	"testing"

	"github.com/passerelle/passerelle/gateway"
)

// Two terminals ask to pay the same ticket at the same moment, 200 times:
// each time exactly one gets the pay request and the other is told where
// the ticket is being paid; a ticket never has two payments in progress.
// The winner's card is declined, so a ticket serves several rounds; not
// all of them, as a ticket's events carry all its payments and SQLite
// under the race detector is slow enough for that to dominate.
func TestTwoTerminalsPayOneTicket(t *testing.T) {
	const perTicket = 10
	rounds := 200
	if testing.Short() {
		rounds = 20
	}
	e := newEnv(t, envOptions{unlimited: true})
	terms := []*term{e.pair(t), e.pair(t)}
	onTicket := map[*term]bool{}
	wins := map[string]int{}
	var tk gateway.Ticket
	for round := range rounds {
		table := strconv.Itoa(round/perTicket + 1)
		if round%perTicket == 0 {
			tk = e.post(t, note("R"+table, table))
		}
		for _, c := range terms {
			if !onTicket[c] {
				c.table(table)
			}
		}
		go1 := make(chan struct{})
		errs := make(chan error, 2)
		for _, c := range terms {
			m := c.answerMsg("full")
			go func() {
				<-go1
				errs <- c.trySend(m)
			}()
		}
		close(go1)
		for range terms {
			if err := <-errs; err != nil {
				t.Fatalf("round %d: send: %v", round, err)
			}
		}
		got := []msg{terms[0].next(), terms[1].next()}
		w := 0
		if got[1].Type == "pay" {
			w = 1
		}
		winner, loser := terms[w], terms[1-w]
		if got[w].Type != "pay" {
			t.Fatalf("round %d: neither terminal got a pay request: %s / %s", round, got[0], got[1])
		}
		if m := got[1-w]; m.Type != "done" || m.Title != "Ticket en cours de paiement sur "+winner.name {
			t.Fatalf("round %d: the other terminal got %s, want a done naming %s", round, m, winner.name)
		}
		wins[winner.name]++
		inProgress := 0
		pending, err := e.st.PaymentsInProgress(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range pending {
			if p.TicketID == tk.ID {
				inProgress++
			}
		}
		if inProgress != 1 {
			t.Fatalf("round %d: %d payments in progress on the ticket, want 1", round, inProgress)
		}

		winner.send(declined(got[w]))
		winner.expect("ack")
		winner.expectScreen("message")
		if (round+1)%perTicket != 0 {
			winner.answer("") // back to the ticket screen, to pay again
			winner.expectScreen("ticket")
		} else {
			winner.send(map[string]string{"type": "cancel", "screen_id": winner.screen.ScreenID})
		}
		onTicket[winner] = (round+1)%perTicket != 0
		onTicket[loser] = false // its done left it idle
	}
	if n := e.countEvents(t, gateway.EventPaymentStarted, ""); n != rounds {
		t.Errorf("%d payment.started events, want %d", n, rounds)
	}
	if n := e.countEvents(t, gateway.EventPaymentDeclined, ""); n != rounds {
		t.Errorf("%d payment.declined events, want %d", n, rounds)
	}
	t.Logf("wins: %v", wins)
}
