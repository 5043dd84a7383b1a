package mdns

import (
	"os"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/miekg/dns"
)

// maxLabel is a DNS label's limit in bytes.
const maxLabel = 63

// serviceName is "_passerelle._tcp.local.".
func serviceName(service string) string {
	return strings.Trim(service, ".") + "." + Domain
}

// instanceLabel is an instance name (the shop's, with spaces and accents)
// as one DNS label in the presentation form of github.com/miekg/dns, cut
// to 63 bytes on a character boundary. zeroconf compares the names of the
// questions it gets, which miekg/dns unpacks in that form ("Mon\ Bistrot",
// "Cr\195\170perie"), with the instance name it was given: given the raw
// name it would never recognise a question about its own instance.
func instanceLabel(name string) string {
	name = truncate(name, maxLabel)
	wire := append([]byte{byte(len(name))}, name...)
	wire = append(wire, 0)
	s, _, err := dns.UnpackDomainName(wire, 0)
	if err != nil { // cannot happen: the label is under 63 bytes
		return "passerelle"
	}
	return strings.TrimSuffix(s, ".")
}

// truncate cuts s to at most n bytes without splitting a character.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// splitInstance returns the instance of name ("Mon\ Bistrot._passerelle._tcp.local."),
// unescaped, if name is an instance of service.
func splitInstance(name, service string) (string, bool) {
	suffix := "." + serviceName(service)
	if len(name) <= len(suffix) || !strings.EqualFold(name[len(name)-len(suffix):], suffix) {
		return "", false
	}
	label := name[:len(name)-len(suffix)]
	raw, ok := unescapeLabel(label)
	if !ok || raw == "" || len(raw) > maxLabel {
		return "", false
	}
	return raw, true
}

// unescapeLabel reads one label in presentation form; an unescaped dot
// means it was more than one.
func unescapeLabel(s string) (string, bool) {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '.':
			return "", false
		case c != '\\':
			b.WriteByte(c)
		case i+3 < len(s) && isDigit(s[i+1]) && isDigit(s[i+2]) && isDigit(s[i+3]):
			n, _ := strconv.Atoi(s[i+1 : i+4])
			if n > 255 {
				return "", false
			}
			b.WriteByte(byte(n))
			i += 3
		case i+1 < len(s):
			b.WriteByte(s[i+1])
			i++
		default:
			return "", false
		}
	}
	return b.String(), true
}

// HostLabel makes a host name fit for mDNS: one label of lower-case
// letters, digits and hyphens. "" becomes the box's host name.
func HostLabel(name string) string {
	if name == "" {
		name, _ = os.Hostname()
	}
	name = strings.TrimSuffix(strings.TrimSuffix(strings.ToLower(name), "."), ".local")
	if i := strings.IndexByte(name, '.'); i >= 0 {
		name = name[:i] // a FQDN: its first label
	}
	var b strings.Builder
	for _, r := range name {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9':
			b.WriteRune(r)
		default:
			b.WriteByte('-')
		}
	}
	out := strings.Trim(truncate(b.String(), maxLabel), "-")
	if out == "" {
		return "passerelle"
	}
	return out
}
