package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/passerelle/passerelle/gateway"
)

func TestAdminResetPassword(t *testing.T) {
	ctx := context.Background()
	data := t.TempDir()
	const first, second = "the first password", "the second password"
	for _, tc := range []struct {
		name  string
		args  []string
		input string
		ok    string // the password that works afterwards, "" if the command fails
	}{
		{"twice", nil, first + "\n" + first + "\n", first},
		{"stdin", []string{"--password-stdin"}, second + "\n", second},
		{"differ", nil, "one password here\nanother password\n", ""},
		{"short", []string{"--password-stdin"}, "short\n", ""},
		{"once only", nil, first + "\n", ""},
		{"nothing", []string{"--password-stdin"}, "", ""},
	} {
		var out, errs bytes.Buffer
		args := append([]string{"reset-password", "--data", data}, tc.args...)
		err := adminRun(ctx, args, strings.NewReader(tc.input), &out, &errs)
		if (err == nil) != (tc.ok != "") {
			t.Fatalf("%s: %v", tc.name, err)
		}
		for _, pw := range []string{first, second, "one password here", "short"} {
			if strings.Contains(out.String()+errs.String(), pw) {
				t.Fatalf("%s: the command wrote a password out: %q %q", tc.name, out.String(), errs.String())
			}
		}
		if tc.ok == "" {
			continue
		}
		st, err := openStore(ctx, data, &errs)
		if err != nil {
			t.Fatal(err)
		}
		_, err = gateway.NewAdmin(st, nil, time.Now).Login(ctx, "127.0.0.1", tc.ok)
		st.Close()
		if err != nil {
			t.Fatalf("%s: the new password does not work: %v", tc.name, err)
		}
	}
	var errs bytes.Buffer
	if err := adminRun(ctx, []string{"nope"}, strings.NewReader(""), &errs, &errs); !errors.Is(err, errUsage) {
		t.Fatalf("unknown subcommand: %v", err)
	}
}

func TestAdminSetupCode(t *testing.T) {
	ctx := context.Background()
	data := t.TempDir()
	setupCode := func() (string, string, int) {
		t.Helper()
		var out, errs bytes.Buffer
		rc := cli(ctx, []string{"admin", "setup-code", "--data", data}, &out, &errs)
		return out.String(), errs.String(), rc
	}
	out, errs, rc := setupCode()
	if rc != 0 {
		t.Fatalf("setup-code: exit %d: %s", rc, errs)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	code := lines[len(lines)-1]
	b, err := os.ReadFile(filepath.Join(data, "setup-code"))
	if err != nil || len(code) != gateway.SetupCodeLen || string(b) != code+"\n" {
		t.Fatalf("printed %q, file %q (%v)", out, b, err)
	}
	if again, _, _ := setupCode(); again != out {
		t.Fatalf("a second run printed %q, the first %q", again, out)
	}
	// The code is spent once a password is set (here from the shell):
	// the command says so and fails.
	if err := adminRun(ctx, []string{"reset-password", "--password-stdin", "--data", data},
		strings.NewReader("the shop's password\n"), io.Discard, io.Discard); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(data, "setup-code")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("the setup code outlived the password: %v", err)
	}
	out, errs, rc = setupCode()
	if rc == 0 || out != "" || !strings.Contains(errs, "already set") {
		t.Fatalf("setup-code with a password set: exit %d, %q, %q", rc, out, errs)
	}
	if _, err := os.Stat(filepath.Join(data, "setup-code")); !errors.Is(err, os.ErrNotExist) {
		t.Fatal("setup-code made a code with a password set")
	}
}

// TestAdminSetupCodeGateway is first start with the real gateway: the log
// says where the code is and never what it is, and the setup page over
// HTTP wants it.
func TestAdminSetupCodeGateway(t *testing.T) {
	bin := buildPasserelle(t)
	data := t.TempDir()
	g := startGateway(t, bin, data)
	path := filepath.Join(data, "setup-code")
	var warning string
	waitUntil(t, "the log's warning", func() bool {
		for _, l := range strings.Split(g.log.String(), "\n") {
			if strings.Contains(l, "the admin password is not set") {
				warning = l
				return true
			}
		}
		return false
	})
	if !strings.Contains(warning, path) || !strings.Contains(warning, "passerelle admin setup-code") {
		t.Errorf("the warning does not say where the code is: %s", warning)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	code := strings.TrimSpace(string(b))
	out, err := exec.Command(bin, "admin", "setup-code", "--data", data).Output()
	if err != nil || !strings.HasSuffix(string(out), "\n"+code+"\n") {
		t.Fatalf("admin setup-code: %v %q, want %s last", err, out, code)
	}

	hc := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	post := func(form url.Values) *http.Response {
		t.Helper()
		r, err := hc.PostForm(g.url+"/setup", form)
		if err != nil {
			t.Fatal(err)
		}
		r.Body.Close()
		return r
	}
	const pw = "the shop's password"
	if r := post(url.Values{"password": {pw}, "confirm": {pw}}); r.StatusCode != http.StatusUnprocessableEntity {
		t.Fatalf("setup without the code: %d", r.StatusCode)
	}
	r := post(url.Values{"code": {code}, "password": {pw}, "confirm": {pw}})
	if r.StatusCode != http.StatusSeeOther || len(r.Cookies()) != 1 {
		t.Fatalf("setup with the code: %d %v", r.StatusCode, r.Cookies())
	}
	if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("the code outlived the setup: %v", err)
	}
	if r, err := hc.Get(g.url + "/setup"); err != nil || r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/login" {
		t.Fatalf("GET /setup after setup: %v %v", r, err)
	}
	cmd := exec.Command(bin, "admin", "setup-code", "--data", data)
	var errs bytes.Buffer
	cmd.Stderr = &errs
	if out, err := cmd.Output(); err == nil || len(out) != 0 || !strings.Contains(errs.String(), "already set") {
		t.Fatalf("admin setup-code after setup: %v %q %q", err, out, errs.String())
	}
	if strings.Contains(g.log.String(), code) {
		t.Fatalf("the gateway logged the setup code:\n%s", g.log.String())
	}
}

// waitUntil polls cond, for what a process writes when it gets to it.
func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestSettingsSaveShop(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, gateway.ConfigFile)
	orig := "# Réglages de la boutique\nlisten: \":9000\"  # the port\ntls: false\nshop:\n  name: Old name\n  vat_rates: [1000]\n"
	if err := os.WriteFile(path, []byte(orig), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := gateway.LoadConfig(path)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Listen = ":7000" // a command-line override: never written
	s := newSettings(path, cfg)
	shop := cfg.Shop
	shop.Name, shop.Address, shop.VATRates, shop.TimeZone = "Chez Lucien", "1 rue de la Paix", []int64{550, 2000}, "Indian/Reunion"
	if err := s.SaveShop(context.Background(), shop); err != nil {
		t.Fatal(err)
	}
	if got := s.Config(); got.Shop.Name != "Chez Lucien" || got.Listen != ":7000" || !slices.Equal(s.Rules().VATRates, []int64{550, 2000}) {
		t.Fatalf("in service: %+v", got)
	}
	loaded, err := gateway.LoadConfig(path)
	if err != nil {
		t.Fatal(err)
	}
	if loaded.Shop.Name != "Chez Lucien" || loaded.Listen != ":9000" || loaded.TLS || loaded.Shop.TimeZone != "Indian/Reunion" {
		t.Fatalf("file holds %+v", loaded)
	}
	b, _ := os.ReadFile(path)
	if !strings.Contains(string(b), "# Réglages de la boutique") || !strings.Contains(string(b), "# the port") {
		t.Errorf("comments lost:\n%s", b)
	}
	lines, err := livePrinter{s}.Note(gateway.Ticket{Ref: "1", Currency: "EUR", Total: 100, Lines: []gateway.Line{{Label: "x", Qty: 1, UnitPrice: 100, VATRate: 550}},
		VAT: gateway.VATBreakdown([]gateway.Line{{Label: "x", Qty: 1, UnitPrice: 100, VATRate: 550}})}, 32)
	if err != nil || !strings.Contains(strings.Join(lines, "\n"), "Chez Lucien") {
		t.Errorf("receipts do not carry the new name: %v\n%s", err, strings.Join(lines, "\n"))
	}

	// A refused shop changes neither the file nor what is in service.
	bad := shop
	bad.TimeZone = "Mars/Olympus"
	if err := s.SaveShop(context.Background(), bad); err == nil {
		t.Fatal("bad time zone saved")
	}
	if after, _ := os.ReadFile(path); !bytes.Equal(after, b) || s.Config().Shop.TimeZone != "Indian/Reunion" {
		t.Fatal("a refused save changed something")
	}

	// No file yet: one is written with the shop alone.
	fresh := filepath.Join(dir, "new.yaml")
	if err := newSettings(fresh, gateway.DefaultConfig()).SaveShop(context.Background(), shop); err != nil {
		t.Fatal(err)
	}
	if c, err := gateway.LoadConfig(fresh); err != nil || c.Shop.Name != "Chez Lucien" {
		t.Fatalf("fresh file: %+v %v", c.Shop, err)
	}
}
