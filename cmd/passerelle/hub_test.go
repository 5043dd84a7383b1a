package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/passerelle/passerelle/gateway"
	"github.com/passerelle/passerelle/sync/hub"
	"github.com/passerelle/passerelle/web/views"
)

func runCLI(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errs bytes.Buffer
	rc := cli(context.Background(), args, &out, &errs)
	return rc, out.String(), errs.String()
}

// TestHubCLI: stores and keys from the command line, and reconcile's
// exit status.
func TestHubCLI(t *testing.T) {
	data := t.TempDir()
	rc, out, errs := runCLI(t, "hub", "store", "add", "Chez Julie", "--json", "--data", data)
	var added struct {
		StoreID string `json:"store_id"`
		Key     string `json:"key"`
	}
	if rc != 0 || json.Unmarshal([]byte(out), &added) != nil || !strings.HasPrefix(added.Key, "phs_") || !strings.HasPrefix(added.StoreID, "sto_") {
		t.Fatalf("store add: %d %q %q", rc, out, errs)
	}
	if rc, out, _ := runCLI(t, "hub", "key", "add", "Site", "--store", added.StoreID, "--json", "--data", data); rc != 0 || !strings.Contains(out, `"key":"phw_`) {
		t.Fatalf("key add --store: %d %q", rc, out)
	}
	if rc, out, _ := runCLI(t, "hub", "key", "add", "Compta", "--data", data); rc != 0 || !strings.HasPrefix(out, "phr_") {
		t.Fatalf("key add: %d %q", rc, out)
	}
	if rc, _, errs := runCLI(t, "hub", "key", "add", "Site", "--store", "sto_NOPE", "--data", data); rc != 1 || !strings.Contains(errs, "not found") {
		t.Fatalf("key add for no store: %d %q", rc, errs)
	}
	if rc, out, _ := runCLI(t, "hub", "store", "list", "--data", data); rc != 0 || !strings.Contains(out, "Chez Julie") || strings.Contains(out, added.Key) {
		t.Fatalf("store list: %d %q", rc, out)
	}
	file := func(body string) string {
		p := filepath.Join(t.TempDir(), "telecollecte.csv")
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	reconcile := func(path string) (int, string, string) {
		return runCLI(t, "hub", "reconcile", "--store", added.StoreID, "--day", "2026-12-02", path, "--data", data)
	}
	if rc, out, errs := reconcile(file("transaction_ref;amount;date\n")); rc != 0 || !strings.Contains(out, "0 matched, 0 missing") {
		t.Fatalf("nothing against nothing: %d %q %q", rc, out, errs)
	}
	if rc, out, _ := reconcile(file("transaction_ref;amount;date\nTX-9;1,00;02/12/2026\n")); rc != 1 || !strings.Contains(out, "unexpected  TX-9") {
		t.Fatalf("an unexpected line: %d %q", rc, out)
	}
	if rc, _, errs := reconcile(file("transaction_ref;amount;date\nTX-9;un euro;02/12/2026\n")); rc != 1 || !strings.Contains(errs, "line 2, column amount") {
		t.Fatalf("a malformed file: %d %q", rc, errs)
	}
	if rc, _, errs := runCLI(t, "hub", "store", "revoke", added.StoreID, "--data", data); rc != 0 {
		t.Fatalf("revoke: %d %q", rc, errs)
	}
	if rc, _, errs := runCLI(t, "hub", "run", "--database", "mysql://x@127.0.0.1/hub", "--data", data); rc != 1 || !strings.Contains(errs, "postgres://") {
		t.Fatalf("--database mysql: %d %q", rc, errs)
	}
}

// TestSimWebshop posts an order as a web shop and follows it until the
// hub reads it cancelled.
func TestSimWebshop(t *testing.T) {
	ctx := context.Background()
	db, err := hub.Open(ctx, filepath.Join(t.TempDir(), "hub.db"), time.Now)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	srv := httptest.NewServer(hub.NewServer(hub.Config{DB: db, Log: slog.New(slog.DiscardHandler), DecodeOrder: decodeOrder}).Handler())
	defer srv.Close()
	s, _, err := db.AddStore(ctx, "Chez Julie")
	if err != nil {
		t.Fatal(err)
	}
	key, err := db.AddKey(ctx, "Site", s.ID)
	if err != nil {
		t.Fatal(err)
	}
	args := []string{"sim", "webshop", "--url", srv.URL, "--store", s.ID, "--key", key, "--ref", "W-9", "--table", "12", "--total", "4200"}
	if rc, out, errs := runCLI(t, append(args, "--follow", "0")...); rc != 0 || !strings.Contains(out, "order W-9 posted") {
		t.Fatalf("post: %d %q %q", rc, out, errs)
	}
	if _, err := db.CancelOrder(ctx, s.ID, "W-9"); err != nil {
		t.Fatal(err)
	}
	if rc, out, errs := runCLI(t, append(args, "--follow", "1m", "--every", "10ms")...); rc != 0 || !strings.Contains(out, "order W-9: cancelled") {
		t.Fatalf("follow: %d %q %q", rc, out, errs)
	}
	bad := append(args[:len(args)-2:len(args)-2], "--total", "0", "--follow", "0")
	if rc, _, errs := runCLI(t, bad...); rc != 1 || !strings.Contains(errs, "422") {
		t.Fatalf("an invalid order: %d %q", rc, errs)
	}
}

// TestUpstreamSettingsOfThePage: what the admin page's upstream card
// calls, on a real data directory and a real hub.
func TestUpstreamSettingsOfThePage(t *testing.T) {
	ctx := context.Background()
	db, err := hub.Open(ctx, filepath.Join(t.TempDir(), "hub.db"), time.Now)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	srv := httptest.NewServer(hub.NewServer(hub.Config{DB: db, Log: slog.New(slog.DiscardHandler)}).Handler())
	defer srv.Close()
	s, key, err := db.AddStore(ctx, "Chez Julie")
	if err != nil {
		t.Fatal(err)
	}
	data := t.TempDir()
	st, err := openStore(ctx, data, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	u := upstreamState{store: st, settings: upstreamSettings(filepath.Join(data, gateway.ConfigFile)), data: data}
	if v := u.UpstreamView(ctx); v.On || v.State != gateway.UpstreamDisabled {
		t.Fatalf("before: %+v", v)
	}
	_, err = u.SaveUpstream(ctx, views.UpstreamForm{URL: srv.URL, StoreID: s.ID})
	var ve *gateway.ValidationError
	if !errors.As(err, &ve) || ve.Fields[0].Field != "upstream.key" {
		t.Fatalf("no key yet: %v", err)
	}
	if _, err := u.SaveUpstream(ctx, views.UpstreamForm{URL: "http://hub.example.com", StoreID: s.ID, Key: key}); !errors.As(err, &ve) {
		t.Fatalf("plain http to another box: %v", err)
	}
	test, err := u.SaveUpstream(ctx, views.UpstreamForm{URL: srv.URL, StoreID: s.ID, Key: key})
	if err != nil || !strings.HasPrefix(test, "ok") {
		t.Fatalf("save: %q %v", test, err)
	}
	fi, err := os.Stat(filepath.Join(data, upstreamKeyFile))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file: %v %v", fi, err)
	}
	// Saved again without the key: the one saved is kept.
	if test, err := u.SaveUpstream(ctx, views.UpstreamForm{URL: srv.URL, StoreID: s.ID}); err != nil || !strings.HasPrefix(test, "ok") {
		t.Fatalf("save without the key: %q %v", test, err)
	}
	if v := u.UpstreamView(ctx); !v.On || v.URL != srv.URL || v.State != gateway.UpstreamOK {
		t.Fatalf("after: %+v", v)
	}
	if err := u.UpstreamOff(ctx); err != nil {
		t.Fatal(err)
	}
	if v := u.UpstreamView(ctx); v.On || v.State != gateway.UpstreamDisabled || v.URL != srv.URL {
		t.Fatalf("off: %+v", v)
	}
}
