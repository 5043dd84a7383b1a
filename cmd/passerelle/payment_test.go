package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/passerelle/passerelle/gateway"
)

// `passerelle payment resolve` decides only a payment whose outcome is
// unknown: one still pending (the card may be in the reader) is refused and
// left as it is.
func TestPaymentResolveOnlyUnknown(t *testing.T) {
	ctx := context.Background()
	data := t.TempDir()
	var errs bytes.Buffer
	st, err := openStore(ctx, data, &errs)
	if err != nil {
		t.Fatal(err)
	}
	till, _, err := gateway.NewTills(st, time.Now).Add(ctx, gateway.NewTill{Name: "Caisse 1"})
	if err != nil {
		t.Fatal(err)
	}
	tk, _, err := gateway.NewTickets(st, gateway.DefaultConfig().Rules, time.Now).Submit(ctx, till, gateway.TicketInput{
		Ref: "1253", Lines: []gateway.Line{{Label: "MENU", Qty: 1, UnitPrice: 5350, VATRate: 1000}}, Total: 5350})
	if err != nil {
		t.Fatal(err)
	}
	terminals := gateway.NewTerminals(st, time.Now)
	code, _, err := terminals.NewPairingCode(ctx)
	if err != nil {
		t.Fatal(err)
	}
	term, _, err := terminals.Connect(ctx, "10.0.0.7", gateway.Hello{Serial: "BAR-1", PairingCode: code})
	if err != nil {
		t.Fatal(err)
	}
	payments := gateway.NewPayments(st, time.Now, time.Minute)
	pay, _, err := payments.Start(ctx, term, tk.ID, 5350, 0)
	if err != nil {
		t.Fatal(err)
	}
	st.Close()

	payment := func(args ...string) (string, error) {
		t.Helper()
		var out, errs bytes.Buffer
		err := paymentCommand(ctx, append([]string{args[0], "--data", data}, args[1:]...), &out, &errs)
		return out.String(), err
	}
	out, err := payment("resolve", pay.ID, "approved")
	if err == nil || !strings.Contains(err.Error(), "only an unknown payment can be resolved") {
		t.Fatalf("resolve of a pending payment: %v\n%s", err, out)
	}
	if out, _ := payment("pending"); !strings.Contains(out, pay.ID) || !strings.Contains(out, "pending") {
		t.Fatalf("after the refused resolve, pending lists:\n%s", out)
	}

	// Its terminal gone past the deadline, the payment is unknown: now the
	// manager's to decide. The gateway counts the deadline on its own
	// monotonic clock, which the test moves.
	st, err = openStore(ctx, data, &errs)
	if err != nil {
		t.Fatal(err)
	}
	var mono time.Duration
	payments = gateway.NewPayments(st, time.Now, time.Minute)
	payments.SetMonotonic(func() time.Duration { return mono })
	offline := func(gateway.Payment) bool { return false }
	if n, err := payments.Expire(ctx, offline); err != nil || n != 0 {
		t.Fatalf("Expire before the deadline: %d, %v", n, err)
	}
	mono += time.Minute
	if n, err := payments.Expire(ctx, offline); err != nil || n != 1 {
		t.Fatalf("Expire: %d, %v", n, err)
	}
	st.Close()
	out, err = payment("resolve", pay.ID, "approved")
	if err != nil || !strings.Contains(out, "resolved: approved") {
		t.Fatalf("resolve of the unknown payment: %v\n%s", err, out)
	}
	if out, _ := payment("pending"); strings.Contains(out, pay.ID) {
		t.Fatalf("the resolved payment is still listed:\n%s", out)
	}
	if _, err := payment("resolve", pay.ID, "declined"); err == nil {
		t.Fatal("a second resolve was accepted")
	}
}
