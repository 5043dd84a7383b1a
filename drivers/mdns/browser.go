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
	"sync"
	"time"

	"github.com/miekg/dns"
	"golang.org/x/net/ipv4"
	"golang.org/x/net/ipv6"
)

// Browsing timings. Queries start at once, then 1 s, 2 s, 4 s... apart up
// to MaxInterval (RFC 6762 §5.2). Instances that announce themselves are
// heard at once whatever the interval.
const (
	DefaultMaxInterval = time.Minute
	maxCache           = 4096 // records kept; a LAN that sends more is hostile or broken
	flushGrace         = time.Second
)

var (
	groupV4 = netip.MustParseAddr("224.0.0.251")
	groupV6 = netip.MustParseAddr("ff02::fb")
)

// Entry is a service instance as one responder answered for it.
type Entry struct {
	Instance string // unescaped: "Mon Bistrot"
	Host     string // target of its SRV: "box.local."
	Port     int
	Text     []string     // its TXT strings, as miekg/dns presents them
	Addrs    []netip.Addr // the host's addresses; IPv6 link-local ones with the zone they were heard on
	From     netip.Addr   // the responder's source address
	Iface    string       // where it was heard
	TTL      time.Duration
	// Goodbye means the instance withdrew (or its records expired). Addrs
	// are then the addresses it withdrew, if it said.
	Goodbye bool
}

// Browser finds the instances of a service on the LAN: zeroconf's
// Resolver reports each instance name once per browse, so two gateways
// announcing the same shop name would hide one another (the impostor test
// is exactly that), and it never reports an instance leaving. This one
// reports every responder's answer, keyed by instance and source, and
// goodbyes and expiries.
type Browser struct {
	Service     string
	Interfaces  []string      // names; empty: every one Select takes
	MaxInterval time.Duration // DefaultMaxInterval if 0
	Log         *slog.Logger

	listIfaces func() ([]Iface, error) // tests
}

type packet struct {
	msg   *dns.Msg
	from  netip.Addr
	iface int
}

type cacheKey struct {
	from  netip.Addr
	name  string // lower case
	rtype uint16
	rdata string
}

type cached struct {
	rr       dns.RR
	received time.Time
	expires  time.Time
}

// Run browses until ctx is done; found is called, from one goroutine, for
// each complete answer (SRV, TXT and at least one address) and each
// goodbye. It fails if it cannot listen at all.
func (b *Browser) Run(ctx context.Context, found func(Entry)) error {
	s, err := b.listen(found)
	if err != nil {
		return err
	}
	s.run(ctx)
	return nil
}

// listen opens the browser's sockets.
func (b *Browser) listen(found func(Entry)) (*browse, error) {
	if b.MaxInterval <= 0 {
		b.MaxInterval = DefaultMaxInterval
	}
	if b.Log == nil {
		b.Log = slog.New(slog.DiscardHandler)
	}
	if b.listIfaces == nil {
		b.listIfaces = Interfaces
	}
	s := &browse{b: b, found: found, cache: map[cacheKey]cached{}, joined: map[int]bool{}, allowed: map[int]string{},
		asked: map[string]time.Time{}, service: serviceName(b.Service)}
	var err4, err6 error
	s.c4, err4 = listen4()
	s.c6, err6 = listen6()
	if s.c4 == nil && s.c6 == nil {
		return nil, fmt.Errorf("mdns: browse %s: %w", b.Service, errors.Join(err4, err6))
	}
	return s, nil
}

// run queries and reads until ctx is done, then closes the sockets.
func (s *browse) run(ctx context.Context) {
	pkts := make(chan packet, 64)
	var wg sync.WaitGroup
	rctx, cancel := context.WithCancel(ctx)
	if s.c4 != nil {
		wg.Add(1)
		go func() { defer wg.Done(); s.read4(rctx, pkts) }()
	}
	if s.c6 != nil {
		wg.Add(1)
		go func() { defer wg.Done(); s.read6(rctx, pkts) }()
	}
	defer func() {
		cancel()
		if s.c4 != nil {
			s.c4.Close()
		}
		if s.c6 != nil {
			s.c6.Close()
		}
		wg.Wait()
	}()

	interval := time.Duration(0)
	next := time.NewTimer(0)
	defer next.Stop()
	sweep := time.NewTicker(time.Second)
	defer sweep.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case p := <-pkts:
			s.handle(p, time.Now())
		case now := <-sweep.C:
			if s.rejoin() {
				interval = 0 // a new interface: ask there at once
				next.Reset(0)
			}
			s.expire(now)
		case <-next.C:
			s.rejoin()
			s.query(dns.Question{Name: s.service, Qtype: dns.TypePTR, Qclass: dns.ClassINET})
			interval = min(max(2*interval, time.Second), s.b.MaxInterval)
			next.Reset(interval)
		}
	}
}

type browse struct {
	b       *Browser
	found   func(Entry)
	service string
	c4      *ipv4.PacketConn
	c6      *ipv6.PacketConn
	mu      sync.Mutex // guards allowed, read by the readers
	allowed map[int]string
	joined  map[int]bool
	ifaces  []Iface
	cache   map[cacheKey]cached
	asked   map[string]time.Time // follow-up questions, by name and type
}

func listen4() (*ipv4.PacketConn, error) {
	// Bound to the group address, Go binds the wildcard with SO_REUSEADDR,
	// beside the box's other mDNS sockets.
	c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: groupV4.AsSlice(), Port: Port})
	if err != nil {
		return nil, err
	}
	p := ipv4.NewPacketConn(c)
	p.SetControlMessage(ipv4.FlagInterface, true) // not on Windows: every packet is then taken
	p.SetMulticastTTL(255)
	p.SetMulticastLoopback(true)
	return p, nil
}

func listen6() (*ipv6.PacketConn, error) {
	c, err := net.ListenUDP("udp6", &net.UDPAddr{IP: groupV6.AsSlice(), Port: Port})
	if err != nil {
		return nil, err
	}
	p := ipv6.NewPacketConn(c)
	p.SetControlMessage(ipv6.FlagInterface, true)
	p.SetMulticastHopLimit(255)
	p.SetMulticastLoopback(true)
	return p, nil
}

// rejoin joins the mDNS groups on interfaces that appeared, and reports
// whether there were any.
func (s *browse) rejoin() bool {
	all, err := s.b.listIfaces()
	if err != nil {
		return false
	}
	s.ifaces = Select(all, s.b.Interfaces)
	allowed := map[int]string{}
	added := false
	for _, i := range s.ifaces {
		allowed[i.Index] = i.Name
		if s.joined[i.Index] {
			continue
		}
		ifc := &net.Interface{Index: i.Index, Name: i.Name, Flags: i.Flags}
		ok := false
		if s.c4 != nil && s.c4.JoinGroup(ifc, &net.UDPAddr{IP: groupV4.AsSlice()}) == nil {
			ok = true
		}
		if s.c6 != nil && s.c6.JoinGroup(ifc, &net.UDPAddr{IP: groupV6.AsSlice()}) == nil {
			ok = true
		}
		if ok {
			s.joined[i.Index], added = true, true
			s.b.Log.Debug("mDNS: browsing", "service", s.b.Service, "interface", i.Name)
		}
	}
	for idx := range s.joined {
		if _, ok := allowed[idx]; !ok {
			delete(s.joined, idx) // gone: its membership went with it
		}
	}
	s.mu.Lock()
	s.allowed = allowed
	s.mu.Unlock()
	return added
}

// ifaceName is where a packet came in; ok is false for an interface not
// selected (a socket bound to the wildcard hears every interface where
// any program joined the group).
func (s *browse) ifaceName(idx int) (string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if idx == 0 { // no control message (Windows): cannot tell
		return "", true
	}
	name, ok := s.allowed[idx]
	return name, ok
}

func (s *browse) read4(ctx context.Context, out chan<- packet) {
	buf := make([]byte, 9000)
	for {
		n, cm, src, err := s.c4.ReadFrom(buf)
		if err != nil {
			return
		}
		idx := 0
		if cm != nil {
			idx = cm.IfIndex
		}
		s.deliver(ctx, out, buf[:n], src, idx)
	}
}

func (s *browse) read6(ctx context.Context, out chan<- packet) {
	buf := make([]byte, 9000)
	for {
		n, cm, src, err := s.c6.ReadFrom(buf)
		if err != nil {
			return
		}
		idx := 0
		if cm != nil {
			idx = cm.IfIndex
		}
		s.deliver(ctx, out, buf[:n], src, idx)
	}
}

func (s *browse) deliver(ctx context.Context, out chan<- packet, b []byte, src net.Addr, idx int) {
	if _, ok := s.ifaceName(idx); !ok {
		return
	}
	ua, ok := src.(*net.UDPAddr)
	if !ok {
		return
	}
	from := ua.AddrPort().Addr().Unmap().WithZone("") // an identity: goodbyes name addresses without zone
	m := new(dns.Msg)
	if err := m.Unpack(b); err != nil || !m.Response {
		return
	}
	select {
	case out <- packet{msg: m, from: from, iface: idx}:
	case <-ctx.Done():
	}
}

// query sends a question on every joined interface. Its source port is
// 5353: answers come by multicast, heard by every browser on the box.
func (s *browse) query(qs ...dns.Question) {
	m := new(dns.Msg)
	m.Question = qs
	b, err := m.Pack()
	if err != nil {
		return
	}
	for _, i := range s.ifaces {
		if !s.joined[i.Index] {
			continue
		}
		if s.c4 != nil {
			s.c4.WriteTo(b, &ipv4.ControlMessage{IfIndex: i.Index}, &net.UDPAddr{IP: groupV4.AsSlice(), Port: Port})
		}
		if s.c6 != nil {
			s.c6.WriteTo(b, &ipv6.ControlMessage{IfIndex: i.Index}, &net.UDPAddr{IP: groupV6.AsSlice(), Port: Port})
		}
	}
}

// ask sends a follow-up question, at most once a second for each.
func (s *browse) ask(now time.Time, name string, t uint16) {
	key := strings.ToLower(name) + "/" + dns.TypeToString[t]
	if at, ok := s.asked[key]; ok && now.Sub(at) < time.Second {
		return
	}
	if len(s.asked) > maxCache {
		clear(s.asked)
	}
	s.asked[key] = now
	s.query(dns.Question{Name: name, Qtype: t, Qclass: dns.ClassINET})
}

// handle caches a response's records and reports the instances it
// touched.
func (s *browse) handle(p packet, now time.Time) {
	name, _ := s.ifaceName(p.iface)
	touched := map[string]bool{} // instance names, lower case
	var goodbyes []string
	var gone []netip.Addr // addresses withdrawn in this packet
	records := append(slices.Clip(p.msg.Answer), p.msg.Extra...)
	for _, rr := range records {
		h := rr.Header()
		lname := strings.ToLower(h.Name)
		switch rr := rr.(type) {
		case *dns.PTR:
			if lname != strings.ToLower(s.service) {
				continue
			}
			if h.Ttl == 0 {
				goodbyes = append(goodbyes, rr.Ptr)
				continue
			}
			touched[strings.ToLower(rr.Ptr)] = true
		case *dns.SRV, *dns.TXT:
			if _, ok := splitInstance(h.Name, s.b.Service); !ok {
				continue
			}
			if h.Ttl > 0 {
				touched[lname] = true
			}
		case *dns.A:
			if h.Ttl == 0 {
				if a, ok := netip.AddrFromSlice(rr.A); ok {
					gone = append(gone, a.Unmap())
				}
			}
		case *dns.AAAA:
			if h.Ttl == 0 {
				if a, ok := netip.AddrFromSlice(rr.AAAA); ok {
					gone = append(gone, a)
				}
			}
		default:
			continue
		}
		s.store(p.from, rr, now)
	}
	for _, g := range goodbyes {
		inst, ok := splitInstance(g, s.b.Service)
		if !ok {
			continue
		}
		s.dropInstance(p.from, strings.ToLower(g), gone)
		s.found(Entry{Instance: inst, From: p.from, Iface: name, Goodbye: true, Addrs: gone})
	}
	for inst := range touched {
		if e, ok := s.assemble(p.from, inst, name, now); ok {
			s.found(e)
		}
	}
}

// store caches rr as heard from a responder. A record with the
// cache-flush bit replaces those of its name and type from that responder
// heard more than a second before (RFC 6762 §10.2); TTL 0 removes it.
func (s *browse) store(from netip.Addr, rr dns.RR, now time.Time) {
	h := rr.Header()
	lname := strings.ToLower(h.Name)
	if h.Class&(1<<15) != 0 {
		for k, c := range s.cache {
			if k.from == from && k.name == lname && k.rtype == h.Rrtype && now.Sub(c.received) > flushGrace {
				delete(s.cache, k)
			}
		}
	}
	k := cacheKey{from: from, name: lname, rtype: h.Rrtype, rdata: rdata(rr)}
	if h.Ttl == 0 {
		// RFC 6762 §10.1: a goodbye expires the record in a second.
		if c, ok := s.cache[k]; ok {
			c.expires = now.Add(time.Second)
			s.cache[k] = c
		}
		return
	}
	if _, ok := s.cache[k]; !ok && len(s.cache) >= maxCache {
		return
	}
	s.cache[k] = cached{rr: dns.Copy(rr), received: now, expires: now.Add(time.Duration(h.Ttl) * time.Second)}
}

// rdata is a record's data, to tell records of one name and type apart.
func rdata(rr dns.RR) string {
	s := rr.String()
	h := rr.Header().String()
	return strings.TrimPrefix(s, h)
}

// dropInstance forgets an instance that said goodbye: as heard from the
// responder that said it, and from any of the addresses it withdrew (it
// says goodbye from its new address when the old one is gone): its SRV
// and TXT, the PTR naming it, its host's addresses.
func (s *browse) dropInstance(from netip.Addr, lname string, gone []netip.Addr) {
	sources := append([]netip.Addr{from}, gone...)
	hosts := map[netip.Addr]string{}
	for k, c := range s.cache {
		if srv, ok := c.rr.(*dns.SRV); ok && k.name == lname && slices.Contains(sources, k.from) {
			hosts[k.from] = strings.ToLower(srv.Target)
		}
	}
	for k, c := range s.cache {
		if !slices.Contains(sources, k.from) {
			continue
		}
		ptr, isPTR := c.rr.(*dns.PTR)
		if k.name == lname || (isPTR && strings.ToLower(ptr.Ptr) == lname) || (hosts[k.from] != "" && k.name == hosts[k.from]) {
			delete(s.cache, k)
		}
	}
}

// latest returns the freshest cached record of a name and type from a
// responder.
func (s *browse) latest(from netip.Addr, lname string, t uint16) (dns.RR, bool) {
	var best cached
	for k, c := range s.cache {
		if k.from == from && k.name == lname && k.rtype == t && c.received.After(best.received) {
			best = c
		}
	}
	return best.rr, best.rr != nil
}

// assemble puts together what is known of an instance from a responder;
// what is missing is asked for.
func (s *browse) assemble(from netip.Addr, lname, iface string, now time.Time) (Entry, bool) {
	inst, ok := splitInstance(lname, s.b.Service)
	if !ok {
		return Entry{}, false
	}
	srvRR, ok := s.latest(from, lname, dns.TypeSRV)
	txtRR, okTXT := s.latest(from, lname, dns.TypeTXT)
	if !ok || !okTXT {
		// The instance's own name, as it was announced (case kept).
		full := lname
		if ptr, found := s.ptrTo(from, lname); found {
			full = ptr
		}
		if !ok {
			s.ask(now, full, dns.TypeSRV)
		}
		if !okTXT {
			s.ask(now, full, dns.TypeTXT)
		}
		return Entry{}, false
	}
	srv := srvRR.(*dns.SRV)
	if name, ok := splitInstance(srv.Hdr.Name, s.b.Service); ok {
		inst = name // the case it was announced in
	}
	e := Entry{Instance: inst, Host: srv.Target, Port: int(srv.Port), Text: txtRR.(*dns.TXT).Txt, From: from, Iface: iface,
		TTL: time.Duration(srv.Hdr.Ttl) * time.Second}
	host := strings.ToLower(srv.Target)
	for k, c := range s.cache {
		if k.from != from || k.name != host {
			continue
		}
		var a netip.Addr
		switch rr := c.rr.(type) {
		case *dns.A:
			a, _ = netip.AddrFromSlice(rr.A)
			a = a.Unmap()
		case *dns.AAAA:
			a, _ = netip.AddrFromSlice(rr.AAAA)
			if a.IsLinkLocalUnicast() && iface != "" {
				a = a.WithZone(iface) // usable only through the interface it was heard on
			}
		default:
			continue
		}
		if a.IsValid() && !slices.Contains(e.Addrs, a) {
			e.Addrs = append(e.Addrs, a)
		}
	}
	if len(e.Addrs) == 0 {
		s.ask(now, srv.Target, dns.TypeA)
		s.ask(now, srv.Target, dns.TypeAAAA)
		return Entry{}, false
	}
	slices.SortStableFunc(e.Addrs, func(a, b netip.Addr) int {
		if r := rank(a) - rank(b); r != 0 {
			return r
		}
		return a.Compare(b)
	})
	return e, true
}

// ptrTo finds the PTR record naming an instance, for its spelling.
func (s *browse) ptrTo(from netip.Addr, lname string) (string, bool) {
	for k, c := range s.cache {
		if k.from == from && k.rtype == dns.TypePTR {
			if p, ok := c.rr.(*dns.PTR); ok && strings.ToLower(p.Ptr) == lname {
				return p.Ptr, true
			}
		}
	}
	return "", false
}

// expire drops the records past their TTL; an instance whose PTR expired
// is reported gone.
func (s *browse) expire(now time.Time) {
	for k, c := range s.cache {
		if now.Before(c.expires) {
			continue
		}
		delete(s.cache, k)
		if p, ok := c.rr.(*dns.PTR); ok && k.name == strings.ToLower(s.service) {
			if inst, ok := splitInstance(p.Ptr, s.b.Service); ok {
				s.found(Entry{Instance: inst, From: k.from, Goodbye: true})
			}
		}
	}
}
