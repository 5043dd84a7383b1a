package main

import (
	"context"
	"crypto/tls"
	"flag"
	"fmt"
	"io"
	"net"
	"net/netip"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/passerelle/passerelle/drivers/listener"
	"github.com/passerelle/passerelle/drivers/mdns"
	"github.com/passerelle/passerelle/gateway"
	"github.com/passerelle/passerelle/store"
)

func terminalCommand(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprintln(stderr, "usage: passerelle terminal code | list [--discovered] | rename NAME NEWNAME | revoke NAME")
		return errUsage
	}
	fs := flag.NewFlagSet("terminal "+args[0], flag.ContinueOnError)
	fs.SetOutput(stderr)
	data := dataFlag(fs)
	var discovered *bool
	if args[0] == "list" {
		discovered = fs.Bool("discovered", false, "list the terminals seen on the LAN (mDNS), paired or not")
	}
	if err := fs.Parse(args[1:]); err != nil {
		return errUsage
	}
	st, err := openStore(ctx, *data, stderr)
	if err != nil {
		return err
	}
	defer st.Close()
	terms := gateway.NewTerminals(st, time.Now)
	rest := fs.Args()
	switch args[0] {
	case "code":
		code, exp, err := terms.NewPairingCode(ctx)
		if err != nil {
			return fmt.Errorf("terminal code: %w", err)
		}
		cfg, err := loadConfig(*data)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "pairing code valid until %s, single use; enter it on the terminal, or scan the link:\n",
			exp.In(cfg.Location()).Format("15:04"))
		if fp := certFingerprint(*data, cfg); fp != "" {
			fmt.Fprintf(stdout, "certificate fingerprint: %s (the terminal shows its first characters)\n", gateway.FormatFingerprint(fp, 0))
		}
		fmt.Fprintln(stdout, pairingLink(*data, cfg, code))
		fmt.Fprintln(stdout, code)
	case "list":
		if *discovered {
			return listDiscovered(ctx, st, stdout)
		}
		ts, err := terms.List(ctx)
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "NAME\tID\tSTATE\tMODEL\tSERIAL\tAPP\tLAST SEEN")
		for _, t := range ts {
			state, seen := "paired", "never"
			if t.RevokedAt != nil {
				state = "revoked"
			}
			if t.LastSeen != nil {
				seen = t.LastSeen.Format(time.RFC3339)
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", t.Name, t.ID, state, t.Model, t.Serial, t.AppVersion, seen)
		}
		return tw.Flush()
	case "rename":
		if len(rest) != 2 {
			return fmt.Errorf("terminal rename: NAME and NEWNAME are required")
		}
		if _, err := terms.Rename(ctx, rest[0], rest[1]); err != nil {
			return fmt.Errorf("terminal rename: %w", err)
		}
		fmt.Fprintf(stdout, "terminal %q is now %q\n", rest[0], rest[1])
	case "revoke":
		if len(rest) != 1 {
			return fmt.Errorf("terminal revoke: NAME is required")
		}
		if _, err := terms.Revoke(ctx, rest[0]); err != nil {
			return fmt.Errorf("terminal revoke: %w", err)
		}
		fmt.Fprintf(stdout, "terminal %q revoked: it is disconnected and must be paired again\n", rest[0])
	default:
		return fmt.Errorf("terminal: unknown subcommand %q (code, list, rename, revoke)", args[0])
	}
	return nil
}

// listDiscovered prints the terminals seen on the LAN. Whether a paired
// one is connected is known to the running gateway only: the admin page
// shows it.
func listDiscovered(ctx context.Context, st *store.Store, stdout io.Writer) error {
	list, err := gateway.NewDiscovery(st, nil, time.Now).List(ctx)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "SERIAL\tMODEL\tADDRESSES\tLAST SEEN\tPAIRED AS")
	for _, d := range list {
		paired := "-"
		if d.Paired {
			paired = d.Name
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", d.Serial, orDash(d.Model), orDash(strings.Join(d.Addrs, ",")),
			d.LastSeen.Format(time.RFC3339), paired)
	}
	return tw.Flush()
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// certFingerprint is the fingerprint of the gateway's certificate, "" if
// it has none (yet, or without TLS).
func certFingerprint(data string, cfg gateway.Config) string {
	if !cfg.TLS {
		return ""
	}
	cert, err := tls.LoadX509KeyPair(filepath.Join(data, listener.CertFile), filepath.Join(data, listener.KeyFile))
	if err != nil {
		return ""
	}
	return listener.Fingerprint(cert)
}

// pairingLink is the terminal protocol's passerelle://pair link: the box's
// LAN addresses (those mDNS announces) with the listening port, the
// certificate's fingerprint, and the code.
func pairingLink(data string, cfg gateway.Config, code string) string {
	host, port, err := net.SplitHostPort(cfg.Listen)
	if err != nil || port == "" {
		port = "8420"
	}
	l := gateway.PairingLink{Fingerprint: certFingerprint(data, cfg), Code: code}
	for _, ip := range lanAddresses(host, cfg.MDNS.Interfaces) {
		l.Addrs = append(l.Addrs, net.JoinHostPort(ip, port))
	}
	return l.String()
}

// lanAddresses lists the addresses terminals may reach the gateway at: the
// listen address if it is a LAN one, else those of the interfaces mDNS
// would announce on, IPv4 first.
func lanAddresses(listenHost string, interfaces []string) []string {
	if ip, err := netip.ParseAddr(listenHost); err == nil && !ip.IsUnspecified() {
		if ip.IsLoopback() {
			return nil
		}
		return []string{ip.Unmap().String()}
	}
	all, err := mdns.Interfaces()
	if err != nil {
		return nil
	}
	var out []string
	for _, a := range mdns.Addrs(mdns.Select(all, interfaces)) {
		out = append(out, a.String())
	}
	return out
}
