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
	"github.com/passerelle/passerelle/drivers/terminalws"
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

// pageSize is what a v1.1 terminal of the default 8 rows gets: a row for
// the title, 7 tickets a page.
const pageSize = 7

// settle waits until the v1 terminal's list holds want, in that order, and
// the v1.1 terminal, rebuilt from deltas, shows page of it, labels
// included, with "more" right. The deadline only bounds a list that never
// comes right.
func settle(t *testing.T, v1, v11 *terminalsim.Terminal, want []string, page int, step string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		a, s := items(v1), v11.Screen()
		var b []gateway.MenuItem
		if s != nil && s.Kind == gateway.ScreenMenu {
			b = s.Items
		}
		if a != nil && slices.Equal(ids(a), want) && s != nil && s.Page == page {
			from, to := min((page-1)*pageSize, len(a)), min(page*pageSize, len(a))
			more := s.More != nil && *s.More
			if slices.Equal(a[from:to], b) && more == (len(a) > to) {
				return
			}
		}
		if time.Now().After(deadline) {
			var got any = "no menu"
			if s != nil {
				got = fmt.Sprintf("page %d more %v %v", s.Page, s.More != nil && *s.More, b)
			}
			for {
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
				m, err := v11.Next(ctx)
				cancel()
				if err != nil {
					break
				}
				if m.Type == "error" {
					t.Logf("v1.1 terminal got error %s: %s", m.Code, m.Text)
				}
			}
			t.Fatalf("%s: v1 shows %v, v1.1 shows %v, want %v on page %d", step, a, got, want, page)
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
	page := 1 // the page the v1.1 terminal shows
	for i := range changes {
		var step string
		switch op := r.IntN(12); {
		case op >= 10 && i > 0:
			// The waiter turns to a page, at times one past the last,
			// which brings the first.
			n := 1 + r.IntN((len(open)+pageSize-1)/pageSize+1)
			step = fmt.Sprintf("page %d", n)
			shown := v11.Screen().ScreenID
			if err := v11.Page(n); err != nil {
				t.Fatal(err)
			}
			// The page comes as a new screen; until then the terminal
			// still shows the old one, which may be that very page.
			deadline := time.Now().Add(30 * time.Second)
			for s := v11.Screen(); s == nil || s.ScreenID == shown; s = v11.Screen() {
				if time.Now().After(deadline) {
					t.Fatalf("change %d: page %d never came", i, n)
				}
				time.Sleep(time.Millisecond)
			}
			page = n
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
			page = 1
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
		if (page-1)*pageSize >= len(open) {
			page = 1 // a page emptied, or past the end: the first
		}
		settle(t, v1, v11, want, page, fmt.Sprintf("change %d (%s)", i, step))
	}
	if n := v11.Snapshots.Load(); n != 0 {
		t.Errorf("the v1.1 terminal asked %d snapshots with no frame lost", n)
	}
	// Changes past the page shown send nothing, and page turns go whole.
	if n := v11.Deltas.Load(); n < int32(changes/8) {
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
	settle(t, v1, v11, want, 1, "first ticket")

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
	settle(t, v1, v11, want, 1, "after the gap")
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
		settle(t, w1, w11, open, 1, fmt.Sprintf("round %d: posted", round))
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
		settle(t, w1, w11, open, 1, fmt.Sprintf("round %d: paid", round))
	}
	t.Logf("wins: %v; the v1.1 watcher applied %d deltas", wins, w11.Deltas.Load())
	if w11.Deltas.Load() == 0 {
		t.Error("the v1.1 watcher applied no delta")
	}
}

// TestPagesByDisplayRows: a v1.1 terminal of 4 rows gets menus in pages of
// 3 tickets, turns them, and is told of a change only when it touches the
// page it shows; one that tells no rows, and any v1 terminal, get one page
// of up to 50 and cannot turn pages.
func TestPagesByDisplayRows(t *testing.T) {
	g := newGateway(t, nil)
	ctx := context.Background()
	var posted []gateway.Ticket
	for i := range 8 {
		tk, _, err := g.tickets.Submit(ctx, g.till, note(fmt.Sprintf("P%d", i), 1000))
		if err != nil {
			t.Fatal(err)
		}
		posted = append(posted, tk)
	}
	want := func(m terminalsim.Message, page int, more bool, tks ...gateway.Ticket) {
		t.Helper()
		var wantIDs []string
		for _, tk := range tks {
			wantIDs = append(wantIDs, tk.ID)
		}
		if m.Page != page || (m.More != nil && *m.More) != more || !slices.Equal(ids(m.Items), wantIDs) {
			t.Fatalf("menu page %d more %v %v, want page %d more %v %v", m.Page, m.More != nil && *m.More, ids(m.Items), page, more, wantIDs)
		}
	}
	term := dial(t, terminalsim.Options{URL: g.url, Code: g.code(), Serial: "ROWS4", Rows: 4})
	if err := term.Start("F1"); err != nil {
		t.Fatal(err)
	}
	m, _ := expect(t, term, "screen")
	want(m, 1, true, posted[0:3]...)

	// A ticket posted past the page changes nothing shown: no frame.
	deltas, in := term.Deltas.Load(), term.BytesIn.Load()
	late, _, err := g.tickets.Submit(ctx, g.till, note("LATE", 1000))
	if err != nil {
		t.Fatal(err)
	}
	posted = append(posted, late)
	// One paid on the page does: a delta, the next ticket moved up.
	if _, err := g.tickets.Cancel(ctx, g.till, posted[1].ID); err != nil {
		t.Fatal(err)
	}
	m, _ = expect(t, term, "screen")
	want(m, 1, true, posted[0], posted[2], posted[3])
	if n := term.Deltas.Load() - deltas; n != 1 {
		t.Errorf("%d deltas for one change on the page", n)
	}
	t.Logf("bytes for the change on the page: %d", term.BytesIn.Load()-in)
	posted = slices.Delete(posted, 1, 2) // 8 open: P0 P2 … P7 LATE

	if err := term.Page(3); err != nil {
		t.Fatal(err)
	}
	m, _ = expect(t, term, "screen")
	want(m, 3, false, posted[6:8]...)
	if err := term.Page(4); err != nil { // past the end: the first
		t.Fatal(err)
	}
	m, _ = expect(t, term, "screen")
	want(m, 1, true, posted[0:3]...)
	for _, n := range []int{0, -1, 168} { // 168: starts past the 500th ticket
		pageRefused(t, term, n, "bad_answer")
	}

	// No rows told: one page of everything, no page to turn.
	whole := dial(t, terminalsim.Options{URL: g.url, Code: g.code(), Serial: "NOROWS", Rows: -1})
	if err := whole.Start("F1"); err != nil {
		t.Fatal(err)
	}
	m, _ = expect(t, whole, "screen")
	want(m, 0, false, posted...)
	pageRefused(t, whole, 1, "bad_answer") // no rows told
	// v1: no pages, and no such message.
	v1 := dial(t, terminalsim.Options{URL: g.url, Code: g.code(), Serial: "V1ROWS", V1Only: true, Rows: 4})
	if err := v1.Start("F1"); err != nil {
		t.Fatal(err)
	}
	m, _ = expect(t, v1, "screen")
	want(m, 0, false, posted...)
	pageRefused(t, v1, 2, "unknown_type")
}

// pageRefused asks term for page n and expects the error code.
func pageRefused(t *testing.T, term *terminalsim.Terminal, n int, code string) {
	t.Helper()
	if err := term.Page(n); err != nil {
		t.Fatal(err)
	}
	if m, _ := expect(t, term, "error"); m.Code != code {
		t.Errorf("%s: page %d: error %s, want %s", term.Name(), n, m.Code, code)
	}
}

// TestChangesCoalesced: changes made within the hub's window reach a v1.1
// terminal on the list as one list_delta, and a v1 terminal as one menu.
func TestChangesCoalesced(t *testing.T) {
	const window = 2 * time.Second
	g := newGatewayWith(t, nil, func(c *terminalws.Config) { c.Coalesce = window })
	ctx := context.Background()
	first, _, err := g.tickets.Submit(ctx, g.till, note("FIRST", 500))
	if err != nil {
		t.Fatal(err)
	}
	v1 := onList(t, g, "V1", true)
	v11 := onList(t, g, "V11", false)
	want := []string{first.ID}
	settle(t, v1, v11, want, 1, "first ticket")
	d11, before := v11.Deltas.Load(), v1.BytesIn.Load()

	start := time.Now()
	for i := range 3 {
		tk, _, err := g.tickets.Submit(ctx, g.till, note(fmt.Sprintf("C%d", i), 700))
		if err != nil {
			t.Fatal(err)
		}
		want = append(want, tk.ID)
	}
	if took := time.Since(start); took >= window {
		t.Skipf("posting 3 tickets took %v, more than the window: nothing to test on so slow a box", took)
	}
	for _, term := range []*terminalsim.Terminal{v11, v1} {
		m := untilChanged(t, term, want[:1])
		if !slices.Equal(ids(m.Items), want) {
			t.Fatalf("%s: the first refresh after 3 changes shows %v, want all of %v", term.Name(), ids(m.Items), want)
		}
	}
	if n := v11.Deltas.Load() - d11; n != 1 {
		t.Errorf("%d deltas for 3 changes in one window", n)
	}
	t.Logf("v1 received %d bytes for the 3 changes", v1.BytesIn.Load()-before)
}

// untilChanged reads a terminal's messages until it shows a menu whose
// items are not was.
func untilChanged(t *testing.T, term *terminalsim.Terminal, was []string) terminalsim.Message {
	t.Helper()
	for {
		m, _ := expect(t, term, "screen")
		if m.Kind == gateway.ScreenMenu && !slices.Equal(ids(m.Items), was) {
			return m
		}
	}
}

// TestSnapshotAfterCancel: a terminal that left a list by cancel (which
// nothing answers) and asks a snapshot, as it would for a delta already on
// its way, gets nothing back: not the menu it left.
func TestSnapshotAfterCancel(t *testing.T) {
	g := newGateway(t, nil)
	ctx := context.Background()
	if _, _, err := g.tickets.Submit(ctx, g.till, note("A", 500)); err != nil {
		t.Fatal(err)
	}
	term := onList(t, g, "V11", false)
	left, _ := expect(t, term, "screen")
	if err := term.Cancel(); err != nil {
		t.Fatal(err)
	}
	if err := terminalsim.AskSnapshot(term); err != nil {
		t.Fatal(err)
	}
	// The next screen is the one the next key opens, never the menu left.
	if err := term.Start("F1"); err != nil {
		t.Fatal(err)
	}
	m, _ := expect(t, term, "screen")
	if m.ScreenID == left.ScreenID {
		t.Fatalf("after cancel, a snapshot brought back the menu left (%s)", m.ScreenID)
	}
}
