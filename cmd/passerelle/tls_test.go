package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/passerelle/passerelle/drivers/listener"
)

var certLogLine = regexp.MustCompile(`msg="TLS certificate" fingerprint=([0-9a-f]{64}) pin="?(sha256//[A-Za-z0-9+/=]{44})"?`)

// TestTillPinsWithCurl follows docs/till-api.md with a real curl against a
// real gateway: the public-key pin the gateway logs at start and `passerelle
// tls` prints is accepted by --pinnedpubkey, another pin is refused, and a
// till that trusts the certificate file verifies it by IP address.
func TestTillPinsWithCurl(t *testing.T) {
	curl, err := exec.LookPath("curl")
	if err != nil {
		t.Skip("no curl")
	}
	bin := buildPasserelle(t)
	data := t.TempDir()
	g := startSimGateway(t, bin, data) // TLS on 127.0.0.1
	health := strings.TrimSuffix(g.url, "/") + "/healthz"

	m := certLogLine.FindStringSubmatch(g.log.String())
	if m == nil {
		t.Fatalf("the gateway did not log its fingerprint and pin:\n%s", g.log.String())
	}
	if m[1] != dataFingerprint(t, data) {
		t.Fatalf("logged fingerprint %s, the certificate's is %s", m[1], dataFingerprint(t, data))
	}
	pin := m[2]
	out, err := exec.Command(bin, "tls", "--data", data).CombinedOutput()
	if err != nil {
		t.Fatalf("passerelle tls: %v\n%s", err, out)
	}
	fields := map[string]string{}
	for _, line := range strings.Split(string(out), "\n") {
		if k, v, ok := strings.Cut(line, " "); ok {
			fields[k] = strings.TrimSpace(v)
		}
	}
	if fields["pin"] != pin || fields["fingerprint"] != m[1] || !strings.Contains(fields["names"], "127.0.0.1") {
		t.Fatalf("passerelle tls printed:\n%s\nwant pin %s and fingerprint %s", out, pin, m[1])
	}

	run := func(args ...string) (int, string) {
		t.Helper()
		cmd := exec.Command(curl, append([]string{"--silent", "--show-error", "--max-time", "60"}, args...)...)
		var o bytes.Buffer
		cmd.Stdout, cmd.Stderr = &o, &o
		err := cmd.Run()
		if _, ok := err.(*exec.ExitError); err != nil && !ok {
			t.Fatal(err)
		}
		return cmd.ProcessState.ExitCode(), o.String()
	}
	// --insecure skips only the CA check, which a self-signed certificate
	// cannot pass; the pin is checked all the same.
	if code, o := run("--insecure", "--pinnedpubkey", pin, health); code != 0 || !strings.Contains(o, `"status"`) {
		t.Fatalf("curl with the printed pin: exit %d: %s", code, o)
	}
	other := sha256.Sum256([]byte("another key"))
	if code, o := run("--insecure", "--pinnedpubkey", "sha256//"+base64.StdEncoding.EncodeToString(other[:]), health); code != 90 {
		t.Fatalf("curl with another pin: exit %d, want 90 (CURLE_SSL_PINNEDPUBKEYNOTMATCH): %s", code, o)
	}
	if code, o := run("--cacert", filepath.Join(data, listener.CertFile), health); code != 0 {
		t.Fatalf("curl trusting the certificate file, by IP address: exit %d: %s", code, o)
	}
}

// TestTLSCommandWithoutCertificate: before the gateway's first start there
// is nothing to pin, and the command says so.
func TestTLSCommandWithoutCertificate(t *testing.T) {
	var out, errs bytes.Buffer
	if code := cli(context.Background(), []string{"tls", "--data", t.TempDir()}, &out, &errs); code != 1 ||
		out.Len() != 0 || !strings.Contains(errs.String(), "no certificate") {
		t.Fatalf("exit %d, %q, %q", code, out.String(), errs.String())
	}
}
