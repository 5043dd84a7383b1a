package terminalws_test

import (
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"

	"github.com/gorilla/websocket"

	"github.com/passerelle/passerelle/drivers/terminalws"
	"github.com/passerelle/passerelle/gateway"
)

// connectFrom dials from ip, one of the loopback addresses (127.0.0.0/8 is
// all this machine's), so that the gateway sees another remote address for
// each, as it would see many machines of the LAN.
func (e *env) connectFrom(t testing.TB, ip string) *term {
	t.Helper()
	d := websocket.Dialer{Subprotocols: []string{terminalws.Subprotocol}, HandshakeTimeout: wait,
		NetDialContext: (&net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}}).DialContext}
	ws, _, err := d.Dial("ws"+strings.TrimPrefix(e.srv.URL, "http")+"/ws/terminal", nil)
	if err != nil {
		t.Fatalf("dial from %s: %v", ip, err)
	}
	c := &term{t: t, ws: ws, in: make(chan msg, 1024)}
	go c.read()
	t.Cleanup(func() { ws.Close() })
	return c
}

// tryCode says hello with a pairing code from ip and returns the answer:
// "welcome" or the error's code.
func (e *env) tryCode(t testing.TB, ip, code string) string {
	t.Helper()
	c := e.connectFrom(t, ip)
	c.send(hello("pairing_code", code))
	m := c.next()
	c.ws.Close()
	if m.Type == "error" {
		return m.Code
	}
	return m.Type
}

// wrongCode is the nth code that is not code.
func wrongCode(code string, n int) string {
	w := fmt.Sprintf("%06d", n)
	if w == code {
		w = fmt.Sprintf("%06d", n+500000)
	}
	return w
}

// The per-address limit does not bound guessing from many addresses: a
// total budget does. After PairingBadCodesAllowed wrong codes in all,
// from whatever addresses, every outstanding code is void; the manager
// makes a new one, which pairs.
func TestPairingGuessBudget(t *testing.T) {
	e := newEnv(t, envOptions{})
	code, spare := e.code(t), e.code(t)
	for i := range gateway.PairingBadCodesAllowed {
		ip := fmt.Sprintf("127.0.0.%d", 2+i/2) // two guesses per address: none is blocked
		if got := e.tryCode(t, ip, wrongCode(code, i)); got != "unauthorized" {
			t.Fatalf("wrong code %d from %s: %s", i, ip, got)
		}
	}
	// The next guess, the right one, from an address that never failed.
	for _, c := range []string{code, spare} {
		if got := e.tryCode(t, "127.0.0.100", c); got != "unauthorized" {
			t.Fatalf("an outstanding code paired after %d wrong codes: %s", gateway.PairingBadCodesAllowed, got)
		}
	}
	v, ok := e.terminals.LastPairingVoid()
	if !ok || v.Codes != 2 || v.Wrong != gateway.PairingBadCodesAllowed || v.Addrs != gateway.PairingBadCodesAllowed/2 {
		t.Errorf("last void %+v (%v), want 2 codes voided after %d wrong codes from %d addresses",
			v, ok, gateway.PairingBadCodesAllowed, gateway.PairingBadCodesAllowed/2)
	}
	if got := e.tryCode(t, "127.0.0.101", e.code(t)); got != "welcome" {
		t.Fatalf("a new code after the void: %s", got)
	}
	logs := e.logs.String()
	if !strings.Contains(logs, "pairing codes voided") {
		t.Errorf("the void is not in the log:\n%s", logs)
	}
	if !strings.Contains(logs, "terminal refused: unknown pairing code") || !strings.Contains(logs, "addr=127.0.0.2") {
		t.Errorf("the failed pairings are not in the log:\n%s", logs)
	}
	for i := range gateway.PairingBadCodesAllowed {
		if strings.Contains(logs, wrongCode(code, i)) || strings.Contains(logs, code) {
			t.Fatalf("a pairing code is in the log:\n%s", logs)
		}
	}
}

// 49 addresses guessing at once, five each (all that the per-address limit
// lets through): the code outstanding before the flood is void after it,
// and the log says so in a bounded number of lines.
func TestPairingGuessFlood(t *testing.T) {
	e := newEnv(t, envOptions{})
	code := e.code(t)
	var wg sync.WaitGroup
	for a := range 49 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ip := fmt.Sprintf("127.0.0.%d", 2+a)
			for i := range gateway.BadTriesAllowed + 1 {
				e.tryCode(t, ip, wrongCode(code, 1+a*10+i))
			}
		}()
	}
	wg.Wait()
	if got := e.tryCode(t, "127.0.0.200", code); got != "unauthorized" {
		t.Fatalf("the code outstanding during a flood of wrong codes from 49 addresses: %s", got)
	}
	if n := strings.Count(e.logs.String(), "terminal refused"); n > 40 {
		t.Errorf("%d log lines of refused terminals: a flood fills the log", n)
	}
}
