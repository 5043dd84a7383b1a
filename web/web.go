package web

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"
	"unicode"

	"github.com/a-h/templ"

	"github.com/passerelle/passerelle/gateway"
	"github.com/passerelle/passerelle/web/views"
)

// Store is the reads the admin page makes beyond gateway's services; the
// SQLite store implements it.
type Store interface {
	Ticket(ctx context.Context, id string) (gateway.Ticket, error)
	Tickets(ctx context.Context, q gateway.TicketQuery) ([]gateway.Ticket, error)
	TicketsCreated(ctx context.Context, from, to time.Time, q gateway.TicketQuery) ([]gateway.Ticket, error)
	TicketsByIDs(ctx context.Context, ids []string) ([]gateway.Ticket, error)
	// TicketsToRefund lists the overpaid tickets and the cancelled ones
	// with money on them.
	TicketsToRefund(ctx context.Context, limit int) ([]gateway.Ticket, error)
	TicketEvents(ctx context.Context, ticketID string) ([]gateway.Event, error)
	PaymentsBetween(ctx context.Context, from, to time.Time) ([]gateway.Payment, error)
	PaymentsInProgress(ctx context.Context) ([]gateway.Payment, error)
	// PaymentsToReview lists the payments whose terminal's result
	// contradicted the manager's decision.
	PaymentsToReview(ctx context.Context) ([]gateway.Payment, error)
	WebhookCursors(ctx context.Context) ([]gateway.WebhookCursor, error)
	LastSeq(ctx context.Context) (int64, error)
	DatabaseSize(ctx context.Context) (int64, error)
	// Backup writes a consistent copy of the database to path, which must
	// not exist.
	Backup(ctx context.Context, path string) error
}

// Hub is what the page asks of the terminals' connections.
type Hub interface {
	OnlineIDs() []string
	// Abort asks the terminal running a payment to stop it; it reports
	// whether the terminal was connected to be asked.
	Abort(ctx context.Context, paymentID string) (bool, error)
	// Reprint prints an approved payment's receipts again, marked
	// DUPLICATA, on the terminal that took it; it reports whether the
	// terminal was connected to print them.
	Reprint(ctx context.Context, paymentID string) (bool, error)
}

// Scenarios is the scenarios file; *gateway.ScenarioFile is one.
type Scenarios interface {
	Path() string
	Current() gateway.ScenarioSet
	LastError() error
	Validate(data []byte) error
	Save(data []byte) error
}

// Settings is the configuration the page shows and edits.
type Settings interface {
	Config() gateway.Config
	// SaveShop validates and saves the shop's settings; they apply at once.
	SaveShop(ctx context.Context, shop gateway.Shop) error
}

// Webhooks wakes a till's webhook delivery out of its backoff, and has the
// deliveries follow a changed callback URL at once.
type Webhooks interface {
	Retry(tillID string)
	Rescan()
}

// Discovery lists the terminals seen on the network that are not paired.
type Discovery interface {
	Discovered(ctx context.Context) ([]views.Discovered, error)
}

// Sync reports the state of upstream sync.
type Sync interface {
	State(ctx context.Context) views.Sync
}

// Config holds what New needs. Webhooks, Discovery, Sync and Upstream may
// be nil.
type Config struct {
	Admin     *gateway.Admin
	Tickets   *gateway.Tickets
	Tills     *gateway.Tills
	Terminals *gateway.Terminals
	Payments  *gateway.Payments
	Events    *gateway.EventLog
	Store     Store
	Hub       Hub
	Scenarios Scenarios
	Settings  Settings
	Webhooks  Webhooks
	Discovery Discovery
	Sync      Sync
	Upstream  Upstream
	Capture   Capture // nil: the capture page lists no printer
	// PairingLink returns the passerelle://pair link of a pairing code.
	PairingLink func(code string) string
	Fingerprint string // of the TLS certificate; "" without TLS
	DataDir     string // where backups are written before they are sent
	// SetupCodeFile is where the setup code is on the box, for the setup
	// page to say; the code itself is the Admin's.
	SetupCodeFile string
	Version       string
	Log           *slog.Logger
	Now           func() time.Time
	// Alerts reports what is wrong with the box itself (a full disk, a
	// clock off); optional.
	Alerts func() views.Alerts
	// Heartbeat of the live event stream; 15 s when zero. Tests shorten it.
	Heartbeat time.Duration
	// OnlinePoll is how often the live stream looks for terminals coming
	// and going; 1 s when zero.
	OnlinePoll time.Duration
}

// Server serves the admin page.
type Server struct {
	c   Config
	cop *http.CrossOriginProtection
	// refusals bounds the log lines of failed and refused logins: a
	// guesser must not fill the disk.
	refusals *gateway.LogLimiter
}

// New returns the admin page's server.
func New(c Config) *Server {
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Log == nil {
		c.Log = slog.Default()
	}
	if c.Heartbeat == 0 {
		c.Heartbeat = 15 * time.Second
	}
	if c.OnlinePoll == 0 {
		c.OnlinePoll = time.Second
	}
	if c.Discovery == nil {
		c.Discovery = noDiscovery{}
	}
	s := &Server{c: c, cop: http.NewCrossOriginProtection(), refusals: gateway.NewLogLimiter(10, time.Minute)}
	s.cop.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.renderError(w, r, nil, http.StatusForbidden, "err.csrf")
	}))
	return s
}

// noDiscovery is the discovery of a gateway that does not browse the
// network (yet): it finds nothing.
type noDiscovery struct{}

func (noDiscovery) Discovered(context.Context) ([]views.Discovered, error) { return nil, nil }

// Body limits of the forms.
const (
	maxForm          = 64 << 10
	maxScenariosForm = gateway.MaxScenarioFileSize + 64<<10
)

// Register adds the admin page's routes to mux. /api/, /ws/ and /healthz
// are left to the other handlers.
func (s *Server) Register(mux *http.ServeMux) {
	mux.Handle("GET /static/{file}", s.secure(http.HandlerFunc(serveStatic)))

	mux.Handle("GET /setup", s.public(s.setupForm))
	mux.Handle("POST /setup", s.public(s.setup))
	mux.Handle("GET /login", s.public(s.loginForm))
	mux.Handle("POST /login", s.public(s.login))
	mux.Handle("POST /lang", s.public(s.setLang))
	mux.Handle("POST /logout", s.private(s.logout))

	mux.Handle("GET /{$}", s.private(s.dashboard))
	mux.Handle("GET /tickets", s.private(s.tickets))
	mux.Handle("GET /tickets/{id}", s.private(s.ticket))
	mux.Handle("POST /tickets/{id}/cancel", s.private(s.cancelTicket))
	mux.Handle("GET /payments", s.private(s.payments))
	mux.Handle("GET /capture", s.private(s.capture))
	mux.Handle("GET /capture/template", s.private(s.templateEditor))
	mux.Handle("POST /capture/template", s.private(s.saveTemplate))
	mux.Handle("POST /payments/{id}/resolve", s.private(s.resolvePayment))
	mux.Handle("POST /payments/{id}/abort", s.private(s.abortPayment))
	mux.Handle("POST /payments/{id}/reviewed", s.private(s.reviewedPayment))
	mux.Handle("POST /payments/{id}/reprint", s.private(s.reprintPayment))
	mux.Handle("GET /terminals", s.private(s.terminals))
	mux.Handle("POST /terminals/pair", s.private(s.pairTerminal))
	mux.Handle("POST /terminals/{id}/rename", s.private(s.renameTerminal))
	mux.Handle("POST /terminals/{id}/revoke", s.private(s.revokeTerminal))
	mux.Handle("GET /simulator", s.private(s.simulator))
	mux.Handle("POST /simulator/pair", s.private(s.simulatorPair))
	mux.Handle("GET /tills", s.private(s.tills))
	mux.Handle("POST /tills", s.private(s.addTill))
	mux.Handle("POST /tills/{id}/revoke", s.private(s.revokeTill))
	mux.Handle("POST /tills/{id}/retry", s.private(s.retryTill))
	mux.Handle("POST /tills/{id}/callback", s.private(s.setTillCallback))
	mux.Handle("GET /scenarios", s.private(s.scenarios))
	mux.Handle("POST /scenarios", s.privateLimit(maxScenariosForm, s.saveScenarios))
	mux.Handle("GET /report", s.private(s.report))
	mux.Handle("GET /report.csv", s.private(s.reportCSV))
	mux.Handle("GET /settings", s.private(s.settings))
	mux.Handle("POST /settings/shop", s.private(s.saveShop))
	mux.Handle("POST /settings/password", s.private(s.changePassword))
	mux.Handle("POST /settings/backup", s.private(s.backup))
	mux.Handle("POST /settings/upstream", s.private(s.saveUpstream))
	mux.Handle("POST /settings/upstream/test", s.private(s.testUpstream))
	mux.Handle("POST /settings/upstream/off", s.private(s.upstreamOff))
	mux.Handle("GET /admin/events", s.private(s.events))
}

// Handler returns the admin page alone on its own mux (tests, benchmarks).
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	s.Register(mux)
	return mux
}

// req is one request as the handlers see it.
type req struct {
	lang  views.Lang
	token string // the session's token; "" on public pages
}

type handler func(w http.ResponseWriter, r *http.Request, q *req) error

// contentSecurityPolicy allows the page's own files and nothing else: no
// inline script or style, no framing.
const contentSecurityPolicy = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; " +
	"connect-src 'self'; form-action 'self'; base-uri 'none'; object-src 'none'; frame-ancestors 'none'"

// secure sets the headers every answer of the admin page carries and
// refuses cross-origin state changes.
func (s *Server) secure(h http.Handler) http.Handler {
	return s.cop.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hd := w.Header()
		hd.Set("Content-Security-Policy", contentSecurityPolicy)
		hd.Set("X-Frame-Options", "DENY")
		hd.Set("X-Content-Type-Options", "nosniff")
		hd.Set("Referrer-Policy", "no-referrer")
		hd.Set("Cross-Origin-Opener-Policy", "same-origin")
		hd.Set("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
		// No Strict-Transport-Security: the certificate is self-signed and
		// is regenerated when lost; HSTS would then lock the manager out.
		h.ServeHTTP(w, r)
	}))
}

// public serves a page that needs no session.
func (s *Server) public(h handler) http.Handler {
	return s.secure(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.Body = http.MaxBytesReader(w, r.Body, maxForm)
		hdrNoStore(w)
		q := &req{lang: s.lang(r)}
		if err := h(w, r, q); err != nil {
			s.fail(w, r, q, err)
		}
	}))
}

func (s *Server) private(h handler) http.Handler { return s.privateLimit(maxForm, h) }

// privateLimit serves a page that needs a live session; a state change
// must also carry the session's CSRF token.
func (s *Server) privateLimit(limit int64, h handler) http.Handler {
	return s.secure(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.Body = http.MaxBytesReader(w, r.Body, limit)
		hdrNoStore(w)
		q := &req{lang: s.lang(r)}
		ctx := r.Context()
		tok := s.sessionCookie(r)
		_, err := s.c.Admin.Authenticate(ctx, tok)
		switch {
		case errors.Is(err, gateway.ErrUnauthorized), errors.Is(err, gateway.ErrSessionExpired):
			s.toLogin(w, r, tok != "", errors.Is(err, gateway.ErrSessionExpired))
			return
		case err != nil:
			s.fail(w, r, q, err)
			return
		}
		q.token = tok
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			if err := r.ParseForm(); err != nil {
				s.fail(w, r, q, err)
				return
			}
			got := r.PostForm.Get("csrf")
			if got == "" {
				got = r.Header.Get("X-CSRF-Token")
			}
			if !hmac.Equal([]byte(got), []byte(csrfToken(tok))) {
				s.c.Log.Warn("admin: request without a valid CSRF token refused", "path", r.URL.Path, "addr", clientAddr(r))
				s.renderError(w, r, q, http.StatusForbidden, "err.csrf")
				return
			}
		}
		if err := h(w, r, q); err != nil {
			s.fail(w, r, q, err)
		}
	}))
}

func hdrNoStore(w http.ResponseWriter) {
	// Pages hold the shop's figures and secrets shown once: never cached.
	w.Header().Set("Cache-Control", "no-store")
}

// toLogin sends a request without a live session to the login page (or to
// setup on first start). The event stream and state changes get a status
// instead of a page to follow.
func (s *Server) toLogin(w http.ResponseWriter, r *http.Request, hadCookie, expired bool) {
	if hadCookie {
		s.clearSessionCookie(w, r)
	}
	if need, err := s.c.Admin.NeedsSetup(r.Context()); err == nil && need {
		http.Redirect(w, r, "/setup", http.StatusSeeOther)
		return
	}
	if r.URL.Path == "/admin/events" {
		http.Error(w, "session expired", http.StatusUnauthorized)
		return
	}
	v := url.Values{}
	if r.Method == http.MethodGet && r.URL.RequestURI() != "/" {
		v.Set("next", r.URL.RequestURI())
	}
	if expired {
		v.Set("expired", "1")
	}
	target := "/login"
	if len(v) > 0 {
		target += "?" + v.Encode()
	}
	http.Redirect(w, r, target, http.StatusSeeOther)
}

// csrfToken is the session's CSRF token: an HMAC of a fixed label keyed by
// the session's token, so nothing more is stored and it says nothing of
// the token.
func csrfToken(session string) string {
	if session == "" {
		return ""
	}
	m := hmac.New(sha256.New, []byte(session))
	m.Write([]byte("passerelle admin csrf"))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// Cookies. Over TLS the session cookie takes the __Host- prefix: the
// browser then keeps it to this host, Secure, path /.
const (
	sessionCookieTLS = "__Host-passerelle"
	sessionCookie    = "passerelle"
	langCookie       = "passerelle_lang"
)

func cookieName(r *http.Request) string {
	if r.TLS != nil {
		return sessionCookieTLS
	}
	return sessionCookie
}

func (s *Server) sessionCookie(r *http.Request) string {
	c, err := r.Cookie(cookieName(r))
	if err != nil {
		return ""
	}
	return c.Value
}

func (s *Server) setSessionCookie(w http.ResponseWriter, r *http.Request, token string) {
	http.SetCookie(w, &http.Cookie{Name: cookieName(r), Value: token, Path: "/", HttpOnly: true,
		Secure: r.TLS != nil, SameSite: http.SameSiteStrictMode, MaxAge: int(gateway.AdminSessionTTL / time.Second)})
}

func (s *Server) clearSessionCookie(w http.ResponseWriter, r *http.Request) {
	http.SetCookie(w, &http.Cookie{Name: cookieName(r), Value: "", Path: "/", HttpOnly: true,
		Secure: r.TLS != nil, SameSite: http.SameSiteStrictMode, MaxAge: -1})
}

// lang is the language chosen with the switch, else the browser's.
func (s *Server) lang(r *http.Request) views.Lang {
	if c, err := r.Cookie(langCookie); err == nil {
		if l, ok := views.ParseLang(c.Value); ok {
			return l
		}
	}
	return views.FromAcceptLanguage(r.Header.Get("Accept-Language"))
}

func (s *Server) setLang(w http.ResponseWriter, r *http.Request, q *req) error {
	if err := r.ParseForm(); err != nil {
		return err
	}
	if l, ok := views.ParseLang(r.PostForm.Get("lang")); ok {
		http.SetCookie(w, &http.Cookie{Name: langCookie, Value: string(l), Path: "/", HttpOnly: true,
			Secure: r.TLS != nil, SameSite: http.SameSiteLaxMode, MaxAge: 365 * 24 * 3600})
	}
	http.Redirect(w, r, localPath(r.PostForm.Get("next")), http.StatusSeeOther)
	return nil
}

// localPath returns p if it is a path of this site, else "/": a redirect
// never leads elsewhere.
//
// Browsers drop tabs and line breaks from a Location before they read it,
// and take a backslash for a slash: "/\t/evil.example" is "//evil.example"
// to them, another host. So any control character refuses the path, and
// what is left must parse as a relative URL with no scheme and no host.
func localPath(p string) string {
	if strings.ContainsFunc(p, unicode.IsControl) || !strings.HasPrefix(p, "/") ||
		strings.HasPrefix(p, "//") || strings.HasPrefix(p, "/\\") {
		return "/"
	}
	u, err := url.Parse(p)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil {
		return "/"
	}
	return p
}

// clientAddr is the address login attempts are counted by. The box is on
// the shop's LAN: no proxy header is trusted.
func clientAddr(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// page returns what every page shows around its content.
func (s *Server) page(r *http.Request, q *req, title, nav string) views.Page {
	cfg := s.c.Settings.Config()
	p := views.Page{L: q.lang, Loc: cfg.Location(), Currency: cfg.Shop.Currency, Title: title, Nav: nav,
		Shop: cfg.Shop.Name, LoggedIn: q.token != "", CSRF: csrfToken(q.token), Path: localPath(r.URL.RequestURI()),
		CSS: assetURL("app.css"), JS: assetURL("app.js")}
	if key := r.URL.Query().Get("notice"); noticeKeys[key] {
		p.Notice = q.lang.T(key)
	}
	return p
}

// noticeKeys are the messages a redirect may ask the next page to show.
var noticeKeys = map[string]bool{
	"setup.done": true, "logout.done": true, "ticket.cancelled": true, "pay.resolved": true, "pay.reviewed_done": true,
	"pay.aborted": true, "pay.abort_offline": true, "term.renamed": true, "term.revoked_done": true,
	"till.revoked": true, "till.retried": true, "till.callback_saved": true, "set.saved": true, "set.changed": true,
	"sync.turned_off": true,
}

// redirect answers a form with a redirect to a page that shows notice.
func redirect(w http.ResponseWriter, r *http.Request, path, notice string) {
	if notice != "" {
		sep := "?"
		if strings.Contains(path, "?") {
			sep = "&"
		}
		path += sep + "notice=" + url.QueryEscape(notice)
	}
	http.Redirect(w, r, path, http.StatusSeeOther)
}

func render(w http.ResponseWriter, r *http.Request, status int, c templ.Component) error {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	return c.Render(r.Context(), w)
}

// fail answers a handler's error: the one place errors become statuses.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, q *req, err error) {
	var conflict *gateway.ConflictError
	var tooBig *http.MaxBytesError
	switch {
	case errors.Is(err, gateway.ErrNotFound):
		s.renderError(w, r, q, http.StatusNotFound, "err.not_found")
	case errors.As(err, &conflict):
		s.renderErrorText(w, r, q, http.StatusConflict, q.lang.Tf("err.conflict", conflict.Reason))
	case errors.As(err, &tooBig):
		s.renderError(w, r, q, http.StatusRequestEntityTooLarge, "err.too_large")
	case errors.Is(err, context.Canceled):
		// The browser left; nobody reads the answer.
	default:
		s.c.Log.Error("admin page", "path", r.URL.Path, "err", err)
		s.renderError(w, r, q, http.StatusInternalServerError, "err.internal")
	}
}

func (s *Server) renderError(w http.ResponseWriter, r *http.Request, q *req, status int, key string) {
	if q == nil {
		q = &req{lang: s.lang(r)}
	}
	s.renderErrorText(w, r, q, status, q.lang.T(key))
}

func (s *Server) renderErrorText(w http.ResponseWriter, r *http.Request, q *req, status int, msg string) {
	p := s.page(r, q, q.lang.T("title.error"), "")
	if err := render(w, r, status, views.Error(views.ErrorPage{Page: p, Status: status, Message: msg})); err != nil {
		s.c.Log.Debug("admin: render error page", "err", err)
	}
}
