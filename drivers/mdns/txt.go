package mdns

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/passerelle/passerelle/gateway"
)

// Service types of the terminal protocol, and the one domain mDNS knows.
const (
	GatewayService  = "_passerelle._tcp"
	TerminalService = "_passerelle-tpe._tcp"
	Domain          = "local."
	TXTVersion      = "1"
	DefaultWSPath   = "/ws/terminal"
)

// TXT limits. RFC 6763 §6.1-6.2: each string is at most 255 bytes, and the
// whole record should stay under 1300 so that it fits one packet; a record
// beyond that was not made by a gateway or a terminal of ours.
const (
	MaxTXTBytes  = 1300
	maxTXTString = 255
	maxIDLen     = 64
	maxWSPathLen = 128
	maxFieldLen  = 64 // serial, model
)

// ErrTXT is wrapped by every error of the TXT parsers.
var ErrTXT = errors.New("mdns: bad TXT record")

// ErrTXTVersion means a TXT record of another version of the protocol: a
// newer gateway, which this terminal must not guess how to talk to.
var ErrTXTVersion = fmt.Errorf("%w: unsupported version", ErrTXT)

// GatewayTXT is what a gateway announces in its TXT record (spec,
// Discovery): v=1 id=<gateway id> ws=/ws/terminal tls=1|0 fp=<sha256 hex>.
type GatewayTXT struct {
	ID          string
	WSPath      string
	TLS         bool
	Fingerprint string // hex SHA-256 of the certificate, lower case; "" without TLS
}

// Strings is the TXT record, one key=value a string.
func (g GatewayTXT) Strings() []string {
	tls := "0"
	if g.TLS {
		tls = "1"
	}
	out := []string{"v=" + TXTVersion, "id=" + g.ID, "ws=" + g.WSPath, "tls=" + tls}
	if g.TLS && g.Fingerprint != "" {
		out = append(out, "fp="+g.Fingerprint)
	}
	return out
}

// ParseGatewayTXT reads a gateway's TXT record as received: strings in
// the presentation form of github.com/miekg/dns (\DDD and \X escapes).
// Missing keys, a version other than 1, values out of shape and records
// over MaxTXTBytes are refused.
func ParseGatewayTXT(txt []string) (GatewayTXT, error) {
	var g GatewayTXT
	kv, err := parseTXT(txt)
	if err != nil {
		return g, err
	}
	if err := checkVersion(kv); err != nil {
		return g, err
	}
	var ok bool
	if g.ID, ok = kv["id"]; !ok || !isToken(g.ID, maxIDLen) {
		return g, fmt.Errorf("%w: id must be 1 to %d letters, digits, '_', '-' or '.'", ErrTXT, maxIDLen)
	}
	if g.WSPath, ok = kv["ws"]; !ok || !isPath(g.WSPath) {
		return g, fmt.Errorf("%w: ws must be a path such as %s", ErrTXT, DefaultWSPath)
	}
	switch kv["tls"] {
	case "1":
		g.TLS = true
	case "0":
	default:
		return g, fmt.Errorf("%w: tls must be 1 or 0", ErrTXT)
	}
	fp := kv["fp"]
	switch {
	case g.TLS && !isHex(fp, 64):
		return g, fmt.Errorf("%w: fp must be the 64 hex digits of the certificate's SHA-256", ErrTXT)
	case g.TLS:
		g.Fingerprint = strings.ToLower(fp)
	}
	return g, nil
}

// TerminalTXT is what a terminal announces: serial= and model=.
type TerminalTXT struct {
	Serial string
	Model  string
}

// Strings is the TXT record.
func (t TerminalTXT) Strings() []string {
	return []string{"v=" + TXTVersion, "serial=" + escapeTXT(t.Serial), "model=" + escapeTXT(t.Model)}
}

// ParseTerminalTXT reads a terminal's TXT record. v= may be missing (the
// spec asks terminals for serial and model only), but not another version.
func ParseTerminalTXT(txt []string) (TerminalTXT, error) {
	var t TerminalTXT
	kv, err := parseTXT(txt)
	if err != nil {
		return t, err
	}
	if _, ok := kv["v"]; ok {
		if err := checkVersion(kv); err != nil {
			return t, err
		}
	}
	t.Serial, t.Model = kv["serial"], kv["model"]
	if gateway.CheckText(t.Serial, 1, maxFieldLen) != "" {
		return t, fmt.Errorf("%w: serial must be 1 to %d printable characters", ErrTXT, maxFieldLen)
	}
	if gateway.CheckText(t.Model, 0, maxFieldLen) != "" {
		return t, fmt.Errorf("%w: model must be at most %d printable characters", ErrTXT, maxFieldLen)
	}
	return t, nil
}

func checkVersion(kv map[string]string) error {
	v, ok := kv["v"]
	switch {
	case !ok:
		return fmt.Errorf("%w: no v= (version)", ErrTXT)
	case v != TXTVersion:
		return fmt.Errorf("%w %q (this one speaks %s)", ErrTXTVersion, v, TXTVersion)
	}
	return nil
}

// parseTXT turns TXT strings into keys and values as RFC 6763 §6.4 says:
// keys are case-insensitive, the first occurrence of a key wins, a string
// without '=' is a key without value, a string starting with '=' is
// ignored.
func parseTXT(txt []string) (map[string]string, error) {
	kv := map[string]string{}
	total := 0
	for _, s := range txt {
		raw, err := unescapeTXT(s)
		if err != nil {
			return nil, err
		}
		if len(raw) > maxTXTString {
			return nil, fmt.Errorf("%w: a string of %d bytes (at most %d)", ErrTXT, len(raw), maxTXTString)
		}
		total += 1 + len(raw)
		if total > MaxTXTBytes {
			return nil, fmt.Errorf("%w: longer than %d bytes", ErrTXT, MaxTXTBytes)
		}
		key, value, _ := strings.Cut(raw, "=")
		if key == "" {
			continue
		}
		for i := 0; i < len(key); i++ {
			if key[i] < 0x20 || key[i] > 0x7e {
				return nil, fmt.Errorf("%w: a key must be printable ASCII", ErrTXT)
			}
		}
		key = strings.ToLower(key)
		if _, dup := kv[key]; !dup {
			kv[key] = value
		}
	}
	return kv, nil
}

// unescapeTXT undoes github.com/miekg/dns's escaping of a received TXT
// string: \DDD is a byte in decimal, \X is X.
func unescapeTXT(s string) (string, error) {
	if !strings.Contains(s, `\`) {
		return s, nil
	}
	b := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		if s[i] != '\\' {
			b = append(b, s[i])
			continue
		}
		i++
		switch {
		case i == len(s):
			return "", fmt.Errorf("%w: a string ends with a lone backslash", ErrTXT)
		case i+2 < len(s) && isDigit(s[i]) && isDigit(s[i+1]) && isDigit(s[i+2]):
			n, _ := strconv.Atoi(s[i : i+3])
			if n > 255 {
				return "", fmt.Errorf("%w: escape \\%s is not a byte", ErrTXT, s[i:i+3])
			}
			b = append(b, byte(n))
			i += 2
		default:
			b = append(b, s[i])
		}
	}
	return string(b), nil
}

// escapeTXT escapes what github.com/miekg/dns reads as escapes when it
// packs a TXT string.
func escapeTXT(s string) string { return strings.ReplaceAll(s, `\`, `\\`) }

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func isHex(s string, n int) bool {
	if len(s) != n {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(isDigit(c) || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F') {
			return false
		}
	}
	return true
}

// isToken accepts ids: gw_01J..., letters, digits, '_', '-', '.'.
func isToken(s string, max int) bool {
	if s == "" || len(s) > max {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(isDigit(c) || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '_' || c == '-' || c == '.') {
			return false
		}
	}
	return true
}

// isPath accepts an absolute URL path of unreserved characters.
func isPath(s string) bool {
	if len(s) < 1 || len(s) > maxWSPathLen || s[0] != '/' || strings.Contains(s, "//") {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(isDigit(c) || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || strings.IndexByte("/_-.~", c) >= 0) {
			return false
		}
	}
	return true
}
