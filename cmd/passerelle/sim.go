package main

import (
	"context"
	"fmt"
	"io"
)

func simCommand(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprintln(stderr, "usage: passerelle sim till|terminal|terminals|webshop|printer [flags]")
		return errUsage
	}
	switch args[0] {
	case "till":
		return simTill(ctx, args[1:], stdout, stderr)
	case "terminal":
		return simTerminal(ctx, args[1:], stdout, stderr)
	case "terminals":
		return simTerminals(ctx, args[1:], stdout, stderr)
	case "webshop":
		return simWebshop(ctx, args[1:], stdout, stderr)
	case "printer":
		return simPrinter(ctx, args[1:], stdout, stderr)
	}
	return fmt.Errorf("sim: unknown simulator %q (till, terminal, terminals, webshop, printer)", args[0])
}
