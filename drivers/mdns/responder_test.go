package mdns

import (
	"net"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"
)

var testRecords = newRecords(GatewayService, "Crêperie du Port. Bar", "box", 8420,
	[]string{"v=1", "id=gw_1", "ws=/ws/terminal", "tls=0"},
	[]netip.Addr{netip.MustParseAddr("192.168.1.10"), netip.MustParseAddr("fe80::1")})

func question(name string, t uint16) *dns.Msg {
	m := new(dns.Msg)
	m.SetQuestion(name, t)
	return m
}

func types(rrs []dns.RR) []string {
	var out []string
	for _, rr := range rrs {
		out = append(out, dns.TypeToString[rr.Header().Rrtype])
	}
	return out
}

func TestInstanceLabel(t *testing.T) {
	if got, want := testRecords.instance, `Cr\195\170perie\ du\ Port\.\ Bar._passerelle._tcp.local.`; got != want {
		t.Fatalf("instance %q, want %q", got, want)
	}
	inst, ok := splitInstance(testRecords.instance, GatewayService)
	if !ok || inst != "Crêperie du Port. Bar" {
		t.Fatalf("splitInstance = %q, %v", inst, ok)
	}
	// 63 bytes at most, cut between characters.
	long := strings.Repeat("é", 40)
	if l := instanceLabel(long); strings.Count(l, `\195\169`) != 31 || strings.Contains(l, `\195.`) {
		t.Fatalf("instanceLabel of 80 bytes = %q", l)
	}
	for _, bad := range []string{"a.b._passerelle._tcp.local.", "_passerelle._tcp.local.", `x\._passerelle-tpe._tcp.local.`, `\`} {
		if inst, ok := splitInstance(bad, GatewayService); ok {
			t.Errorf("splitInstance(%q) = %q", bad, inst)
		}
	}
}

func TestAnswer(t *testing.T) {
	inst := testRecords.instance
	tests := []struct {
		name        string
		q           *dns.Msg
		answer      []string
		extra       []string
		description string
	}{
		{"browse", question("_passerelle._tcp.local.", dns.TypePTR), []string{"PTR"}, []string{"SRV", "TXT", "A", "AAAA"}, ""},
		{"browse, other case", question("_PASSERELLE._TCP.local.", dns.TypePTR), []string{"PTR"}, []string{"SRV", "TXT", "A", "AAAA"}, ""},
		{"service types", question("_services._dns-sd._udp.local.", dns.TypePTR), []string{"PTR"}, nil, ""},
		{"SRV", question(inst, dns.TypeSRV), []string{"SRV"}, []string{"A", "AAAA"}, ""},
		{"TXT", question(inst, dns.TypeTXT), []string{"TXT"}, nil, ""},
		{"ANY of the instance", question(inst, dns.TypeANY), []string{"SRV", "TXT"}, []string{"A", "AAAA"}, ""},
		{"A", question("box.local.", dns.TypeA), []string{"A"}, nil, ""},
		{"AAAA", question("BOX.local.", dns.TypeAAAA), []string{"AAAA"}, nil, ""},
		{"ANY of the host", question("box.local.", dns.TypeANY), []string{"A", "AAAA"}, nil, ""},
		{"another service", question("_http._tcp.local.", dns.TypePTR), nil, nil, ""},
		{"another host", question("other.local.", dns.TypeA), nil, nil, ""},
		{"MX of the host", question("box.local.", dns.TypeMX), nil, nil, ""},
	}
	for _, tt := range tests {
		for _, legacy := range []bool{true, false} {
			m := testRecords.answer(tt.q, legacy)
			if tt.answer == nil {
				if m != nil {
					t.Errorf("%s: answered %v", tt.name, m)
				}
				continue
			}
			if m == nil {
				t.Errorf("%s (legacy %v): no answer", tt.name, legacy)
				continue
			}
			if !slices.Equal(types(m.Answer), tt.answer) || !slices.Equal(types(m.Extra), tt.extra) {
				t.Errorf("%s: answer %v extra %v, want %v and %v", tt.name, types(m.Answer), types(m.Extra), tt.answer, tt.extra)
			}
			if !m.Response || !m.Authoritative {
				t.Errorf("%s: header %+v", tt.name, m.MsgHdr)
			}
			maxTTL := uint32(unicastTTL)
			if legacy {
				maxTTL = legacyTTL
				if m.Id != tt.q.Id || len(m.Question) != 1 || m.Question[0] != tt.q.Question[0] {
					t.Errorf("%s: a legacy answer must carry the query's ID and question: %v", tt.name, m)
				}
			} else if m.Id != 0 || len(m.Question) != 0 {
				t.Errorf("%s: an mDNS answer carries no ID nor question: %v", tt.name, m)
			}
			for _, rr := range append(m.Answer, m.Extra...) {
				if rr.Header().Ttl > maxTTL || rr.Header().Ttl == 0 {
					t.Errorf("%s (legacy %v): TTL %d", tt.name, legacy, rr.Header().Ttl)
				}
			}
		}
	}
	// Not questions, or not ours to answer.
	resp := question("_passerelle._tcp.local.", dns.TypePTR)
	resp.Response = true
	chaos := question("_passerelle._tcp.local.", dns.TypePTR)
	chaos.Question[0].Qclass = dns.ClassCHAOS
	notify := question("_passerelle._tcp.local.", dns.TypePTR)
	notify.Opcode = dns.OpcodeNotify
	for _, q := range []*dns.Msg{resp, chaos, notify, new(dns.Msg)} {
		if m := testRecords.answer(q, true); m != nil {
			t.Errorf("answered %v with %v", q, m)
		}
	}
	// The unicast-response bit of mDNS is not a class of its own.
	qu := question("_passerelle._tcp.local.", dns.TypePTR)
	qu.Question[0].Qclass |= 1 << 15
	if m := testRecords.answer(qu, false); m == nil {
		t.Error("QU question not answered")
	}
}

// TestResponderOverUDP asks the responder as dig does: one datagram from
// an ordinary port, on loopback.
func TestResponderOverUDP(t *testing.T) {
	lo := []Iface{{Index: 1, Name: "lo", Addrs: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/8")}}}
	r, err := listenResponder(netip.MustParseAddr("127.0.0.1"), 0, testRecords, lo, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer r.close()
	addr := r.conn.LocalAddr().String()
	c := &dns.Client{Net: "udp", Timeout: 5 * time.Second}
	q := question("_passerelle._tcp.local.", dns.TypePTR)
	m, _, err := c.Exchange(q, addr)
	if err != nil {
		t.Fatalf("query: %v", err)
	}
	if m.Id != q.Id || len(m.Answer) != 1 || m.Answer[0].(*dns.PTR).Ptr != testRecords.instance || m.Answer[0].Header().Ttl > legacyTTL {
		t.Fatalf("answer %v", m)
	}
	var txt []string
	for _, rr := range m.Extra {
		if x, ok := rr.(*dns.TXT); ok {
			txt = x.Txt
		}
	}
	if !slices.Equal(txt, testRecords.text) {
		t.Errorf("TXT %q", txt)
	}
	// EDNS0: a larger buffer, still answered.
	q = question(testRecords.instance, dns.TypeANY)
	q.SetEdns0(1232, false)
	if m, _, err = c.Exchange(q, addr); err != nil || len(m.Answer) != 2 {
		t.Fatalf("ANY with EDNS0: %v, %v", m, err)
	}
	// Garbage and questions about others get nothing; the responder goes
	// on answering.
	raw, err := net.Dial("udp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	raw.Write([]byte("not dns"))
	if m, _, err = c.Exchange(question(testRecords.instance, dns.TypeTXT), addr); err != nil || len(m.Answer) != 1 {
		t.Fatalf("after garbage: %v, %v", m, err)
	}
}

// TestResponderIgnoresOffLink: a query from beyond the interfaces' subnets
// (through a router) is not answered.
func TestResponderIgnoresOffLink(t *testing.T) {
	lan := []Iface{{Index: 2, Name: "eth0", Addrs: []netip.Prefix{netip.MustParsePrefix("192.168.1.10/24")}}}
	r, err := listenResponder(netip.MustParseAddr("127.0.0.1"), 0, testRecords, lan, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer r.close()
	c := &dns.Client{Net: "udp", Timeout: 300 * time.Millisecond}
	if m, _, err := c.Exchange(question("_passerelle._tcp.local.", dns.TypePTR), r.conn.LocalAddr().String()); err == nil {
		t.Fatalf("answered a query from 127.0.0.1, off the link 192.168.1.0/24: %v", m)
	}
}
