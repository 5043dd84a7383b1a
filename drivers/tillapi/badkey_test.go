package tillapi_test

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
)

// A request with a key that is not a live till's is refused and logged
// with its address, never with the key, a few lines a minute however many
// come: the manager sees someone trying keys, the disk does not fill.
func TestBadKeysLogged(t *testing.T) {
	e := newEnv(t, envOptions{})
	e.addTill("Caisse 1", false)
	for i := range 200 {
		req, err := http.NewRequest(http.MethodGet, e.srv.URL+"/api/v1/tickets", nil)
		if err != nil {
			t.Fatal(err)
		}
		switch i % 3 {
		case 0:
			req.Header.Set("Authorization", fmt.Sprintf("Bearer ptk_guess%04d", i))
		case 1:
			req.Header.Set("Authorization", fmt.Sprintf("Basic guess%04d", i))
		}
		resp, err := e.client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("request %d with a bad key: %d", i, resp.StatusCode)
		}
	}
	logs := e.logs.String()
	n := strings.Count(logs, "till API: request refused")
	if n == 0 || !strings.Contains(logs, "addr=127.0.0.1") {
		t.Fatalf("the bad keys are not in the log:\n%s", logs)
	}
	if n > 20 {
		t.Errorf("%d log lines for 200 bad keys: a flood fills the log", n)
	}
	if strings.Contains(logs, "guess0") {
		t.Errorf("a key is in the log:\n%s", logs)
	}
}
