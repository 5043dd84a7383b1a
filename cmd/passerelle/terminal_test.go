package main

import (
	"bytes"
	"crypto/tls"
	"errors"
	"html"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/netip"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/passerelle/passerelle/gateway"
)

// terminalCode runs `passerelle terminal code` and returns its pairing
// link (parsed; the zero link if it printed none) and its stderr.
func terminalCode(t *testing.T, bin, data string) (gateway.PairingLink, string) {
	t.Helper()
	cmd := exec.Command(bin, "terminal", "code", "--data", data)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("terminal code: %v\n%s%s", err, stdout.String(), stderr.String())
	}
	for _, line := range strings.Split(stdout.String(), "\n") {
		if strings.HasPrefix(line, "passerelle://") {
			l, err := gateway.ParsePairingLink(line)
			if err != nil {
				t.Fatalf("terminal code printed a link that does not parse: %v\n%s", err, stdout.String())
			}
			return l, stderr.String()
		}
	}
	return gateway.PairingLink{}, stderr.String()
}

// urlPort is the port of a gateway's URL.
func urlPort(t *testing.T, raw string) string {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil || u.Port() == "" {
		t.Fatalf("gateway URL %q", raw)
	}
	return u.Port()
}

// TestTerminalCodeLinkOfRunningGateway: with the gateway running on
// another port than passerelle.yaml's, `passerelle terminal code` prints
// the link of the port and address it really listens on, the same as the
// admin page's; once the gateway is gone, it says the link comes from the
// configuration.
func TestTerminalCodeLinkOfRunningGateway(t *testing.T) {
	bin := buildPasserelle(t)
	data := t.TempDir()
	g := startSimGateway(t, bin, data) // TLS, --listen 127.0.0.1:0
	port := urlPort(t, g.url)
	fp := dataFingerprint(t, data)

	link, stderr := terminalCode(t, bin, data)
	if want := []string{"127.0.0.1:" + port}; !slices.Equal(link.Addrs, want) || link.Fingerprint != fp {
		t.Fatalf("terminal code: link %+v, want addr %q and fp %s\n%s", link, want, fp, stderr)
	}
	if web := adminPairingLink(t, g, data); !slices.Equal(web.Addrs, link.Addrs) || web.Fingerprint != link.Fingerprint {
		t.Fatalf("the admin page's link %+v differs from the command line's %+v", web, link)
	}

	// Killed, it leaves its record behind: the command line does not trust it.
	g.kill(t)
	link, stderr = terminalCode(t, bin, data)
	if !strings.Contains(stderr, "not running") || slices.Contains(link.Addrs, "127.0.0.1:"+port) {
		t.Fatalf("after the gateway was killed: link %+v, stderr %q", link, stderr)
	}
}

// TestTerminalCodeLinkWildcard: a gateway on every address (":0", no TLS)
// gives its real port on the addresses a terminal can dial: no link-local
// IPv6 (it has no zone), no loopback while the box has another address. A
// clean stop removes its record.
func TestTerminalCodeLinkWildcard(t *testing.T) {
	bin := buildPasserelle(t)
	data := t.TempDir()
	g := startSimGateway(t, bin, data, "--no-tls", "--listen", ":0")
	port := urlPort(t, g.url)

	link, stderr := terminalCode(t, bin, data)
	if len(link.Addrs) == 0 || link.Fingerprint != "" {
		t.Fatalf("terminal code: link %+v\n%s", link, stderr)
	}
	lan := hasLANAddress(t)
	for _, a := range link.Addrs {
		ap, err := netip.ParseAddrPort(a)
		if err != nil {
			t.Fatalf("link address %q: %v", a, err)
		}
		if strconv.Itoa(int(ap.Port())) != port {
			t.Errorf("link address %q: want port %s", a, port)
		}
		if ip := ap.Addr(); ip.Is6() && ip.IsLinkLocalUnicast() || (lan && ip.IsLoopback()) {
			t.Errorf("link address %q: a terminal cannot use it", a)
		}
	}

	if err := g.cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	<-g.exited
	if _, err := os.Stat(filepath.Join(data, listeningFile)); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("the gateway stopped and left %s: %v", listeningFile, err)
	}
}

// hasLANAddress says whether the machine has an address a terminal could
// dial other than loopback.
func hasLANAddress(t *testing.T) bool {
	t.Helper()
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok {
			ip, _ := netip.AddrFromSlice(n.IP)
			ip = ip.Unmap()
			if !ip.IsLoopback() && !ip.IsLinkLocalUnicast() && !ip.IsMulticast() && !ip.IsUnspecified() {
				return true
			}
		}
	}
	return false
}

var (
	csrfMeta    = regexp.MustCompile(`<meta name="csrf-token" content="([^"]+)"`)
	pairingLine = regexp.MustCompile(`data-testid="pairing-link">([^<]+)<`)
)

// adminPairingLink sets the admin password of a fresh gateway, asks its
// admin page for a pairing code as a manager does, and returns the link.
func adminPairingLink(t *testing.T, g *gatewayProc, data string) gateway.PairingLink {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	hc := &http.Client{Jar: jar, Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	base := strings.TrimSuffix(g.url, "/")
	var code []byte
	waitUntil(t, "the setup code", func() bool {
		var err error
		code, err = os.ReadFile(filepath.Join(data, "setup-code"))
		return err == nil
	})
	const pw = "the shop's password"
	body := func(r *http.Response, err error) string {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		defer r.Body.Close()
		b, _ := io.ReadAll(r.Body)
		if r.StatusCode != http.StatusOK {
			t.Fatalf("%s %s: %s\n%s", r.Request.Method, r.Request.URL, r.Status, b)
		}
		return string(b)
	}
	body(hc.PostForm(base+"/setup", url.Values{"code": {strings.TrimSpace(string(code))}, "password": {pw}, "confirm": {pw}}))
	m := csrfMeta.FindStringSubmatch(body(hc.Get(base + "/terminals")))
	if m == nil {
		t.Fatal("no CSRF token on the terminals page")
	}
	page := body(hc.PostForm(base+"/terminals/pair", url.Values{"csrf": {m[1]}}))
	m = pairingLine.FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("no pairing link on the page:\n%s", page)
	}
	l, err := gateway.ParsePairingLink(html.UnescapeString(m[1]))
	if err != nil {
		t.Fatalf("the admin page's link: %v", err)
	}
	return l
}
