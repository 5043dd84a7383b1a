package terminalsim_test

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	stdlog "log"
	"net"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/passerelle/passerelle/drivers/listener"
	"github.com/passerelle/passerelle/drivers/mdns"
	"github.com/passerelle/passerelle/drivers/terminalsim"
)

// certs makes n certificates in a temporary directory.
func certs(t *testing.T, n int) []tls.Certificate {
	t.Helper()
	var out []tls.Certificate
	for i := range n {
		dir := filepath.Join(t.TempDir(), strconv.Itoa(i))
		if err := os.Mkdir(dir, 0o700); err != nil {
			t.Fatal(err)
		}
		c, err := listener.LoadOrCreateCert(dir, []string{"localhost"}, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, c)
	}
	return out
}

// announce is what the terminal would hear over mDNS of a gateway at
// rawURL: name, id and certificate as given.
func announce(t *testing.T, l *mdns.GatewayList, name, id, fp, rawURL string) {
	t.Helper()
	u, err := url.Parse(rawURL)
	if err != nil {
		t.Fatal(err)
	}
	port, _ := strconv.Atoi(u.Port())
	a := netip.MustParseAddr(u.Hostname())
	txt := mdns.GatewayTXT{ID: id, WSPath: "/ws/terminal", TLS: fp != "", Fingerprint: fp}
	l.Add(mdns.Entry{Instance: name, Host: "box.local.", Port: port, Text: txt.Strings(), Addrs: []netip.Addr{a}, From: a})
}

// alsoAt serves g at a second address too, with cert: the gateway's box
// after its address changed.
func alsoAt(t *testing.T, g *gw, cert *tls.Certificate) string {
	t.Helper()
	srv := httptest.NewUnstartedServer(g.srv.Config.Handler)
	srv.Config.ErrorLog = stdlog.New(io.Discard, "", 0)
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{*cert}}
	srv.StartTLS()
	t.Cleanup(srv.Close)
	return srv.URL
}

// deadURL is an address where nothing listens any more.
func deadURL(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return "https://" + addr
}

// TestFindGatewayByMDNS: a terminal paired by address whose gateway is not
// there any more finds it where mDNS says, by its pinned certificate, and
// learns its id; a gateway announcing the same name with another
// certificate is never tried.
func TestFindGatewayByMDNS(t *testing.T) {
	cs := certs(t, 2)
	g := newGateway(t, &cs[0])
	fp := listener.Fingerprint(cs[0])
	state := filepath.Join(t.TempDir(), "terminal.json")
	dial(t, terminalsim.Options{URL: g.url, Code: g.code(), StateFile: state, Fingerprint: fp[:16]}).Close()
	st := loadState(t, state)
	if st.Fingerprint != fp || st.GatewayURL != g.url || st.GatewayID != "" {
		t.Fatalf("state after pairing by address: %+v", st)
	}

	// The gateway moved: its old address is dead, the state file says it.
	st.GatewayURL = deadURL(t)
	writeState(t, state, st)
	list := mdns.NewGatewayList(nil)
	impostor := newGateway(t, &cs[1])
	announce(t, list, "Mon Bistrot", "gw_1", listener.Fingerprint(cs[1]), impostor.url)
	announce(t, list, "Mon Bistrot", "gw_1", fp, g.url)
	term := dial(t, terminalsim.Options{StateFile: state, Gateways: list, FindTimeout: 5 * time.Second})
	if term.URL() != g.url {
		t.Fatalf("connected to %s, want %s", term.URL(), g.url)
	}
	if st := loadState(t, state); st.GatewayID != "gw_1" || st.GatewayName != "Mon Bistrot" || st.GatewayURL != g.url {
		t.Fatalf("state after finding the gateway: %+v", st)
	}
	term.Close()
	if terms, _ := impostor.terms.List(context.Background()); len(terms) != 0 {
		t.Fatalf("the impostor saw a terminal: %+v", terms)
	}
}

// TestImpostorRefused: after pairing, a gateway that announces itself
// under the same name and id with another certificate is refused with a
// clear message, whether it announces its own fingerprint or copies the
// real one; the token never reaches it.
func TestImpostorRefused(t *testing.T) {
	cs := certs(t, 2)
	g := newGateway(t, &cs[0])
	fp := listener.Fingerprint(cs[0])
	state := filepath.Join(t.TempDir(), "terminal.json")
	dial(t, terminalsim.Options{URL: g.url, Code: g.code(), StateFile: state, Fingerprint: fp,
		GatewayID: "gw_1", GatewayName: "Mon Bistrot"}).Close()
	st := loadState(t, state)
	st.GatewayURL = deadURL(t) // the real gateway is gone
	writeState(t, state, st)

	impostor := newGateway(t, &cs[1])
	// Where an impostor announcing another certificate is: the terminal
	// must not even knock.
	knock, knocks := countingListener(t)
	ctx := context.Background()
	for _, tt := range []struct {
		name, fp, url string
	}{
		{"announces its own certificate", listener.Fingerprint(cs[1]), knock},
		{"copies the real fingerprint", fp, impostor.url},
		{"announces no TLS", "", strings.Replace(knock, "https:", "http:", 1)},
	} {
		list := mdns.NewGatewayList(nil)
		announce(t, list, "MON BISTROT", "gw_1", tt.fp, tt.url)
		_, err := terminalsim.Dial(ctx, terminalsim.Options{StateFile: state, Gateways: list, FindTimeout: time.Second})
		if !errors.Is(err, terminalsim.ErrImpostor) || !strings.Contains(err.Error(), "possible impostor: fingerprint changed") {
			t.Errorf("%s: %v", tt.name, err)
		}
	}
	// Straight to its address (a DHCP lease given to another box), the
	// same.
	_, err := terminalsim.Dial(ctx, terminalsim.Options{URL: impostor.url, StateFile: state, Insecure: true})
	if !errors.Is(err, terminalsim.ErrImpostor) {
		t.Errorf("by URL: %v", err)
	}
	if terms, _ := impostor.terms.List(ctx); len(terms) != 0 {
		t.Fatalf("the impostor saw a terminal: %+v", terms)
	}
	if n := knocks(); n != 0 {
		t.Errorf("the terminal connected %d times to gateways announcing another certificate", n)
	}
	// A wrong first characters at pairing are refused too.
	_, err = terminalsim.Dial(ctx, terminalsim.Options{URL: g.url, Code: g.code(), StateFile: filepath.Join(t.TempDir(), "new.json"),
		Fingerprint: listener.Fingerprint(cs[1])[:16]})
	if !errors.Is(err, terminalsim.ErrImpostor) {
		t.Errorf("wrong first characters: %v", err)
	}
	if _, err := terminalsim.Dial(ctx, terminalsim.Options{URL: g.url, Code: "123456", Fingerprint: fp[:15]}); err == nil ||
		!strings.Contains(err.Error(), "at least its first 16") {
		t.Errorf("15 characters: %v", err)
	}
}

// TestFollowGateway: a terminal following its gateway moves to the
// address the gateway announces when its connection's is not among them,
// and carries on.
func TestFollowGateway(t *testing.T) {
	cs := certs(t, 1)
	g := newGateway(t, &cs[0])
	fp := listener.Fingerprint(cs[0])
	list := mdns.NewGatewayList(nil)
	announce(t, list, "Mon Bistrot", "gw_1", fp, g.url)
	term := dial(t, terminalsim.Options{URLs: []string{g.url}, Code: g.code(), Fingerprint: fp, GatewayID: "gw_1",
		GatewayName: "Mon Bistrot", Gateways: list, Follow: true})

	// Announced again where it is: nothing happens.
	announce(t, list, "Mon Bistrot", "gw_1", fp, g.url)
	moved := alsoAt(t, g, &cs[0])
	// Announced elsewhere: the terminal moves.
	list.Add(mdns.Entry{Instance: "Mon Bistrot", Goodbye: true, From: netip.MustParseAddr("127.0.0.1")})
	announce(t, list, "Mon Bistrot", "gw_1", fp, moved)
	m, before := expect(t, term, terminalsim.TypeReconnected)
	if m.Text != moved || term.URL() != moved {
		t.Fatalf("reconnected to %q (URL %q), want %q", m.Text, term.URL(), moved)
	}
	for _, b := range before {
		if b.Type == terminalsim.TypeDisconnected {
			t.Errorf("a move reported as a lost connection: %+v", before)
		}
	}
	g.table5()
	pay := toPay(t, term)
	card(t, term, terminalsim.Approve)
	if ack, _ := expect(t, term, "ack"); ack.PaymentID != pay.PaymentID {
		t.Fatalf("ack %+v", ack)
	}
}

// countingListener accepts connections, counts them and closes them.
func countingListener(t *testing.T) (string, func() int) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	n := make(chan int, 1)
	n <- 0
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			n <- <-n + 1
			c.Close()
		}
	}()
	return "https://" + ln.Addr().String(), func() int { v := <-n; n <- v; return v }
}

func writeState(t *testing.T, path string, st terminalsim.State) {
	t.Helper()
	if err := terminalsim.SaveStateForTest(path, st); err != nil {
		t.Fatal(err)
	}
}
