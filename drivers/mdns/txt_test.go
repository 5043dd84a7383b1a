package mdns_test

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/passerelle/passerelle/drivers/mdns"
)

const fp = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"

func TestGatewayTXTRoundTrip(t *testing.T) {
	for _, g := range []mdns.GatewayTXT{
		{ID: "gw_06H1851VGKJDA0V88KY8XZ8MMM", WSPath: "/ws/terminal", TLS: true, Fingerprint: fp},
		{ID: "gw_1", WSPath: "/ws/terminal"},
	} {
		got, err := mdns.ParseGatewayTXT(g.Strings())
		if err != nil || got != g {
			t.Errorf("ParseGatewayTXT(%q) = %+v, %v; want %+v", g.Strings(), got, err, g)
		}
	}
	want := []string{"v=1", "id=gw_1", "ws=/ws/terminal", "tls=1", "fp=" + fp}
	if got := (mdns.GatewayTXT{ID: "gw_1", WSPath: "/ws/terminal", TLS: true, Fingerprint: fp}).Strings(); !slices.Equal(got, want) {
		t.Errorf("Strings() = %q, want %q", got, want)
	}
}

func TestParseGatewayTXT(t *testing.T) {
	good := func(extra ...string) []string {
		return append([]string{"v=1", "id=gw_1", "ws=/ws/terminal", "tls=1", "fp=" + fp}, extra...)
	}
	tests := []struct {
		name  string
		txt   []string
		want  mdns.GatewayTXT
		error string
	}{
		{"spec", good(), mdns.GatewayTXT{ID: "gw_1", WSPath: "/ws/terminal", TLS: true, Fingerprint: fp}, ""},
		{"keys case-insensitive, upper-case fp", []string{"V=1", "ID=gw_1", "Ws=/ws/terminal", "TLS=1", "FP=" + strings.ToUpper(fp)},
			mdns.GatewayTXT{ID: "gw_1", WSPath: "/ws/terminal", TLS: true, Fingerprint: fp}, ""},
		{"first of a key wins", append([]string{"id=gw_first"}, good()...),
			mdns.GatewayTXT{ID: "gw_first", WSPath: "/ws/terminal", TLS: true, Fingerprint: fp}, ""},
		{"unknown keys, empty keys, bare keys", good("future=yes", "=x", "flag"),
			mdns.GatewayTXT{ID: "gw_1", WSPath: "/ws/terminal", TLS: true, Fingerprint: fp}, ""},
		{"no TLS, no fp", []string{"v=1", "id=gw_1", "ws=/ws/terminal", "tls=0", "fp=junk"},
			mdns.GatewayTXT{ID: "gw_1", WSPath: "/ws/terminal"}, ""},
		{"escaped as miekg/dns presents it", []string{"v=1", "id=gw\\0951", "ws=/ws/terminal", "tls=0"},
			mdns.GatewayTXT{ID: "gw_1", WSPath: "/ws/terminal"}, ""},

		{"empty", nil, mdns.GatewayTXT{}, "no v="},
		{"no version", good()[1:], mdns.GatewayTXT{}, "no v="},
		{"version 2", append([]string{"v=2"}, good()[1:]...), mdns.GatewayTXT{}, "unsupported version"},
		{"version 1.0", append([]string{"v=1.0"}, good()[1:]...), mdns.GatewayTXT{}, "unsupported version"},
		{"no id", []string{"v=1", "ws=/ws/terminal", "tls=1", "fp=" + fp}, mdns.GatewayTXT{}, "id must"},
		{"id with spaces", []string{"v=1", "id=gw 1", "ws=/ws/terminal", "tls=0"}, mdns.GatewayTXT{}, "id must"},
		{"id too long", []string{"v=1", "id=" + strings.Repeat("a", 65), "ws=/ws/terminal", "tls=0"}, mdns.GatewayTXT{}, "id must"},
		{"no ws", []string{"v=1", "id=gw_1", "tls=0"}, mdns.GatewayTXT{}, "ws must"},
		{"ws a URL", []string{"v=1", "id=gw_1", "ws=http://evil/ws", "tls=0"}, mdns.GatewayTXT{}, "ws must"},
		{"ws with a query", []string{"v=1", "id=gw_1", "ws=/ws?x=1", "tls=0"}, mdns.GatewayTXT{}, "ws must"},
		{"ws host-relative", []string{"v=1", "id=gw_1", "ws=//evil/ws", "tls=0"}, mdns.GatewayTXT{}, "ws must"},
		{"no tls", []string{"v=1", "id=gw_1", "ws=/ws/terminal"}, mdns.GatewayTXT{}, "tls must"},
		{"tls yes", []string{"v=1", "id=gw_1", "ws=/ws/terminal", "tls=yes"}, mdns.GatewayTXT{}, "tls must"},
		{"tls without fp", []string{"v=1", "id=gw_1", "ws=/ws/terminal", "tls=1"}, mdns.GatewayTXT{}, "fp must"},
		{"short fp", []string{"v=1", "id=gw_1", "ws=/ws/terminal", "tls=1", "fp=" + fp[:63]}, mdns.GatewayTXT{}, "fp must"},
		{"fp not hex", []string{"v=1", "id=gw_1", "ws=/ws/terminal", "tls=1", "fp=" + strings.Repeat("z", 64)}, mdns.GatewayTXT{}, "fp must"},
		{"fp with colons", []string{"v=1", "id=gw_1", "ws=/ws/terminal", "tls=1", "fp=9f:86"}, mdns.GatewayTXT{}, "fp must"},
		{"string over 255 bytes", good("x=" + strings.Repeat("a", 300)), mdns.GatewayTXT{}, "at most 255"},
		{"record over 1300 bytes", good(slices.Repeat([]string{"x=" + strings.Repeat("a", 200)}, 7)...), mdns.GatewayTXT{}, "longer than 1300"},
		{"binary key", good("k\\000=1"), mdns.GatewayTXT{}, "printable ASCII"},
		{"lone backslash", good("x=\\"), mdns.GatewayTXT{}, "lone backslash"},
		{"escape beyond a byte", good("x=\\999"), mdns.GatewayTXT{}, "not a byte"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := mdns.ParseGatewayTXT(tt.txt)
			if tt.error != "" {
				if err == nil || !strings.Contains(err.Error(), tt.error) || !errors.Is(err, mdns.ErrTXT) {
					t.Fatalf("ParseGatewayTXT(%q) = %+v, %v; want an error with %q", tt.txt, got, err, tt.error)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("ParseGatewayTXT(%q) = %+v, %v; want %+v", tt.txt, got, err, tt.want)
			}
		})
	}
	if _, err := mdns.ParseGatewayTXT([]string{"v=2"}); !errors.Is(err, mdns.ErrTXTVersion) {
		t.Errorf("version 2: %v does not wrap ErrTXTVersion", err)
	}
}

func TestParseTerminalTXT(t *testing.T) {
	tests := []struct {
		name  string
		txt   []string
		want  mdns.TerminalTXT
		error string
	}{
		{"serial and model", []string{"serial=02189020000", "model=Move/5000"}, mdns.TerminalTXT{Serial: "02189020000", Model: "Move/5000"}, ""},
		{"with version", []string{"v=1", "serial=A1"}, mdns.TerminalTXT{Serial: "A1"}, ""},
		{"UTF-8 as miekg/dns escapes it", []string{"serial=A1", "model=Caf\\195\\169"}, mdns.TerminalTXT{Serial: "A1", Model: "Café"}, ""},
		{"no serial", []string{"model=x"}, mdns.TerminalTXT{}, "serial must"},
		{"empty serial", []string{"serial="}, mdns.TerminalTXT{}, "serial must"},
		{"serial too long", []string{"serial=" + strings.Repeat("9", 65)}, mdns.TerminalTXT{}, "serial must"},
		{"control characters", []string{"serial=A\\027[2J"}, mdns.TerminalTXT{}, "serial must"},
		{"invalid UTF-8", []string{"serial=A\\255"}, mdns.TerminalTXT{}, "serial must"},
		{"bidi override", []string{"serial=A1", "model=\u202eevil"}, mdns.TerminalTXT{}, "model must"},
		{"card number as serial", []string{"serial=4970101122334455"}, mdns.TerminalTXT{}, "serial must"},
		{"version 2", []string{"v=2", "serial=A1"}, mdns.TerminalTXT{}, "unsupported version"},
	}
	for _, tt := range tests {
		got, err := mdns.ParseTerminalTXT(tt.txt)
		if tt.error != "" {
			if err == nil || !strings.Contains(err.Error(), tt.error) {
				t.Errorf("%s: ParseTerminalTXT(%q) = %+v, %v; want an error with %q", tt.name, tt.txt, got, err, tt.error)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("%s: ParseTerminalTXT(%q) = %+v, %v; want %+v", tt.name, tt.txt, got, err, tt.want)
		}
	}
	// What a terminal announces reads back, backslashes included.
	in := mdns.TerminalTXT{Serial: `A\1`, Model: "M"}
	if got, err := mdns.ParseTerminalTXT(in.Strings()); err != nil || got != in {
		t.Errorf("round trip of %+v: %+v, %v", in, got, err)
	}
}

func FuzzParseGatewayTXT(f *testing.F) {
	f.Add("v=1", "id=gw_1", "ws=/ws/terminal", "tls=1", "fp="+fp)
	f.Add("v=2", "id=", "ws=//x", "tls=0", "fp=\\")
	f.Fuzz(func(t *testing.T, a, b, c, d, e string) {
		g, err := mdns.ParseGatewayTXT([]string{a, b, c, d, e})
		if err != nil {
			if !errors.Is(err, mdns.ErrTXT) {
				t.Fatalf("error %v does not wrap ErrTXT", err)
			}
			return
		}
		again, err := mdns.ParseGatewayTXT(g.Strings())
		if err != nil || again != g {
			t.Fatalf("%+v: Strings() %q reads back as %+v, %v", g, g.Strings(), again, err)
		}
	})
}
