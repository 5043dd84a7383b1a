package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/passerelle/passerelle/gateway"
)

func paymentCommand(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprintln(stderr, "usage: passerelle payment pending | resolve PAYMENT_ID approved|declined")
		return errUsage
	}
	fs := flag.NewFlagSet("payment "+args[0], flag.ContinueOnError)
	fs.SetOutput(stderr)
	data := dataFlag(fs)
	if err := fs.Parse(args[1:]); err != nil {
		return errUsage
	}
	st, err := openStore(ctx, *data, stderr)
	if err != nil {
		return err
	}
	defer st.Close()
	payments := gateway.NewPayments(st, time.Now, 0)
	rest := fs.Args()
	switch args[0] {
	case "pending":
		ps, err := st.PaymentsInProgress(ctx)
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tTICKET\tTERMINAL\tAMOUNT\tSTATUS\tSTARTED")
		for _, p := range ps {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", p.ID, p.TicketID, p.Terminal, gateway.FormatCents(p.Amount), p.Status, p.CreatedAt.Format(time.RFC3339))
		}
		return tw.Flush()
	case "resolve":
		if len(rest) != 2 {
			return fmt.Errorf("payment resolve: PAYMENT_ID and approved|declined are required")
		}
		p, err := payments.Resolve(ctx, rest[0], gateway.PaymentStatus(rest[1]))
		if err != nil {
			return fmt.Errorf("payment resolve: %w", err)
		}
		fmt.Fprintf(stdout, "payment %s resolved: %s\n", p.ID, p.Status)
	default:
		return fmt.Errorf("payment: unknown subcommand %q (pending, resolve)", args[0])
	}
	return nil
}
