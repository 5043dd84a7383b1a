package webhook_test

import (
	"context"
	"net"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/passerelle/passerelle/gateway"
)

// A callback URL that points at the box itself or at a link-local service
// (a cloud's metadata address, a printer's setup page) is refused when it
// is set, with a clear error, and nothing changes; the shop's LAN is fine.
func TestCallbackTargetRefusedWhenSet(t *testing.T) {
	ctx := context.Background()
	e := openEnv(t, dbPath(t))
	tills := gateway.NewTills(e.st, time.Now) // as the CLI and the admin page have it
	till, _, err := tills.Add(ctx, gateway.NewTill{Name: "Caisse 1", CallbackURL: "http://192.168.1.20:8080/hook"})
	if err != nil {
		t.Fatalf("a LAN callback: %v", err)
	}
	refused := []string{
		"http://127.0.0.1:8420/api/v1/tickets",
		"http://127.9.9.9/hook",
		"http://localhost:8080/hook",
		"http://LocalHost./hook",
		"http://caisse.localhost/hook",
		"http://[::1]:8080/hook",
		"http://[::ffff:127.0.0.1]/hook",
		"http://169.254.169.254/latest/meta-data/",
		"http://[::ffff:169.254.169.254]/latest/meta-data/",
		"http://[fe80::1%25eth0]:8080/hook",
		"http://0.0.0.0:8420/hook",
		"http://[::]:8420/hook",
		"http://[::ffff:0.0.0.0]/hook",
		// Numbers a resolver may read as IPv4 (inet_aton): 127.0.0.1.
		"http://2130706433/hook",
		"http://0x7f.0.0.1/hook",
		"http://0177.0.0.1/hook",
		"http://127.1/hook",
		"http://0/hook",
	}
	for _, u := range refused {
		_, _, err := tills.SetCallback(ctx, till.Name, u)
		if !isValidation(err) || !strings.Contains(err.Error(), "callback_url") ||
			!strings.Contains(err.Error(), "this box") {
			t.Errorf("SetCallback(%q): %v, want a callback_url error that says why", u, err)
		}
		if _, _, err := tills.Add(ctx, gateway.NewTill{Name: "Autre", CallbackURL: u}); !isValidation(err) {
			t.Errorf("Add with %q: %v, want a validation error", u, err)
		}
	}
	if got, _ := e.st.TillByName(ctx, till.Name); got.CallbackURL != "http://192.168.1.20:8080/hook" {
		t.Errorf("after the refusals the callback is %q", got.CallbackURL)
	}
	if _, err := e.st.TillByName(ctx, "Autre"); err == nil {
		t.Error("a till was added with a refused callback")
	}
	for _, u := range []string{
		"http://10.0.0.5/hook", "http://172.16.3.4:8080/hook", "http://192.168.1.254/hook",
		"http://[fd12:3456::1]/hook", "https://shop.example/hook", "http://caisse.local:8080/hook",
		"http://127.example/hook", "https://203.0.113.7/hook",
	} {
		if _, _, err := tills.SetCallback(ctx, till.Name, u); err != nil {
			t.Errorf("SetCallback(%q): %v, want it allowed", u, err)
		}
	}
}

// A URL that passed the check when it was set can still lead to the box:
// a name that resolves to a loopback address (or is made to, by DNS
// rebinding), or a URL stored before the rule. Delivery checks the address
// it is about to connect to, and a refused one is a failed delivery that
// says why; nothing reaches the address.
func TestDeliveryRefusesTheBox(t *testing.T) {
	for _, tt := range []struct {
		name, host, why string
		allowLoopback   bool // as the tests' deliverers have it
	}{
		{"loopback address", "127.0.0.1", "a loopback address", false},
		{"name of a loopback address", "localhost", "a loopback address", false},
		{"IPv6 loopback", "[::1]", "a loopback address", false},
		{"IPv4-mapped loopback", "[::ffff:127.0.0.1]", "a loopback address", false},
		{"unspecified", "0.0.0.0", "an unspecified address", false},
		// The tests' option lets loopback through, and nothing else.
		{"link-local metadata service", "169.254.169.254", "a link-local address", true},
		{"IPv4-mapped link-local", "[::ffff:169.254.169.254]", "a link-local address", true},
		{"unspecified, loopback allowed", "0.0.0.0", "an unspecified address", true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			rcv := newReceiver(nil)
			srv := httptest.NewServer(rcv) // on 127.0.0.1
			defer srv.Close()
			port := srv.URL[strings.LastIndexByte(srv.URL, ':')+1:]
			e := openEnv(t, dbPath(t))
			till := addTill(t, e, "Caisse 1", "")
			setStoredCallback(t, e, till, "http://"+tt.host+":"+port+"/hook")
			submit(t, e, till, "101", 1)
			c := fast(e)
			c.AllowLoopback = tt.allowLoopback
			run(t, c)
			cur := waitCursor(t, e, func(c gateway.WebhookCursor) bool { return c.Attempts >= 2 || c.DeliveredSeq != 0 })
			if cur.DeliveredSeq != 0 || len(rcv.deliveries()) != 0 {
				t.Fatalf("cursor %+v, %d POSTs: the event went to the box itself", cur, len(rcv.deliveries()))
			}
			if !strings.Contains(cur.LastError, "callback refused") || !strings.Contains(cur.LastError, tt.why) {
				t.Errorf("last error %q does not say the address is refused as %s", cur.LastError, tt.why)
			}
			t.Logf("last error: %s", cur.LastError)
		})
	}
}

// setStoredCallback writes a callback URL as the store has it, past the
// check of Tills: a URL from before the rule.
func setStoredCallback(t *testing.T, e *env, till gateway.Till, url string) {
	t.Helper()
	err := e.st.Update(context.Background(), func(tx gateway.Tx) error { return tx.SetTillCallback(context.Background(), till.ID, url) })
	if err != nil {
		t.Fatal(err)
	}
}

// The guard refuses only the box and link-local addresses: a receiver on
// one of this machine's network addresses (as a till on the shop's LAN
// would be) gets its events, loopback not allowed.
func TestDeliveryToTheLAN(t *testing.T) {
	ip := lanAddr(t)
	ln, err := net.Listen("tcp", net.JoinHostPort(ip.String(), "0"))
	if err != nil {
		t.Skipf("cannot listen on %s: %v", ip, err)
	}
	rcv := newReceiver(nil)
	srv := serveOn(ln, rcv)
	defer srv.Close()
	e := openEnv(t, dbPath(t))
	till := addTill(t, e, "Caisse 1", srv.URL+"/hook")
	submit(t, e, till, "101", 1)
	c := fast(e)
	c.AllowLoopback = false
	run(t, c)
	want := eventsOf(t, e, till)
	rcv.waitFor(t, want[len(want)-1].Seq)
}

// lanAddr is an address of this machine's network interfaces that is
// neither loopback nor link-local, or the test is skipped.
func lanAddr(t *testing.T) netip.Addr {
	t.Helper()
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		t.Skipf("interface addresses: %v", err)
	}
	for _, a := range addrs {
		p, err := netip.ParsePrefix(a.String())
		if err == nil && p.Addr().Is4() && gateway.CallbackAddrProblem(p.Addr(), false) == "" {
			return p.Addr()
		}
	}
	t.Skip("no network address but loopback and link-local on this machine")
	return netip.Addr{}
}
