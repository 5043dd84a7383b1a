package main

import (
	"bytes"
	"context"
	"errors"
	"os"
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
		_, err = gateway.NewAdmin(st, time.Now).Login(ctx, "127.0.0.1", tc.ok)
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
