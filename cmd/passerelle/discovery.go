package main

import (
	"context"
	"log/slog"
	"net"
	"net/netip"
	"strings"

	"github.com/passerelle/passerelle/drivers/mdns"
	"github.com/passerelle/passerelle/gateway"
	"github.com/passerelle/passerelle/web/views"
)

// discoveryTasks are the gateway's mDNS workers: its announcement
// (_passerelle._tcp, with the legacy unicast responder) and the browse for
// terminals (_passerelle-tpe._tcp) that feeds disc. None when mDNS is off
// or the listener is on loopback only: terminals could not reach it.
func discoveryTasks(cfg gateway.Config, shopName func() string, gatewayID string, addr net.Addr, fingerprint string,
	disc *gateway.Discovery, log *slog.Logger) []func(context.Context) error {
	if !cfg.MDNS.Enabled {
		log.Info("mDNS is off (mdns.enabled: false): terminals pair with the pairing link")
		return nil
	}
	tcp, ok := addr.(*net.TCPAddr)
	if !ok {
		return nil
	}
	ip, _ := netip.AddrFromSlice(tcp.IP)
	ip = ip.Unmap()
	if ip.IsLoopback() {
		log.Info("mDNS is off: the gateway listens on loopback only", "listen", addr.String())
		return nil
	}
	var only netip.Addr
	if !ip.IsUnspecified() {
		only = ip
	}
	txt := mdns.GatewayTXT{ID: gatewayID, WSPath: mdns.DefaultWSPath, TLS: fingerprint != "", Fingerprint: fingerprint}
	adv := &mdns.Advertiser{Service: mdns.GatewayService, Instance: shopName(), InstanceFunc: shopName,
		Host: mdns.HostLabel(cfg.MDNS.HostName), Port: tcp.Port, Text: txt.Strings(),
		Interfaces: cfg.MDNS.Interfaces, Only: only, Legacy: true, Log: log}
	browser := &mdns.Browser{Service: mdns.TerminalService, Interfaces: cfg.MDNS.Interfaces, Log: log}
	return []func(context.Context) error{
		func(ctx context.Context) error {
			if err := adv.Run(ctx); err != nil {
				log.Warn("mDNS: the gateway is not announced", "err", err) // it serves all the same
			}
			return nil
		},
		func(ctx context.Context) error {
			err := browser.Run(ctx, func(e mdns.Entry) { terminalSeen(ctx, disc, e, log) })
			if err != nil {
				// The gateway works without it: terminals are listed once paired.
				log.Warn("mDNS: cannot browse for terminals", "err", err)
			}
			return nil
		},
	}
}

// terminalSeen records a terminal's announcement.
func terminalSeen(ctx context.Context, disc *gateway.Discovery, e mdns.Entry, log *slog.Logger) {
	if e.Goodbye {
		return // last seen stays what it was
	}
	txt, err := mdns.ParseTerminalTXT(e.Text)
	if err != nil {
		log.Debug("mDNS: not a terminal's announcement", "instance", e.Instance, "from", e.From, "err", err)
		return
	}
	addrs := make([]string, 0, len(e.Addrs))
	for _, a := range e.Addrs {
		addrs = append(addrs, a.WithZone("").String())
	}
	d := gateway.DiscoveredTerminal{Serial: txt.Serial, Model: txt.Model, Instance: e.Instance,
		Host: strings.TrimSuffix(e.Host, "."), Port: e.Port, Addrs: addrs}
	if err := disc.Seen(ctx, d); err != nil && ctx.Err() == nil {
		log.Debug("mDNS: terminal announcement not kept", "serial", txt.Serial, "err", err)
	}
}

// mdnsHostNames are the names the gateway is announced under, which the
// Host check must accept.
func mdnsHostNames(cfg gateway.Config) []string {
	if cfg.MDNS.HostName == "" {
		return nil
	}
	h := mdns.HostLabel(cfg.MDNS.HostName)
	return []string{h, h + ".local"}
}

// webDiscovery is what the admin page lists: terminals seen on the LAN
// that are not paired.
type webDiscovery struct{ d *gateway.Discovery }

func (w webDiscovery) Discovered(ctx context.Context) ([]views.Discovered, error) {
	list, err := w.d.List(ctx)
	if err != nil {
		return nil, err
	}
	var out []views.Discovered
	for _, t := range list {
		if t.Paired {
			continue
		}
		addr := ""
		if len(t.Addrs) > 0 {
			addr = t.Addrs[0]
		}
		out = append(out, views.Discovered{Serial: t.Serial, Model: t.Model, Addr: addr, Seen: t.LastSeen})
	}
	return out, nil
}
