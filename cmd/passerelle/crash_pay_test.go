package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/passerelle/passerelle/drivers/terminalsim"
	"github.com/passerelle/passerelle/gateway"
	"github.com/passerelle/passerelle/store"
)

// A kill -9 of the gateway while terminals pay: after the restart, every
// result a terminal produced (acked before the kill or not) is recorded
// exactly once, unacked ones are resent from the terminals' state files,
// payments whose card step never ended are resolved, and no ticket is paid
// twice.
func TestCrashDuringPayments(t *testing.T) {
	const terminals, tablesEach = 3, 10
	bin := buildPasserelle(t)
	data := t.TempDir()
	key := addTill(t, bin, data, "Caisse 1")
	addr := freeAddr(t)

	g := startGatewayAt(t, bin, data, addr)
	hc := &http.Client{Timeout: 10 * time.Second}
	for table := 1; table <= terminals*tablesEach; table++ {
		in := gateway.TicketInput{Ref: "R" + strconv.Itoa(table), Table: strconv.Itoa(table),
			Lines: []gateway.Line{{Label: "MENU DU JOUR", Qty: 1, UnitPrice: int64(1000 + table), VATRate: 1000}},
			Total: int64(1000 + table)}
		if code, err := postTicket(hc, g.url, key, in); err != nil || code != http.StatusCreated {
			t.Fatalf("post table %d: %d %v", table, code, err)
		}
	}

	states := make([]string, terminals)
	terms := make([]*terminalsim.Terminal, terminals)
	for i := range terms {
		states[i] = filepath.Join(t.TempDir(), fmt.Sprintf("terminal%d.json", i))
		terms[i] = dialTerminal(t, terminalsim.Options{URL: g.url, Code: simPairingCode(t, bin, data),
			StateFile: states[i], Serial: fmt.Sprintf("CRASH%d", i)})
	}

	// The terminals pay their tables until the kill cuts them off.
	var mu sync.Mutex
	var approved []string // payment IDs of every approval a terminal produced
	firstApproval := make(chan struct{})
	var once sync.Once
	var wg sync.WaitGroup
	for i, term := range terms {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for k := 1; k <= tablesEach; k++ {
				id, err := payTableFull(term, strconv.Itoa(i*tablesEach+k))
				if id != "" {
					mu.Lock()
					approved = append(approved, id)
					mu.Unlock()
					once.Do(func() { close(firstApproval) })
				}
				if err != nil {
					return // the gateway is gone
				}
			}
		}()
	}
	// The kill comes after the first approval, so that there is something
	// to lose (on a loaded machine that can take seconds), then at a random
	// point of the payments that follow.
	select {
	case <-firstApproval:
	case <-time.After(time.Minute):
		t.Fatal("no terminal approved a payment within a minute")
	}
	time.Sleep(time.Duration(rand.IntN(300)) * time.Millisecond)
	g.kill(t)
	wg.Wait()
	for _, term := range terms {
		term.Close()
	}

	// Restart on the same address; the terminals come back from their
	// state files alone, resend what was not acked and answer the
	// gateway's status requests.
	g = startGatewayAt(t, bin, data, addr)
	for i := range terms {
		terms[i] = dialTerminal(t, terminalsim.Options{URL: g.url, StateFile: states[i]})
	}
	settled := func() bool {
		for _, term := range terms {
			if len(term.State().Payments) > 0 {
				return false
			}
		}
		return true
	}
	// A bound on terminals that never settle, not a speed check.
	for deadline := time.Now().Add(30 * time.Second); !settled(); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			for _, term := range terms {
				t.Logf("%s still holds %+v", term.Name(), term.State().Payments)
			}
			t.Fatalf("the terminals' unfinished payments were not settled after the restart:\n%s", g.log.String())
		}
	}
	for _, term := range terms {
		term.Close()
	}
	g.kill(t)
	checkPayments(t, filepath.Join(data, dbFile), approved)
}

// payTableFull runs F2 for one table, paid in full and approved. It returns the
// payment's ID once the card approved it (whether or not the gateway then
// acked), and an error when the connection ends.
func payTableFull(term *terminalsim.Terminal, table string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := term.Start("F2"); err != nil {
		return "", err
	}
	steps := []struct{ typ, kind, answer string }{
		{"screen", gateway.ScreenInput, table},
		{"screen", gateway.ScreenTicket, gateway.ChoiceFull},
		{"pay", "", ""},
	}
	for _, st := range steps {
		m, err := nextOf(ctx, term, st.typ)
		if err != nil {
			return "", err
		}
		if st.typ == "pay" {
			r, err := term.Card(ctx, terminalsim.Approve)
			if err != nil {
				return "", err
			}
			id := r.PaymentID
			_, err = nextOf(ctx, term, "done")
			return id, err
		}
		if m.Kind != st.kind {
			return "", fmt.Errorf("table %s: screen %s %q, want %s", table, m.Kind, m.Title, st.kind)
		}
		if err := term.Answer(st.answer); err != nil {
			return "", err
		}
	}
	return "", nil
}

var errGone = errors.New("the connection ended")

func nextOf(ctx context.Context, term *terminalsim.Terminal, typ string) (terminalsim.Message, error) {
	for {
		m, err := term.Next(ctx)
		if err != nil {
			return m, err
		}
		switch m.Type {
		case typ:
			return m, nil
		case terminalsim.TypeDisconnected:
			return m, errGone
		case "error":
			return m, fmt.Errorf("the gateway says %s: %s", m.Code, m.Text)
		}
	}
}

// checkPayments reads the dead gateway's database.
func checkPayments(t *testing.T, path string, approved []string) {
	t.Helper()
	ctx := context.Background()
	st, err := store.Open(ctx, path, slog.New(slog.NewTextHandler(io.Discard, nil)), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if res, err := st.IntegrityCheck(ctx); err != nil || res != "ok" {
		t.Fatalf("integrity_check: %q %v", res, err)
	}
	if open, err := st.PaymentsInProgress(ctx); err != nil || len(open) > 0 {
		t.Fatalf("payments still in progress after the terminals settled: %+v %v", open, err)
	}
	var evs []gateway.Event
	for {
		page, err := st.EventsAfter(ctx, gateway.EventQuery{After: int64(len(evs)), Limit: 10000})
		if err != nil {
			t.Fatal(err)
		}
		if len(page) == 0 {
			break
		}
		evs = append(evs, page...)
	}
	approvedEvents := map[string]int{}
	for i, e := range evs {
		if e.Seq != int64(i+1) {
			t.Fatalf("event %d has seq %d: the log has a gap", i+1, e.Seq)
		}
		if e.Type == gateway.EventPaymentApproved {
			approvedEvents[e.PaymentID]++
		}
	}
	for _, id := range approved {
		p, err := st.Payment(ctx, id)
		if err != nil {
			t.Fatalf("payment %s, approved by its terminal, is not stored: %v", id, err)
		}
		if p.Status != gateway.PaymentApproved || approvedEvents[id] != 1 {
			t.Errorf("payment %s approved by its terminal: stored %s with %d payment.approved events", id, p.Status, approvedEvents[id])
		}
	}
	if len(approvedEvents) != len(approved) {
		t.Errorf("%d payments approved in the store, the terminals approved %d", len(approvedEvents), len(approved))
	}
	var tickets []gateway.Ticket
	for after := ""; ; {
		page, err := st.Tickets(ctx, gateway.TicketQuery{After: after, Limit: 500})
		if err != nil {
			t.Fatal(err)
		}
		if len(page) == 0 {
			break
		}
		tickets = append(tickets, page...)
		after = page[len(page)-1].ID
	}
	for _, tk := range tickets {
		full, err := st.Ticket(ctx, tk.ID)
		if err != nil {
			t.Fatal(err)
		}
		var paid int64
		n := 0
		for _, p := range full.Payments {
			if p.Status == gateway.PaymentApproved {
				paid += p.Amount
				n++
			}
		}
		want := gateway.TicketOpen
		if n > 0 {
			want = gateway.TicketPaid
		}
		if n > 1 || full.Paid != paid || full.Status != want {
			t.Errorf("ticket %s: %d approved payments, paid %d (sum %d), status %s", full.Ref, n, full.Paid, paid, full.Status)
		}
	}
	t.Logf("%d payments approved by the terminals, each recorded once; %d events", len(approved), len(evs))
}

func dialTerminal(t *testing.T, opts terminalsim.Options) *terminalsim.Terminal {
	t.Helper()
	opts.Log = slog.New(slog.NewTextHandler(io.Discard, nil))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	term, err := terminalsim.Dial(ctx, opts)
	if err != nil {
		t.Fatalf("terminal: %v", err)
	}
	t.Cleanup(func() { term.Close() })
	return term
}

// freeAddr is a loopback address nobody listens on, for a gateway that must
// come back at the same address.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// startGatewayAt runs the gateway on addr (the later --listen wins).
func startGatewayAt(t *testing.T, bin, data, addr string) *gatewayProc {
	t.Helper()
	g := startSimGateway(t, bin, data, "--no-tls", "--listen", addr)
	g.url = strings.TrimSuffix(g.url, "/")
	return g
}
