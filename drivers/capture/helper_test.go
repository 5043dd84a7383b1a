package capture

import (
	"context"
	"io"
	"log/slog"
	"net"
	"path/filepath"
	"testing"
	"time"

	"github.com/passerelle/passerelle/drivers/escpos"
	"github.com/passerelle/passerelle/drivers/notes"
	"github.com/passerelle/passerelle/gateway"
	"github.com/passerelle/passerelle/store"
)

var discard = slog.New(slog.NewTextHandler(io.Discard, nil))

const tillName = "Caisse bar"

// rig is a capture printer in front of a SimPrinter, on a real store.
type rig struct {
	st          *store.Store
	tickets     *gateway.Tickets
	dir         string
	cfg         Config
	capt        *Capture
	addr        string // where the till prints
	printer     *SimPrinter
	printerAddr string
	stopPrinter context.CancelFunc
	stopCapture context.CancelFunc
	captureDone chan error
}

func newRig(t testing.TB, lim Limits, printerOnline bool) *rig {
	t.Helper()
	ctx := context.Background()
	st, err := store.Open(ctx, filepath.Join(t.TempDir(), "passerelle.db"), discard, gateway.NewEventBus(256))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	r := &rig{st: st, tickets: gateway.NewTickets(st, gateway.DefaultConfig().Rules, time.Now), dir: t.TempDir()}
	// The printer's address is reserved now, so that an offline printer
	// can come back on it.
	pl, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	r.printerAddr = pl.Addr().String()
	if printerOnline {
		r.startPrinterOn(t, pl)
	} else {
		pl.Close()
	}
	r.cfg = Config{
		Printer:   gateway.CapturePrinter{Name: "bar", Listen: "127.0.0.1:0", Forward: r.printerAddr, Till: tillName, Template: "default", CodePage: "cp858"},
		Dir:       r.dir,
		Template:  notes.Default(),
		CodePages: escpos.NewCodePages(),
		Submit:    r.tickets.SubmitCapture,
		Log:       discard,
		Limits:    lim,
	}
	r.startCapture(t)
	return r
}

func testLimits() Limits {
	lim := DefaultLimits
	lim.RetryMin, lim.RetryMax = 5*time.Millisecond, 50*time.Millisecond
	lim.IdleTimeout = 5 * time.Second
	return lim
}

func (r *rig) startPrinter(t testing.TB) {
	t.Helper()
	pl, err := net.Listen("tcp", r.printerAddr)
	if err != nil {
		t.Fatalf("the printer's address is taken: %v", err)
	}
	r.startPrinterOn(t, pl)
}

func (r *rig) startPrinterOn(t testing.TB, pl net.Listener) {
	r.printer = &SimPrinter{}
	ctx, cancel := context.WithCancel(context.Background())
	r.stopPrinter = cancel
	done := make(chan struct{})
	go func() { _ = r.printer.Serve(ctx, pl); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
}

// startCapture (re)starts the capture printer over the rig's folder.
func (r *rig) startCapture(t testing.TB) {
	t.Helper()
	c, err := New(r.cfg)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	r.capt, r.addr = c, ln.Addr().String()
	ctx, cancel := context.WithCancel(context.Background())
	r.stopCapture = cancel
	done := make(chan error, 1)
	go func() { done <- c.Serve(ctx, ln); close(done) }()
	r.captureDone = done
	t.Cleanup(func() { cancel(); <-done })
}

// print sends b as a till does: connect, write, close.
func (r *rig) print(t testing.TB, b []byte) {
	t.Helper()
	conn, err := net.Dial("tcp", r.addr)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Write(b); err != nil {
		t.Fatal(err)
	}
	if err := conn.Close(); err != nil {
		t.Fatal(err)
	}
}

// jobs waits until the printer's log has n jobs and returns them.
func (r *rig) jobs(t testing.TB, n int) []Job {
	t.Helper()
	var jobs []Job
	waitFor(t, "jobs recorded", func() bool {
		var err error
		jobs, err = ReadJobs(r.dir)
		return err == nil && len(jobs) >= n
	})
	return jobs
}

// waitFor polls cond until it holds, for at most 20 seconds.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// ticketsOf returns the capture till's tickets.
func (r *rig) ticketsOf(t testing.TB) []gateway.Ticket {
	t.Helper()
	ctx := context.Background()
	till, err := gateway.NewTills(r.st, time.Now).Find(ctx, tillName)
	if err != nil {
		return nil
	}
	ts, err := r.st.Tickets(ctx, gateway.TicketQuery{TillID: till.ID, Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	return ts
}
