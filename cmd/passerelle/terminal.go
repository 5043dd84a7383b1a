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
		// Where the gateway is, first: a code nobody is shown is a code
		// made for nothing.
		cfg, err := loadConfig(*data)
		if err != nil {
			return err
		}
		target, err := cliLinkTarget(ctx, *data, cfg, stderr)
		if err != nil {
			return fmt.Errorf("terminal code: %w", err)
		}
		code, exp, err := terms.NewPairingCode(ctx)
		if err != nil {
			return fmt.Errorf("terminal code: %w", err)
		}
		fmt.Fprintf(stdout, "pairing code valid until %s, single use; enter it on the terminal, or scan the link:\n",
			exp.In(cfg.Location()).Format("15:04"))
		if target.fp != "" {
			fmt.Fprintf(stdout, "certificate fingerprint: %s (the terminal shows its first characters)\n", gateway.FormatFingerprint(target.fp, 0))
		}
		if link := target.link(code); link != "" {
			fmt.Fprintln(stdout, link)
		} else {
			fmt.Fprintf(stderr, "passerelle: no pairing link: the gateway listens on %s, an address a terminal cannot be given; pair by mDNS or by address\n", target.bound)
		}
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

// linkTarget is what a pairing link says of a gateway: where it is bound,
// on which interfaces it is announced, and its certificate.
type linkTarget struct {
	bound      netip.AddrPort
	interfaces []string // mdns.interfaces: the link gives the addresses of these
	fp         string   // "" without TLS
}

// boundTarget is the link target of the gateway bound at addr: the running
// gateway's, for its admin page, and the command line's when it read it from
// listeningFile. Both build their link here, so that they agree.
func boundTarget(addr string, interfaces []string, fp string) (linkTarget, error) {
	ap, err := netip.ParseAddrPort(addr)
	if err != nil {
		return linkTarget{}, fmt.Errorf("listen address %q: %w", addr, err)
	}
	return linkTarget{bound: ap, interfaces: interfaces, fp: fp}, nil
}

// cliLinkTarget is the link target for the command line: the running
// gateway's, from listeningFile, else what the configuration says, with a
// warning (the gateway may be started with another --listen).
func cliLinkTarget(ctx context.Context, data string, cfg gateway.Config, stderr io.Writer) (linkTarget, error) {
	rec, err := readListening(ctx, data)
	if err == nil {
		return boundTarget(rec.Listen, rec.Interfaces, rec.Fingerprint)
	}
	fmt.Fprintf(stderr, "passerelle: %v\npasserelle: so this link is built from %s (listen %q): if the gateway is started with another --listen, run this command again once it is running\n",
		err, gateway.ConfigFile, cfg.Listen)
	a, err := net.ResolveTCPAddr("tcp", cfg.Listen)
	if err != nil {
		return linkTarget{}, fmt.Errorf("listen address %q: %w", cfg.Listen, err)
	}
	// Go listens on both IPv4 and IPv6 for any wildcard, 0.0.0.0 too.
	ip := netip.IPv6Unspecified()
	if a.IP != nil && !a.IP.IsUnspecified() {
		ip, _ = netip.AddrFromSlice(a.IP)
	}
	port := a.Port
	if port == 0 {
		port = 8420 // ":0" is a test's: no port to give
	}
	return linkTarget{bound: netip.AddrPortFrom(ip, uint16(port)), interfaces: cfg.MDNS.Interfaces, fp: certFingerprint(data, cfg)}, nil
}

// link is the terminal protocol's passerelle://pair link of code: the
// addresses of gateway.PairingAddrs, the fingerprint, the code; "" if the
// gateway has no address to give.
func (t linkTarget) link(code string) string {
	var lan []netip.Addr
	if all, err := mdns.Interfaces(); err == nil {
		for _, i := range mdns.Select(all, t.interfaces) {
			for _, p := range i.Addrs {
				lan = append(lan, p.Addr())
			}
		}
	}
	l := gateway.PairingLink{Addrs: gateway.PairingAddrs(t.bound, lan), Fingerprint: t.fp, Code: code}
	if len(l.Addrs) == 0 {
		return ""
	}
	return l.String()
}
