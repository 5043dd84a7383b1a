package listener

import (
	"crypto/tls"
	"crypto/x509"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func leaf(t *testing.T, c tls.Certificate) *x509.Certificate {
	t.Helper()
	x, err := x509.ParseCertificate(c.Certificate[0])
	if err != nil {
		t.Fatal(err)
	}
	return x
}

// TestCertNamesTheBoxIPs: a till that trusts the certificate file and
// connects by IP address (127.0.0.1, the box's LAN address) verifies it.
func TestCertNamesTheBoxIPs(t *testing.T) {
	cert, err := LoadOrCreateCert(t.TempDir(), []string{"localhost", "caisse.local", "192.0.2.77"}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	x := leaf(t, cert)
	roots := x509.NewCertPool()
	roots.AddCert(x)
	names := []string{"localhost", "caisse.local", "127.0.0.1", "::1", "192.0.2.77"}
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok && !n.IP.IsLinkLocalUnicast() && !n.IP.IsMulticast() {
			names = append(names, n.IP.String())
		}
	}
	for _, name := range names {
		if _, err := x.Verify(x509.VerifyOptions{Roots: roots, DNSName: name}); err != nil {
			t.Errorf("verify as %s: %v", name, err)
		}
	}
	if _, err := x.Verify(x509.VerifyOptions{Roots: roots, DNSName: "203.0.113.9"}); err == nil {
		t.Error("the certificate names an address that is not the box's")
	}
}

// TestCertKeptWhenNamesChange: terminals pin the certificate, so one in
// the data directory is never made again, whatever names and addresses the
// box has now.
func TestCertKeptWhenNamesChange(t *testing.T) {
	dir := t.TempDir()
	certPEM, keyPEM, err := newSelfSigned([]string{"oldname"}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, KeyFile), keyPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, CertFile), certPEM, 0o644); err != nil {
		t.Fatal(err)
	}
	old, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	got, err := LoadOrCreateCert(dir, []string{"newname", "10.9.8.7"}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if Fingerprint(got) != Fingerprint(old) {
		t.Fatal("the certificate was made again")
	}
	if b, _ := os.ReadFile(filepath.Join(dir, CertFile)); string(b) != string(certPEM) {
		t.Fatal("the certificate file was rewritten")
	}
}

// TestPublicKeyPin: the pin is curl's --pinnedpubkey form, the one openssl
// computes from the certificate file.
func TestPublicKeyPin(t *testing.T) {
	dir := t.TempDir()
	cert, err := LoadOrCreateCert(dir, []string{"localhost"}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	pin := PublicKeyPin(cert)
	if !strings.HasPrefix(pin, "sha256//") || len(pin) != len("sha256//")+44 {
		t.Fatalf("pin %q", pin)
	}
	if _, err := exec.LookPath("openssl"); err != nil {
		t.Skip("no openssl to compare with")
	}
	out, err := exec.Command("sh", "-c", `openssl x509 -in "$1" -pubkey -noout | openssl pkey -pubin -outform der | openssl dgst -sha256 -binary | openssl base64 -A`,
		"sh", filepath.Join(dir, CertFile)).Output()
	if err != nil {
		t.Fatal(err)
	}
	if want := "sha256//" + strings.TrimSpace(string(out)); pin != want {
		t.Fatalf("pin %q, openssl says %q", pin, want)
	}
	if PublicKeyPin(tls.Certificate{}) != "" {
		t.Fatal("a pin for no certificate")
	}
}
