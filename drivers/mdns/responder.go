package mdns

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"sync"

	"github.com/miekg/dns"
)

// Port is mDNS's UDP port.
const Port = 5353

// TTLs of the answers. A legacy unicast answer is cached by resolvers
// that know nothing of mDNS's goodbyes: RFC 6762 §6.7 caps its TTL at 10 s.
const (
	legacyTTL  = 10
	unicastTTL = 120
)

// records is what an advertiser answers for: the service's PTR, the
// instance's SRV and TXT, the host's A and AAAA.
type records struct {
	service  string // _passerelle._tcp.local.
	instance string // Mon\ Bistrot._passerelle._tcp.local.
	host     string // box.local.
	port     uint16
	text     []string
	addrs    []netip.Addr
}

func newRecords(service, instance, host string, port int, text []string, addrs []netip.Addr) *records {
	return &records{
		service:  serviceName(service),
		instance: instanceLabel(instance) + "." + serviceName(service),
		host:     host + "." + Domain,
		port:     uint16(port),
		text:     text,
		addrs:    addrs,
	}
}

const servicesName = "_services._dns-sd._udp." + Domain

// answer builds the answer to a query, or nil if it asks nothing of ours.
// A legacy query (from a port other than 5353) gets its ID and question
// back and TTLs of at most 10 s, as an ordinary DNS resolver expects.
func (r *records) answer(q *dns.Msg, legacy bool) *dns.Msg {
	if q.Response || q.Opcode != dns.OpcodeQuery || len(q.Question) == 0 {
		return nil
	}
	ttl := uint32(unicastTTL)
	if legacy {
		ttl = legacyTTL
	}
	m := new(dns.Msg)
	m.Response, m.Authoritative, m.Opcode = true, true, dns.OpcodeQuery
	if legacy {
		m.Id, m.RecursionDesired = q.Id, q.RecursionDesired
		m.Question = q.Question[:1]
	}
	hdr := func(name string, t uint16) dns.RR_Header {
		return dns.RR_Header{Name: name, Rrtype: t, Class: dns.ClassINET, Ttl: ttl}
	}
	srv := &dns.SRV{Hdr: hdr(r.instance, dns.TypeSRV), Port: r.port, Target: r.host}
	txt := &dns.TXT{Hdr: hdr(r.instance, dns.TypeTXT), Txt: r.text}
	addrs := func(want uint16) []dns.RR {
		var out []dns.RR
		for _, a := range r.addrs {
			switch {
			case a.Is4() && (want == dns.TypeA || want == dns.TypeANY):
				out = append(out, &dns.A{Hdr: hdr(r.host, dns.TypeA), A: a.AsSlice()})
			case a.Is6() && (want == dns.TypeAAAA || want == dns.TypeANY):
				out = append(out, &dns.AAAA{Hdr: hdr(r.host, dns.TypeAAAA), AAAA: a.AsSlice()})
			}
		}
		return out
	}
	// Only the first question: a legacy resolver asks one, and an answer
	// carries only the question it answers.
	qq := q.Question[0]
	if qq.Qclass&^(1<<15) != dns.ClassINET && qq.Qclass != dns.ClassANY { // the top bit is mDNS's unicast-response bit
		return nil
	}
	t, anyType := qq.Qtype, qq.Qtype == dns.TypeANY
	switch name := qq.Name; {
	case strings.EqualFold(name, servicesName) && (t == dns.TypePTR || anyType):
		m.Answer = append(m.Answer, &dns.PTR{Hdr: hdr(servicesName, dns.TypePTR), Ptr: r.service})
	case strings.EqualFold(name, r.service) && (t == dns.TypePTR || anyType):
		m.Answer = append(m.Answer, &dns.PTR{Hdr: hdr(r.service, dns.TypePTR), Ptr: r.instance})
		m.Extra = append(append(m.Extra, srv, txt), addrs(dns.TypeANY)...)
	case strings.EqualFold(name, r.instance):
		if t == dns.TypeSRV || anyType {
			m.Answer = append(m.Answer, srv)
			m.Extra = append(m.Extra, addrs(dns.TypeANY)...)
		}
		if t == dns.TypeTXT || anyType {
			m.Answer = append(m.Answer, txt)
		}
	case strings.EqualFold(name, r.host):
		m.Answer = append(m.Answer, addrs(t)...)
	}
	if len(m.Answer) == 0 {
		return nil
	}
	return m
}

// responder answers the mDNS queries sent to one of the advertiser's
// IPv4 addresses by unicast, port 5353: legacy unicast queries (RFC 6762
// §6.7, `dig -p 5353 @gateway`, the simple resolvers of some terminal
// firmware) and direct unicast queries. zeroconf answers only what comes
// to the multicast group, and answers it by multicast, which a legacy
// resolver never hears.
type responder struct {
	conn   net.PacketConn
	recs   *records
	ifaces []Iface // what is on-link
	log    *slog.Logger
	done   chan struct{}
	once   sync.Once
}

// listenResponder binds addr:port beside the multicast sockets (which are
// bound to the wildcard address: the kernel gives a unicast datagram to
// the most specific socket, this one).
func listenResponder(addr netip.Addr, port int, recs *records, ifaces []Iface, log *slog.Logger) (*responder, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	lc := net.ListenConfig{Control: reuseAddr}
	conn, err := lc.ListenPacket(context.Background(), "udp4", net.JoinHostPort(addr.String(), strconv.Itoa(port)))
	if err != nil {
		return nil, fmt.Errorf("mdns: unicast responder on %s: %w", addr, err)
	}
	r := &responder{conn: conn, recs: recs, ifaces: ifaces, log: log, done: make(chan struct{})}
	go r.serve()
	return r, nil
}

func (r *responder) serve() {
	defer close(r.done)
	buf := make([]byte, 9000)
	for {
		n, from, err := r.conn.ReadFrom(buf)
		if err != nil {
			if !errors.Is(err, net.ErrClosed) {
				r.log.Warn("mDNS unicast responder stopped", "err", err)
			}
			return
		}
		ua, ok := from.(*net.UDPAddr)
		if !ok {
			continue
		}
		src := ua.AddrPort()
		if !OnLink(r.ifaces, src.Addr()) {
			continue // from beyond a router: RFC 6762 §11
		}
		var q dns.Msg
		if err := q.Unpack(buf[:n]); err != nil {
			continue
		}
		legacy := src.Port() != Port
		m := r.recs.answer(&q, legacy)
		if m == nil {
			continue
		}
		size := dns.MinMsgSize
		if opt := q.IsEdns0(); opt != nil {
			size = int(opt.UDPSize())
		}
		m.Compress = true
		m.Truncate(size)
		out, err := m.Pack()
		if err != nil {
			continue
		}
		r.conn.WriteTo(out, from) // lost like any datagram: the resolver asks again
	}
}

func (r *responder) close() {
	r.once.Do(func() {
		r.conn.Close()
		<-r.done
	})
}
