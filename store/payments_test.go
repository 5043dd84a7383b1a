package store_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/passerelle/passerelle/gateway"
	"github.com/passerelle/passerelle/store"
)

// addTerminal pairs a terminal directly in the store.
func addTerminal(tb testing.TB, s *store.Store, name string) gateway.Terminal {
	tb.Helper()
	tm := gateway.Terminal{ID: "trm_" + name, Name: name, TokenHash: gateway.HashKey("token-" + name),
		DisplayCols: 16, DisplayRows: 8, PrinterCols: 32, Keys: []string{}, PairedAt: t0}
	err := s.Update(context.Background(), func(tx gateway.Tx) error {
		return tx.InsertTerminal(context.Background(), &tm)
	})
	if err != nil {
		tb.Fatalf("add terminal %s: %v", name, err)
	}
	return tm
}

func payment(id string, tk gateway.Ticket, tm gateway.Terminal, st gateway.PaymentStatus) gateway.Payment {
	p := gateway.Payment{ID: id, TicketID: tk.ID, DeviceID: tm.ID, Terminal: tm.Name, Requested: 1000,
		Amount: 1000, Currency: "EUR", Status: st, CreatedAt: t0, Deadline: t0.Add(5 * time.Minute)}
	if p.Final() {
		at := t0.Add(time.Minute)
		p.CompletedAt = &at
	}
	return p
}

// "One payment in progress per ticket" is the database's rule too, not
// only the single writer's: a second pending or unknown payment of a ticket
// is refused by the schema, whoever inserts it.
func TestOnePaymentInProgressPerTicket(t *testing.T) {
	ctx := context.Background()
	s := open(t, dbPath(t), nil)
	till := addTill(t, s, "caisse")
	tm := addTerminal(t, s, "bar")
	tk := ticket(till, 1)
	other := ticket(till, 2)
	if err := s.Update(ctx, func(tx gateway.Tx) error {
		if err := createTicket(tx, &tk); err != nil {
			return err
		}
		return createTicket(tx, &other)
	}); err != nil {
		t.Fatal(err)
	}
	insert := func(p gateway.Payment) error {
		return s.Update(ctx, func(tx gateway.Tx) error { return tx.InsertPayment(ctx, &p) })
	}
	// Final payments do not count: any number of them.
	for i, st := range []gateway.PaymentStatus{gateway.PaymentDeclined, gateway.PaymentApproved, gateway.PaymentCancelled, gateway.PaymentError} {
		if err := insert(payment("pay_final"+string(rune('a'+i)), tk, tm, st)); err != nil {
			t.Fatalf("a %s payment: %v", st, err)
		}
	}
	if err := insert(payment("pay_1", tk, tm, gateway.PaymentPending)); err != nil {
		t.Fatalf("the first payment in progress: %v", err)
	}
	for _, st := range []gateway.PaymentStatus{gateway.PaymentPending, gateway.PaymentUnknown} {
		err := insert(payment("pay_2"+string(st), tk, tm, st))
		if err == nil {
			t.Fatalf("a second payment in progress (%s) of one ticket was stored", st)
		}
		if !strings.Contains(err.Error(), "UNIQUE") {
			t.Fatalf("refused for another reason: %v", err)
		}
	}
	// Another ticket has its own.
	if err := insert(payment("pay_3", other, tm, gateway.PaymentPending)); err != nil {
		t.Fatalf("another ticket's payment: %v", err)
	}
	// Turning a final payment back into one in progress is refused too.
	err := s.Update(ctx, func(tx gateway.Tx) error {
		p, err := tx.PaymentByID(ctx, "pay_finala")
		if err != nil {
			return err
		}
		p.Status, p.CompletedAt = gateway.PaymentUnknown, nil
		return tx.UpdatePayment(ctx, &p)
	})
	if err == nil {
		t.Fatal("an update made a second payment in progress")
	}
	ps, err := s.PaymentsInProgress(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(ps) != 2 {
		t.Errorf("%d payments in progress, want 2: %+v", len(ps), ps)
	}
}

// A database of schema 3 keeps the manager's decisions through migration
// 4: a resolved payment's decision is its status, and one whose terminal
// reported after the decision (its card is stored) counts as reported.
func TestMigrateResolvedPayments(t *testing.T) {
	ctx := context.Background()
	path := dbPath(t)
	db := schemaAt(t, path, 3)
	for _, q := range []string{
		`INSERT INTO tills (id, name, key_hash, created_at) VALUES ('till_caisse', 'caisse', x'` + strings.Repeat("00", 32) + `', '2025-01-01T00:00:00.000000000Z')`,
		`INSERT INTO terminals (id, name, token_hash, paired_at) VALUES ('trm_bar', 'bar', x'` + strings.Repeat("11", 32) + `', '2025-01-01T00:00:00.000000000Z')`,
		`INSERT INTO tickets (id, till_id, ref, currency, lines, vat, total, status, version, source, content_hash, created_at, updated_at)
			VALUES ('tkt_1', 'till_caisse', '1', 'EUR', '[]', '[]', 3000, 'open', 1, 'till', x'00', '2025-01-01T00:00:00.000000000Z', '2025-01-01T00:00:00.000000000Z')`,
	} {
		if _, err := db.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	tk := gateway.Ticket{ID: "tkt_1"}
	tm := gateway.Terminal{ID: "trm_bar"}
	insert := func(id, status, card, resolvedBy string) {
		t.Helper()
		var c any
		if card != "" {
			c = card
		}
		_, err := db.Exec(`INSERT INTO payments (id, ticket_id, device_id, requested, amount, currency, status, card,
			created_at, deadline, completed_at, resolved_by) VALUES (?, ?, ?, 1000, 1000, 'EUR', ?, ?,
			'2025-01-01T00:00:00.000000000Z', '2025-01-01T00:05:00.000000000Z', '2025-01-01T00:06:00.000000000Z', ?)`,
			id, tk.ID, tm.ID, status, c, resolvedBy)
		if err != nil {
			t.Fatal(err)
		}
	}
	insert("pay_1", "approved", "", "manager")
	insert("pay_2", "approved", `{"scheme":"CB"}`, "manager") // declined by hand, then the terminal's approval
	insert("pay_3", "declined", "", "")
	db.Close()

	s := open(t, path, nil)
	want := map[string]struct {
		resolution gateway.PaymentStatus
		reported   bool
	}{"pay_1": {gateway.PaymentApproved, false}, "pay_2": {gateway.PaymentApproved, true}, "pay_3": {"", false}}
	for id, w := range want {
		p, err := s.Payment(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if p.Resolution != w.resolution || (p.ReportedAt != nil) != w.reported || p.Review {
			t.Errorf("%s: resolution %q reported %v review %v, want %q %v false", id, p.Resolution, p.ReportedAt, p.Review, w.resolution, w.reported)
		}
	}
}
