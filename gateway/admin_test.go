package gateway_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/passerelle/passerelle/gateway"
	"github.com/passerelle/passerelle/store"
)

// clock is a settable time source.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func adminFixture(t *testing.T) (*gateway.Admin, *store.Store, *clock) {
	t.Helper()
	st, err := store.Open(context.Background(), filepath.Join(t.TempDir(), "p.db"),
		slog.New(slog.NewTextHandler(io.Discard, nil)), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	c := &clock{t: time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)}
	return gateway.NewAdmin(st, gateway.NewSetupCodeFile(t.TempDir()), c.Now), st, c
}

// setupCode is the code a setup needs, as the box's owner reads it.
func setupCode(t *testing.T, a *gateway.Admin) string {
	t.Helper()
	code, err := a.SetupCode(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return code
}

const goodPassword = "correct horse battery"

func TestAdminSetupLoginLogout(t *testing.T) {
	ctx := context.Background()
	a, st, _ := adminFixture(t)
	if need, err := a.NeedsSetup(ctx); err != nil || !need {
		t.Fatalf("NeedsSetup = %v, %v before setup", need, err)
	}
	if _, err := a.Login(ctx, "10.0.0.1", goodPassword); !errors.Is(err, gateway.ErrNoAdminPassword) {
		t.Fatalf("login before setup: %v", err)
	}
	tok, err := a.Setup(ctx, "10.0.0.1", setupCode(t, a), goodPassword, goodPassword)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.Authenticate(ctx, tok); err != nil {
		t.Fatalf("setup's session: %v", err)
	}
	if _, err := a.Setup(ctx, "10.0.0.2", "", "another password!", "another password!"); !errors.Is(err, gateway.ErrAdminPasswordSet) {
		t.Fatalf("second setup: %v", err)
	}
	hash, err := st.AdminPasswordHash(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(hash, "$argon2id$v=19$m=19456,t=2,p=1$") || strings.Contains(hash, goodPassword) {
		t.Fatalf("stored hash %q", hash)
	}
	if _, err := a.Login(ctx, "10.0.0.1", "wrong password!!"); !errors.Is(err, gateway.ErrUnauthorized) {
		t.Fatalf("wrong password: %v", err)
	}
	tok2, err := a.Login(ctx, "10.0.0.1", goodPassword)
	if err != nil || tok2 == tok {
		t.Fatalf("login: %q, %v (setup's token %q)", tok2, err, tok)
	}
	if err := a.Logout(ctx, tok2); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Authenticate(ctx, tok2); !errors.Is(err, gateway.ErrUnauthorized) {
		t.Fatalf("after logout: %v", err)
	}
	if _, err := a.Authenticate(ctx, tok); err != nil {
		t.Fatalf("the other session ended with this one's logout: %v", err)
	}
}

func TestAdminPasswordRules(t *testing.T) {
	for _, c := range []struct {
		pw, confirm, field string
	}{
		{"short", "short", "password"},
		{strings.Repeat("x", gateway.AdminPasswordMax+1), "", "password"},
		{"            ", "            ", "password"},
		{goodPassword, goodPassword + "!", "confirm"},
		{goodPassword, goodPassword, ""},
		{"ünïcödé pässwörd", "ünïcödé pässwörd", ""},
	} {
		err := gateway.CheckAdminPassword(c.pw, c.confirm)
		var ve *gateway.ValidationError
		switch {
		case c.field == "" && err != nil:
			t.Errorf("%q: %v", c.pw, err)
		case c.field != "" && (!errors.As(err, &ve) || ve.Fields[0].Field != c.field):
			t.Errorf("%q/%q: %v, want a problem with %s", c.pw, c.confirm, err, c.field)
		}
	}
}

func TestAdminSessionExpiry(t *testing.T) {
	ctx := context.Background()
	a, _, c := adminFixture(t)
	tok, err := a.Setup(ctx, "a", setupCode(t, a), goodPassword, goodPassword)
	if err != nil {
		t.Fatal(err)
	}
	// Used every hour, it lives its whole lifetime, then ends.
	for used := time.Duration(0); used < gateway.AdminSessionTTL-time.Hour; used += time.Hour {
		c.Add(time.Hour)
		if _, err := a.Authenticate(ctx, tok); err != nil {
			t.Fatalf("after %v: %v", used+time.Hour, err)
		}
	}
	c.Add(time.Hour)
	if _, err := a.Authenticate(ctx, tok); !errors.Is(err, gateway.ErrSessionExpired) {
		t.Fatalf("past its lifetime: %v", err)
	}
	if _, err := a.Authenticate(ctx, tok); !errors.Is(err, gateway.ErrUnauthorized) {
		t.Fatalf("an expired session is deleted: %v", err)
	}

	// Left alone, it ends after the idle time.
	tok, err = a.Login(ctx, "a", goodPassword)
	if err != nil {
		t.Fatal(err)
	}
	c.Add(gateway.AdminSessionIdle - time.Minute)
	if _, err := a.Authenticate(ctx, tok); err != nil {
		t.Fatalf("just before the idle time: %v", err)
	}
	c.Add(gateway.AdminSessionIdle)
	if _, err := a.Authenticate(ctx, tok); !errors.Is(err, gateway.ErrSessionExpired) {
		t.Fatalf("idle: %v", err)
	}
}

func TestAdminLoginRateLimit(t *testing.T) {
	ctx := context.Background()
	a, _, c := adminFixture(t)
	if _, err := a.Setup(ctx, "setup", setupCode(t, a), goodPassword, goodPassword); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < gateway.LoginTriesAllowed; i++ {
		if _, err := a.Login(ctx, "10.0.0.9", "not the password"); !errors.Is(err, gateway.ErrUnauthorized) {
			t.Fatalf("try %d: %v", i+1, err)
		}
	}
	if _, err := a.Login(ctx, "10.0.0.9", goodPassword); !errors.Is(err, gateway.ErrTooManyLogins) {
		t.Fatalf("the right password after too many tries: %v", err)
	}
	if _, err := a.Login(ctx, "10.0.0.10", goodPassword); err != nil {
		t.Fatalf("another address: %v", err)
	}
	c.Add(gateway.LoginTriesWindow)
	if _, err := a.Login(ctx, "10.0.0.9", goodPassword); err != nil {
		t.Fatalf("after the window: %v", err)
	}
}

func TestAdminResetAndChangePassword(t *testing.T) {
	ctx := context.Background()
	a, _, _ := adminFixture(t)
	tok, err := a.Setup(ctx, "a", setupCode(t, a), goodPassword, goodPassword)
	if err != nil {
		t.Fatal(err)
	}
	const second = "a second password"
	if _, err := a.ChangePassword(ctx, "a", "not it at all", second, second); err == nil {
		t.Fatal("change with a wrong current password accepted")
	}
	tok2, err := a.ChangePassword(ctx, "a", goodPassword, second, second)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.Authenticate(ctx, tok); err == nil {
		t.Fatal("the old session survived a password change")
	}
	const third = "a third password!"
	if err := a.ResetPassword(ctx, third, third); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Authenticate(ctx, tok2); err == nil {
		t.Fatal("a session survived the reset")
	}
	if _, err := a.Login(ctx, "a", second); !errors.Is(err, gateway.ErrUnauthorized) {
		t.Fatalf("old password after reset: %v", err)
	}
	if _, err := a.Login(ctx, "a", third); err != nil {
		t.Fatal(err)
	}
}

func TestAdminConcurrentLogins(t *testing.T) {
	// More logins than hashing slots: they queue, none fails.
	ctx := context.Background()
	a, _, _ := adminFixture(t)
	if _, err := a.Setup(ctx, "a", setupCode(t, a), goodPassword, goodPassword); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make(chan error, gateway.MaxConcurrentHashes+1)
	for i := 0; i < gateway.MaxConcurrentHashes+1; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := a.Login(ctx, "addr"+string(rune('a'+i)), goodPassword)
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
}
