package store_test

import (
	"context"
	"errors"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/passerelle/passerelle/gateway"
)

func TestTicketRoundTrip(t *testing.T) {
	s := open(t, dbPath(t), nil)
	till := addTill(t, s, "Caisse n°1 — Terrasse")
	ctx := context.Background()
	cest := time.FixedZone("CEST", 2*3600)
	created := time.Date(2025, 7, 14, 23, 5, 9, 987654321, cest) // the day before, in UTC
	in := gateway.TicketInput{
		Ref:      "Tâble-7/№42 🍷",
		Table:    "Terrasse ７",
		Covers:   4,
		Server:   "Zoë Ødegård",
		Loyalty:  "FIDÉLITÉ-日本-001",
		Currency: "EUR",
		Lines: []gateway.Line{
			{Label: "Crème brûlée 🍮", Qty: 3, UnitPrice: 850, VATRate: 1000},
			{Label: `Vin "maison" \ rouge`, Qty: 1, UnitPrice: 2400, VATRate: 2000},
			{Label: "Remise fidélité", Qty: 1, UnitPrice: -350, VATRate: 1000},
			{Label: "Eau", Qty: 2, UnitPrice: 0, VATRate: 550},
		},
		Total: 4600,
	}
	want := gateway.Ticket{
		ID: gateway.NewID("tkt", created), Ref: in.Ref, Table: in.Table, Covers: in.Covers,
		Server: in.Server, Loyalty: in.Loyalty, Currency: in.Currency, Lines: in.Lines, Total: in.Total,
		Status: gateway.TicketPartiallyPaid, Paid: 1000, Due: 3600, VAT: gateway.VATBreakdown(in.Lines),
		Version: 3, Source: "web", Till: till.Name, TillID: till.ID, Hash: in.ContentHash(),
		CreatedAt: created, UpdatedAt: created.Add(90*time.Minute + time.Nanosecond),
		Payments: []gateway.Payment{},
	}
	insert := want
	insert.Payments = nil
	if err := s.Update(ctx, func(tx gateway.Tx) error { return tx.InsertTicket(ctx, &insert) }); err != nil {
		t.Fatal(err)
	}
	want.CreatedAt, want.UpdatedAt = want.CreatedAt.UTC(), want.UpdatedAt.UTC()

	check := func(how string, got gateway.Ticket, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", how, err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s:\n got %+v\nwant %+v", how, got, want)
		}
		for _, at := range []time.Time{got.CreatedAt, got.UpdatedAt} {
			if at.Location() != time.UTC {
				t.Errorf("%s: time %v is not in UTC", how, at)
			}
		}
		if got.CreatedAt.Nanosecond() != 987654321 || got.UpdatedAt.Nanosecond() != 987654322 {
			t.Errorf("%s: nanoseconds lost: %v, %v", how, got.CreatedAt, got.UpdatedAt)
		}
	}
	got, err := s.Ticket(ctx, want.ID)
	check("Ticket", got, err)
	list, err := s.Tickets(ctx, gateway.TicketQuery{Ref: in.Ref, Limit: 10})
	if err != nil || len(list) != 1 {
		t.Fatalf("Tickets by ref: %d tickets, %v", len(list), err)
	}
	check("Tickets", list[0], nil)
	brief, err := s.Tickets(ctx, gateway.TicketQuery{Ref: in.Ref, Limit: 10, Brief: true})
	if err != nil || len(brief) != 1 {
		t.Fatalf("brief Tickets by ref: %d tickets, %v", len(brief), err)
	}
	// A brief ticket is the ticket without its lines and VAT breakdown.
	if brief[0].Lines != nil || brief[0].VAT != nil {
		t.Errorf("a brief ticket has lines %v and VAT %v", brief[0].Lines, brief[0].VAT)
	}
	full := list[0]
	full.Lines, full.VAT = nil, nil
	if !reflect.DeepEqual(brief[0], full) {
		t.Errorf("brief ticket\n%+v\nwant\n%+v", brief[0], full)
	}
	err = s.Update(ctx, func(tx gateway.Tx) error {
		got, err := tx.TicketByRef(ctx, till.ID, in.Ref)
		check("TicketByRef", got, err)
		got, err = tx.TicketByID(ctx, want.ID)
		check("TicketByID", got, err)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}

	// An update is read back whole too.
	want.Lines = want.Lines[:1]
	want.Total, want.Paid, want.Due, want.Status = 2550, 2550, 0, gateway.TicketPaid
	want.VAT = gateway.VATBreakdown(want.Lines)
	want.Version++
	want.UpdatedAt = want.UpdatedAt.Add(time.Hour)
	update := want
	if err := s.Update(ctx, func(tx gateway.Tx) error { return tx.UpdateTicket(ctx, &update) }); err != nil {
		t.Fatal(err)
	}
	got, err = s.Ticket(ctx, want.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("after update:\n got %+v\nwant %+v", got, want)
	}

	if _, err := s.Ticket(ctx, "tkt_nope"); !errors.Is(err, gateway.ErrNotFound) {
		t.Errorf("unknown ticket: got %v, want ErrNotFound", err)
	}
}

func TestTicketsFiltersAndPaging(t *testing.T) {
	s := open(t, dbPath(t), nil)
	a, b := addTill(t, s, "a"), addTill(t, s, "b")
	ctx := context.Background()
	statuses := []gateway.TicketStatus{gateway.TicketOpen, gateway.TicketPartiallyPaid, gateway.TicketPaid, gateway.TicketCancelled}
	const count = 20
	all := make([]gateway.Ticket, count)
	err := s.Update(ctx, func(tx gateway.Tx) error {
		for n := range all {
			till := a
			if n%2 == 1 {
				till = b
			}
			tk := ticket(till, n)
			tk.Status = statuses[n%4]
			tk.Table = []string{"1", "2", ""}[n%3]
			tk.UpdatedAt = t0.Add(time.Duration(n) * time.Minute)
			all[n] = tk
			if err := tx.InsertTicket(ctx, &tk); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name string
		q    gateway.TicketQuery
		want func(n int) bool
	}{
		{"all", gateway.TicketQuery{}, func(int) bool { return true }},
		{"till", gateway.TicketQuery{TillID: a.ID}, func(n int) bool { return n%2 == 0 }},
		{"status", gateway.TicketQuery{Statuses: statuses[:1]}, func(n int) bool { return n%4 == 0 }},
		{"statuses", gateway.TicketQuery{Statuses: statuses[1:3]}, func(n int) bool { return n%4 == 1 || n%4 == 2 }},
		{"table", gateway.TicketQuery{Table: "2"}, func(n int) bool { return n%3 == 1 }},
		{"ref", gateway.TicketQuery{Ref: all[7].Ref}, func(n int) bool { return n == 7 }},
		{"ref of another till", gateway.TicketQuery{TillID: a.ID, Ref: all[7].Ref}, func(int) bool { return false }},
		{"since", gateway.TicketQuery{Since: t0.Add(15 * time.Minute)}, func(n int) bool { return n >= 15 }},
		{"after", gateway.TicketQuery{After: all[4].ID}, func(n int) bool { return n > 4 }},
		{"limit", gateway.TicketQuery{Limit: 3}, func(n int) bool { return n < 3 }},
		{"together", gateway.TicketQuery{TillID: b.ID, Statuses: statuses[:2], Since: t0.Add(4 * time.Minute), After: all[5].ID},
			func(n int) bool { return n%2 == 1 && n%4 < 2 && n >= 4 && n > 5 }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.q.Limit == 0 {
				tt.q.Limit = 100
			}
			got, err := s.Tickets(ctx, tt.q)
			if err != nil {
				t.Fatal(err)
			}
			var want []string
			for n := range all {
				if tt.want(n) {
					want = append(want, all[n].ID)
				}
			}
			if ids := idsOf(got); !slices.Equal(ids, want) {
				t.Errorf("got %v\nwant %v", ids, want)
			}
		})
	}

	t.Run("paging", func(t *testing.T) {
		var got []string
		q := gateway.TicketQuery{Limit: 3}
		for pages := 0; ; pages++ {
			if pages > count {
				t.Fatal("paging does not end")
			}
			page, err := s.Tickets(ctx, q)
			if err != nil {
				t.Fatal(err)
			}
			if len(page) == 0 {
				break
			}
			if len(page) > q.Limit {
				t.Fatalf("page of %d, limit %d", len(page), q.Limit)
			}
			got = append(got, idsOf(page)...)
			q.After = page[len(page)-1].ID
		}
		if want := idsOf(all); !slices.Equal(got, want) {
			t.Errorf("pages gave %v\nwant %v", got, want)
		}
	})
}

func idsOf(tks []gateway.Ticket) []string {
	out := []string{}
	for _, tk := range tks {
		out = append(out, tk.ID)
	}
	return out
}

func TestTills(t *testing.T) {
	s := open(t, dbPath(t), nil)
	ctx := context.Background()
	b := addTill(t, s, "bar")
	a := addTill(t, s, "accueil")
	got, err := s.TillByKeyHash(ctx, gateway.HashKey("key-bar"))
	if err != nil || !reflect.DeepEqual(got, b) {
		t.Errorf("TillByKeyHash: %+v, %v; want %+v", got, err, b)
	}
	if got, err := s.TillByName(ctx, "accueil"); err != nil || !reflect.DeepEqual(got, a) {
		t.Errorf("TillByName: %+v, %v; want %+v", got, err, a)
	}
	if err := s.Update(ctx, func(tx gateway.Tx) error {
		return tx.InsertTill(ctx, &gateway.Till{ID: "till_x", Name: "bar", KeyHash: gateway.HashKey("x"), CreatedAt: t0})
	}); err == nil {
		t.Error("a second till named bar was added")
	}
	revoked := t0.Add(time.Hour + time.Nanosecond)
	if err := s.Update(ctx, func(tx gateway.Tx) error { return tx.RevokeTill(ctx, b.ID, revoked) }); err != nil {
		t.Fatal(err)
	}
	if _, err := s.TillByKeyHash(ctx, gateway.HashKey("key-bar")); !errors.Is(err, gateway.ErrNotFound) {
		t.Errorf("revoked till's key: got %v, want ErrNotFound", err)
	}
	if err := s.Update(ctx, func(tx gateway.Tx) error { return tx.RevokeTill(ctx, b.ID, revoked) }); !errors.Is(err, gateway.ErrNotFound) {
		t.Errorf("revoking twice: got %v, want ErrNotFound", err)
	}
	tills, err := s.Tills(ctx)
	if err != nil {
		t.Fatal(err)
	}
	b.RevokedAt = &revoked
	if want := []gateway.Till{a, b}; !reflect.DeepEqual(tills, want) {
		t.Errorf("Tills:\n got %+v\nwant %+v", tills, want)
	}
}
