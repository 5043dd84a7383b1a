package terminalsim_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/passerelle/passerelle/drivers/terminalsim"
	"github.com/passerelle/passerelle/gateway"
)

// onList pairs a terminal and opens the ticket list (F1) on it.
func onList(t *testing.T, g *gw, serial string, v1Only bool) *terminalsim.Terminal {
	t.Helper()
	term := dial(t, terminalsim.Options{URL: g.url, Code: g.code(), Serial: serial, V1Only: v1Only,
		StateFile: filepath.Join(t.TempDir(), serial+".json")})
	if err := term.Start("F1"); err != nil {
		t.Fatal(err)
	}
	return term
}

// items is what a terminal's menu shows, nil when it shows no menu.
func items(term *terminalsim.Terminal) []gateway.MenuItem {
	if s := term.Screen(); s != nil && s.Kind == gateway.ScreenMenu {
		return s.Items
	}
	return nil
}

func ids(its []gateway.MenuItem) []string {
	out := make([]string, len(its))
	for i, it := range its {
		out[i] = it.ID
	}
	return out
}

// settle waits until the v1 terminal's list holds want, in that order, and
// the v1.1 terminal's list, rebuilt from deltas, is the v1 terminal's,
// labels included. The deadline only bounds a list that never comes right.
func settle(t *testing.T, v1, v11 *terminalsim.Terminal, want []string, step string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		a, b := items(v1), items(v11)
		if a != nil && slices.Equal(ids(a), want) && slices.Equal(a, b) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: v1 shows %v, v1.1 shows %v, want %v", step, a, b, want)
		}
		time.Sleep(time.Millisecond)
	}
}

// TestV11ListMatchesV1 runs one gateway with a passerelle.v1 terminal and
// a passerelle.v1.1 terminal on the ticket list, through random changes
// (tickets posted, changed, cancelled, reconnections): after every change
// the list the v1.1 terminal rebuilt from deltas is the v1 terminal's.
func TestV11ListMatchesV1(t *testing.T) {
	g := newGateway(t, nil)
	ctx := context.Background()
	// A list with no ticket is not shown (the scenario ends on "no
	// ticket"): one stays open throughout.
	first, _, err := g.tickets.Submit(ctx, g.till, note("FIRST", 500))
	if err != nil {
		t.Fatal(err)
	}
	open := []gateway.Ticket{first} // in the list's order: oldest first
	v1 := onList(t, g, "V1", true)
	v11 := onList(t, g, "V11", false)

	changes := 2000
	if testing.Short() {
		changes = 200
	}
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	r := rand.New(rand.NewPCG(seed, 1))
	in1, in11 := v1.BytesIn.Load(), v11.BytesIn.Load()
	for i := range changes {
		var step string
		switch op := r.IntN(10); {
		case i > 0 && i%500 == 0:
			step = "reconnect"
			for _, term := range []*terminalsim.Terminal{v1, v11} {
				if err := term.Reconnect(ctx); err != nil {
					t.Fatal(err)
				}
				if err := term.Start("F1"); err != nil {
					t.Fatal(err)
				}
			}
		case len(open) > 1 && (op < 2 || len(open) >= 40):
			k := r.IntN(len(open))
			step = "cancel " + open[k].Ref
			if _, err := g.tickets.Cancel(ctx, g.till, open[k].ID); err != nil {
				t.Fatal(err)
			}
			open = slices.Delete(open, k, k+1)
		case len(open) > 0 && op < 5:
			k := r.IntN(len(open))
			step = "change " + open[k].Ref
			tk, _, err := g.tickets.Submit(ctx, g.till, note(open[k].Ref, 100+r.Int64N(10000)))
			if err != nil {
				t.Fatal(err)
			}
			open[k] = tk
		default:
			ref := fmt.Sprintf("R%d", i)
			step = "post " + ref
			tk, _, err := g.tickets.Submit(ctx, g.till, note(ref, 100+r.Int64N(10000)))
			if err != nil {
				t.Fatal(err)
			}
			open = append(open, tk)
		}
		want := make([]string, len(open))
		for j, tk := range open {
			want[j] = tk.ID
		}
		settle(t, v1, v11, want, fmt.Sprintf("change %d (%s)", i, step))
	}
	if n := v11.Snapshots.Load(); n != 0 {
		t.Errorf("the v1.1 terminal asked %d snapshots with no frame lost", n)
	}
	if n := v11.Deltas.Load(); n < int32(changes/2) {
		t.Errorf("the v1.1 terminal applied %d deltas in %d changes", n, changes)
	}
	if n := v1.Deltas.Load(); n != 0 {
		t.Errorf("the v1 terminal got %d deltas", n)
	}
	// Reconnections included: a menu whole for each.
	t.Logf("%d changes, %d deltas; bytes received per change: v1 %d, v1.1 %d", changes, v11.Deltas.Load(),
		(v1.BytesIn.Load()-in1)/int64(changes), (v11.BytesIn.Load()-in11)/int64(changes))
}

// note is a one-line ticket of total cents.
func note(ref string, total int64) gateway.TicketInput {
	return gateway.TicketInput{Ref: ref, Table: "7", Currency: "EUR",
		Lines: []gateway.Line{{Label: "PLAT", Qty: 1, UnitPrice: total, VATRate: 1000}}, Total: total}
}

// TestDroppedDeltaHealed loses one list_delta on the way: the next one
// does not follow what the terminal shows, it asks for a snapshot, and its
// list is right again.
func TestDroppedDeltaHealed(t *testing.T) {
	g := newGateway(t, nil)
	ctx := context.Background()
	var want []string
	post := func(ref string) {
		tk, _, err := g.tickets.Submit(ctx, g.till, note(ref, 1000))
		if err != nil {
			t.Fatal(err)
		}
		want = append(want, tk.ID)
	}
	post("A")
	v1 := onList(t, g, "V1", true)
	v11 := onList(t, g, "V11", false)
	settle(t, v1, v11, want, "first ticket")

	v11.DropDeltas.Store(1)
	post("B")
	// The v1 terminal has B; the v1.1 terminal lost the delta that added
	// it, and still shows A alone.
	deadline := time.Now().Add(30 * time.Second)
	for !slices.Equal(ids(items(v1)), want) || v11.DropDeltas.Load() != 0 {
		if time.Now().After(deadline) {
			t.Fatalf("the delta adding B never came: v1 %v", items(v1))
		}
		time.Sleep(time.Millisecond)
	}
	if got := ids(items(v11)); len(got) != 1 {
		t.Fatalf("after the lost delta the v1.1 terminal shows %v", got)
	}
	post("C")
	settle(t, v1, v11, want, "after the gap")
	if n := v11.Snapshots.Load(); n != 1 {
		t.Errorf("%d snapshots asked, want 1", n)
	}
}

// untilMenuWith reads a terminal's messages until it shows a menu with
// the item id.
func untilMenuWith(t *testing.T, term *terminalsim.Terminal, id string) terminalsim.Message {
	t.Helper()
	for {
		m, _ := expect(t, term, "screen")
		if m.Kind == gateway.ScreenMenu && slices.ContainsFunc(m.Items, func(it gateway.MenuItem) bool { return it.ID == id }) {
			return m
		}
	}
}

// TestV1AndV11PayOneTicket: a v1 and a v1.1 terminal pick the same
// ticket from the list and ask to pay it in full at the same moment, round
// after round, the v1.1 one reconnecting half way: exactly one gets the pay
// request each time. Two watchers, v1 and v1.1, stay on the list and show
// the same list after every round, the paid ticket gone.
func TestV1AndV11PayOneTicket(t *testing.T) {
	g := newGateway(t, nil)
	ctx := context.Background()
	keep, _, err := g.tickets.Submit(ctx, g.till, note("KEEP", 500))
	if err != nil {
		t.Fatal(err)
	}
	open := []string{keep.ID}
	w1 := onList(t, g, "W1", true)
	w11 := onList(t, g, "W11", false)
	racers := []*terminalsim.Terminal{
		dial(t, terminalsim.Options{URL: g.url, Code: g.code(), Serial: "R1", V1Only: true}),
		dial(t, terminalsim.Options{URL: g.url, Code: g.code(), Serial: "R11"}),
	}
	rounds := 20
	if testing.Short() {
		rounds = 6
	}
	wins := map[string]int{}
	for round := range rounds {
		if round == rounds/2 {
			if err := racers[1].Reconnect(ctx); err != nil {
				t.Fatal(err)
			}
		}
		tk, _, err := g.tickets.Submit(ctx, g.till, note(fmt.Sprintf("P%d", round), 1200))
		if err != nil {
			t.Fatal(err)
		}
		open = append(open, tk.ID)
		settle(t, w1, w11, open, fmt.Sprintf("round %d: posted", round))
		for _, r := range racers {
			if err := r.Start("F1"); err != nil {
				t.Fatal(err)
			}
			menu := untilMenuWith(t, r, tk.ID)
			if err := r.AnswerScreen(menu.ScreenID, tk.ID); err != nil {
				t.Fatal(err)
			}
			if m, _ := expect(t, r, "screen"); m.Kind != "ticket" {
				t.Fatalf("round %d: after the pick, %+v", round, m)
			}
		}
		start := make(chan struct{})
		errs := make(chan error, len(racers))
		for _, r := range racers {
			go func() {
				<-start
				errs <- r.Answer("full")
			}()
		}
		close(start)
		for range racers {
			if err := <-errs; err != nil {
				t.Fatalf("round %d: %v", round, err)
			}
		}
		var winner *terminalsim.Terminal
		for _, r := range racers {
			for {
				m, err := r.Next(ctx)
				if err != nil {
					t.Fatal(err)
				}
				if m.Type == "pay" {
					if winner != nil {
						t.Fatalf("round %d: both terminals got the pay request", round)
					}
					winner = r
					break
				}
				if m.Type == "done" {
					break
				}
			}
		}
		if winner == nil {
			t.Fatalf("round %d: neither terminal got the pay request", round)
		}
		wins[winner.Name()]++
		card(t, winner, terminalsim.Approve)
		expect(t, winner, "done")
		open = slices.DeleteFunc(open, func(id string) bool { return id == tk.ID })
		settle(t, w1, w11, open, fmt.Sprintf("round %d: paid", round))
	}
	t.Logf("wins: %v; the v1.1 watcher applied %d deltas", wins, w11.Deltas.Load())
	if w11.Deltas.Load() == 0 {
		t.Error("the v1.1 watcher applied no delta")
	}
}
