package web_test

import (
	"errors"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/passerelle/passerelle/gateway"
)

func TestSetup(t *testing.T) {
	s := newShop(t)
	c := s.client()
	// Before any password, every page leads to setup, login too.
	for _, path := range []string{"/", "/tickets", "/login"} {
		if r := c.get(path); r.StatusCode != http.StatusSeeOther || r.location() != "/setup" {
			t.Fatalf("GET %s before setup: %d to %q", path, r.StatusCode, r.location())
		}
	}
	// The page asks for the setup code and says where it is; asking made
	// the code, in a file of the data directory only its owner reads.
	page := c.get("/setup")
	page.want(t, http.StatusOK, "setup-form", "setup-code", "setup-password", "setup-confirm")
	path := filepath.Join(s.dir, gateway.SetupCodeFileName)
	if got := page.text("setup-code-file"); got != path || !strings.Contains(page.body, "passerelle admin setup-code") {
		t.Fatalf("the page says the code is in %q", got)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("no setup code made: %v", err)
	}
	code := strings.TrimSpace(string(b))
	if strings.Contains(page.body, code) {
		t.Fatal("the setup page shows the code")
	}

	for _, tc := range []struct {
		name, code, pw, confirm string
		fields                  []string
	}{
		{"no code", "", password, password, []string{"code"}},
		{"wrong code", "2345678923", password, password, []string{"code"}},
		{"wrong code, short", "2345678923", "short", "short", []string{"code", "password"}},
		{"short", code, "short", "short", []string{"password"}},
		{"empty", code, "", "", []string{"password"}},
		{"mismatch", code, password, password + "!", []string{"confirm"}},
		{"too long", code, strings.Repeat("x", 129), strings.Repeat("x", 129), []string{"password"}},
	} {
		r := c.post("/setup", formOf("code", tc.code, "password", tc.pw, "confirm", tc.confirm))
		want := []string{}
		for _, f := range tc.fields {
			want = append(want, "error-"+f)
		}
		r.want(t, http.StatusUnprocessableEntity, want...)
		if r.has("error-code") != (tc.fields[0] == "code") {
			t.Errorf("%s: the code's error shown: %v", tc.name, r.has("error-code"))
		}
		if strings.Contains(r.body, code) {
			t.Errorf("%s: the answer shows the code", tc.name)
		}
		if c.session() != "" {
			t.Fatalf("%s: a session was opened", tc.name)
		}
	}
	if need, _ := s.admin.NeedsSetup(t.Context()); !need {
		t.Fatal("a refused setup set a password")
	}

	// The right code, typed loosely.
	r := c.post("/setup", formOf("code", strings.ToLower(code), "password", password, "confirm", password))
	if r.StatusCode != http.StatusSeeOther || !strings.HasPrefix(r.location(), "/?notice=") {
		t.Fatalf("setup: %d to %q\n%s", r.StatusCode, r.location(), excerpt(r.body))
	}
	ck := r.Cookies()
	if len(ck) != 1 || !ck[0].HttpOnly || ck[0].SameSite != http.SameSiteStrictMode || ck[0].Path != "/" {
		t.Fatalf("session cookie %+v", ck)
	}
	c.get(r.location()).want(t, http.StatusOK, "notice", "takings")
	if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("the setup code outlived the setup: %v", err)
	}

	// Setup is done once: the page and the form send to login now, and a
	// second setup changes nothing, even with the spent code.
	other := s.client()
	if r := other.get("/setup"); r.location() != "/login" {
		t.Fatalf("GET /setup after setup: %d %q", r.StatusCode, r.location())
	}
	r = other.post("/setup", formOf("code", code, "password", "an attacker's password", "confirm", "an attacker's password"))
	if r.location() != "/login" || other.session() != "" {
		t.Fatalf("second setup: %d %q", r.StatusCode, r.location())
	}
	if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
		t.Fatal("the setup page made a code after setup")
	}
	if _, err := s.admin.Login(t.Context(), "x", password); err != nil {
		t.Fatalf("the first password no longer works: %v", err)
	}
}

// A lost code file is made again; a code left over after a password was
// set from the shell opens nothing.
func TestSetupCodeLost(t *testing.T) {
	s := newShop(t)
	c := s.client()
	c.get("/setup").want(t, http.StatusOK)
	path := filepath.Join(s.dir, gateway.SetupCodeFileName)
	old, _ := os.ReadFile(path)
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	r := c.post("/setup", formOf("code", string(old), "password", password, "confirm", password))
	r.want(t, http.StatusUnprocessableEntity, "error-code")
	b, err := os.ReadFile(path)
	if err != nil || len(b) == 0 || string(b) == string(old) {
		t.Fatalf("after the file was lost: %q %v (old %q)", b, err, old)
	}
	if err := s.admin.ResetPassword(t.Context(), password, password); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("a reset left the setup code: %v", err)
	}
	r = c.post("/setup", formOf("code", string(b), "password", "an attacker's password", "confirm", "an attacker's password"))
	if r.location() != "/login" || c.session() != "" {
		t.Fatalf("setup after a reset: %d %q", r.StatusCode, r.location())
	}
}

// Wrong setup codes count as failed logins: the code cannot be guessed
// faster than a password.
func TestSetupRateLimit(t *testing.T) {
	s := newShop(t)
	c := s.client()
	c.addr = "192.168.1.66:4000"
	c.get("/setup").want(t, http.StatusOK)
	code, err := s.admin.SetupCode(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < gateway.LoginTriesAllowed; i++ {
		guess := strings.Repeat(string(rune('A'+i)), gateway.SetupCodeLen)
		c.post("/setup", formOf("code", guess, "password", password, "confirm", password)).want(t, http.StatusUnprocessableEntity, "error-code")
	}
	r := c.post("/setup", formOf("code", code, "password", password, "confirm", password))
	r.want(t, http.StatusTooManyRequests, "form-error")
	if c.session() != "" || r.Header.Get("Retry-After") == "" {
		t.Fatalf("a blocked address set the password, or was not told when to retry: %v", r.Header)
	}
	if need, _ := s.admin.NeedsSetup(t.Context()); !need {
		t.Fatal("a blocked address set the password")
	}
	// The same limiter as the login's: the address is blocked there too
	// once a password exists; another address goes on.
	other := s.client()
	other.addr = "192.168.1.67:4000"
	if r := other.post("/setup", formOf("code", code, "password", password, "confirm", password)); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("another address: %d\n%s", r.StatusCode, excerpt(r.body))
	}
	c.post("/login", formOf("password", password)).want(t, http.StatusTooManyRequests)
	s.clock.Add(gateway.LoginTriesWindow)
	if r := c.post("/login", formOf("password", password)); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("after the window: %d", r.StatusCode)
	}
}

func TestLoginLogout(t *testing.T) {
	s := newShop(t)
	first := s.setup()
	c := s.client()
	r := c.get("/tickets?day=")
	if r.StatusCode != http.StatusSeeOther || r.location() != "/login?next=%2Ftickets%3Fday%3D" {
		t.Fatalf("GET /tickets without a session: %d to %q", r.StatusCode, r.location())
	}
	c.get("/login").want(t, http.StatusOK, "login-form", "login-password")

	r = c.post("/login", formOf("password", "not the password", "next", "/tickets"))
	r.want(t, http.StatusUnauthorized, "form-error")
	if c.session() != "" {
		t.Fatal("a wrong password opened a session")
	}

	r = c.post("/login", formOf("password", password, "next", "/tickets?day="))
	if r.StatusCode != http.StatusSeeOther || r.location() != "/tickets?day=" {
		t.Fatalf("login: %d to %q", r.StatusCode, r.location())
	}
	tok := c.session()
	if tok == "" || tok == first.session() {
		t.Fatalf("login gave session %q (setup's was %q)", tok, first.session())
	}
	c.get("/tickets").want(t, http.StatusOK)

	// Logging in again rotates the session: the old token is dead.
	c.post("/login", formOf("password", password))
	if c.session() == tok {
		t.Fatal("a second login kept the session token")
	}
	stale := s.client()
	stale.cookies["passerelle"] = &http.Cookie{Name: "passerelle", Value: tok}
	if r := stale.get("/"); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("the rotated-out token still works: %d", r.StatusCode)
	}

	// A login does not lead elsewhere, nor does the language switch.
	if r := c.post("/login", formOf("password", password, "next", "//evil.example/")); r.location() != "/" {
		t.Errorf("login led to %q", r.location())
	}
	for _, next := range []string{"//evil.example/", "https://evil.example/", "/\\evil.example", "/ok\r\nSet-Cookie: x=1",
		"/\t/evil.example", "/\n/evil.example", "\t//evil.example", "/\t\\evil.example", "/ok\x00"} {
		if r := c.post("/lang", formOf("lang", "fr", "next", next)); r.location() != "/" {
			t.Errorf("next=%q led to %q", next, r.location())
		}
	}

	// Logout ends the session on the server, not only in the browser.
	tok = c.session()
	c.get("/")
	r = c.post("/logout", nil)
	if r.StatusCode != http.StatusSeeOther || !strings.HasPrefix(r.location(), "/login") {
		t.Fatalf("logout: %d to %q", r.StatusCode, r.location())
	}
	if c.session() != "" {
		t.Fatal("logout left the cookie")
	}
	if _, err := s.admin.Authenticate(t.Context(), tok); err == nil {
		t.Fatal("the session survived logout")
	}
	// The other browser's session is still there.
	first.get("/").want(t, http.StatusOK)
}

func TestLoginRateLimit(t *testing.T) {
	s := newShop(t)
	s.setup()
	c := s.client()
	c.addr = "192.168.1.66:4000"
	for i := 0; i < gateway.LoginTriesAllowed; i++ {
		c.post("/login", formOf("password", "guess number "+string(rune('a'+i)))).want(t, http.StatusUnauthorized)
	}
	r := c.post("/login", formOf("password", password))
	r.want(t, http.StatusTooManyRequests, "form-error")
	if c.session() != "" || r.Header.Get("Retry-After") == "" {
		t.Fatalf("a blocked address logged in, or was not told when to retry: %v", r.Header)
	}
	// Another address is not blocked; this one is after the window.
	other := s.client()
	other.addr = "192.168.1.67:4000"
	if r := other.post("/login", formOf("password", password)); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("another address: %d", r.StatusCode)
	}
	s.clock.Add(gateway.LoginTriesWindow)
	if r := c.post("/login", formOf("password", password)); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("after the window: %d", r.StatusCode)
	}
}

func TestCSRF(t *testing.T) {
	s := newShop(t)
	c := s.setup()
	crossSite := map[string]string{"Origin": "https://evil.example", "Sec-Fetch-Site": "cross-site"}
	form := url.Values{"name": {"Evil till"}, "csrf": {c.csrf}}
	// A cross-site POST is refused, even with the session cookie and the
	// right token (the page of another site cannot have the token, but the
	// check does not rely on that).
	r := c.do(http.MethodPost, "/tills", form, crossSite)
	r.want(t, http.StatusForbidden, "error-message")
	// Login, setup and the language switch too: no login CSRF.
	c.do(http.MethodPost, "/login", url.Values{"password": {password}}, crossSite).want(t, http.StatusForbidden)
	c.do(http.MethodPost, "/lang", url.Values{"lang": {"en"}}, crossSite).want(t, http.StatusForbidden)
	// A same-site form without the session's token, or with another one.
	c.post("/tills", url.Values{"name": {"Evil till"}, "csrf": {""}}).want(t, http.StatusForbidden)
	c.post("/tills", url.Values{"name": {"Evil till"}, "csrf": {"forged"}}).want(t, http.StatusForbidden)
	if ts, _ := s.tills.List(t.Context()); len(ts) != 1 {
		t.Fatalf("a refused request created a till: %d tills", len(ts))
	}
	// The real thing, from the page itself.
	r = c.do(http.MethodPost, "/tills", form, map[string]string{"Origin": "http://192.168.1.10:8420", "Sec-Fetch-Site": "same-origin"})
	r.want(t, http.StatusCreated, "till-key")
	// The token is the session's: another session's token is refused.
	other := s.client()
	other.post("/login", formOf("password", password))
	other.get("/")
	if other.csrf == c.csrf {
		t.Fatal("two sessions share a CSRF token")
	}
	r = c.post("/tills", url.Values{"name": {"Other"}, "csrf": {other.csrf}})
	r.want(t, http.StatusForbidden)
}

func TestSessionExpiry(t *testing.T) {
	s := newShop(t)
	c := s.setup()
	c.get("/tickets").want(t, http.StatusOK)
	s.clock.Add(gateway.AdminSessionIdle)
	r := c.get("/tickets")
	if r.StatusCode != http.StatusSeeOther || r.location() != "/login?expired=1&next=%2Ftickets" {
		t.Fatalf("idle session: %d to %q", r.StatusCode, r.location())
	}
	if c.session() != "" {
		t.Fatal("the expired session's cookie was kept")
	}
	c.get(r.location()).want(t, http.StatusOK, "session-expired")
	// A form posted with an expired session changes nothing.
	c2 := s.client()
	c2.post("/login", formOf("password", password))
	c2.get("/tills")
	s.clock.Add(gateway.AdminSessionTTL)
	r = c2.post("/tills", formOf("name", "Late till"))
	if r.StatusCode != http.StatusSeeOther || !strings.Contains(r.location(), "expired=1") {
		t.Fatalf("form with an expired session: %d to %q", r.StatusCode, r.location())
	}
	if ts, _ := s.tills.List(t.Context()); len(ts) != 1 {
		t.Fatal("a form with an expired session created a till")
	}
}

func TestSessionLivesWhileUsed(t *testing.T) {
	s := newShop(t)
	c := s.setup()
	for i := 0; i < 5; i++ {
		s.clock.Add(gateway.AdminSessionIdle - 10*time.Minute)
		c.get("/").want(t, http.StatusOK)
	}
}

func TestLanguage(t *testing.T) {
	s := newShop(t)
	c := s.setup()
	if r := c.get("/"); !strings.Contains(r.body, `<html lang="fr">`) || !strings.Contains(r.body, "Tableau de bord") {
		t.Fatalf("default is not French:\n%s", excerpt(r.body))
	}
	c.lang = "en-GB,en;q=0.9,fr;q=0.5"
	if r := c.get("/"); !strings.Contains(r.body, `<html lang="en">`) || !strings.Contains(r.body, "Dashboard") {
		t.Fatal("Accept-Language en is not followed")
	}
	r := c.post("/lang", formOf("lang", "fr", "next", "/tickets"))
	if r.StatusCode != http.StatusSeeOther || r.location() != "/tickets" {
		t.Fatalf("switch: %d to %q", r.StatusCode, r.location())
	}
	if r := c.get("/tickets"); !strings.Contains(r.body, `<html lang="fr">`) {
		t.Fatal("the switch does not beat Accept-Language")
	}
	if r := c.post("/lang", formOf("lang", "en", "next", "https://evil.example/")); r.location() != "/" {
		t.Fatalf("the switch led to %q", r.location())
	}
	// The login page has the switch too.
	s.client().get("/login").want(t, http.StatusOK, "lang-switch")
}
