package store_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/passerelle/passerelle/gateway"
)

// A list reads the rows of its page, not every ticket of the till: SQLite's
// plan for each kind of list uses an index that serves its filter and its
// seq order, and never scans the table. The changes since a recent time
// are found on the updated_at index, not by reading the tickets in seq
// order to test each.
func TestListQueryPlans(t *testing.T) {
	ctx := context.Background()
	s := open(t, dbPath(t), nil)
	a, b := addTill(t, s, "A"), addTill(t, s, "B")
	const n = 3000
	err := s.Update(ctx, func(tx gateway.Tx) error {
		for i := range n {
			for j, till := range []gateway.Till{a, b} {
				tk := ticket(till, 2*i+j)
				tk.Ref = tk.Ref + till.Name
				tk.UpdatedAt = t0.Add(time.Duration(i) * time.Minute)
				if err := tx.InsertTicket(ctx, &tk); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	recent := t0.Add((n - 60) * time.Minute) // the last hour: few
	cursor := ticket(a, 2*(n-30)).ID
	for _, c := range []struct {
		name  string
		q     gateway.TicketQuery
		want  []string
		never []string
	}{
		{"till", gateway.TicketQuery{TillID: a.ID}, []string{"tickets_till (till_id=?)"}, []string{"TEMP B-TREE"}},
		{"till from cursor", gateway.TicketQuery{TillID: a.ID, After: cursor}, []string{"tickets_till (till_id=? AND seq>?)"}, []string{"TEMP B-TREE"}},
		{"till since recent", gateway.TicketQuery{TillID: a.ID, Since: recent},
			[]string{"COVERING INDEX tickets_till_updated (till_id=? AND updated_at>?)", "seq=?)"}, nil},
		{"till since recent from cursor", gateway.TicketQuery{TillID: a.ID, Since: recent, After: cursor},
			[]string{"COVERING INDEX tickets_till_updated (till_id=? AND updated_at>?)", "seq=?)"}, nil},
		{"till since recent, open", gateway.TicketQuery{TillID: a.ID, Since: recent, Statuses: []gateway.TicketStatus{gateway.TicketOpen}},
			[]string{"COVERING INDEX tickets_till_updated (till_id=? AND updated_at>?)", "seq=?)"}, nil},
		{"till since long ago", gateway.TicketQuery{TillID: a.ID, Since: t0}, []string{"tickets_till (till_id=?)"}, []string{"TEMP B-TREE"}},
		{"every till", gateway.TicketQuery{}, []string{"tickets_seq"}, []string{"TEMP B-TREE"}},
		{"every till since recent", gateway.TicketQuery{Since: recent},
			[]string{"COVERING INDEX tickets_updated (updated_at>?)", "seq=?)"}, nil},
		{"every till since long ago", gateway.TicketQuery{Since: t0}, []string{"tickets_seq"}, []string{"TEMP B-TREE"}},
	} {
		c.q.Limit = 100
		plan, err := s.TicketsPlan(ctx, c.q)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		for _, w := range c.want {
			if !strings.Contains(plan, w) {
				t.Errorf("%s: the plan does not use %s:\n%s", c.name, w, plan)
			}
		}
		for _, w := range c.never {
			if strings.Contains(plan, w) {
				t.Errorf("%s: the plan has %s:\n%s", c.name, w, plan)
			}
		}
		for _, step := range strings.Split(plan, "\n") {
			if step == "SCAN t" || step == "SCAN tickets" { // the whole table, in no order
				t.Errorf("%s: the plan scans the table:\n%s", c.name, plan)
			}
		}
		if testing.Verbose() {
			t.Logf("%s:\n%s", c.name, plan)
		}
		// The page is the same whichever way it is read.
		got, err := s.Tickets(ctx, c.q)
		if err != nil {
			t.Fatal(err)
		}
		checkPage(t, c.name, got, s, c.q)
	}
}

// checkPage compares a page with the same list worked out from every ticket
// in seq order.
func checkPage(t *testing.T, name string, got []gateway.Ticket, s interface {
	Tickets(context.Context, gateway.TicketQuery) ([]gateway.Ticket, error)
}, q gateway.TicketQuery) {
	t.Helper()
	all, err := s.Tickets(context.Background(), gateway.TicketQuery{TillID: q.TillID, Limit: 1 << 30})
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	started := q.After == ""
	for _, tk := range all {
		if !started {
			started = tk.ID == q.After
			continue
		}
		if tk.UpdatedAt.Before(q.Since) || (len(q.Statuses) > 0 && tk.Status != q.Statuses[0]) {
			continue
		}
		if len(want) < q.Limit {
			want = append(want, tk.ID)
		}
	}
	var ids []string
	for _, tk := range got {
		ids = append(ids, tk.ID)
	}
	if strings.Join(ids, ",") != strings.Join(want, ",") {
		t.Errorf("%s: page %v, want %v", name, ids, want)
	}
}
