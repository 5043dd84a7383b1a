package terminalws_test

import (
	"fmt"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/passerelle/passerelle/gateway"
)

// An approval is recorded whatever its free text holds: the shop's SIRET
// (Luhn-valid), a long line, too many lines, a card number, control
// characters; and a 13-digit terminal id that passes the Luhn check. The
// text is made storable, with a warning in the log that never repeats a
// card number.
func TestApprovalWithOddTextIsRecorded(t *testing.T) {
	e := newEnv(t, envOptions{})
	tk := e.post(t, note("1253", "5"))
	c := e.pair(t)
	c.table("5")
	c.answer("full")
	pay := c.expectPay(5350)

	const (
		siret      = "SIRET 362 521 874 00036"
		terminalID = "4970101234565" // 13 digits, Luhn-valid
		pan        = "4111 1111 1111 1111"
	)
	long := "CONSERVEZ CE TICKET : " + strings.Repeat("é", 48) // 70 characters
	r := approved(pay)
	r.TerminalID = terminalID
	r.Card.Entry = "sans contact " + pan
	r.Receipt = []string{"CARTE BANCAIRE", siret, long, "CB " + pan, "MONTANT\t53,50 EUR"}
	for i := len(r.Receipt); i < 120; i++ {
		r.Receipt = append(r.Receipt, fmt.Sprintf("LIGNE %d", i))
	}
	if _, end := c.approveWith(pay, r); end.Type != "done" {
		t.Fatalf("after the approval: %s", end)
	}

	got := e.checkTicket(t, tk.ID, gateway.TicketPaid, 5350, 0)
	if len(got.Payments) != 1 {
		t.Fatalf("%d payments, want 1", len(got.Payments))
	}
	p := got.Payments[0]
	if p.Status != gateway.PaymentApproved || p.Amount != 5350 || p.TerminalID != terminalID ||
		p.AuthCode != "185568" || p.Card == nil || p.Card.MaskedPAN != "#####5743" {
		t.Errorf("payment stored as %+v", p)
	}
	if len(p.Receipt) != gateway.MaxReceiptLines {
		t.Fatalf("%d receipt lines stored, want the first %d", len(p.Receipt), gateway.MaxReceiptLines)
	}
	want := map[int]string{0: "CARTE BANCAIRE", 1: siret, 2: string([]rune(long)[:gateway.MaxResultField]),
		3: "CB #### #### #### 1111", 4: "MONTANT 53,50 EUR", 99: "LIGNE 99"}
	for i, w := range want {
		if p.Receipt[i] != w {
			t.Errorf("receipt[%d] = %q, want %q", i, p.Receipt[i], w)
		}
	}
	for i, l := range p.Receipt {
		if utf8.RuneCountInString(l) > gateway.MaxResultField || gateway.LooksLikePAN(l) {
			t.Errorf("receipt[%d] = %q stored", i, l)
		}
	}
	if p.Card.Entry != "sans contact 411" { // cut to 16 characters
		t.Errorf("card entry stored as %q", p.Card.Entry)
	}

	logs := e.logs.String()
	for _, field := range []string{"receipt[2]", "receipt[3]", "receipt[4]", "receipt", "card.entry"} {
		if !strings.Contains(logs, "field="+field+" ") {
			t.Errorf("no warning about %s in the log:\n%s", field, logs)
		}
	}
	for _, leak := range []string{pan, strings.ReplaceAll(pan, " ", ""), "1111 1111 1111"} {
		if strings.Contains(logs, leak) {
			t.Errorf("the log holds the card number %q", leak)
		}
	}
	if n := e.countEvents(t, gateway.EventPaymentApproved, pay.PaymentID); n != 1 {
		t.Errorf("%d payment.approved events, want 1", n)
	}

	// The terminal resends it (it missed the ack): acked, nothing changes.
	c.send(r)
	if a := c.expect("ack"); a.PaymentID != pay.PaymentID {
		t.Fatalf("second ack for %s", a.PaymentID)
	}
	if again := e.ticket(t, tk.ID).Payments[0]; strings.Join(again.Receipt, "\n") != strings.Join(p.Receipt, "\n") {
		t.Errorf("the resent result changed the receipt")
	}
}
