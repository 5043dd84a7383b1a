package terminalsim_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/passerelle/passerelle/drivers/terminalsim"
	"github.com/passerelle/passerelle/drivers/tillsim"
	"github.com/passerelle/passerelle/gateway"
)

// till posts tickets to g every interval until ctx is done, and remembers
// when each left, as the load's SentAt wants.
type till struct {
	mu   sync.Mutex
	sent map[string]time.Time
}

func (tl *till) sentAt(ref string) (time.Time, bool) {
	tl.mu.Lock()
	defer tl.mu.Unlock()
	t, ok := tl.sent[ref]
	return t, ok
}

func (tl *till) post(t *testing.T, g *gw, in gateway.TicketInput) {
	t.Helper()
	tl.mu.Lock()
	tl.sent[in.Ref] = time.Now()
	tl.mu.Unlock()
	if _, _, err := g.tickets.Submit(context.Background(), g.till, in); err != nil {
		t.Errorf("post %s: %v", in.Ref, err)
	}
}

// run posts a ticket of gen every interval until ctx is done.
func (tl *till) run(ctx context.Context, t *testing.T, g *gw, next func() gateway.TicketInput, every time.Duration) {
	tk := time.NewTicker(every)
	defer tk.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tk.C:
			tl.post(t, g, next())
		}
	}
}

func codes(g *gw, n int) []string {
	var out []string
	for range n {
		out = append(out, g.code())
	}
	return out
}

func connect(t *testing.T, l terminalsim.Load) *terminalsim.Fleet {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	f, err := l.Connect(ctx)
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	t.Cleanup(f.Close)
	return f
}

func paidTickets(t *testing.T, g *gw) int {
	t.Helper()
	ts, err := g.st.Tickets(context.Background(), gateway.TicketQuery{
		Statuses: []gateway.TicketStatus{gateway.TicketPaid, gateway.TicketOverpaid}, Limit: 10000})
	if err != nil {
		t.Fatal(err)
	}
	for _, tk := range ts {
		if tk.Status == gateway.TicketOverpaid {
			t.Errorf("ticket %s overpaid: two terminals paid it", tk.Ref)
		}
	}
	return len(ts)
}

// Terminals on F1 pay tickets from the list while a till posts more: every
// payment they count is a ticket paid at the gateway, and the tickets
// posted while a list is shown arrive on it. Terminals that claim their
// tickets never reach for another's.
func TestLoadF1(t *testing.T) {
	for _, claim := range []bool{true, false} {
		t.Run(fmt.Sprintf("claim=%v", claim), func(t *testing.T) { testLoadF1(t, claim) })
	}
}

func testLoadF1(t *testing.T, claim bool) {
	g := newGateway(t, nil)
	tl := &till{sent: map[string]time.Time{}}
	gen := tillsim.NewGenerator(1, "LOAD")
	for range 3 {
		tl.post(t, g, gen.Next())
	}
	// The think time keeps each terminal under the gateway's message rate
	// limit.
	f := connect(t, terminalsim.Load{Options: terminalsim.Options{URL: g.url}, Codes: codes(g, 3),
		Key: "F1", Pick: terminalsim.PickFirst, Claim: claim, Think: 100 * time.Millisecond, SentAt: tl.sentAt, Seed: 1})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		tl.run(ctx, t, g, gen.Next, 40*time.Millisecond)
	}()
	rep := f.Run(context.Background(), 1500*time.Millisecond)
	cancel()
	<-done

	if rep.Terminals != 3 || rep.Connected != 3 || rep.Disconnects != 0 {
		t.Errorf("terminals %d, connected %d, disconnections %d; want 3, 3, 0", rep.Terminals, rep.Connected, rep.Disconnects)
	}
	if rep.Payments == 0 || rep.Ack.N != rep.Payments || rep.Scenarios < rep.Payments {
		t.Errorf("%d payments, %d acks timed, %d scenarios", rep.Payments, rep.Ack.N, rep.Scenarios)
	}
	if paid := paidTickets(t, g); paid != rep.Payments {
		t.Errorf("%d tickets paid at the gateway, the terminals counted %d payments", paid, rep.Payments)
	}
	if rep.List.N == 0 {
		t.Error("no ticket was seen arriving on a list")
	}
	if rep.Errors["stalled"] > 0 {
		t.Errorf("errors %v", rep.Errors)
	}
	// The till posts faster than the terminals pay: each scenario finds a
	// ticket no other terminal took, and pays it.
	if claim && (rep.Scenarios != rep.Payments || len(rep.Messages) > 0) {
		t.Errorf("claiming terminals: %d scenarios for %d payments, messages %v", rep.Scenarios, rep.Payments, rep.Messages)
	}
	if !claim && rep.Messages["Ticket en cours de paiement"]+rep.Messages["Ticket réglé"] == 0 {
		t.Errorf("terminals all taking the first ticket never met: messages %v", rep.Messages)
	}
	var b strings.Builder
	rep.WriteTo(&b)
	for _, want := range []string{
		fmt.Sprintf("payments   %d acknowledged", rep.Payments),
		"list       ", "ack        ", " p99 ",
	} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("report lacks %q:\n%s", want, b.String())
		}
	}
}

// On F2 the terminals type table numbers; a table with no ticket shows
// "Aucun ticket", which they acknowledge and go on.
func TestLoadF2(t *testing.T) {
	g := newGateway(t, nil)
	tl := &till{sent: map[string]time.Time{}}
	for i := range 6 {
		tl.post(t, g, gateway.TicketInput{Ref: fmt.Sprintf("F2-%d", i), Table: fmt.Sprint(1 + i%3),
			Lines: []gateway.Line{{Label: "PLAT", Qty: 1, UnitPrice: 1000 + int64(i), VATRate: 1000}}, Total: 1000 + int64(i)})
	}
	f := connect(t, terminalsim.Load{Options: terminalsim.Options{URL: g.url}, Codes: codes(g, 2),
		Key: "F2", Tables: 4, Think: 100 * time.Millisecond, Seed: 2})
	rep := f.Run(context.Background(), 1500*time.Millisecond)
	if rep.Payments == 0 || rep.Connected != 2 {
		t.Fatalf("%d payments, %d connected: %+v", rep.Payments, rep.Connected, rep)
	}
	if paid := paidTickets(t, g); paid != rep.Payments {
		t.Errorf("%d tickets paid at the gateway, the terminals counted %d payments", paid, rep.Payments)
	}
	if rep.List.N != 0 {
		t.Errorf("F2 shows no list, yet %d tickets were timed on one", rep.List.N)
	}
}

// Idle terminals only stay connected.
func TestLoadIdle(t *testing.T) {
	g := newGateway(t, nil)
	f := connect(t, terminalsim.Load{Options: terminalsim.Options{URL: g.url}, Codes: codes(g, 4)})
	rep := f.Run(context.Background(), 200*time.Millisecond)
	if !rep.Idle || rep.Connected != 4 || rep.Scenarios != 0 || rep.Disconnects != 0 {
		t.Fatalf("idle run: %+v", rep)
	}
	terms, err := g.terms.List(context.Background())
	if err != nil || len(terms) != 4 {
		t.Fatalf("%d terminals paired, want 4 (%v)", len(terms), err)
	}
}

// A refused code fails the connection of the fleet, and closes the
// terminals already connected.
func TestLoadConnectRefused(t *testing.T) {
	g := newGateway(t, nil)
	good := g.code()
	_, err := terminalsim.Load{Options: terminalsim.Options{URL: g.url}, Codes: []string{good, "000000"},
		DialConcurrency: 1}.Connect(context.Background())
	if !errors.Is(err, terminalsim.ErrUnauthorized) {
		t.Fatalf("connect with a bad code: %v, want unauthorized", err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for len(g.hub.OnlineIDs()) > 0 {
		if time.Now().After(deadline) {
			t.Fatalf("terminals still online after a failed connect: %v", g.hub.OnlineIDs())
		}
		time.Sleep(10 * time.Millisecond)
	}
}
