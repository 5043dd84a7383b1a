package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/passerelle/passerelle/drivers/mdns"
	"github.com/passerelle/passerelle/drivers/terminalsim"
	"github.com/passerelle/passerelle/gateway"
)

// What the simulated terminal announces of itself. It serves nothing: its
// SRV port is 9 (discard), as DNS-SD has no "no port"; the announcement is
// for the manager's list of terminals on the LAN.
const (
	terminalPort  = 9
	terminalModel = "passerelle-sim"
)

// foundGrace is how long the terminal goes on listening for other
// gateways after the first one answered, before it chooses.
const foundGrace = time.Second

// lineReader hands out the lines typed on the console, to the prompts and
// then to the interactive terminal, without either reading ahead of the
// other.
type lineReader struct {
	r    io.Reader
	once sync.Once
	ch   chan string
}

func (l *lineReader) lines() <-chan string {
	l.once.Do(func() {
		l.ch = make(chan string)
		go func() {
			defer close(l.ch)
			sc := bufio.NewScanner(l.r)
			for sc.Scan() {
				l.ch <- sc.Text()
			}
		}()
	})
	return l.ch
}

// ask prints a prompt and returns the next line typed.
func (l *lineReader) ask(ctx context.Context, out io.Writer, prompt string) (string, error) {
	fmt.Fprint(out, prompt)
	select {
	case s, ok := <-l.lines():
		if !ok {
			fmt.Fprintln(out)
			return "", io.EOF
		}
		return strings.TrimSpace(s), nil
	case <-ctx.Done():
		return "", ctx.Err()
	}
}

// loopbackURL reports whether a URL names this box only: such a terminal
// has nothing to say on the LAN.
func loopbackURL(raw string) bool {
	if raw == "" {
		return false
	}
	u, err := url.Parse(raw)
	if err != nil {
		return false
	}
	if u.Hostname() == "localhost" {
		return true
	}
	a, err := netip.ParseAddr(u.Hostname())
	return err == nil && a.IsLoopback()
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// gatewayLine describes a gateway in one line.
func gatewayLine(g mdns.Gateway) string {
	fp := "no TLS"
	if g.TXT.TLS {
		fp = "fingerprint " + gateway.FormatFingerprint(g.TXT.Fingerprint, terminalsim.MinFingerprintPrefix) + "…"
	}
	return fmt.Sprintf("%q at %s (id %s, %s)", g.Name, strings.Join(hostPorts(g), ", "), g.TXT.ID, fp)
}

func hostPorts(g mdns.Gateway) []string {
	var out []string
	for _, a := range g.Addrs {
		out = append(out, net.JoinHostPort(a.String(), strconv.Itoa(g.Port)))
	}
	return out
}

// distinct merges what several responders said of one gateway (it
// answers over IPv4 and IPv6): same name, id and certificate.
func distinct(gws []mdns.Gateway) []mdns.Gateway {
	var out []mdns.Gateway
	seen := map[string]bool{}
	for _, g := range gws { // the most recent first: it is the one kept
		k := strings.ToLower(g.Name) + "\x00" + g.TXT.ID + "\x00" + g.TXT.Fingerprint
		if !seen[k] {
			seen[k] = true
			out = append(out, g)
		}
	}
	return out
}

// discoverGateways prints each gateway as it is heard, for browse.
func discoverGateways(ctx context.Context, list *mdns.GatewayList, browse time.Duration, out io.Writer) error {
	if list == nil {
		return errors.New("sim terminal: --discover needs mDNS")
	}
	ctx, cancel := context.WithTimeout(ctx, browse)
	defer cancel()
	printed := map[string]bool{}
	for {
		changed := list.Changed()
		for _, g := range distinct(list.List()) {
			if line := gatewayLine(g); !printed[line] {
				printed[line] = true
				fmt.Fprintf(out, "gateway %s\n", line)
			}
		}
		select {
		case <-changed:
		case <-ctx.Done():
			if len(printed) == 0 {
				return fmt.Errorf("sim terminal: no gateway announced itself on the LAN within %s", browse)
			}
			return nil
		}
	}
}

// chooseGateway waits for the gateways on the LAN and picks the one to
// pair with: the only one, the one named by want, or the one the person
// at the console chooses.
func chooseGateway(ctx context.Context, list *mdns.GatewayList, browse time.Duration, want string, in *lineReader, out io.Writer) (mdns.Gateway, error) {
	fmt.Fprintln(out, "looking for gateways on the LAN (mDNS)...")
	deadline := time.NewTimer(browse)
	defer deadline.Stop()
	var grace <-chan time.Time
wait:
	for {
		changed := list.Changed()
		if gws := list.List(); len(gws) > 0 && grace == nil {
			grace = time.After(foundGrace) // others may answer a moment later
		}
		select {
		case <-changed:
		case <-grace:
			break wait
		case <-deadline.C:
			break wait
		case <-ctx.Done():
			return mdns.Gateway{}, ctx.Err()
		}
	}
	gws := distinct(list.List())
	if want != "" {
		var match []mdns.Gateway
		for _, g := range gws {
			if strings.EqualFold(g.Name, want) || g.TXT.ID == want {
				match = append(match, g)
			}
		}
		if len(match) == 1 {
			return match[0], nil
		}
		gws = match
		if len(match) == 0 {
			return mdns.Gateway{}, fmt.Errorf("no gateway named %q (--gateway) on the LAN", want)
		}
	}
	switch len(gws) {
	case 0:
		return mdns.Gateway{}, fmt.Errorf("no gateway found on the LAN within %s: is it running, on this network (a VLAN or a guest Wi-Fi keeps mDNS out)? Otherwise pair with --link", browse)
	case 1:
		fmt.Fprintf(out, "found the gateway %s\n", gatewayLine(gws[0]))
		return gws[0], nil
	}
	fmt.Fprintln(out, "gateways on the LAN:")
	for i, g := range gws {
		fmt.Fprintf(out, "  %d. %s\n", i+1, gatewayLine(g))
	}
	ans, err := in.ask(ctx, out, fmt.Sprintf("which one? (1-%d) ", len(gws)))
	if err != nil {
		return mdns.Gateway{}, errors.New("several gateways answered: choose one with --gateway NAME or ID")
	}
	n, err := strconv.Atoi(ans)
	if err != nil || n < 1 || n > len(gws) {
		return mdns.Gateway{}, fmt.Errorf("%q is not a number from 1 to %d", ans, len(gws))
	}
	return gws[n-1], nil
}

// confirmFingerprint has the person compare the first characters of the
// certificate the gateway announces with the manager's screen, unless
// given (--fingerprint), and returns the fingerprint to pin. Anyone can
// announce a gateway on the LAN: this is what tells the real one.
func confirmFingerprint(g mdns.Gateway, given string, in *lineReader, out io.Writer) (string, error) {
	if !g.TXT.TLS {
		fmt.Fprintln(out, "the gateway has no TLS: nothing to pin, anyone on the LAN could pretend to be it")
		return "", nil
	}
	fp := g.TXT.Fingerprint
	if given != "" {
		want := strings.ToLower(strings.NewReplacer(":", "", " ", "").Replace(given))
		if len(want) < terminalsim.MinFingerprintPrefix || !strings.HasPrefix(fp, want) {
			return "", fmt.Errorf("%w: %q announces %s…, not the %s given",
				terminalsim.ErrImpostor, g.Name, gateway.FormatFingerprint(fp, terminalsim.MinFingerprintPrefix), given)
		}
		return fp, nil
	}
	fmt.Fprintf(out, "certificate fingerprint: %s…\n", gateway.FormatFingerprint(fp, terminalsim.MinFingerprintPrefix))
	ans, err := in.ask(context.Background(), out, "is it the one the manager's screen shows (passerelle terminal code)? [y/N] ")
	if err != nil {
		return "", errors.New("pairing by mDNS needs the fingerprint confirmed: answer y, or pass --fingerprint with its first 16 characters")
	}
	if a := strings.ToLower(ans); a != "y" && a != "yes" && a != "o" && a != "oui" {
		return "", errors.New("pairing cancelled: the fingerprint was not confirmed")
	}
	return fp, nil
}
