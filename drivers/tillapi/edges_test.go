package tillapi_test

import (
	"net/http"
	"testing"
)

// Every error of the till API is a problem document, the router's own
// included: a path it does not serve, a method a path does not take.
func TestRouterErrorsAreProblems(t *testing.T) {
	e := newEnv(t, envOptions{})
	key := e.addTill("Caisse 1", false)
	for _, c := range []struct {
		method, path string
		status       int
		allow        string
	}{
		{"GET", "/api/v1/nothing", http.StatusNotFound, ""},
		{"GET", "/api/v2/tickets", http.StatusNotFound, ""},
		{"GET", "/api/v1/tickets/", http.StatusNotFound, ""},
		{"GET", "/api/v1/tickets/tkt_X/payments", http.StatusNotFound, ""},
		{"PUT", "/api/v1/tickets", http.StatusMethodNotAllowed, "GET, HEAD, POST"},
		{"PATCH", "/api/v1/tickets/tkt_X", http.StatusMethodNotAllowed, "DELETE, GET, HEAD"},
		{"POST", "/api/v1/events", http.StatusMethodNotAllowed, "GET, HEAD"},
		{"POST", "/healthz", http.StatusMethodNotAllowed, "GET, HEAD"},
	} {
		for _, k := range []string{key, ""} {
			r := e.do(t, c.method, c.path, k, nil)
			if r.status != c.status {
				t.Errorf("%s %s: status %d, want %d: %s", c.method, c.path, r.status, c.status, r.body)
				continue
			}
			if p := r.problem(t); p.Type == "" || p.Detail == "" {
				t.Errorf("%s %s: problem %+v", c.method, c.path, p)
			}
			if got := r.header.Get("Allow"); got != c.allow {
				t.Errorf("%s %s: Allow %q, want %q", c.method, c.path, got, c.allow)
			}
		}
	}
}
