package web

import (
	"context"
	"errors"
	"net/http"
	"strings"

	"github.com/passerelle/passerelle/gateway"
	"github.com/passerelle/passerelle/web/views"
)

// Upstream is the settings page's upstream sync: the settings, a test of
// the connection, and off. The key is never shown back.
type Upstream interface {
	// UpstreamView is the settings in force and the state of sync.
	UpstreamView(ctx context.Context) views.Upstream
	// SaveUpstream validates and saves the settings (an empty key keeps
	// the one saved), then tests the connection and says what it gave.
	// Invalid settings are a *gateway.ValidationError.
	SaveUpstream(ctx context.Context, f views.UpstreamForm) (string, error)
	// TestUpstream tests the connection with the settings in force.
	TestUpstream(ctx context.Context) string
	// UpstreamOff stops sync; nothing queued is lost.
	UpstreamOff(ctx context.Context) error
}

// upstreamModel adds the upstream card to the settings page's model.
func (s *Server) upstreamModel(ctx context.Context, m *views.Settings) {
	if s.c.Upstream == nil {
		return
	}
	m.HasUpstream = true
	m.Upstream = s.c.Upstream.UpstreamView(ctx)
	m.UpstreamForm = views.UpstreamForm{URL: m.Upstream.URL, StoreID: m.Upstream.StoreID, CAFingerprint: m.Upstream.CAFingerprint}
	if m.UpstreamErrors == nil {
		m.UpstreamErrors = views.Errors{}
	}
}

func (s *Server) saveUpstream(w http.ResponseWriter, r *http.Request, q *req) error {
	if s.c.Upstream == nil {
		return gateway.ErrNotFound
	}
	ctx := r.Context()
	f := views.UpstreamForm{URL: strings.TrimSpace(r.PostForm.Get("url")), StoreID: strings.TrimSpace(r.PostForm.Get("store_id")),
		Key: strings.TrimSpace(r.PostForm.Get("key")), CAFingerprint: strings.TrimSpace(r.PostForm.Get("ca_fingerprint"))}
	test, err := s.c.Upstream.SaveUpstream(ctx, f)
	var ve *gateway.ValidationError
	status := http.StatusOK
	errs := views.Errors{}
	switch {
	case errors.As(err, &ve):
		status = http.StatusUnprocessableEntity
		errs = fieldErrors(q.lang, ve, map[string]string{"upstream.url": "url", "upstream.store_id": "store_id",
			"upstream.key": "key", "upstream.ca_fingerprint": "ca_fingerprint", "upstream.ca_file": "ca_fingerprint"})
	case err != nil:
		return err
	default:
		s.c.Log.Info("upstream settings saved from the admin page", "url", f.URL, "store_id", f.StoreID)
	}
	m, err := s.settingsModel(ctx, s.page(r, q, q.lang.T("nav.settings"), "settings"))
	if err != nil {
		return err
	}
	f.Key = "" // never sent back
	m.UpstreamForm, m.UpstreamErrors, m.UpstreamTest = f, errs, test
	return render(w, r, status, views.SettingsPage(m))
}

func (s *Server) testUpstream(w http.ResponseWriter, r *http.Request, q *req) error {
	if s.c.Upstream == nil {
		return gateway.ErrNotFound
	}
	ctx := r.Context()
	test := s.c.Upstream.TestUpstream(ctx)
	m, err := s.settingsModel(ctx, s.page(r, q, q.lang.T("nav.settings"), "settings"))
	if err != nil {
		return err
	}
	m.UpstreamTest = test
	return render(w, r, http.StatusOK, views.SettingsPage(m))
}

func (s *Server) upstreamOff(w http.ResponseWriter, r *http.Request, q *req) error {
	if s.c.Upstream == nil {
		return gateway.ErrNotFound
	}
	if err := s.c.Upstream.UpstreamOff(r.Context()); err != nil {
		return err
	}
	s.c.Log.Info("upstream sync turned off from the admin page")
	redirect(w, r, "/settings", "sync.turned_off")
	return nil
}
