package web_test

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/passerelle/passerelle/gateway"
)

// When wrong pairing codes from all addresses void the outstanding codes,
// the terminals page says so, and why, while a voided code could still
// have been live; a new code pairs.
func TestPairingVoidShown(t *testing.T) {
	s := newShop(t)
	c := s.setup()
	code := c.post("/terminals/pair", nil).text("pairing-code")
	if c.get("/terminals").has("pairing-voided") {
		t.Fatal("a void is shown before any")
	}
	var err error
	for i := range gateway.PairingBadCodesAllowed {
		addr := fmt.Sprintf("192.168.1.%d", 100+i/2)
		_, _, err = s.terminals.Connect(t.Context(), addr, gateway.Hello{Serial: "X", PairingCode: "not " + code})
	}
	if !errors.Is(err, gateway.ErrPairingCodesVoided) {
		t.Fatalf("the last wrong code: %v, want ErrPairingCodesVoided", err)
	}
	if _, _, err := s.terminals.Connect(t.Context(), "10.0.0.9", gateway.Hello{Serial: "NEW", PairingCode: code}); !errors.Is(err, gateway.ErrUnauthorized) {
		t.Fatalf("the voided code: %v", err)
	}
	r := c.get("/terminals")
	r.want(t, http.StatusOK, "pairing-voided")
	msg := r.text("pairing-voided")
	if !strings.Contains(msg, fmt.Sprintf("%d codes faux", gateway.PairingBadCodesAllowed)) ||
		!strings.Contains(msg, fmt.Sprintf("depuis %d adresses", gateway.PairingBadCodesAllowed/2)) {
		t.Errorf("the page says %q", msg)
	}
	// The page of a new code says it too, and the new code pairs.
	r = c.post("/terminals/pair", nil)
	r.want(t, http.StatusOK, "pairing-voided", "pairing-code")
	if _, _, err := s.terminals.Connect(t.Context(), "10.0.0.9", gateway.Hello{Serial: "NEW", PairingCode: r.text("pairing-code")}); err != nil {
		t.Fatalf("a new code: %v", err)
	}
	s.clock.Add(gateway.PairingCodeTTL)
	if c.get("/terminals").has("pairing-voided") {
		t.Error("the void is still shown once every code it voided would have expired")
	}
}
