package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"text/tabwriter"
	"time"

	"github.com/passerelle/passerelle/gateway"
	"github.com/passerelle/passerelle/store"
)

// openStore opens the data directory's store for a one-shot command. It
// works beside a running gateway: SQLite serialises the writers.
func openStore(ctx context.Context, data string, stderr io.Writer) (*store.Store, error) {
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	if _, err := loadConfig(data); err != nil {
		return nil, err
	}
	return store.Open(ctx, filepath.Join(data, dbFile), log, nil)
}

func tillCommand(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprintln(stderr, "usage: passerelle till add NAME [--callback URL] [--admin] | list | revoke NAME")
		return errUsage
	}
	fs := flag.NewFlagSet("till "+args[0], flag.ContinueOnError)
	fs.SetOutput(stderr)
	data := dataFlag(fs)
	callback := fs.String("callback", "", "webhook URL that receives the till's events (add)")
	admin := fs.Bool("admin", false, "the key sees every till's tickets and events (add)")
	// Flags may come before or after NAME: parse, take NAME, parse the rest.
	if err := fs.Parse(args[1:]); err != nil {
		return errUsage
	}
	rest := fs.Args()
	var name string
	if len(rest) > 0 {
		name = rest[0]
		if err := fs.Parse(rest[1:]); err != nil {
			return errUsage
		}
	}
	st, err := openStore(ctx, *data, stderr)
	if err != nil {
		return err
	}
	defer st.Close()
	tills := gateway.NewTills(st, time.Now)
	switch args[0] {
	case "add":
		if name == "" {
			return fmt.Errorf("till add: a NAME is required")
		}
		t, key, err := tills.Add(ctx, gateway.NewTill{Name: name, CallbackURL: *callback, Admin: *admin})
		if err != nil {
			return fmt.Errorf("till add: %w", err)
		}
		fmt.Fprintf(stdout, "till %q added; its key is shown once, below: keep it in the till's settings\n", t.Name)
		if t.CallbackURL != "" {
			fmt.Fprintf(stdout, "webhook secret (verifies Passerelle-Signature): %s\n", t.WebhookSecret)
		}
		fmt.Fprintln(stdout, key)
	case "list":
		ts, err := tills.List(ctx)
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "NAME\tSTATE\tADMIN\tCALLBACK\tCREATED")
		for _, t := range ts {
			state := "active"
			if t.RevokedAt != nil {
				state = "revoked"
			}
			fmt.Fprintf(tw, "%s\t%s\t%v\t%s\t%s\n", t.Name, state, t.Admin, t.CallbackURL, t.CreatedAt.Format(time.RFC3339))
		}
		return tw.Flush()
	case "revoke":
		if name == "" {
			return fmt.Errorf("till revoke: a NAME is required")
		}
		if err := tills.Revoke(ctx, name); err != nil {
			return fmt.Errorf("till revoke: %w", err)
		}
		fmt.Fprintf(stdout, "till %q revoked: its key no longer works\n", name)
	default:
		return fmt.Errorf("till: unknown subcommand %q (add, list, revoke)", args[0])
	}
	return nil
}
