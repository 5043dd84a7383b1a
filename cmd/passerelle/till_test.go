package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

// The till commands, as a shop's installer runs them.
func TestTillCommands(t *testing.T) {
	ctx := context.Background()
	data := t.TempDir()
	till := func(args ...string) (string, error) {
		t.Helper()
		var out, errs bytes.Buffer
		err := tillCommand(ctx, append(args, "--data", data), &out, &errs)
		return out.String(), err
	}
	out, err := till("add", "Caisse 1")
	if err != nil || strings.Contains(out, "webhook secret") {
		t.Fatalf("add without a callback: %v\n%s", err, out)
	}

	for _, bad := range [][]string{
		{"callback", "Caisse 1"},
		{"callback", "Caisse 1", "ftp://x.example/"},
		{"callback", "Personne", "https://x.example/"},
		{"callback", "Caisse 1", "https://a.example/", "https://b.example/"},
	} {
		if out, err := till(bad...); err == nil {
			t.Errorf("%q: no error\n%s", bad, out)
		}
	}
	if out, _ := till("list"); strings.Contains(out, "x.example") {
		t.Fatalf("a refused callback was saved:\n%s", out)
	}
	// The box itself and link-local services are no callback (issue 14).
	for _, u := range []string{"http://127.0.0.1:8420/api/v1/tickets", "http://localhost/hook", "http://169.254.169.254/latest/"} {
		out, err := till("callback", "Caisse 1", u)
		if err == nil || !strings.Contains(err.Error(), "must not point at this box") {
			t.Errorf("callback %s: %v, want a clear refusal\n%s", u, err, out)
		}
		if _, err := till("add", "Caisse 2", "--callback", u); err == nil {
			t.Errorf("add --callback %s: no error", u)
		}
	}
	if out, _ := till("list"); strings.Contains(out, "127.0.0.1") || strings.Contains(out, "Caisse 2") {
		t.Fatalf("a refused callback was saved:\n%s", out)
	}

	out, err = till("callback", "Caisse 1", "https://caisse.example/hook")
	if err != nil || !strings.Contains(out, "webhook secret (verifies Passerelle-Signature): whsec_") {
		t.Fatalf("first callback: %v\n%s", err, out)
	}
	out, err = till("callback", "Caisse 1", "https://caisse.example/v2")
	if err != nil || strings.Contains(out, "webhook secret") {
		t.Fatalf("another callback: %v\n%s", err, out)
	}
	if out, _ := till("list"); !strings.Contains(out, "https://caisse.example/v2") {
		t.Fatalf("list after the change:\n%s", out)
	}
	if _, err := till("callback", "Caisse 1", "none"); err != nil {
		t.Fatal(err)
	}
	if out, _ := till("list"); strings.Contains(out, "caisse.example") {
		t.Fatalf("list after clearing:\n%s", out)
	}
}
