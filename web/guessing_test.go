package web_test

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
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

// loginFrom posts password to /login over real HTTP from ip, one of the
// loopback addresses (127.0.0.0/8 is all this machine's), so that the
// gateway sees another remote address for each.
func loginFrom(t *testing.T, srv *httptest.Server, ip, password string) (status int, retryAfter string) {
	t.Helper()
	client := &http.Client{
		Transport:     &http.Transport{DialContext: (&net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}}).DialContext},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	defer client.CloseIdleConnections()
	resp, err := client.PostForm(srv.URL+"/login", url.Values{"password": {password}})
	if err != nil {
		t.Errorf("login from %s: %v", ip, err)
		return 0, ""
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode, resp.Header.Get("Retry-After")
}

// The per-address limit does not bound guessing from many addresses (50
// addresses got 250 tries in 6 s): after LoginFailuresBeforeSlow failures
// in all, every address waits its turn (429 with Retry-After), and the
// manager, from an address that never failed, still gets in at once or
// after one turn, while the guessers' addresses wait.
func TestLoginGuessBudget(t *testing.T) {
	s := newShop(t)
	s.setup()
	srv := httptest.NewServer(s.h)
	defer srv.Close()
	var mu sync.Mutex
	statuses := map[int]int{}
	var wg sync.WaitGroup
	for a := range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ip := fmt.Sprintf("127.0.0.%d", 2+a)
			for i := range gateway.LoginTriesAllowed {
				st, retry := loginFrom(t, srv, ip, fmt.Sprintf("guess %d of %s", i, ip))
				if st == http.StatusTooManyRequests && retry == "" {
					t.Errorf("429 without Retry-After")
				}
				mu.Lock()
				statuses[st]++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	// The clock has not moved: beyond the budget, one attempt of each lane
	// (addresses that failed, addresses that did not) was checked.
	if checked := statuses[http.StatusUnauthorized]; checked > gateway.LoginFailuresBeforeSlow+2 {
		t.Fatalf("%d passwords checked from 50 addresses (%v), want at most %d", checked, statuses, gateway.LoginFailuresBeforeSlow+2)
	}
	t.Logf("statuses of 250 guesses: %v", statuses)
	if statuses[http.StatusTooManyRequests] == 0 {
		t.Fatalf("statuses %v: nobody was slowed", statuses)
	}

	// One turn later, the guessers come back first: one of them is
	// checked, and the manager still gets in.
	s.clock.Add(gateway.LoginSlowPace)
	checked := 0
	for a := range 50 {
		if st, _ := loginFrom(t, srv, fmt.Sprintf("127.0.0.%d", 2+a), "yet another guess"); st == http.StatusUnauthorized {
			checked++
		}
	}
	if checked > 2 {
		t.Errorf("%d guesses checked in one turn, want at most one per lane", checked)
	}
	st, retry := loginFrom(t, srv, "127.0.0.200", password)
	if st == http.StatusTooManyRequests {
		// The lane of new addresses was taken by a guesser that had not
		// failed yet: the manager's turn is the next one.
		s.clock.Add(gateway.LoginSlowPace)
		st, retry = loginFrom(t, srv, "127.0.0.200", password)
	}
	if st != http.StatusSeeOther {
		t.Fatalf("the manager, from an address that never failed: %d (Retry-After %q)", st, retry)
	}
}
