package mdns

import (
	"fmt"
	"net/netip"
	"slices"
	"testing"
	"time"

	"github.com/miekg/dns"
)

// newTestBrowse is a browse without sockets: packets are handed to it.
func newTestBrowse(service string) (*browse, *[]Entry) {
	var got []Entry
	b := &Browser{Service: service}
	s := &browse{b: b, service: serviceName(service), cache: map[cacheKey]cached{}, joined: map[int]bool{},
		allowed: map[int]string{3: "eth0"}, asked: map[string]time.Time{},
		found: func(e Entry) { got = append(got, e) }}
	return s, &got
}

// announce is what zeroconf sends for a registration: PTR, SRV, TXT
// and the host's addresses, with ttl (0 for a goodbye).
func announce(instance, host string, port uint16, txt []string, ttl uint32, addrs ...string) *dns.Msg {
	return announceService(GatewayService, instance, host, port, txt, ttl, addrs...)
}

func announceService(service, instance, host string, port uint16, txt []string, ttl uint32, addrs ...string) *dns.Msg {
	r := newRecords(service, instance, host, int(port), txt, nil)
	m := new(dns.Msg)
	m.Response = true
	hdr := func(name string, t uint16, flush bool) dns.RR_Header {
		class := uint16(dns.ClassINET)
		if flush {
			class |= 1 << 15
		}
		return dns.RR_Header{Name: name, Rrtype: t, Class: class, Ttl: ttl}
	}
	m.Answer = []dns.RR{
		&dns.PTR{Hdr: hdr(r.service, dns.TypePTR, false), Ptr: r.instance},
		&dns.SRV{Hdr: hdr(r.instance, dns.TypeSRV, true), Port: port, Target: r.host},
		&dns.TXT{Hdr: hdr(r.instance, dns.TypeTXT, true), Txt: txt},
	}
	for _, a := range addrs {
		ip := netip.MustParseAddr(a)
		if ip.Is4() {
			m.Answer = append(m.Answer, &dns.A{Hdr: hdr(r.host, dns.TypeA, true), A: ip.AsSlice()})
		} else {
			m.Answer = append(m.Answer, &dns.AAAA{Hdr: hdr(r.host, dns.TypeAAAA, true), AAAA: ip.AsSlice()})
		}
	}
	return m
}

var gwTXT = []string{"v=1", "id=gw_1", "ws=/ws/terminal", "tls=1", "fp=" + fpTest}

const fpTest = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"

func TestBrowseAnnouncements(t *testing.T) {
	s, got := newTestBrowse(GatewayService)
	now := time.Now()
	real := netip.MustParseAddr("192.168.1.10")
	s.handle(packet{msg: announce("Mon Bistrot", "box", 8420, gwTXT, 120, "fe80::1", "192.168.1.10"), from: real, iface: 3}, now)
	if len(*got) != 1 {
		t.Fatalf("entries %+v", *got)
	}
	e := (*got)[0]
	wantAddrs := []netip.Addr{real, netip.MustParseAddr("fe80::1%eth0")}
	if e.Instance != "Mon Bistrot" || e.Host != "box.local." || e.Port != 8420 || !slices.Equal(e.Text, gwTXT) ||
		!slices.Equal(e.Addrs, wantAddrs) || e.From != real || e.Iface != "eth0" || e.Goodbye || e.TTL != 120*time.Second {
		t.Fatalf("entry %+v", e)
	}

	// Another box announces the same name: it is another entry, not a
	// replacement.
	other := netip.MustParseAddr("192.168.1.66")
	s.handle(packet{msg: announce("Mon Bistrot", "box", 8420, gwTXT, 120, "192.168.1.66"), from: other, iface: 3}, now)
	if len(*got) != 2 || (*got)[1].From != other || !slices.Equal((*got)[1].Addrs, []netip.Addr{other}) {
		t.Fatalf("same name from another box: %+v", (*got)[1:])
	}

	// The gateway moved: it says goodbye from its new address for the old
	// one, then announces the new one.
	*got = nil
	moved := netip.MustParseAddr("192.168.1.99")
	s.handle(packet{msg: announce("Mon Bistrot", "box", 8420, gwTXT, 0, "192.168.1.10"), from: moved, iface: 3}, now.Add(time.Second))
	if len(*got) != 1 || !(*got)[0].Goodbye || (*got)[0].Instance != "Mon Bistrot" || !slices.Equal((*got)[0].Addrs, []netip.Addr{real}) {
		t.Fatalf("goodbye: %+v", *got)
	}
	for k := range s.cache {
		if k.from == real {
			t.Errorf("record of the old address kept after the goodbye: %+v", k)
		}
	}
	s.handle(packet{msg: announce("Mon Bistrot", "box", 8420, gwTXT, 120, "192.168.1.99"), from: moved, iface: 3}, now.Add(2*time.Second))
	if e := (*got)[1]; e.Goodbye || !slices.Equal(e.Addrs, []netip.Addr{moved}) {
		t.Fatalf("after the move: %+v", e)
	}

	// Records of other services are not ours.
	*got = nil

	s.handle(packet{msg: announceService("_ipp._tcp", "Printer", "prn", 631, []string{"x=1"}, 120, "192.168.1.5"),
		from: netip.MustParseAddr("192.168.1.5"), iface: 3}, now)
	s.handle(packet{msg: announceService(TerminalService, "TPE 1", "tpe", 9, []string{"serial=1"}, 120, "192.168.1.6"),
		from: netip.MustParseAddr("192.168.1.6"), iface: 3}, now)
	if len(*got) != 0 {
		t.Fatalf("entries from another service: %+v", *got)
	}

}

func TestBrowseAsksForWhatIsMissing(t *testing.T) {
	s, got := newTestBrowse(GatewayService)
	now := time.Now()
	from := netip.MustParseAddr("192.168.1.10")
	full := announce("Mon Bistrot", "box", 8420, gwTXT, 120, "192.168.1.10")
	ptrOnly := new(dns.Msg)
	ptrOnly.Response = true
	ptrOnly.Answer = full.Answer[:1]
	s.handle(packet{msg: ptrOnly, from: from, iface: 3}, now)
	if len(*got) != 0 {
		t.Fatalf("entry from a PTR alone: %+v", *got)
	}
	inst := testRecordsFor("Mon Bistrot").instance
	for _, k := range []string{toLower(inst) + "/SRV", toLower(inst) + "/TXT"} {
		if _, ok := s.asked[k]; !ok {
			t.Errorf("did not ask %s: %v", k, s.asked)
		}
	}
	// SRV and TXT without the host's address: it asks for the address.
	noAddr := new(dns.Msg)
	noAddr.Response = true
	noAddr.Answer = full.Answer[1:3]
	s.handle(packet{msg: noAddr, from: from, iface: 3}, now)
	if _, ok := s.asked["box.local./A"]; len(*got) != 0 || !ok {
		t.Fatalf("entries %+v, asked %v", *got, s.asked)
	}
	addr := new(dns.Msg)
	addr.Response = true
	addr.Answer = full.Answer[3:]
	addr.Extra = full.Answer[1:2] // the SRV again, so the instance is touched
	s.handle(packet{msg: addr, from: from, iface: 3}, now)
	if len(*got) != 1 || (*got)[0].Addrs[0] != from {
		t.Fatalf("entries %+v", *got)
	}
}

func testRecordsFor(instance string) *records {
	return newRecords(GatewayService, instance, "box", 8420, nil, nil)
}

func toLower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c >= 'A' && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}

func TestBrowseExpiryAndCacheFlush(t *testing.T) {
	s, got := newTestBrowse(GatewayService)
	now := time.Now()
	from := netip.MustParseAddr("192.168.1.10")
	s.handle(packet{msg: announce("Mon Bistrot", "box", 8420, gwTXT, 5, "192.168.1.10", "192.168.1.11"), from: from, iface: 3}, now)
	if len(*got) != 1 || len((*got)[0].Addrs) != 2 {
		t.Fatalf("entries %+v", *got)
	}
	// Two seconds later the host announces one address with the
	// cache-flush bit: the other one goes.
	s.handle(packet{msg: announce("Mon Bistrot", "box", 8420, gwTXT, 5, "192.168.1.11"), from: from, iface: 3}, now.Add(2*time.Second))
	if e := (*got)[1]; !slices.Equal(e.Addrs, []netip.Addr{netip.MustParseAddr("192.168.1.11")}) {
		t.Fatalf("after the cache flush: %+v", e)
	}
	// Past the TTL, the instance is gone.
	s.expire(now.Add(3 * time.Second))
	if len(*got) != 2 {
		t.Fatalf("expired early: %+v", *got)
	}
	s.expire(now.Add(8 * time.Second))
	if len(*got) != 3 || !(*got)[2].Goodbye || (*got)[2].From != from || len(s.cache) != 0 {
		t.Fatalf("after expiry: %+v, cache %d", (*got)[2:], len(s.cache))
	}
}

// TestBrowseBounded: a LAN that announces ever more records does not grow
// the cache beyond its bound.
func TestBrowseBounded(t *testing.T) {
	s, _ := newTestBrowse(GatewayService)
	now := time.Now()
	for i := range maxCache/4 + 100 {
		from := netip.AddrFrom4([4]byte{10, 0, byte(i >> 8), byte(i)})
		s.handle(packet{msg: announce(fmt.Sprintf("GW %d", i), "box", 8420, gwTXT, 120, from.String()), from: from, iface: 3}, now)
	}
	if len(s.cache) > maxCache {
		t.Fatalf("cache of %d records", len(s.cache))
	}
}

func TestGatewayList(t *testing.T) {
	l := NewGatewayList(nil)
	clock := time.Now()
	l.now = func() time.Time { clock = clock.Add(time.Second); return clock }
	changed := l.Changed()
	real, imp := netip.MustParseAddr("192.168.1.10"), netip.MustParseAddr("192.168.1.66")
	l.Add(Entry{Instance: "Mon Bistrot", Port: 8420, Text: gwTXT, Addrs: []netip.Addr{real}, From: real})
	select {
	case <-changed:
	default:
		t.Fatal("Changed not closed by a new gateway")
	}
	impTXT := []string{"v=1", "id=gw_1", "ws=/ws/terminal", "tls=1", "fp=" + fpTest[:60] + "0000"}
	l.Add(Entry{Instance: "Mon Bistrot", Port: 8420, Text: impTXT, Addrs: []netip.Addr{imp}, From: imp})
	l.Add(Entry{Instance: "Junk", Port: 8420, Text: []string{"v=2"}, Addrs: []netip.Addr{imp}, From: imp})
	gs := l.List()
	if len(gs) != 2 || gs[0].From != imp || gs[1].From != real || gs[1].TXT.Fingerprint != fpTest {
		t.Fatalf("list %+v", gs)
	}
	if got := gs[1].URLs(); !slices.Equal(got, []string{"https://192.168.1.10:8420"}) {
		t.Errorf("URLs %q", got)
	}
	if !gs[1].Has("https://192.168.1.10:8420") || gs[1].Has("https://192.168.1.10:8421") || gs[1].Has("https://192.168.1.11:8420") {
		t.Error("Has")
	}
	// Heard again unchanged: first again, no change signalled.
	changed = l.Changed()
	l.Add(Entry{Instance: "Mon Bistrot", Port: 8420, Text: gwTXT, Addrs: []netip.Addr{real}, From: real})
	select {
	case <-changed:
		t.Fatal("Changed closed by nothing new")
	default:
	}
	if gs = l.List(); gs[0].From != real {
		t.Fatalf("list %+v", gs)
	}
	// A goodbye from another address naming this one's address removes it.
	l.Add(Entry{Instance: "mon bistrot", Goodbye: true, From: netip.MustParseAddr("192.168.1.99"), Addrs: []netip.Addr{real}})
	if gs = l.List(); len(gs) != 1 || gs[0].From != imp {
		t.Fatalf("after the goodbye %+v", gs)
	}
	// IPv6 link-local URLs keep their zone.
	ll := netip.MustParseAddr("fe80::1%eth0")
	g := Gateway{Port: 8420, Addrs: []netip.Addr{ll}}
	if got := g.URLs(); !slices.Equal(got, []string{"http://[fe80::1%25eth0]:8420"}) {
		t.Errorf("URLs %q", got)
	}
	for i := range maxGateways + 10 {
		a := netip.AddrFrom4([4]byte{10, 1, 0, byte(i)})
		l.Add(Entry{Instance: fmt.Sprint("GW", i), Port: 1, Text: gwTXT, Addrs: []netip.Addr{a}, From: a})
	}
	if n := len(l.List()); n != maxGateways {
		t.Errorf("kept %d gateways", n)
	}
}
