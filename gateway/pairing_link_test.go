package gateway_test

import (
	"errors"
	"net/netip"
	"slices"
	"strings"
	"testing"

	"github.com/passerelle/passerelle/gateway"
)

const testFP = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"

func TestParsePairingLink(t *testing.T) {
	tests := []struct {
		name  string
		link  string
		want  gateway.PairingLink
		error string // part of the error; "" for none
	}{
		{"spec example", "passerelle://pair?addr=192.168.1.10:8420,[fe80::1]:8420&fp=" + testFP + "&code=123456",
			gateway.PairingLink{Addrs: []string{"192.168.1.10:8420", "[fe80::1]:8420"}, Fingerprint: testFP, Code: "123456"}, ""},
		{"no TLS", "passerelle://pair?addr=10.0.0.1:8420&code=000001",
			gateway.PairingLink{Addrs: []string{"10.0.0.1:8420"}, Code: "000001"}, ""},
		{"case, slash, unknown key", "PASSERELLE://PAIR/?addr=box.local:8420&fp=" + strings.ToUpper(testFP) + "&code=654321&x=later",
			gateway.PairingLink{Addrs: []string{"box.local:8420"}, Fingerprint: testFP, Code: "654321"}, ""},
		{"escaped", "passerelle://pair?addr=10.0.0.1%3A8420%2C10.0.0.2%3A8420&code=%31%32%33%34%35%36",
			gateway.PairingLink{Addrs: []string{"10.0.0.1:8420", "10.0.0.2:8420"}, Code: "123456"}, ""},
		{"duplicates merged", "passerelle://pair?addr=10.0.0.1:8420,[::ffff:10.0.0.1]:8420&code=123456",
			gateway.PairingLink{Addrs: []string{"10.0.0.1:8420"}, Code: "123456"}, ""},
		{"spaces around", "  passerelle://pair?addr=10.0.0.1:8420&code=123456\n",
			gateway.PairingLink{Addrs: []string{"10.0.0.1:8420"}, Code: "123456"}, ""},

		{"empty", "", gateway.PairingLink{}, "passerelle://pair?"},
		{"other scheme", "https://pair?addr=10.0.0.1:8420&code=123456", gateway.PairingLink{}, "passerelle://pair?"},
		{"other host", "passerelle://evil?addr=10.0.0.1:8420&code=123456", gateway.PairingLink{}, "passerelle://pair?"},
		{"user info", "passerelle://x@pair?addr=10.0.0.1:8420&code=123456", gateway.PairingLink{}, "passerelle://pair?"},
		{"path", "passerelle://pair/x?addr=10.0.0.1:8420&code=123456", gateway.PairingLink{}, "passerelle://pair?"},
		{"no addr", "passerelle://pair?code=123456", gateway.PairingLink{}, "addr is missing"},
		{"code twice", "passerelle://pair?addr=10.0.0.1:8420&code=123456&code=654321", gateway.PairingLink{}, "code is given 2 times"},
		{"fp twice", "passerelle://pair?addr=10.0.0.1:8420&fp=" + testFP + "&fp=" + testFP + "&code=123456", gateway.PairingLink{}, "fp is given 2 times"},
		{"short fp", "passerelle://pair?addr=10.0.0.1:8420&fp=abcd&code=123456", gateway.PairingLink{}, "64 hex"},
		{"fp not hex", "passerelle://pair?addr=10.0.0.1:8420&fp=" + strings.Repeat("g", 64) + "&code=123456", gateway.PairingLink{}, "64 hex"},
		{"no code", "passerelle://pair?addr=10.0.0.1:8420", gateway.PairingLink{}, "6 digits"},
		{"code letters", "passerelle://pair?addr=10.0.0.1:8420&code=12345a", gateway.PairingLink{}, "6 digits"},
		{"code long", "passerelle://pair?addr=10.0.0.1:8420&code=1234567", gateway.PairingLink{}, "6 digits"},
		{"no port", "passerelle://pair?addr=10.0.0.1&code=123456", gateway.PairingLink{}, "not host:port"},
		{"port too big", "passerelle://pair?addr=10.0.0.1:99999&code=123456", gateway.PairingLink{}, "bad port"},
		{"port zero padded", "passerelle://pair?addr=10.0.0.1:08420&code=123456", gateway.PairingLink{}, "bad port"},
		{"zone", "passerelle://pair?addr=[fe80::1%25eth0]:8420&code=123456", gateway.PairingLink{}, "bad host"},
		{"bad host", "passerelle://pair?addr=a_b:8420&code=123456", gateway.PairingLink{}, "bad host"},
		{"semicolon", "passerelle://pair?addr=10.0.0.1:8420;code=123456", gateway.PairingLink{}, "query"},
		{"too many addresses", "passerelle://pair?addr=" + strings.Repeat("10.0.0.1:1,", 16) + "10.0.0.1:2&code=123456", gateway.PairingLink{}, "more than 16"},
		{"too long", "passerelle://pair?addr=10.0.0.1:8420&code=123456&x=" + strings.Repeat("a", 2048), gateway.PairingLink{}, "longer than"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := gateway.ParsePairingLink(tt.link)
			if tt.error != "" {
				if err == nil || !strings.Contains(err.Error(), tt.error) || !errors.Is(err, gateway.ErrPairingLink) {
					t.Fatalf("ParsePairingLink(%q) = %+v, %v; want an error with %q", tt.link, got, err, tt.error)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParsePairingLink(%q): %v", tt.link, err)
			}
			if !slices.Equal(got.Addrs, tt.want.Addrs) || got.Fingerprint != tt.want.Fingerprint || got.Code != tt.want.Code {
				t.Fatalf("ParsePairingLink(%q) = %+v, want %+v", tt.link, got, tt.want)
			}
		})
	}
}

func TestPairingLinkString(t *testing.T) {
	l := gateway.PairingLink{Addrs: []string{"192.168.1.10:8420", "[fe80::1]:8420"}, Fingerprint: testFP, Code: "123456"}
	want := "passerelle://pair?addr=192.168.1.10:8420,[fe80::1]:8420&fp=" + testFP + "&code=123456"
	if got := l.String(); got != want {
		t.Fatalf("String() = %q, want %q", got, want)
	}
	if got := l.URLs(); !slices.Equal(got, []string{"https://192.168.1.10:8420", "https://[fe80::1]:8420"}) {
		t.Fatalf("URLs() = %q", got)
	}
	l.Fingerprint = ""
	if got := l.URLs(); got[0] != "http://192.168.1.10:8420" {
		t.Fatalf("URLs() without fp = %q", got)
	}
}

// FuzzParsePairingLink: whatever the input, the parser does not panic, and
// what it accepts is well formed and reads back the same from its String.
func FuzzParsePairingLink(f *testing.F) {
	f.Fuzz(func(t *testing.T, s string) {
		l, err := gateway.ParsePairingLink(s)
		if err != nil {
			if !errors.Is(err, gateway.ErrPairingLink) {
				t.Fatalf("error %v does not wrap ErrPairingLink", err)
			}
			return
		}
		if len(l.Addrs) == 0 || len(l.Addrs) > gateway.MaxPairingLinkAddrs || len(l.Code) != 6 ||
			(l.Fingerprint != "" && len(l.Fingerprint) != 64) || l.Fingerprint != strings.ToLower(l.Fingerprint) {
			t.Fatalf("accepted %q as %+v", s, l)
		}
		again, err := gateway.ParsePairingLink(l.String())
		if err != nil {
			t.Fatalf("String() of %q is %q, which does not parse: %v", s, l.String(), err)
		}
		if !slices.Equal(again.Addrs, l.Addrs) || again.Fingerprint != l.Fingerprint || again.Code != l.Code {
			t.Fatalf("round trip of %q: %+v then %+v", s, l, again)
		}
	})
}

func TestFormatFingerprint(t *testing.T) {
	for _, tt := range []struct {
		n    int
		want string
	}{
		{16, "9F86 D081 884C 7D65"},
		{6, "9F86 D0"},
		{0, "9F86 D081 884C 7D65 9A2F EAA0 C55A D015 A3BF 4F1B 2B0B 822C D15D 6C15 B0F0 0A08"},
	} {
		if got := gateway.FormatFingerprint(testFP, tt.n); got != tt.want {
			t.Errorf("FormatFingerprint(%d) = %q, want %q", tt.n, got, tt.want)
		}
	}
}

// TestPairingAddrs: the link carries the port the gateway is bound to and
// only addresses a terminal can dial.
func TestPairingAddrs(t *testing.T) {
	lan := []netip.Addr{
		netip.MustParseAddr("fe80::1%eth0"), // link-local IPv6: needs a zone the terminal cannot know
		netip.MustParseAddr("fd00::2"),
		netip.MustParseAddr("127.0.0.1"),
		netip.MustParseAddr("192.168.1.10"),
		netip.MustParseAddr("::1"),
		netip.MustParseAddr("fe80::2"),
		netip.MustParseAddr("::ffff:10.0.0.5"),
		netip.MustParseAddr("192.168.1.10"), // twice: once in the link
		netip.MustParseAddr("224.0.0.251"),
		netip.MustParseAddr("0.0.0.0"),
		netip.MustParseAddr("2001:db8::7"),
		netip.MustParseAddr("169.254.3.4"), // link-local IPv4: dialable as it is
	}
	tests := []struct {
		name  string
		bound string
		lan   []netip.Addr
		want  []string
	}{
		{"wildcard", "[::]:9443", lan,
			[]string{"192.168.1.10:9443", "10.0.0.5:9443", "169.254.3.4:9443", "[fd00::2]:9443", "[2001:db8::7]:9443"}},
		{"wildcard IPv4 only", "0.0.0.0:8420", lan,
			[]string{"192.168.1.10:8420", "10.0.0.5:8420", "169.254.3.4:8420"}},
		{"one address", "192.168.1.10:8421", lan, []string{"192.168.1.10:8421"}},
		{"one mapped address", "[::ffff:192.168.1.10]:8421", lan, []string{"192.168.1.10:8421"}},
		{"loopback only", "127.0.0.1:41234", lan, []string{"127.0.0.1:41234"}},
		{"IPv6 loopback only", "[::1]:41234", lan, []string{"[::1]:41234"}},
		{"link-local only", "[fe80::1%eth0]:8420", lan, nil},
		{"wildcard, nothing but loopback and link-local", "[::]:8420",
			[]netip.Addr{netip.MustParseAddr("127.0.0.1"), netip.MustParseAddr("fe80::1")}, []string{"127.0.0.1:8420"}},
		{"wildcard, no interface", "[::]:8420", nil, []string{"127.0.0.1:8420"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := gateway.PairingAddrs(netip.MustParseAddrPort(tt.bound), tt.lan)
			if !slices.Equal(got, tt.want) {
				t.Fatalf("PairingAddrs(%s) = %q, want %q", tt.bound, got, tt.want)
			}
			if len(got) == 0 {
				return
			}
			// What it gives makes a link that parses, to the same addresses.
			l, err := gateway.ParsePairingLink(gateway.PairingLink{Addrs: got, Code: "123456"}.String())
			if err != nil || !slices.Equal(l.Addrs, got) {
				t.Fatalf("link of %q: %+v, %v", got, l, err)
			}
		})
	}

	many := make([]netip.Addr, 40)
	for i := range many {
		many[i] = netip.AddrFrom4([4]byte{10, 0, 1, byte(i + 1)})
	}
	if got := gateway.PairingAddrs(netip.MustParseAddrPort("[::]:8420"), many); len(got) != gateway.MaxPairingLinkAddrs {
		t.Fatalf("%d addresses, want the link's limit %d", len(got), gateway.MaxPairingLinkAddrs)
	}
}
