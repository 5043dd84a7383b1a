package mdns

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/grandcat/zeroconf"
)

// DefaultPoll is how often an advertiser looks at the interfaces for
// addresses that came or went. Polling works the same on Linux and
// Windows, and costs little (one netlink dump on Linux).
const DefaultPoll = time.Second

// Advertiser announces one service instance on the LAN, and keeps it
// announced as interfaces and addresses come and go: on a change it
// withdraws the old announcement (a goodbye, TTL 0) and makes a new one.
// On shutdown it withdraws it.
type Advertiser struct {
	Service  string // GatewayService or TerminalService
	Instance string // the shop's name, the terminal's serial
	// InstanceFunc, if set, is asked for the instance name at each poll:
	// the manager may rename the shop while the gateway runs.
	InstanceFunc func() string
	// Host is the host label the addresses are announced under (without
	// .local). Two boxes on one LAN must not share one: each namespace of
	// the tests, each gateway of a shop, has its own.
	Host string
	Port int
	Text []string
	// Interfaces limits the announcement to these interfaces, by name;
	// empty means every one Select takes.
	Interfaces []string
	// Only, if valid, is the one address to announce: the listener is
	// bound to it.
	Only netip.Addr
	// Legacy runs the unicast responder on each IPv4 address announced.
	Legacy bool
	Poll   time.Duration // DefaultPoll if 0
	Log    *slog.Logger

	listIfaces  func() ([]Iface, error) // tests
	unicastPort int                     // tests: Port if 0
}

// announcement is one registration with zeroconf and its responders.
type announcement struct {
	server     *zeroconf.Server
	responders []*responder
	instance   string
	ifaces     []Iface
	addrs      []netip.Addr
}

func (a *announcement) stop() {
	if a == nil {
		return
	}
	if a.server != nil {
		a.server.Shutdown() // sends the goodbye
	}
	for _, r := range a.responders {
		r.close()
	}
}

// Run announces until ctx is done, then withdraws the announcement. It
// fails only on a configuration that can never work; a LAN without
// usable interfaces is waited for.
func (a *Advertiser) Run(ctx context.Context) error {
	if a.Service == "" || (a.Instance == "" && a.InstanceFunc == nil) || a.Port <= 0 || a.Port > 65535 {
		return errors.New("mdns: advertiser needs a service, an instance name and a port")
	}
	if a.Host == "" {
		a.Host = HostLabel("")
	}
	if a.Poll <= 0 {
		a.Poll = DefaultPoll
	}
	if a.Log == nil {
		a.Log = slog.New(slog.DiscardHandler)
	}
	if a.listIfaces == nil {
		a.listIfaces = Interfaces
	}
	if a.unicastPort == 0 {
		a.unicastPort = Port
	}
	var cur *announcement
	defer func() { cur.stop() }()
	var lastWarn string
	warn := func(msg string, args ...any) {
		if key := fmt.Sprint(msg, args); key != lastWarn {
			lastWarn = key
			a.Log.Warn(msg, args...)
		}
	}
	tick := time.NewTicker(a.Poll)
	defer tick.Stop()
	for {
		all, err := a.listIfaces()
		if err != nil {
			warn("mDNS: cannot list the network interfaces", "err", err)
		} else {
			if missing := Missing(all, a.Interfaces); len(missing) > 0 {
				warn("mDNS: configured interfaces not found (yet)", "interfaces", strings.Join(missing, ","))
			}
			ifaces, addrs := a.pick(all)
			instance := a.Instance
			if a.InstanceFunc != nil {
				if n := a.InstanceFunc(); n != "" {
					instance = n
				}
			}
			if cur == nil || cur.instance != instance || !sameIfaces(cur.ifaces, ifaces) || !slices.Equal(cur.addrs, addrs) {
				cur.stop()
				cur = nil
				switch {
				case len(addrs) == 0:
					warn("mDNS: no interface to announce on: terminals will not find this by themselves",
						"service", a.Service, "interfaces", strings.Join(a.Interfaces, ","))
				default:
					if cur, err = a.announce(instance, ifaces, addrs); err != nil {
						warn("mDNS: cannot announce", "service", a.Service, "err", err)
					} else {
						lastWarn = ""
						a.Log.Info("mDNS: announced", "service", a.Service, "instance", instance, "host", a.Host+".local",
							"port", a.Port, "interfaces", names(ifaces), "addrs", joinAddrs(addrs))
					}
				}
			}
		}
		select {
		case <-ctx.Done():
			if cur != nil {
				a.Log.Info("mDNS: withdrawn", "service", a.Service, "instance", cur.instance)
			}
			return nil
		case <-tick.C:
		}
	}
}

// pick selects the interfaces and the addresses to announce.
func (a *Advertiser) pick(all []Iface) ([]Iface, []netip.Addr) {
	ifaces := Select(all, a.Interfaces)
	if a.Only.IsValid() {
		only := a.Only.Unmap().WithZone("")
		ifaces = slices.DeleteFunc(ifaces, func(i Iface) bool {
			return !slices.ContainsFunc(i.Addrs, func(p netip.Prefix) bool { return p.Addr().WithZone("") == only })
		})
		if len(ifaces) == 0 {
			return nil, nil
		}
		return ifaces, []netip.Addr{only}
	}
	return ifaces, Addrs(ifaces)
}

func (a *Advertiser) announce(instance string, ifaces []Iface, addrs []netip.Addr) (*announcement, error) {
	var nifs []net.Interface
	for _, i := range ifaces {
		nifs = append(nifs, net.Interface{Index: i.Index, Name: i.Name, Flags: i.Flags})
	}
	ips := make([]string, len(addrs))
	for i, ad := range addrs {
		ips[i] = ad.String()
	}
	// The instance goes to zeroconf escaped as miekg/dns unpacks names,
	// so that it recognises the questions about it (see instanceLabel).
	srv, err := zeroconf.RegisterProxy(instanceLabel(instance), a.Service, Domain, a.Port, a.Host, ips, a.Text, nifs)
	if err != nil {
		return nil, fmt.Errorf("mdns: register %s: %w", a.Service, err)
	}
	ann := &announcement{server: srv, instance: instance, ifaces: ifaces, addrs: addrs}
	if a.Legacy {
		recs := newRecords(a.Service, instance, a.Host, a.Port, a.Text, addrs)
		for _, ad := range addrs {
			if !ad.Is4() {
				continue
			}
			r, err := listenResponder(ad, a.unicastPort, recs, ifaces, a.Log)
			if err != nil {
				// The multicast announcement stands; only legacy resolvers
				// miss out.
				a.Log.Warn("mDNS: no answers to legacy unicast queries", "addr", ad, "err", err)
				continue
			}
			ann.responders = append(ann.responders, r)
		}
	}
	return ann, nil
}

func sameIfaces(a, b []Iface) bool {
	return slices.EqualFunc(a, b, func(x, y Iface) bool { return x.Index == y.Index && x.Name == y.Name })
}

func joinAddrs(addrs []netip.Addr) string {
	s := make([]string, len(addrs))
	for i, a := range addrs {
		s[i] = a.String()
	}
	return strings.Join(s, ",")
}
