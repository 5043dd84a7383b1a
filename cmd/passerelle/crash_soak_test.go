package main

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/passerelle/passerelle/drivers/terminalsim"
	"github.com/passerelle/passerelle/gateway"
)

// payTablesEach is how many tables each crash payer owns (1000 upwards:
// the tills of the crash test use 1 to 40; a table number has 4 digits).
const payTablesEach = 4000

const payPace = 400 * time.Millisecond

// crashPayer is a till that posts a ticket and a terminal that pays it in
// full at once, table after table, across the kills.
type crashPayer struct {
	id       int
	key      string
	state    string // the terminal's state file: it outlives each cycle
	term     *terminalsim.Terminal
	next     int             // tables used so far
	posted   map[string]bool // refs whose POST was acknowledged
	approved map[string]bool // payment IDs the card approved
}

func (p *crashPayer) paired() bool {
	st, err := terminalsim.LoadState(p.state)
	return err == nil && st.Token != ""
}

// connect dials the terminal, paired with a fresh code the first time. It
// returns false when the gateway died meanwhile (strace killed it).
func (p *crashPayer) connect(t *testing.T, g *gatewayProc, bin, data string) bool {
	t.Helper()
	opts := terminalsim.Options{URL: g.url, StateFile: p.state, Serial: fmt.Sprintf("SOAK%d", p.id),
		Log: slog.New(slog.DiscardHandler)}
	if !p.paired() {
		opts.Code = simPairingCode(t, bin, data)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	term, err := terminalsim.Dial(ctx, opts)
	if err != nil {
		if dying(g) {
			return false
		}
		t.Fatalf("terminal %d: %v\n%s", p.id, err, g.log.String())
	}
	p.term = term
	return true
}

// run posts a ticket for its next table and pays it, until the gateway
// goes away.
func (p *crashPayer) run(t *testing.T, hc *http.Client, g *gatewayProc, ack func()) {
	// The pace of a busy terminal: a payment is five messages, and the
	// gateway allows a terminal 20 a second (terminalws.MessagesPerSecond).
	pace := time.NewTicker(payPace)
	defer pace.Stop()
	for ; p.next < payTablesEach; <-pace.C {
		table := strconv.Itoa(1000 + p.id*payTablesEach + p.next)
		ref := fmt.Sprintf("P%d-%d", p.id, p.next)
		p.next++ // a ticket whose POST was cut may have landed: its table is not reused
		total := 1500 + int64(p.next%1000)
		in := gateway.TicketInput{Ref: ref, Table: table, Currency: "EUR", Total: total,
			Lines: []gateway.Line{{Label: "MENU DU JOUR", Qty: 1, UnitPrice: total, VATRate: 1000}}}
		status, err := postTicket(hc, g.url, p.key, in)
		if err != nil {
			return
		}
		if status != http.StatusCreated {
			t.Errorf("POST %s: status %d", ref, status)
			return
		}
		p.posted[ref] = true
		ack()
		id, err := payTableFull(p.term, table)
		if id != "" {
			p.approved[id] = true
			ack()
		}
		if err != nil {
			// Only the gateway's own refusals, while it lives, are defects:
			// the rest is the connection cut by the kill.
			if strings.HasPrefix(err.Error(), "the gateway says") || strings.Contains(err.Error(), ": screen ") {
				if !dying(g) {
					t.Errorf("terminal %d, table %s: %v", p.id, table, err)
				}
			}
			return
		}
	}
}

// dying tells whether the gateway is gone or going: strace's kill and what
// the clients see of it race, so it waits a little for the exit.
func dying(g *gatewayProc) bool {
	select {
	case <-g.exited:
		return true
	case <-time.After(5 * time.Second):
		return false
	}
}

func gone(g *gatewayProc) bool {
	select {
	case <-g.exited:
		return true
	default:
		return false
	}
}

// waitSettledOrGone waits until the terminals hold no unfinished payment:
// the restarted gateway acknowledged every resent result and resolved
// every card step the kill interrupted. False when the gateway died first.
func waitSettledOrGone(t *testing.T, g *gatewayProc, payers []*crashPayer) bool {
	t.Helper()
	// A bound on terminals that never settle, not a speed check.
	deadline := time.Now().Add(30 * time.Second)
	for {
		settled := true
		for _, p := range payers {
			if p.term != nil && len(p.term.State().Payments) > 0 {
				settled = false
			}
		}
		switch {
		case settled:
			return true
		case gone(g):
			return false
		case time.Now().After(deadline):
			for _, p := range payers {
				t.Logf("terminal %d still holds %+v", p.id, p.term.State().Payments)
			}
			t.Errorf("the terminals' unfinished payments were not settled after the restart")
			return false
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func waitSettled(t *testing.T, g *gatewayProc, payers []*crashPayer) {
	t.Helper()
	if !waitSettledOrGone(t, g, payers) {
		t.Fatalf("the terminals did not settle:\n%s", g.log.String())
	}
}

// payLog is what the event log says of the payers' payments.
type payLog struct {
	approvedByPayment map[string]int
	approvedByTicket  map[string]int
}

func (l *payLog) see(e gateway.Event) {
	if e.Type == gateway.EventPaymentApproved {
		l.approvedByPayment[e.PaymentID]++
		l.approvedByTicket[e.TicketID]++
	}
}

// checkPayers checks the store's payments against the terminals: every
// approval the gateway acknowledged (gone from the terminal's state file)
// is stored once, nothing is approved that no card approved, no ticket is
// paid twice, and every acknowledged ticket of theirs is stored.
func checkPayers(t *testing.T, l *payLog, storedRefs map[string]bool, payers []*crashPayer) {
	t.Helper()
	all, pending := map[string]bool{}, map[string]bool{}
	for _, p := range payers {
		for id := range p.approved {
			all[id] = true
		}
		st, err := terminalsim.LoadState(p.state)
		if err != nil {
			t.Fatalf("terminal %d state: %v", p.id, err)
		}
		for _, pp := range st.Payments {
			pending[pp.PaymentID] = true
		}
		for ref := range p.posted {
			if !storedRefs[ref] {
				t.Errorf("ticket %s, acknowledged, is lost", ref)
			}
		}
	}
	for id, n := range l.approvedByPayment {
		if n != 1 {
			t.Errorf("payment %s: %d payment.approved events", id, n)
		}
		if !all[id] {
			t.Errorf("payment %s is approved in the store, but no card approved it", id)
		}
	}
	for id := range all {
		if !pending[id] && l.approvedByPayment[id] == 0 {
			t.Errorf("payment %s: approved and acknowledged, but not in the store", id)
		}
	}
	for tk, n := range l.approvedByTicket {
		if n > 1 {
			t.Errorf("ticket %s is paid %d times", tk, n)
		}
	}
}
