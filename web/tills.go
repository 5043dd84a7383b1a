package web

import (
	"context"
	"net/http"
	"strings"

	"github.com/passerelle/passerelle/gateway"
	"github.com/passerelle/passerelle/web/views"
)

func (s *Server) tillsModel(ctx context.Context, p views.Page) (views.Tills, error) {
	m := views.Tills{Page: p, Errors: views.Errors{}, CanRetry: s.c.Webhooks != nil}
	tills, err := s.c.Tills.List(ctx)
	if err != nil {
		return m, err
	}
	cursors, err := s.c.Store.WebhookCursors(ctx)
	if err != nil {
		return m, err
	}
	byTill := map[string]*gateway.WebhookCursor{}
	for i := range cursors {
		byTill[cursors[i].TillID] = &cursors[i]
	}
	for _, t := range tills {
		m.Tills = append(m.Tills, views.TillRow{Till: t, Webhook: byTill[t.ID]})
	}
	return m, nil
}

func (s *Server) tills(w http.ResponseWriter, r *http.Request, q *req) error {
	m, err := s.tillsModel(r.Context(), s.page(r, q, q.lang.T("nav.tills"), "tills"))
	if err != nil {
		return err
	}
	return render(w, r, http.StatusOK, views.TillsPage(m))
}

// addTill creates a till and shows its key, once, in the answer itself.
func (s *Server) addTill(w http.ResponseWriter, r *http.Request, q *req) error {
	ctx := r.Context()
	form := views.NewTillForm{Name: strings.TrimSpace(r.PostForm.Get("name")),
		CallbackURL: strings.TrimSpace(r.PostForm.Get("callback_url")), Admin: r.PostForm.Get("admin") == "1"}
	t, key, err := s.c.Tills.Add(ctx, gateway.NewTill{Name: form.Name, CallbackURL: form.CallbackURL, Admin: form.Admin})
	status, errs, conflict, err := refused(q.lang, err)
	if err != nil {
		return err
	}
	if conflict != nil {
		errs["name"] = q.lang.T("err.exists")
	}
	m, merr := s.tillsModel(ctx, s.page(r, q, q.lang.T("nav.tills"), "tills"))
	if merr != nil {
		return merr
	}
	if status != 0 {
		m.Form, m.Errors = form, errs
		return render(w, r, status, views.TillsPage(m))
	}
	s.c.Log.Info("till added from the admin page", "till", t.Name)
	m.Created = &views.CreatedTill{Name: t.Name, Key: key}
	if t.CallbackURL != "" {
		m.Created.WebhookSecret = t.WebhookSecret
	}
	return render(w, r, http.StatusCreated, views.TillsPage(m))
}

func (s *Server) tillByID(ctx context.Context, id string) (gateway.Till, error) {
	tills, err := s.c.Tills.List(ctx)
	if err != nil {
		return gateway.Till{}, err
	}
	for _, t := range tills {
		if t.ID == id {
			return t, nil
		}
	}
	return gateway.Till{}, gateway.ErrNotFound
}

// setTillCallback gives a till another callback URL. A till that had none
// gets its webhook secret shown: it needs it to check the signatures.
func (s *Server) setTillCallback(w http.ResponseWriter, r *http.Request, q *req) error {
	ctx := r.Context()
	t, err := s.tillByID(ctx, r.PathValue("id"))
	if err != nil {
		return err
	}
	callback := strings.TrimSpace(r.PostForm.Get("callback_url"))
	before, updated, err := s.c.Tills.SetCallback(ctx, t.Name, callback)
	status, errs, conflict, err := refused(q.lang, err)
	if err != nil {
		return err
	}
	msg := errs["callback_url"]
	if conflict != nil {
		msg = conflict.Error()
	}
	showSecret := status == 0 && before.CallbackURL == "" && callback != ""
	if status == 0 {
		s.c.Log.Info("till callback set from the admin page", "till", t.Name, "callback", callback != "")
		if s.c.Webhooks != nil {
			s.c.Webhooks.Rescan()
		}
		if !showSecret {
			redirect(w, r, "/tills", "till.callback_saved")
			return nil
		}
		status = http.StatusOK
	}
	m, err := s.tillsModel(ctx, s.page(r, q, q.lang.T("nav.tills"), "tills"))
	if err != nil {
		return err
	}
	if showSecret {
		m.Secret = &views.CreatedTill{Name: updated.Name, WebhookSecret: updated.WebhookSecret}
	} else {
		m.Errors["callback-"+t.ID] = msg
		m.Editing = map[string]string{t.ID: callback}
	}
	return render(w, r, status, views.TillsPage(m))
}

func (s *Server) revokeTill(w http.ResponseWriter, r *http.Request, q *req) error {
	ctx := r.Context()
	t, err := s.tillByID(ctx, r.PathValue("id"))
	if err != nil {
		return err
	}
	if t.RevokedAt == nil {
		if err := s.c.Tills.Revoke(ctx, t.Name); err != nil {
			return err
		}
		s.c.Log.Info("till revoked from the admin page", "till", t.Name)
	}
	redirect(w, r, "/tills", "till.revoked")
	return nil
}

// retryTill wakes a till's webhook delivery out of its backoff now, for a
// manager who fixed the till's side.
func (s *Server) retryTill(w http.ResponseWriter, r *http.Request, q *req) error {
	t, err := s.tillByID(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	if s.c.Webhooks == nil {
		return gateway.ErrNotFound
	}
	s.c.Webhooks.Retry(t.ID)
	redirect(w, r, "/tills", "till.retried")
	return nil
}
