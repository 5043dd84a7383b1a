package terminalws_test

import (
	"strings"
	"testing"
	"time"

	"github.com/passerelle/passerelle/gateway"
)

// refused says hello with credential and expects the error code, then the
// end of the connection.
func refused(t *testing.T, e *env, credential, value, code string) {
	t.Helper()
	c := e.connect(t)
	c.send(hello(credential, value))
	c.expectError(code)
	if err := c.expectClosed(); !isClosed(err) {
		t.Fatalf("connection ended with %v", err)
	}
}

func TestPairing(t *testing.T) {
	t.Run("code pairs once, then the token connects", func(t *testing.T) {
		e := newEnv(t, envOptions{})
		code := e.code(t)
		if len(code) != 6 || strings.Trim(code, "0123456789") != "" {
			t.Fatalf("pairing code %q, want 6 digits", code)
		}
		c := e.connect(t)
		c.send(hello("pairing_code", code))
		w := c.expect("welcome")
		if w.Name != "Terminal SIM0001" || len(w.Token) < 32 {
			t.Errorf("welcome %s", w)
		}
		c.token, c.id = w.Token, w.TerminalID
		refused(t, e, "pairing_code", code, "unauthorized") // used
		e.reconnect(t, c)
	})
	t.Run("wrong code, token or none", func(t *testing.T) {
		e := newEnv(t, envOptions{})
		e.code(t)
		refused(t, e, "pairing_code", "12345", "unauthorized")
		refused(t, e, "token", "ptt_NOTATOKEN", "unauthorized")
		refused(t, e, "serial", "SIM0002", "unauthorized")
	})
	t.Run("expired code", func(t *testing.T) {
		e := newEnv(t, envOptions{})
		late, soon := e.code(t), e.code(t)
		e.termClock.Advance(gateway.PairingCodeTTL - time.Second)
		c := e.connect(t)
		c.send(hello("pairing_code", soon))
		c.expect("welcome")
		e.termClock.Advance(time.Second)
		refused(t, e, "pairing_code", late, "unauthorized")
	})
	t.Run("five bad tries make the address wait", func(t *testing.T) {
		e := newEnv(t, envOptions{})
		code := e.code(t)
		for range gateway.BadTriesAllowed {
			refused(t, e, "pairing_code", "000000", "unauthorized")
		}
		refused(t, e, "pairing_code", code, "too_many_tries")
		refused(t, e, "token", "ptt_NOTATOKEN", "too_many_tries")
		// The wait ends, and the good code was not used up meanwhile.
		e.termClock.Advance(gateway.BadTriesWindow)
		c := e.connect(t)
		c.send(hello("pairing_code", code))
		c.expect("welcome")
	})
	t.Run("invalid hello", func(t *testing.T) {
		e := newEnv(t, envOptions{})
		h := hello("pairing_code", e.code(t))
		h["display"] = map[string]int{"cols": 4, "rows": 8}
		c := e.connect(t)
		c.send(h)
		c.expectError("invalid")
		c.expectClosed()
	})
	t.Run("a new connection replaces the old one", func(t *testing.T) {
		e := newEnv(t, envOptions{})
		old := e.pair(t)
		c := e.reconnect(t, old) // the old link is not known to be dead
		if err := old.expectClosed(); !isClosed(err) {
			t.Fatalf("old connection ended with %v", err)
		}
		expectState(t, c, "pay_NONE", "not_found")
		if !e.hub.Online(c.id) {
			t.Error("terminal not online")
		}
	})
}
