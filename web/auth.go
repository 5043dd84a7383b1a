package web

import (
	"errors"
	"math"
	"net/http"
	"strconv"

	"github.com/passerelle/passerelle/gateway"
	"github.com/passerelle/passerelle/web/views"
)

func (s *Server) setupForm(w http.ResponseWriter, r *http.Request, q *req) error {
	// Asking for the code makes one if it was lost: the page always has a
	// code to ask for.
	if _, err := s.c.Admin.SetupCode(r.Context()); errors.Is(err, gateway.ErrAdminPasswordSet) {
		http.Redirect(w, r, "/login", http.StatusSeeOther)
		return nil
	} else if err != nil {
		return err
	}
	return s.renderSetup(w, r, q, http.StatusOK, nil)
}

func (s *Server) renderSetup(w http.ResponseWriter, r *http.Request, q *req, status int, errs views.Errors) error {
	m := views.Setup{Page: s.page(r, q, q.lang.T("title.setup"), ""), CodeFile: s.c.SetupCodeFile, Errors: errs}
	return render(w, r, status, views.SetupPage(m))
}

// setup chooses the first password. The setup code proves access to the
// box (see docs/admin.md): a wrong one counts against the address as a
// failed login does.
func (s *Server) setup(w http.ResponseWriter, r *http.Request, q *req) error {
	if err := r.ParseForm(); err != nil {
		return err
	}
	addr := clientAddr(r)
	f := r.PostForm
	tok, err := s.c.Admin.Setup(r.Context(), addr, f.Get("code"), f.Get("password"), f.Get("confirm"))
	var ve *gateway.ValidationError
	switch {
	case errors.As(err, &ve):
		errs := passwordErrors(q.lang, ve)
		if _, ok := errs["code"]; ok {
			s.refusals.Warn(s.c.Log, "failed", "admin setup refused: wrong setup code", "addr", addr)
		}
		return s.renderSetup(w, r, q, http.StatusUnprocessableEntity, errs)
	case errors.As(err, new(*gateway.LoginWaitError)):
		msg := s.mustWait(w, q.lang, "admin setup", addr, err)
		return s.renderSetup(w, r, q, http.StatusTooManyRequests, views.Errors{"": msg})
	case errors.Is(err, gateway.ErrBusy):
		w.Header().Set("Retry-After", "5")
		return s.renderSetup(w, r, q, http.StatusServiceUnavailable, views.Errors{"": q.lang.T("login.busy")})
	case errors.Is(err, gateway.ErrAdminPasswordSet):
		redirect(w, r, "/login", "")
		return nil
	case err != nil:
		return err
	}
	s.c.Log.Info("admin password chosen", "addr", addr)
	s.setSessionCookie(w, r, tok)
	redirect(w, r, "/", "setup.done")
	return nil
}

// mustWait answers an attempt refused before any password was checked
// (err is a *gateway.LoginWaitError): it sets Retry-After, logs the refusal
// (a few lines a minute, however many come) and returns what to tell the
// user.
func (s *Server) mustWait(w http.ResponseWriter, l views.Lang, what, addr string, err error) string {
	var we *gateway.LoginWaitError
	errors.As(err, &we)
	secs := max(1, int(math.Ceil(we.RetryAfter.Seconds())))
	w.Header().Set("Retry-After", strconv.Itoa(secs))
	if errors.Is(err, gateway.ErrLoginsSlowed) {
		s.refusals.Warn(s.c.Log, "slowed", what+" refused: too many failed logins from all addresses, every attempt waits its turn",
			"addr", addr, "retry_after_s", secs)
		return l.Tf("login.slowed", secs)
	}
	s.refusals.Warn(s.c.Log, "too_many", what+" refused: too many attempts from this address", "addr", addr, "retry_after_s", secs)
	return l.T("login.too_many")
}

// passwordErrors translates the problems of a new password.
func passwordErrors(l views.Lang, ve *gateway.ValidationError) views.Errors {
	errs := views.Errors{}
	for _, f := range ve.Fields {
		key := "err.pw_short"
		switch {
		case f.Field == "code":
			key = "err.setup_code"
		case f.Field == "confirm":
			key = "err.pw_differ"
		case f.Field == "current":
			key = "err.pw_current"
		case f.Message == "must be at most 128 characters":
			key = "err.pw_long"
		case f.Message == "must be valid UTF-8":
			key = "err.bad_text"
		}
		errs[f.Field] = l.T(key)
	}
	return errs
}

func (s *Server) loginForm(w http.ResponseWriter, r *http.Request, q *req) error {
	ctx := r.Context()
	need, err := s.c.Admin.NeedsSetup(ctx)
	if err != nil {
		return err
	}
	if need {
		http.Redirect(w, r, "/setup", http.StatusSeeOther)
		return nil
	}
	next := localPath(r.URL.Query().Get("next"))
	if tok := s.sessionCookie(r); tok != "" {
		if _, err := s.c.Admin.Authenticate(ctx, tok); err == nil {
			http.Redirect(w, r, next, http.StatusSeeOther)
			return nil
		}
	}
	return s.renderLogin(w, r, q, http.StatusOK, next, r.URL.Query().Get("expired") == "1", nil)
}

func (s *Server) renderLogin(w http.ResponseWriter, r *http.Request, q *req, status int, next string, expired bool, errs views.Errors) error {
	m := views.Login{Page: s.page(r, q, q.lang.T("title.login"), ""), Next: next, Expired: expired, Errors: errs}
	return render(w, r, status, views.LoginPage(m))
}

// login opens a new session: a fresh token each time, and the browser's
// old session, if any, ends.
func (s *Server) login(w http.ResponseWriter, r *http.Request, q *req) error {
	if err := r.ParseForm(); err != nil {
		return err
	}
	ctx := r.Context()
	next := localPath(r.PostForm.Get("next"))
	addr := clientAddr(r)
	tok, err := s.c.Admin.Login(ctx, addr, r.PostForm.Get("password"))
	fail := func(status int, key string) error {
		return s.renderLogin(w, r, q, status, next, false, views.Errors{"": q.lang.T(key)})
	}
	switch {
	case errors.Is(err, gateway.ErrUnauthorized):
		s.refusals.Warn(s.c.Log, "failed", "admin login failed", "addr", addr)
		return fail(http.StatusUnauthorized, "login.wrong")
	case errors.As(err, new(*gateway.LoginWaitError)):
		msg := s.mustWait(w, q.lang, "admin login", addr, err)
		return s.renderLogin(w, r, q, http.StatusTooManyRequests, next, false, views.Errors{"": msg})
	case errors.Is(err, gateway.ErrBusy):
		w.Header().Set("Retry-After", "5")
		return fail(http.StatusServiceUnavailable, "login.busy")
	case errors.Is(err, gateway.ErrNoAdminPassword):
		http.Redirect(w, r, "/setup", http.StatusSeeOther)
		return nil
	case err != nil:
		return err
	}
	if old := s.sessionCookie(r); old != "" {
		if err := s.c.Admin.Logout(ctx, old); err != nil {
			return err
		}
	}
	s.c.Log.Info("admin logged in", "addr", addr)
	s.setSessionCookie(w, r, tok)
	http.Redirect(w, r, next, http.StatusSeeOther)
	return nil
}

func (s *Server) logout(w http.ResponseWriter, r *http.Request, q *req) error {
	if err := s.c.Admin.Logout(r.Context(), q.token); err != nil {
		return err
	}
	s.clearSessionCookie(w, r)
	redirect(w, r, "/login", "logout.done")
	return nil
}
