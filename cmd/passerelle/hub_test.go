package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
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
