package gateway_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/passerelle/passerelle/gateway"
	"github.com/passerelle/passerelle/store"
)

func TestNewSetupCode(t *testing.T) {
	seen := map[string]bool{}
	for range 1000 {
		c := gateway.NewSetupCode()
		if len(c) != gateway.SetupCodeLen || strings.ContainsAny(c, "01ILOilo") || strings.ToUpper(c) != c {
			t.Fatalf("code %q", c)
		}
		if seen[c] {
			t.Fatalf("code %q made twice", c)
		}
		seen[c] = true
	}
}

func TestSetupCodeFile(t *testing.T) {
	dir := t.TempDir()
	f := gateway.NewSetupCodeFile(dir)
	if f.Path() != filepath.Join(dir, "setup-code") {
		t.Fatalf("path %s", f.Path())
	}
	code, err := f.Code()
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(f.Path())
	if err != nil {
		t.Fatal(err)
	}
	if runtime.GOOS != "windows" && fi.Mode().Perm() != 0o600 {
		t.Errorf("mode %v, want 0600", fi.Mode().Perm())
	}
	if b, _ := os.ReadFile(f.Path()); string(b) != code+"\n" {
		t.Errorf("file holds %q, code %q", b, code)
	}
	// Another process (the CLI) reads the same code.
	if again, err := gateway.NewSetupCodeFile(dir).Code(); err != nil || again != code {
		t.Fatalf("second read: %q %v, want %q", again, err, code)
	}
	// No temporary file is left behind.
	if ents, _ := os.ReadDir(dir); len(ents) != 1 {
		t.Errorf("data directory holds %d files, want the code alone", len(ents))
	}

	// Lost, or not a code any more: a new one is made.
	if err := f.Remove(); err != nil {
		t.Fatal(err)
	}
	if err := f.Remove(); err != nil {
		t.Fatalf("removing no file: %v", err)
	}
	fresh, err := f.Code()
	if err != nil || fresh == code || len(fresh) != gateway.SetupCodeLen {
		t.Fatalf("after removal: %q %v (old %q)", fresh, err, code)
	}
	for _, bad := range []string{"", "short\n", "0000000000\n", strings.Repeat("A", 64)} {
		if err := os.WriteFile(f.Path(), []byte(bad), 0o600); err != nil {
			t.Fatal(err)
		}
		if c, err := f.Code(); err != nil || c == strings.TrimSpace(bad) || len(c) != gateway.SetupCodeLen {
			t.Fatalf("file %q read as %q %v", bad, c, err)
		}
	}
}

// Makers racing, each as a process of its own would (no shared lock),
// agree on one code: none replaces a code another was already given.
func TestSetupCodeFileRace(t *testing.T) {
	for range 20 {
		dir := t.TempDir()
		codes := make([]string, 8)
		var wg sync.WaitGroup
		for i := range codes {
			wg.Go(func() {
				c, err := gateway.NewSetupCodeFile(dir).Code()
				if err != nil {
					t.Error(err)
				}
				codes[i] = c
			})
		}
		wg.Wait()
		for _, c := range codes {
			if c != codes[0] {
				t.Fatalf("racing makers got different codes: %v", codes)
			}
		}
	}
}

func TestAdminSetupCode(t *testing.T) {
	ctx := context.Background()
	st, err := store.Open(ctx, filepath.Join(t.TempDir(), "p.db"), slog.New(slog.NewTextHandler(io.Discard, nil)), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	c := &clock{t: time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)}
	if _, err := gateway.NewAdmin(st, nil, c.Now).Setup(ctx, "a", "", goodPassword, goodPassword); !errors.Is(err, gateway.ErrNoSetupCode) {
		t.Fatalf("setup without a place for the code: %v", err)
	}
	dir := t.TempDir()
	codes := gateway.NewSetupCodeFile(dir)
	a := gateway.NewAdmin(st, codes, c.Now)
	code := setupCode(t, a)

	fieldOf := func(err error) string {
		var ve *gateway.ValidationError
		if !errors.As(err, &ve) {
			return "not a validation error: " + errString(err)
		}
		var fs []string
		for _, f := range ve.Fields {
			fs = append(fs, f.Field)
		}
		return strings.Join(fs, ",")
	}
	// A wrong code refuses the setup whatever the password; its problems
	// are listed beside.
	for _, tc := range []struct{ code, pw, want string }{
		{"", goodPassword, "code"},
		{"2345678923", goodPassword, "code"},
		{code + "2", goodPassword, "code"},
		{"2345678923", "short", "code,password"},
	} {
		if _, err := a.Setup(ctx, "10.0.0.5", tc.code, tc.pw, tc.pw); fieldOf(err) != tc.want {
			t.Fatalf("code %q: %v, want problems with %s", tc.code, err, tc.want)
		}
	}
	if need, _ := a.NeedsSetup(ctx); !need {
		t.Fatal("a wrong code set the password")
	}
	// Those were 4 of the address's tries: one more wrong code uses the
	// last, and the right code is then refused too, from that address.
	if _, err := a.Setup(ctx, "10.0.0.5", "ZZZZZZZZZZ", goodPassword, goodPassword); fieldOf(err) != "code" {
		t.Fatalf("5th try: %v", err)
	}
	if _, err := a.Setup(ctx, "10.0.0.5", code, goodPassword, goodPassword); !errors.Is(err, gateway.ErrTooManyLogins) {
		t.Fatalf("the right code after too many tries: %v", err)
	}
	// The right code with a bad password: only the password's problem,
	// and the code still stands.
	if _, err := a.Setup(ctx, "10.0.0.6", code, "short", "short"); fieldOf(err) != "password" {
		t.Fatalf("right code, short password: %v", err)
	}
	if _, err := os.Stat(codes.Path()); err != nil {
		t.Fatalf("the code went with a refused setup: %v", err)
	}
	// Typed by a person: lower case, spaces, a dash.
	typed := " " + strings.ToLower(code[:5]) + "-" + code[5:] + " "
	tok, err := a.Setup(ctx, "10.0.0.6", typed, goodPassword, goodPassword)
	if err != nil {
		t.Fatalf("setup with the right code: %v", err)
	}
	if _, err := a.Authenticate(ctx, tok); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(codes.Path()); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("the code outlived the setup: %v", err)
	}
	if _, err := a.SetupCode(ctx); !errors.Is(err, gateway.ErrAdminPasswordSet) {
		t.Fatalf("setup code after setup: %v", err)
	}
	if _, err := a.Setup(ctx, "10.0.0.7", code, "another password!", "another password!"); !errors.Is(err, gateway.ErrAdminPasswordSet) {
		t.Fatalf("the spent code again: %v", err)
	}
	// A code left over (a password set while a code was out) goes when
	// it is asked for, and at a reset.
	if _, err := codes.Code(); err != nil {
		t.Fatal(err)
	}
	if _, err := a.SetupCode(ctx); !errors.Is(err, gateway.ErrAdminPasswordSet) {
		t.Fatal(err)
	}
	if _, err := os.Stat(codes.Path()); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("a leftover code was kept: %v", err)
	}
	if _, err := codes.Code(); err != nil {
		t.Fatal(err)
	}
	if err := a.ResetPassword(ctx, goodPassword, goodPassword); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(codes.Path()); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("a reset kept the code: %v", err)
	}
}

func errString(err error) string {
	if err == nil {
		return "nil"
	}
	return err.Error()
}
