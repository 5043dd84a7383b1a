package web_test

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/passerelle/passerelle/gateway"
	"github.com/passerelle/passerelle/web"
	"github.com/passerelle/passerelle/web/views"
)

// fakeUpstream is upstream sync's settings as the page sees them.
type fakeUpstream struct {
	mu    sync.Mutex
	view  views.Upstream
	saved []views.UpstreamForm
	off   int
}

func (f *fakeUpstream) UpstreamView(context.Context) views.Upstream {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.view
}

func (f *fakeUpstream) SaveUpstream(_ context.Context, form views.UpstreamForm) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if !strings.HasPrefix(form.URL, "https://") {
		return "", &gateway.ValidationError{Fields: []gateway.FieldError{{Field: "upstream.url", Message: "must be https"}}}
	}
	f.saved = append(f.saved, form)
	f.view = views.Upstream{On: true, URL: form.URL, StoreID: form.StoreID, State: "ok"}
	return "ok: the hub has this shop's events up to 0", nil
}

func (f *fakeUpstream) TestUpstream(context.Context) string { return "refused (401)" }

func (f *fakeUpstream) UpstreamOff(context.Context) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.off++
	f.view.On, f.view.State = false, "disabled"
	return nil
}

// TestSettingsUpstream: the settings page sets upstream sync, tests it,
// shows its state and turns it off; the key is never shown back.
func TestSettingsUpstream(t *testing.T) {
	s := newShop(t)
	up := &fakeUpstream{view: views.Upstream{State: "disabled"}}
	s.h = web.New(web.Config{
		Admin: s.admin, Tickets: s.tickets, Tills: s.tills, Terminals: s.terminals, Payments: s.payments,
		Events: s.events, Store: s.st, Hub: s.hub, Scenarios: s.scenarios, Settings: s.settings, Webhooks: s.retrier,
		Upstream: up, PairingLink: func(code string) string { return "passerelle://pair?code=" + code },
		DataDir: s.dir, SetupCodeFile: s.codes.Path(), Version: "test", Log: discard, Now: s.clock.Now,
		Heartbeat: 100 * time.Millisecond, OnlinePoll: 20 * time.Millisecond,
	}).Handler()
	c := s.setup()
	r := c.get("/settings")
	r.want(t, http.StatusOK, "upstream", "upstream-form", "upstream-state")
	if r.has("upstream-off") || r.text("upstream-state") != "disabled" {
		t.Fatalf("sync off: %s", r.text("upstream"))
	}

	const key = "phs_SECRETSECRETSECRET"
	r = c.post("/settings/upstream", formOf("url", "http://hub.example.com", "store_id", "sto_1", "key", key))
	r.want(t, http.StatusUnprocessableEntity, "upstream-form")
	if !strings.Contains(r.body, "must be https") || strings.Contains(r.body, key) {
		t.Fatalf("a refused URL: the error is not shown, or the key is: %s", r.text("upstream"))
	}

	r = c.post("/settings/upstream", formOf("url", "https://hub.example.com", "store_id", "sto_1", "key", key, "ca_fingerprint", ""))
	r.want(t, http.StatusOK, "upstream-test", "upstream-off", "upstream-test-button")
	if !strings.Contains(r.text("upstream-test"), "ok: the hub") || strings.Contains(r.body, key) {
		t.Fatalf("saved: %q", r.text("upstream-test"))
	}
	if len(up.saved) != 1 || up.saved[0].Key != key || up.saved[0].StoreID != "sto_1" {
		t.Fatalf("saved %+v", up.saved)
	}

	r = c.post("/settings/upstream/test", nil)
	r.want(t, http.StatusOK, "upstream-test")
	if !strings.Contains(r.text("upstream-test"), "refused (401)") {
		t.Fatalf("test: %q", r.text("upstream-test"))
	}

	r = c.post("/settings/upstream/off", nil)
	if r.StatusCode != http.StatusSeeOther || up.off != 1 {
		t.Fatalf("off: %d, %d calls", r.StatusCode, up.off)
	}
	if r = c.get(r.location()); !strings.Contains(r.body, "Sync stopped.") && !strings.Contains(r.body, "Synchronisation arrêtée.") {
		t.Fatalf("no notice after off")
	}

	// Without a CSRF token, nothing changes.
	r = c.post("/settings/upstream/off", formOf("csrf", "nope"))
	if r.StatusCode == http.StatusSeeOther || up.off != 1 {
		t.Fatalf("off without CSRF: %d", r.StatusCode)
	}
}
