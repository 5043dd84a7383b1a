package listener

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"time"
)

// Certificate file names in the data directory.
const (
	CertFile = "tls-cert.pem"
	KeyFile  = "tls-key.pem"
)

// LoadOrCreateCert returns the certificate kept in dir, creating a
// self-signed ECDSA P-256 one the first time. It is valid for ten years:
// terminals pin it, so a renewal means re-pairing every terminal.
//
// A new certificate names hosts (names, or IP addresses) and the box's IP
// addresses of the moment, loopback included, so that a till that trusts
// the certificate file and connects by IP address can verify it. A kept
// one is never made again to follow new names or addresses (that would
// break every terminal's pin): a till of a box whose address changed
// pins the public key instead (PublicKeyPin).
func LoadOrCreateCert(dir string, hosts []string, now time.Time) (tls.Certificate, error) {
	certPath, keyPath := filepath.Join(dir, CertFile), filepath.Join(dir, KeyFile)
	cert, err := tls.LoadX509KeyPair(certPath, keyPath)
	if err == nil {
		return cert, nil
	}
	if !errors.Is(err, os.ErrNotExist) {
		return tls.Certificate{}, fmt.Errorf("listener: load certificate: %w", err)
	}
	certPEM, keyPEM, err := newSelfSigned(append(boxIPs(), hosts...), now)
	if err != nil {
		return tls.Certificate{}, err
	}
	// The key first: a crash in between leaves a key without a certificate,
	// which the next start replaces, never a certificate without its key.
	if err := writeAtomic(keyPath, keyPEM, 0o600); err != nil {
		return tls.Certificate{}, err
	}
	if err := writeAtomic(certPath, certPEM, 0o644); err != nil {
		return tls.Certificate{}, err
	}
	return tls.X509KeyPair(certPEM, keyPEM)
}

// boxIPs are the box's addresses a client can name in a URL: every
// interface's, but link-local and multicast ones.
func boxIPs() []string {
	out := []string{"127.0.0.1", "::1"}
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		return out // the certificate still names the hosts and loopback
	}
	for _, a := range addrs {
		n, ok := a.(*net.IPNet)
		if !ok || n.IP.IsLinkLocalUnicast() || n.IP.IsMulticast() || n.IP.IsUnspecified() {
			continue
		}
		out = append(out, n.IP.String())
	}
	return out
}

// newSelfSigned makes a certificate for hosts: names go to its DNS names,
// IP addresses to its IP addresses, each once.
func newSelfSigned(hosts []string, now time.Time) (certPEM, keyPEM []byte, err error) {
	var names []string
	var ips []net.IP
	seen := map[string]bool{}
	for _, h := range hosts {
		if ip := net.ParseIP(h); ip != nil {
			if ip4 := ip.To4(); ip4 != nil {
				ip = ip4
			}
			h = ip.String()
			if !seen[h] {
				ips = append(ips, ip)
			}
		} else if !seen[h] {
			names = append(names, h)
		}
		seen[h] = true
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, fmt.Errorf("listener: generate key: %w", err)
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return nil, nil, fmt.Errorf("listener: serial: %w", err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: "Passerelle", Organization: []string{"Passerelle"}},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.AddDate(10, 0, 0),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		DNSNames:     names,
		IPAddresses:  ips,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, nil, fmt.Errorf("listener: create certificate: %w", err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return nil, nil, fmt.Errorf("listener: encode key: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}), nil
}

// Fingerprint is the hex SHA-256 of the certificate's DER, as the terminal
// protocol's fp= carries it.
func Fingerprint(cert tls.Certificate) string {
	if len(cert.Certificate) == 0 {
		return ""
	}
	sum := sha256.Sum256(cert.Certificate[0])
	return hex.EncodeToString(sum[:])
}

// PublicKeyPin is the certificate's public-key pin as curl's
// --pinnedpubkey takes it: "sha256//" and the base64 of the SHA-256 of the
// DER SubjectPublicKeyInfo (the hash OkHttp's CertificatePinner writes
// "sha256/…"). Unlike the fingerprint, it names the key, not the
// certificate. "" without a certificate.
func PublicKeyPin(cert tls.Certificate) string {
	if len(cert.Certificate) == 0 {
		return ""
	}
	x, err := x509.ParseCertificate(cert.Certificate[0])
	if err != nil {
		return ""
	}
	sum := sha256.Sum256(x.RawSubjectPublicKeyInfo)
	return "sha256//" + base64.StdEncoding.EncodeToString(sum[:])
}

// writeAtomic writes data to path so that a crash leaves either the old file
// or the new one, never a torn one: temp file, fsync, rename, fsync dir.
func writeAtomic(path string, data []byte, perm os.FileMode) error {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return fmt.Errorf("listener: write %s: %w", path, err)
	}
	defer os.Remove(f.Name())
	if err := f.Chmod(perm); err != nil {
		f.Close()
		return fmt.Errorf("listener: write %s: %w", path, err)
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return fmt.Errorf("listener: write %s: %w", path, err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("listener: sync %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("listener: write %s: %w", path, err)
	}
	if err := os.Rename(f.Name(), path); err != nil {
		return fmt.Errorf("listener: rename %s: %w", path, err)
	}
	if d, err := os.Open(dir); err == nil {
		d.Sync() // not supported on every OS (Windows): best effort
		d.Close()
	}
	return nil
}
