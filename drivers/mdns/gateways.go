package mdns

import (
	"context"
	"log/slog"
	"net"
	"net/netip"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// maxGateways bounds what a GatewayList keeps: a LAN is not expected to
// hold more, and anyone can announce.
const maxGateways = 64

// Gateway is a gateway as it announces itself on the LAN.
type Gateway struct {
	Name  string // the instance: the shop's name
	TXT   GatewayTXT
	Host  string
	Port  int
	Addrs []netip.Addr
	From  netip.Addr // who answered
	Iface string
	Seen  time.Time
}

// URLs are the gateway's base URLs, in the order to try.
func (g Gateway) URLs() []string {
	scheme := "http"
	if g.TXT.TLS {
		scheme = "https"
	}
	out := make([]string, 0, len(g.Addrs))
	for _, a := range g.Addrs {
		u := url.URL{Scheme: scheme, Host: net.JoinHostPort(a.String(), strconv.Itoa(g.Port))}
		out = append(out, u.String())
	}
	return out
}

// Has reports whether the gateway announces the address of a URL's host
// and its port.
func (g Gateway) Has(rawURL string) bool {
	u, err := url.Parse(rawURL)
	if err != nil {
		return false
	}
	a, err := netip.ParseAddr(u.Hostname())
	if err != nil || strconv.Itoa(g.Port) != u.Port() {
		return false
	}
	return slices.ContainsFunc(g.Addrs, func(b netip.Addr) bool { return b.WithZone("") == a.WithZone("") })
}

// GatewayList keeps the gateways a browser hears, and says when that
// changes. Its methods are safe for concurrent use.
type GatewayList struct {
	mu      sync.Mutex
	seen    map[string]Gateway // by instance and responder
	changed chan struct{}
	log     *slog.Logger
	now     func() time.Time
}

// NewGatewayList returns an empty list.
func NewGatewayList(log *slog.Logger) *GatewayList {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &GatewayList{seen: map[string]Gateway{}, changed: make(chan struct{}), log: log, now: time.Now}
}

// WatchGateways browses the LAN for gateways until ctx is done.
func WatchGateways(ctx context.Context, interfaces []string, log *slog.Logger) (*GatewayList, error) {
	l := NewGatewayList(log)
	b := &Browser{Service: GatewayService, Interfaces: interfaces, Log: log}
	s, err := b.listen(l.Add)
	if err != nil {
		return nil, err
	}
	go s.run(ctx)
	return l, nil
}

func gatewayKey(instance string, from netip.Addr) string {
	return strings.ToLower(instance) + "\x00" + from.String()
}

// Add takes what the browser heard. A TXT record that does not parse is
// logged and left out: that is not a gateway this terminal can talk to.
func (l *GatewayList) Add(e Entry) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if e.Goodbye {
		n := len(l.seen)
		for k, g := range l.seen {
			if strings.EqualFold(g.Name, e.Instance) && (g.From == e.From || slices.Contains(e.Addrs, g.From)) {
				delete(l.seen, k)
			}
		}
		if len(l.seen) != n {
			l.notify()
		}
		return
	}
	txt, err := ParseGatewayTXT(e.Text)
	if err != nil {
		l.log.Debug("mDNS: not a usable gateway", "instance", e.Instance, "from", e.From, "err", err)
		return
	}
	k := gatewayKey(e.Instance, e.From)
	if _, ok := l.seen[k]; !ok && len(l.seen) >= maxGateways {
		return
	}
	g := Gateway{Name: e.Instance, TXT: txt, Host: e.Host, Port: e.Port, Addrs: e.Addrs, From: e.From, Iface: e.Iface, Seen: l.now()}
	old, had := l.seen[k]
	l.seen[k] = g
	if !had || old.TXT != g.TXT || old.Port != g.Port || !slices.Equal(old.Addrs, g.Addrs) {
		l.notify()
	}
}

func (l *GatewayList) notify() {
	close(l.changed)
	l.changed = make(chan struct{})
}

// List returns the gateways, the most recently heard first.
func (l *GatewayList) List() []Gateway {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make([]Gateway, 0, len(l.seen))
	for _, g := range l.seen {
		out = append(out, g)
	}
	slices.SortFunc(out, func(a, b Gateway) int {
		if c := b.Seen.Compare(a.Seen); c != 0 {
			return c
		}
		return strings.Compare(a.From.String(), b.From.String())
	})
	return out
}

// Changed returns a channel closed at the next change of the list.
func (l *GatewayList) Changed() <-chan struct{} {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.changed
}
