package main

import (
	"cmp"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/passerelle/passerelle/drivers/listener"
	"github.com/passerelle/passerelle/drivers/tillapi"
	"github.com/passerelle/passerelle/gateway"
	"github.com/passerelle/passerelle/sync/hub"
)

// hubDBFile is the hub's SQLite database in its data directory.
const hubDBFile = "hub.db"

const hubUsage = `usage: passerelle hub <command> [--data DIR] [--database URL]
  run [--listen ADDR] [--no-tls]     serve the hub (default :8421, HTTPS)
  store add NAME [--json]            a shop: its store_id and store key (shown once)
  store list                         the shops, with their last sync
  store revoke ID                    revoke a shop's key
  key add NAME [--store ID] [--json] a web shop's key (--store) or a read key
  reconcile --store ID --day YYYY-MM-DD FILE
                                     the day's approved payments against a télécollecte file;
                                     exit 0 when everything matches, 1 otherwise`

func hubCommand(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprintln(stderr, hubUsage)
		return errUsage
	}
	fs := flag.NewFlagSet("hub "+args[0], flag.ContinueOnError)
	fs.SetOutput(stderr)
	data := fs.String("data", cmp.Or(os.Getenv("PASSERELLE_HUB_DATA"), "./passerelle-hub-data"), "the hub's data directory (env PASSERELLE_HUB_DATA)")
	database := fs.String("database", os.Getenv("PASSERELLE_HUB_DATABASE"), "database URL; default SQLite in DATA/hub.db (env PASSERELLE_HUB_DATABASE)")
	listen := fs.String("listen", ":8421", "listen address (run)")
	noTLS := fs.Bool("no-tls", false, "serve plain HTTP (run; behind a TLS proxy, or tests)")
	asJSON := fs.Bool("json", false, "print JSON (store add, key add)")
	storeID := fs.String("store", "", "the store of a web shop's key (key add), the store to reconcile (reconcile)")
	day := fs.String("day", "", "the day to reconcile, YYYY-MM-DD (reconcile)")
	var operands []string
	for rest := args[1:]; ; {
		if err := fs.Parse(rest); err != nil {
			return errUsage
		}
		if rest = fs.Args(); len(rest) == 0 {
			break
		}
		operands, rest = append(operands, rest[0]), rest[1:]
	}
	db, err := openHubDB(ctx, *data, *database)
	if err != nil {
		return err
	}
	defer db.Close()
	switch {
	case args[0] == "run" && len(operands) == 0:
		log := slog.New(slog.NewTextHandler(stderr, nil))
		return runHub(ctx, db, *data, *listen, !*noTLS, log)
	case args[0] == "store" && len(operands) == 2 && operands[0] == "add":
		return hubStoreAdd(ctx, db, operands[1], *asJSON, stdout)
	case args[0] == "store" && len(operands) == 1 && operands[0] == "list":
		return hubStoreList(ctx, db, stdout)
	case args[0] == "store" && len(operands) == 2 && operands[0] == "revoke":
		if err := db.RevokeStore(ctx, operands[1]); err != nil {
			return err
		}
		fmt.Fprintln(stdout, "revoked", operands[1])
		return nil
	case args[0] == "reconcile" && len(operands) == 1 && *storeID != "" && *day != "":
		return hubReconcile(ctx, db, *storeID, *day, operands[0], stdout)
	case args[0] == "key" && len(operands) == 2 && operands[0] == "add":
		key, err := db.AddKey(ctx, operands[1], *storeID)
		if err != nil {
			return err
		}
		if *asJSON {
			return json.NewEncoder(stdout).Encode(map[string]string{"key": key})
		}
		fmt.Fprintln(stdout, key)
		return nil
	}
	fmt.Fprintln(stderr, hubUsage)
	return errUsage
}

// openHubDB opens the hub's database: SQLite in the data directory unless
// a URL names another.
func openHubDB(ctx context.Context, data, database string) (*hub.DB, error) {
	if database != "" {
		if strings.HasPrefix(database, "postgres://") || strings.HasPrefix(database, "postgresql://") {
			return hub.OpenPostgres(ctx, database, time.Now)
		}
		return nil, errors.New("hub: --database must be a postgres:// URL (without it, SQLite in DATA/hub.db)")
	}
	if err := os.MkdirAll(data, 0o700); err != nil {
		return nil, fmt.Errorf("hub: data directory: %w", err)
	}
	return hub.Open(ctx, filepath.Join(data, hubDBFile), time.Now)
}

func runHub(ctx context.Context, db *hub.DB, data, listen string, useTLS bool, log *slog.Logger) error {
	var cert *tls.Certificate
	scheme, fingerprint := "http", ""
	if useTLS {
		c, err := listener.LoadOrCreateCert(data, hostNames(nil), time.Now())
		if err != nil {
			return err
		}
		cert, scheme, fingerprint = &c, "https", listener.Fingerprint(c)
		log.Info("TLS certificate: shops pin it with upstream set --ca", "fingerprint", fingerprint,
			"file", filepath.Join(data, listener.CertFile))
	}
	srv, err := listener.Listen(ctx, listen, cert, hub.NewServer(hub.Config{DB: db, Log: log, DecodeOrder: decodeOrder}).Handler(), log)
	if err != nil {
		return err
	}
	log.Info("passerelle hub started", "version", version, "url", openURL(scheme, srv.Addr()))
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error { return srv.Run(gctx) })
	err = g.Wait()
	log.Info("passerelle hub stopped")
	if errors.Is(err, context.Canceled) {
		return nil
	}
	return err
}

func hubStoreAdd(ctx context.Context, db *hub.DB, name string, asJSON bool, stdout io.Writer) error {
	s, key, err := db.AddStore(ctx, name)
	if err != nil {
		return err
	}
	if asJSON {
		return json.NewEncoder(stdout).Encode(map[string]string{"store_id": s.ID, "key": key})
	}
	fmt.Fprintf(stdout, "store %q: store_id %s\nits store key, shown this once (passerelle upstream set --store %s --key-stdin):\n%s\n", s.Name, s.ID, s.ID, key)
	return nil
}

func hubStoreList(ctx context.Context, db *hub.DB, stdout io.Writer) error {
	stores, err := db.Stores(ctx)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "STORE_ID\tNAME\tACKED_THROUGH\tLAST_SYNC\tSTATE")
	for _, s := range stores {
		last, state := "-", "active"
		if s.LastSync != nil {
			last = s.LastSync.Format(time.RFC3339)
		}
		if s.Revoked {
			state = "revoked"
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%s\n", s.ID, s.Name, s.AckedThrough, last, state)
	}
	return tw.Flush()
}

// decodeOrder reads a web shop's order with the till API's own decoder,
// its problems handed to the hub as they are.
func decodeOrder(body []byte) (gateway.TicketInput, error) {
	in, err := tillapi.DecodeTicket(body)
	var p *tillapi.Problem
	if errors.As(err, &p) {
		return in, &hub.RequestError{Status: p.Status, Title: p.Title, Detail: p.Detail, Fields: p.Errors}
	}
	return in, err
}

func hubReconcile(ctx context.Context, db *hub.DB, storeID, day, file string, stdout io.Writer) error {
	f, err := os.Open(file)
	if err != nil {
		return err
	}
	defer f.Close()
	lines, err := hub.ParseTelecollecte(f)
	if err != nil {
		return fmt.Errorf("%s: %w (nothing recorded)", file, err)
	}
	r, err := db.Reconcile(ctx, storeID, day, lines)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "store %s, %s: %d matched, %d missing, %d unexpected, %d amount mismatch",
		storeID, day, len(r.Matched), len(r.Missing), len(r.Unexpected), len(r.AmountMismatch))
	if r.OtherDays > 0 {
		fmt.Fprintf(stdout, " (%d lines of other days left out)", r.OtherDays)
	}
	fmt.Fprintln(stdout)
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	for _, g := range []struct {
		name string
		es   []hub.ReconEntry
	}{{"missing", r.Missing}, {"unexpected", r.Unexpected}, {"amount mismatch", r.AmountMismatch}} {
		for _, e := range g.es {
			fmt.Fprintf(tw, "%s\t%s\tpayment %s\tbank %s\n", g.name, e.TransactionRef, euros(e.Amount), euros(e.BankAmount))
		}
	}
	tw.Flush()
	if !r.OK() {
		return fmt.Errorf("hub reconcile: %s does not match the day's payments", file)
	}
	return nil
}

// euros formats cents as the bank's file does: 1234,50.
func euros(c *int64) string {
	if c == nil {
		return "-"
	}
	v := *c
	sign := ""
	if v < 0 {
		sign, v = "-", -v
	}
	return fmt.Sprintf("%s%d,%02d", sign, v/100, v%100)
}
