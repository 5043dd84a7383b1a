package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/passerelle/passerelle/drivers/tillsim"
	"github.com/passerelle/passerelle/gateway"
	"github.com/passerelle/passerelle/store"
)

// dbFile is the database's name in a data directory, as `passerelle run`
// names it.
const dbFile = "passerelle.db"

// openData opens a data directory's store beside a running gateway, or
// before one, as the CLI's one-shot commands do.
func openData(ctx context.Context, data string) (*store.Store, gateway.Config, error) {
	if err := os.MkdirAll(data, 0o700); err != nil {
		return nil, gateway.Config{}, fmt.Errorf("data directory: %w", err)
	}
	cfg, err := gateway.LoadConfig(filepath.Join(data, gateway.ConfigFile))
	if err != nil {
		return nil, cfg, err
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	st, err := store.Open(ctx, filepath.Join(data, dbFile), log, nil)
	return st, cfg, err
}

// codes prints pairing codes, one per line: a `passerelle terminal code`
// each, without a process each.
func codes(ctx context.Context, args []string, out io.Writer) error {
	fs := flag.NewFlagSet("codes", flag.ContinueOnError)
	data := fs.String("data", "", "the gateway's data directory")
	count := fs.Int("count", 1, "how many codes")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *data == "" || *count < 1 {
		return fmt.Errorf("codes: --data and a positive --count are required")
	}
	st, _, err := openData(ctx, *data)
	if err != nil {
		return err
	}
	defer st.Close()
	terms := gateway.NewTerminals(st, time.Now)
	for range *count {
		code, _, err := terms.NewPairingCode(ctx)
		if err != nil {
			return fmt.Errorf("codes: %w", err)
		}
		fmt.Fprintln(out, code)
	}
	return nil
}

// seed writes tickets through the gateway's own Submit, as a till's POSTs
// would, from concurrent goroutines so that the store's group commit
// batches them.
func seed(ctx context.Context, args []string, out io.Writer) error {
	fs := flag.NewFlagSet("seed", flag.ContinueOnError)
	data := fs.String("data", "", "the gateway's data directory")
	n := fs.Int("tickets", 100000, "how many tickets")
	conc := fs.Int("concurrency", 64, "Submits in flight")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *data == "" || *n < 1 || *conc < 1 {
		return fmt.Errorf("seed: --data, and positive --tickets and --concurrency, are required")
	}
	st, cfg, err := openData(ctx, *data)
	if err != nil {
		return err
	}
	defer st.Close()
	till, _, err := gateway.NewTills(st, time.Now).Add(ctx, gateway.NewTill{Name: fmt.Sprintf("Seed %d", time.Now().UnixNano())})
	if err != nil {
		return fmt.Errorf("seed: %w", err)
	}
	tickets := gateway.NewTickets(st, cfg.Rules, time.Now)
	gen := tillsim.NewGenerator(uint64(time.Now().UnixNano()), tillsim.RunPrefix())
	var (
		genMu sync.Mutex
		next  atomic.Int64
		fails atomic.Int64
		first atomic.Value
		wg    sync.WaitGroup
	)
	start := time.Now()
	for range *conc {
		wg.Go(func() {
			for next.Add(1) <= int64(*n) && ctx.Err() == nil {
				genMu.Lock()
				in := gen.Next()
				genMu.Unlock()
				if _, _, err := tickets.Submit(ctx, till, in); err != nil {
					fails.Add(1)
					first.CompareAndSwap(nil, err.Error())
				}
			}
		})
	}
	wg.Wait()
	el := time.Since(start)
	fmt.Fprintf(out, "seeded %d tickets in %.1f s (%.0f/s), %d failed\n", *n-int(fails.Load()), el.Seconds(),
		float64(*n)/el.Seconds(), fails.Load())
	if f := fails.Load(); f > 0 {
		return fmt.Errorf("seed: %d tickets failed, first: %v", f, first.Load())
	}
	return ctx.Err()
}
