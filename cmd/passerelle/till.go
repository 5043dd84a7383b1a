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
		fmt.Fprintln(stderr, "usage: passerelle till add NAME [--callback URL] [--admin] | list | callback NAME URL|none | revoke NAME")
		return errUsage
	}
	fs := flag.NewFlagSet("till "+args[0], flag.ContinueOnError)
	fs.SetOutput(stderr)
	data := dataFlag(fs)
	callback := fs.String("callback", "", "webhook URL that receives the till's events (add)")
	admin := fs.Bool("admin", false, "the key sees every till's tickets and events (add)")
	// Flags may come before, between or after the operands (NAME, and the
	// URL of till callback).
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
	var name string
	if len(operands) > 0 {
		name, operands = operands[0], operands[1:]
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
	case "callback":
		return tillCallback(ctx, tills, name, operands, stdout)
	case "revoke":
		if name == "" {
			return fmt.Errorf("till revoke: a NAME is required")
		}
		if err := tills.Revoke(ctx, name); err != nil {
			return fmt.Errorf("till revoke: %w", err)
		}
		fmt.Fprintf(stdout, "till %q revoked: its key no longer works\n", name)
	default:
		return fmt.Errorf("till: unknown subcommand %q (add, list, callback, revoke)", args[0])
	}
	return nil
}

// tillCallback sets a till's callback URL, or clears it with "none". A
// till that had none is given its webhook secret: it needs it to check the
// signatures.
func tillCallback(ctx context.Context, tills *gateway.Tills, name string, operands []string, stdout io.Writer) error {
	if name == "" || len(operands) != 1 {
		return fmt.Errorf("till callback: a NAME and a URL (or none) are required")
	}
	callback := operands[0]
	if callback == "none" {
		callback = ""
	}
	before, t, err := tills.SetCallback(ctx, name, callback)
	if err != nil {
		return fmt.Errorf("till callback: %w", err)
	}
	if callback == "" {
		fmt.Fprintf(stdout, "till %q has no callback now: webhooks stop\n", t.Name)
		return nil
	}
	// A running gateway rereads the tills' URLs every few seconds.
	fmt.Fprintf(stdout, "till %q posts its events to %s within seconds; events not yet delivered go there\n", t.Name, callback)
	if before.CallbackURL == "" {
		fmt.Fprintf(stdout, "webhook secret (verifies Passerelle-Signature): %s\n", t.WebhookSecret)
	}
	return nil
}
