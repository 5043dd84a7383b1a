package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/passerelle/passerelle/gateway"
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

// A till key revoked from the command line, another process than the
// gateway, ends the key's open event stream and is refused, though the
// gateway had it in its key cache: the gateway sees the till.revoked event
// through its watch of the store.
func TestTillRevokeEndsEventStream(t *testing.T) {
	bin := buildPasserelle(t)
	data := t.TempDir()
	key := addTill(t, bin, data, "Caisse 1")
	g := startGateway(t, bin, data)
	ticket := func(ref string) gateway.TicketInput {
		return gateway.TicketInput{Ref: ref, Lines: []gateway.Line{{Label: "CAFE", Qty: 1, UnitPrice: 250, VATRate: 1000}}, Total: 250}
	}
	if st, err := postTicket(http.DefaultClient, g.url, key, ticket("1")); err != nil || st != http.StatusCreated {
		t.Fatalf("post before the revocation: %d %v", st, err)
	}

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, "GET", g.url+"/api/v1/events", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+key)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("open events: %s", resp.Status)
	}
	body := bufio.NewReader(resp.Body)
	if l, err := body.ReadString('\n'); err != nil || l != ": passerelle events\n" {
		t.Fatalf("opening comment: %q %v", l, err)
	}

	if out, err := exec.Command(bin, "till", "revoke", "Caisse 1", "--data", data).CombinedOutput(); err != nil {
		t.Fatalf("till revoke: %v\n%s", err, out)
	}
	ended := make(chan error, 1)
	go func() {
		rest, err := io.ReadAll(body)
		if err == nil && strings.Contains(string(rest), "event:") {
			err = fmt.Errorf("the revoked till was sent an event: %q", rest)
		}
		ended <- err
	}()
	select {
	case err := <-ended:
		if err != nil {
			t.Fatalf("the stream did not end cleanly: %v", err)
		}
	case <-time.After(30 * time.Second): // a bound on a stream that stays open, not a speed check
		t.Fatal("the revoked key's event stream is still open")
	}

	// The stream and the key cache follow the log each on its own: poll
	// for the refusal, bounded as above.
	deadline := time.Now().Add(30 * time.Second)
	for i := 2; ; i++ {
		st, err := postTicket(http.DefaultClient, g.url, key, ticket(fmt.Sprint(i)))
		if err != nil {
			t.Fatal(err)
		}
		if st == http.StatusUnauthorized {
			break
		}
		if st != http.StatusCreated || time.Now().After(deadline) {
			t.Fatalf("post with the revoked key: %d", st)
		}
		time.Sleep(10 * time.Millisecond) // the interval of a poll
	}

	again, err := http.NewRequest("GET", g.url+"/api/v1/events", nil)
	if err != nil {
		t.Fatal(err)
	}
	again.Header.Set("Authorization", "Bearer "+key)
	r, err := http.DefaultClient.Do(again)
	if err != nil {
		t.Fatal(err)
	}
	r.Body.Close()
	if r.StatusCode != http.StatusUnauthorized {
		t.Fatalf("reconnect with the revoked key: %s", r.Status)
	}
}
