package gateway

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
)

// Limits of a pairing link. A QR code holds about 2 KB; a link longer
// than that was not made by a gateway.
const (
	MaxPairingLinkLen   = 2048
	MaxPairingLinkAddrs = 16
	PairingLinkScheme   = "passerelle"
)

// PairingLink is the terminal protocol's pairing link,
// passerelle://pair?addr=192.168.1.10:8420,[fe80::1]:8420&fp=<sha256 hex>&code=123456:
// where the gateway listens, the certificate the terminal must pin, and a
// pairing code. It is what the admin page shows as a QR code and what
// `passerelle terminal code` prints.
type PairingLink struct {
	// Addrs are host:port, IPv6 addresses in brackets, in the order to try.
	Addrs []string
	// Fingerprint is the hex SHA-256 of the gateway's certificate, lower
	// case; "" for a gateway without TLS.
	Fingerprint string
	Code        string // 6 digits
}

// ErrPairingLink is wrapped by every error of ParsePairingLink.
var ErrPairingLink = errors.New("not a pairing link")

func linkErr(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrPairingLink, fmt.Sprintf(format, args...))
}

// ParsePairingLink reads a pairing link. It is strict about what it uses
// (a terminal pins what the link says, so an ambiguous link is refused:
// a key given twice, an address that is not host:port) and ignores query
// keys it does not know, which later versions may add.
func ParsePairingLink(s string) (PairingLink, error) {
	var l PairingLink
	if len(s) > MaxPairingLinkLen {
		return l, linkErr("longer than %d bytes", MaxPairingLinkLen)
	}
	u, err := url.Parse(strings.TrimSpace(s))
	if err != nil {
		return l, linkErr("%v", err)
	}
	if !strings.EqualFold(u.Scheme, PairingLinkScheme) || !strings.EqualFold(u.Host, "pair") ||
		u.User != nil || (u.Path != "" && u.Path != "/") || u.Opaque != "" {
		return l, linkErr("it must start with passerelle://pair?")
	}
	q, err := url.ParseQuery(u.RawQuery)
	if err != nil {
		return l, linkErr("query: %v", err)
	}
	one := func(key string) (string, error) {
		v := q[key]
		switch len(v) {
		case 0:
			return "", nil
		case 1:
			return v[0], nil
		}
		return "", linkErr("%s is given %d times", key, len(v))
	}
	addrs, err := one("addr")
	if err != nil {
		return l, err
	}
	if l.Addrs, err = parseLinkAddrs(addrs); err != nil {
		return l, err
	}
	if l.Fingerprint, err = one("fp"); err != nil {
		return l, err
	}
	if l.Fingerprint != "" {
		if !isHex(l.Fingerprint, 64) {
			return l, linkErr("fp must be the 64 hex digits of a SHA-256")
		}
		l.Fingerprint = strings.ToLower(l.Fingerprint)
	}
	if l.Code, err = one("code"); err != nil {
		return l, err
	}
	if len(l.Code) != 6 || strings.Trim(l.Code, "0123456789") != "" {
		return l, linkErr("code must be 6 digits")
	}
	return l, nil
}

func parseLinkAddrs(s string) ([]string, error) {
	if s == "" {
		return nil, linkErr("addr is missing: the link names no address of the gateway")
	}
	parts := strings.Split(s, ",")
	if len(parts) > MaxPairingLinkAddrs {
		return nil, linkErr("more than %d addresses", MaxPairingLinkAddrs)
	}
	var out []string
	seen := map[string]bool{}
	for _, p := range parts {
		host, port, err := net.SplitHostPort(p)
		if err != nil {
			return nil, linkErr("address %q is not host:port", p)
		}
		if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 || strconv.Itoa(n) != port {
			return nil, linkErr("address %q: bad port", p)
		}
		if ip := net.ParseIP(host); ip != nil {
			host = ip.String()
		} else if !isHostName(host) {
			// Zones (%eth0) are refused too: they name an interface of the
			// gateway, meaningless on the terminal.
			return nil, linkErr("address %q: bad host", p)
		}
		a := net.JoinHostPort(host, port)
		if !seen[a] {
			seen[a] = true
			out = append(out, a)
		}
	}
	return out, nil
}

// isHostName accepts DNS names made of letters, digits, hyphens and dots
// (box.local), as a shop's network would name the gateway.
func isHostName(s string) bool {
	if s == "" || len(s) > 253 {
		return false
	}
	for _, label := range strings.Split(strings.TrimSuffix(s, "."), ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for i := 0; i < len(label); i++ {
			c := label[i]
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-') {
				return false
			}
		}
	}
	return true
}

func isHex(s string, n int) bool {
	if len(s) != n {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F') {
			return false
		}
	}
	return true
}

// PairingAddrs is the addr= of the pairing link of a gateway bound at
// bound, whose interfaces have the addresses lan: the bound port on the
// addresses a terminal can dial, IPv4 first, at most MaxPairingLinkAddrs.
//
// Left out: link-local IPv6 (fe80::/10), which needs the zone of an
// interface of the terminal, unknown to the gateway (a zone in the link
// would name the gateway's own interface); multicast and unspecified
// addresses; loopback, unless the gateway listens on loopback only, or on
// every address of a box that has no other (a terminal on the box itself,
// a simulator, can still pair). A gateway bound to a single link-local
// IPv6 address has no address to give: nil.
func PairingAddrs(bound netip.AddrPort, lan []netip.Addr) []string {
	port := bound.Port()
	ip := bound.Addr().Unmap()
	if !ip.IsUnspecified() {
		if !dialable(ip) && !ip.IsLoopback() {
			return nil
		}
		return []string{netip.AddrPortFrom(ip.WithZone(""), port).String()}
	}
	var v4, v6 []string
	seen := map[netip.Addr]bool{}
	for _, a := range lan {
		a = a.Unmap().WithZone("")
		// Bound to 0.0.0.0 (no dual stack), the gateway does not answer
		// on IPv6.
		if !dialable(a) || a.IsLoopback() || (ip.Is4() && !a.Is4()) || seen[a] {
			continue
		}
		seen[a] = true
		s := netip.AddrPortFrom(a, port).String()
		if a.Is4() {
			v4 = append(v4, s)
		} else {
			v6 = append(v6, s)
		}
	}
	out := append(v4, v6...)
	if len(out) == 0 {
		return []string{netip.AddrPortFrom(netip.AddrFrom4([4]byte{127, 0, 0, 1}), port).String()}
	}
	return out[:min(len(out), MaxPairingLinkAddrs)]
}

// dialable reports whether a, written without a zone, names one machine
// to dial: not a link-local IPv6 address, which means nothing without the
// zone of the dialler's interface.
func dialable(a netip.Addr) bool {
	return a.IsValid() && !a.IsUnspecified() && !a.IsMulticast() && !(a.Is6() && a.IsLinkLocalUnicast())
}

// String is the link, its keys in the spec's order.
func (l PairingLink) String() string {
	var b strings.Builder
	b.WriteString(PairingLinkScheme + "://pair?addr=")
	b.WriteString(strings.Join(l.Addrs, ","))
	if l.Fingerprint != "" {
		b.WriteString("&fp=" + l.Fingerprint)
	}
	b.WriteString("&code=" + url.QueryEscape(l.Code))
	return b.String()
}

// URLs are the gateway's base URLs to try, in order: https when the link
// pins a certificate, http otherwise.
func (l PairingLink) URLs() []string {
	scheme := "http"
	if l.Fingerprint != "" {
		scheme = "https"
	}
	out := make([]string, len(l.Addrs))
	for i, a := range l.Addrs {
		out[i] = scheme + "://" + a
	}
	return out
}

// FormatFingerprint writes the first n hex digits of a fingerprint (all of
// them if n is 0) in groups of four, upper case, for a person to compare
// on two screens: "9F86 D081 884C 7D65".
func FormatFingerprint(fp string, n int) string {
	fp = strings.ToUpper(fp)
	if n > 0 && n < len(fp) {
		fp = fp[:n]
	}
	var b strings.Builder
	for i := 0; i < len(fp); i += 4 {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(fp[i:min(i+4, len(fp))])
	}
	return b.String()
}
