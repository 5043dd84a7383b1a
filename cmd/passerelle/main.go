// Command passerelle is the shop's payment gateway: one binary with
// subcommands. This package only wires: flags, configuration, logger,
// constructors, run.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	_ "time/tzdata" // the shop's time zone must load on Windows boxes too
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(cli(ctx, os.Args[1:], os.Stdout, os.Stderr))
}

type command struct {
	name  string
	usage string
	run   func(ctx context.Context, args []string, stdout, stderr io.Writer) error
}

func commands() []command {
	return []command{
		{"run", "run the gateway", runGateway},
		{"till", "manage till keys: add, list, callback, revoke", tillCommand},
		{"terminal", "pair and manage terminals: code, list, rename, revoke", terminalCommand},
		{"payment", "payments without outcome: pending, resolve", paymentCommand},
		{"admin", "the admin page's access: setup-code, reset-password", adminCommand},
		{"backup", "write a consistent copy of the database to FILE, gateway running or not", backupCommand},
		{"restore", "replace the database by a backup FILE (gateway stopped; the old one kept aside)", restoreCommand},
		{"tls", "the certificate's fingerprint and public-key pin, for tills and terminals", tlsCommand},
		{"upstream", "sync to the hub: set, status, off", upstreamCommand},
		{"hub", "the upstream server: run, store, key", hubCommand},
		{"capture", "print capture: list, jobs", captureCommand},
		{"sim", "simulators: sim till, sim terminal, sim printer", simCommand},
		{"service", "the system service: install, uninstall, start, stop, restart, status", serviceCommand},
		{"version", "print the version", func(_ context.Context, _ []string, stdout, _ io.Writer) error {
			fmt.Fprintln(stdout, version)
			return nil
		}},
	}
}

func cli(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		usage(stderr)
		return 2
	}
	for _, c := range commands() {
		if c.name == args[0] {
			err := c.run(ctx, args[1:], stdout, stderr)
			switch {
			case err == nil:
				return 0
			case errors.Is(err, flag.ErrHelp):
				return 0
			case errors.Is(err, errUsage):
				return 2
			}
			fmt.Fprintln(stderr, "passerelle:", err)
			return 1
		}
	}
	usage(stderr)
	return 2
}

// errUsage means the usage was already printed.
var errUsage = errors.New("usage")

func usage(w io.Writer) {
	fmt.Fprintln(w, "usage: passerelle <command> [flags]\n\ncommands:")
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-8s %s\n", c.name, c.usage)
	}
}

// dataFlag declares --data, shared by every command that opens the store.
func dataFlag(fs *flag.FlagSet) *string {
	return fs.String("data", defaultDataDir(), "data directory (env PASSERELLE_DATA; default "+systemDataDir()+" if it exists, else "+devDataDir+")")
}
