package web_test

import (
	"context"
	"encoding/json"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/passerelle/passerelle/gateway"
)

func TestSimulatorPage(t *testing.T) {
	s := newShop(t)
	c := s.setup()
	r := c.get("/simulator")
	r.want(t, http.StatusOK, "simulator", "sim-pair", "sim-screen", "sim-f1", "sim-f2", "sim-ok", "sim-cancel",
		"sim-input", "sim-approve", "sim-decline", "sim-receipts")
	checkHeaders(t, r)
	if !strings.Contains(r.body, `<script src="/static/sim.js?v=`) {
		t.Errorf("the simulator page does not load its script:\n%s", excerpt(r.body))
	}
	c.get("/terminals").want(t, http.StatusOK, "simulator-link")

	js := c.get("/static/sim.js")
	if js.StatusCode != http.StatusOK || !strings.Contains(js.Header.Get("Content-Type"), "javascript") {
		t.Fatalf("sim.js: %d %s", js.StatusCode, js.Header.Get("Content-Type"))
	}
	// What the gateway sends goes in as text: the script never parses
	// markup.
	for _, bad := range []string{"innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(", "new Function"} {
		if strings.Contains(js.body, bad) {
			t.Errorf("sim.js uses %s", bad)
		}
	}
	// Each of the script's own words (T.tDelta) is on the page, translated
	// (data-t-delta): a missing one would show "undefined".
	for _, m := range regexp.MustCompile(`\bT\.t([A-Z][A-Za-z]*)`).FindAllStringSubmatch(js.body, -1) {
		attr := "data-t" + regexp.MustCompile(`[A-Z]`).ReplaceAllStringFunc(m[1], func(c string) string { return "-" + strings.ToLower(c) })
		if !strings.Contains(r.body, attr+`="`) {
			t.Errorf("sim.js uses T.t%s, and the page has no %s", m[1], attr)
		}
	}
}

// The page's script gets a pairing code with the page's CSRF token, and the
// code pairs a terminal.
func TestSimulatorPairingCode(t *testing.T) {
	s := newShop(t)
	c := s.setup()

	if r := c.do(http.MethodPost, "/simulator/pair", nil, nil); r.StatusCode != http.StatusForbidden {
		t.Errorf("pairing code without the CSRF token: %d, want 403", r.StatusCode)
	}
	if r := c.do(http.MethodPost, "/simulator/pair", nil, map[string]string{"X-CSRF-Token": c.csrf, "Sec-Fetch-Site": "cross-site"}); r.StatusCode != http.StatusForbidden {
		t.Errorf("pairing code asked by another site: %d, want 403", r.StatusCode)
	}
	anon := s.client()
	if r := anon.do(http.MethodPost, "/simulator/pair", nil, map[string]string{"X-CSRF-Token": c.csrf}); r.StatusCode == http.StatusOK {
		t.Error("a pairing code was given without a session")
	}

	r := c.do(http.MethodPost, "/simulator/pair", nil, map[string]string{"X-CSRF-Token": c.csrf, "Sec-Fetch-Site": "same-origin"})
	if r.StatusCode != http.StatusOK || !strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
		t.Fatalf("pairing code: %d %s\n%s", r.StatusCode, r.Header.Get("Content-Type"), r.body)
	}
	if cc := r.Header.Get("Cache-Control"); cc != "no-store" {
		t.Errorf("pairing code answer: Cache-Control %q", cc)
	}
	var a struct{ Code string }
	if err := json.Unmarshal([]byte(r.body), &a); err != nil || len(a.Code) != 6 {
		t.Fatalf("pairing code answer %q: %v", r.body, err)
	}
	term, tok, err := s.terminals.Connect(context.Background(), "127.0.0.1", gateway.Hello{Serial: "WEB00000001",
		Model: "web-sim", AppVersion: "passerelle-sim.js", PairingCode: a.Code, Keys: []string{"F1", "F2"}})
	if err != nil || tok == "" || term.ID == "" {
		t.Fatalf("pairing with the simulator's code: %v", err)
	}
}
