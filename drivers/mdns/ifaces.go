package mdns

import (
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strings"
)

// Iface is a network interface as discovery sees it.
type Iface struct {
	Index int
	Name  string
	Flags net.Flags
	Addrs []netip.Prefix // its unicast addresses, with their subnets
}

// Interfaces lists the system's interfaces and their addresses.
func Interfaces() ([]Iface, error) {
	ifs, err := net.Interfaces()
	if err != nil {
		return nil, fmt.Errorf("mdns: interfaces: %w", err)
	}
	out := make([]Iface, 0, len(ifs))
	for _, ifc := range ifs {
		i := Iface{Index: ifc.Index, Name: ifc.Name, Flags: ifc.Flags}
		addrs, _ := ifc.Addrs() // an interface going away has none: it is skipped
		for _, a := range addrs {
			ipn, ok := a.(*net.IPNet)
			if !ok {
				continue
			}
			ip, ok := netip.AddrFromSlice(ipn.IP)
			if !ok {
				continue
			}
			ones, _ := ipn.Mask.Size()
			ip = ip.Unmap()
			if ip.Is4() && ones > 32 {
				ones -= 96
			}
			i.Addrs = append(i.Addrs, netip.PrefixFrom(ip, ones))
		}
		out = append(out, i)
	}
	return out, nil
}

// Select returns the interfaces mDNS works on: up, multicast-capable, not
// loopback, with an address to announce; only those named in names if it
// is not empty. Point-to-point links (VPNs) are left out unless named:
// announcing the shop's gateway into a tunnel is a leak.
func Select(all []Iface, names []string) []Iface {
	var out []Iface
	for _, i := range all {
		named := slices.Contains(names, i.Name)
		switch {
		case len(names) > 0 && !named,
			i.Flags&net.FlagUp == 0,
			i.Flags&net.FlagLoopback != 0,
			i.Flags&net.FlagMulticast == 0,
			i.Flags&net.FlagPointToPoint != 0 && !named,
			len(usable(i.Addrs)) == 0:
			continue
		}
		out = append(out, i)
	}
	return out
}

// Missing returns the names that match none of the interfaces.
func Missing(all []Iface, names []string) []string {
	var out []string
	for _, n := range names {
		if !slices.ContainsFunc(all, func(i Iface) bool { return i.Name == n }) {
			out = append(out, n)
		}
	}
	return out
}

// usable is what can be announced of an interface's addresses: IPv4
// first, then global IPv6, then link-local IPv6; never loopback,
// multicast or unspecified.
func usable(ps []netip.Prefix) []netip.Addr {
	var v4, v6, ll []netip.Addr
	for _, p := range ps {
		a := p.Addr()
		switch {
		case a.IsLoopback(), a.IsMulticast(), a.IsUnspecified(), !a.IsValid():
		case a.Is4():
			v4 = append(v4, a)
		case a.IsLinkLocalUnicast():
			ll = append(ll, a.WithZone(""))
		default:
			v6 = append(v6, a)
		}
	}
	return slices.Concat(v4, v6, ll)
}

// Addrs returns the addresses to announce on ifaces, in usable's order,
// each once.
func Addrs(ifaces []Iface) []netip.Addr {
	var all []netip.Prefix
	for _, i := range ifaces {
		all = append(all, i.Addrs...)
	}
	var out []netip.Addr
	seen := map[netip.Addr]bool{}
	for _, a := range usable(all) {
		if !seen[a] {
			seen[a] = true
			out = append(out, a)
		}
	}
	slices.SortStableFunc(out, func(a, b netip.Addr) int { return rank(a) - rank(b) })
	return out
}

func rank(a netip.Addr) int {
	switch {
	case a.Is4():
		return 0
	case a.IsLinkLocalUnicast():
		return 2
	}
	return 1
}

// OnLink reports whether a is in one of the interfaces' subnets: a
// unicast query from elsewhere came through a router, and RFC 6762 §11
// says not to answer it.
func OnLink(ifaces []Iface, a netip.Addr) bool {
	a = a.Unmap().WithZone("")
	for _, i := range ifaces {
		for _, p := range i.Addrs {
			if !p.Addr().IsUnspecified() && p.Masked().Contains(a) {
				return true
			}
		}
	}
	return false
}

// names lists the interfaces' names, for logs.
func names(ifaces []Iface) string {
	var n []string
	for _, i := range ifaces {
		n = append(n, i.Name)
	}
	return strings.Join(n, ",")
}
