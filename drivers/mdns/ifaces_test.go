package mdns_test

import (
	"net"
	"net/netip"
	"slices"
	"testing"

	"github.com/passerelle/passerelle/drivers/mdns"
)

func prefixes(s ...string) []netip.Prefix {
	var out []netip.Prefix
	for _, p := range s {
		out = append(out, netip.MustParsePrefix(p))
	}
	return out
}

func TestSelect(t *testing.T) {
	const lan = net.FlagUp | net.FlagBroadcast | net.FlagMulticast
	all := []mdns.Iface{
		{Index: 1, Name: "lo", Flags: net.FlagUp | net.FlagLoopback | net.FlagMulticast, Addrs: prefixes("127.0.0.1/8", "::1/128")},
		{Index: 2, Name: "eth0", Flags: lan, Addrs: prefixes("192.168.1.10/24", "fe80::1/64", "2001:db8::10/64")},
		{Index: 3, Name: "wlan0", Flags: lan, Addrs: prefixes("10.0.0.5/24")},
		{Index: 4, Name: "eth1", Flags: net.FlagBroadcast | net.FlagMulticast, Addrs: prefixes("10.1.0.5/24")}, // down
		{Index: 5, Name: "tun0", Flags: net.FlagUp | net.FlagPointToPoint | net.FlagMulticast, Addrs: prefixes("10.8.0.2/32")},
		{Index: 6, Name: "can0", Flags: net.FlagUp, Addrs: prefixes("10.2.0.5/24")}, // no multicast
		{Index: 7, Name: "br-port", Flags: lan},                                     // no address
		{Index: 8, Name: "Ethernet 2", Flags: lan, Addrs: prefixes("172.16.0.9/16", "0.0.0.0/0")},
	}
	tests := []struct {
		name  string
		names []string
		want  []string
	}{
		{"every suitable one", nil, []string{"eth0", "wlan0", "Ethernet 2"}},
		{"named", []string{"wlan0"}, []string{"wlan0"}},
		{"named with a space", []string{"Ethernet 2", "eth0"}, []string{"eth0", "Ethernet 2"}},
		{"a VPN only when named", []string{"tun0"}, []string{"tun0"}},
		{"loopback never", []string{"lo"}, nil},
		{"down never", []string{"eth1"}, nil},
		{"no multicast never", []string{"can0"}, nil},
		{"absent", []string{"eth9"}, nil},
		{"case matters", []string{"ETH0"}, nil},
	}
	for _, tt := range tests {
		var got []string
		for _, i := range mdns.Select(all, tt.names) {
			got = append(got, i.Name)
		}
		if !slices.Equal(got, tt.want) {
			t.Errorf("%s: Select(%q) = %q, want %q", tt.name, tt.names, got, tt.want)
		}
	}
	if got := mdns.Missing(all, []string{"eth0", "eth9", "usb0"}); !slices.Equal(got, []string{"eth9", "usb0"}) {
		t.Errorf("Missing = %q", got)
	}

	// Addresses: IPv4 first, then global IPv6, then link-local; never the
	// unspecified one.
	got := mdns.Addrs(mdns.Select(all, []string{"eth0", "Ethernet 2", "wlan0"}))
	want := []netip.Addr{netip.MustParseAddr("192.168.1.10"), netip.MustParseAddr("10.0.0.5"),
		netip.MustParseAddr("172.16.0.9"), netip.MustParseAddr("2001:db8::10"), netip.MustParseAddr("fe80::1")}
	if !slices.Equal(got, want) {
		t.Errorf("Addrs = %v, want %v", got, want)
	}

	sel := mdns.Select(all, nil)
	for _, tt := range []struct {
		addr string
		want bool
	}{
		{"192.168.1.77", true}, {"10.0.0.200", true}, {"fe80::99", true}, {"::ffff:192.168.1.2", true},
		{"192.168.2.1", false}, {"8.8.8.8", false}, {"10.8.0.1", false}, {"0.0.0.0", false},
	} {
		if got := mdns.OnLink(sel, netip.MustParseAddr(tt.addr)); got != tt.want {
			t.Errorf("OnLink(%s) = %v", tt.addr, got)
		}
	}
}

func TestInterfacesOfThisBox(t *testing.T) {
	all, err := mdns.Interfaces()
	if err != nil {
		t.Fatal(err)
	}
	for _, i := range all {
		if i.Flags&net.FlagLoopback != 0 && !slices.ContainsFunc(i.Addrs, func(p netip.Prefix) bool { return p.Addr().IsLoopback() }) {
			t.Errorf("loopback %s without a loopback address: %v", i.Name, i.Addrs)
		}
		for _, p := range i.Addrs {
			if p.Addr().Is4() && p.Bits() > 32 || p.Addr().Is4In6() {
				t.Errorf("%s: address %v not in IPv4 form", i.Name, p)
			}
		}
	}
	for _, i := range mdns.Select(all, nil) {
		if i.Flags&net.FlagLoopback != 0 {
			t.Errorf("selected loopback %s", i.Name)
		}
	}
}

func TestHostLabel(t *testing.T) {
	for in, want := range map[string]string{
		"Caisse-Bar":        "caisse-bar",
		"box.local":         "box",
		"box.local.":        "box",
		"srv1.shop.example": "srv1",
		"Mon PC_1":          "mon-pc-1",
		"--x--":             "x",
		"é":                 "passerelle",
		"a123456789012345678901234567890123456789012345678901234567890123456789": "a12345678901234567890123456789012345678901234567890123456789012",
	} {
		if got := mdns.HostLabel(in); got != want {
			t.Errorf("HostLabel(%q) = %q, want %q", in, got, want)
		}
	}
	if got := mdns.HostLabel(""); got == "" {
		t.Error("HostLabel of the box's name is empty")
	}
}
