package main

import (
	"context"
	"crypto/tls"
	"flag"
	"fmt"
	"io"
	"net"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/passerelle/passerelle/drivers/listener"
	"github.com/passerelle/passerelle/gateway"
)

func terminalCommand(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprintln(stderr, "usage: passerelle terminal code | list | rename NAME NEWNAME | revoke NAME")
		return errUsage
	}
	fs := flag.NewFlagSet("terminal "+args[0], flag.ContinueOnError)
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
		fmt.Fprintln(stdout, pairingLink(*data, cfg, code))
		fmt.Fprintln(stdout, code)
	case "list":
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

// pairingLink is the terminal protocol's passerelle://pair link: the box's
// LAN addresses with the listening port, the certificate's fingerprint, and
// the code.
func pairingLink(data string, cfg gateway.Config, code string) string {
	_, port, err := net.SplitHostPort(cfg.Listen)
	if err != nil || port == "" {
		port = "8420"
	}
	var addrs []string
	for _, ip := range lanAddresses() {
		addrs = append(addrs, net.JoinHostPort(ip, port))
	}
	q := []string{"addr=" + strings.Join(addrs, ","), "code=" + code}
	if cfg.TLS {
		if cert, err := tls.LoadX509KeyPair(filepath.Join(data, listener.CertFile), filepath.Join(data, listener.KeyFile)); err == nil {
			q = append(q, "fp="+listener.Fingerprint(cert))
		}
	}
	return "passerelle://pair?" + strings.Join(q, "&")
}

// lanAddresses lists the addresses of the interfaces that are up and not
// loopback, IPv4 first.
func lanAddresses() []string {
	var v4, v6 []string
	ifaces, _ := net.Interfaces()
	for _, ifc := range ifaces {
		if ifc.Flags&net.FlagUp == 0 || ifc.Flags&net.FlagLoopback != 0 {
			continue
		}
		addrs, _ := ifc.Addrs()
		for _, a := range addrs {
			ipn, ok := a.(*net.IPNet)
			if !ok {
				continue
			}
			if ip4 := ipn.IP.To4(); ip4 != nil {
				v4 = append(v4, ip4.String())
			} else if ipn.IP.IsGlobalUnicast() || ipn.IP.IsLinkLocalUnicast() {
				v6 = append(v6, ipn.IP.String())
			}
		}
	}
	return append(v4, v6...)
}
