package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"

	"github.com/passerelle/passerelle/drivers/listener"
	"github.com/passerelle/passerelle/gateway"
)

// tlsCommand prints what a till or a terminal pins of the gateway's
// certificate, and what the certificate names, one "key value" per line
// for a script: `passerelle tls | awk '$1 == "pin" {print $2}'`.
func tlsCommand(_ context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("tls", flag.ContinueOnError)
	fs.SetOutput(stderr)
	data := dataFlag(fs)
	if err := fs.Parse(args); err != nil || fs.NArg() > 0 {
		fmt.Fprintln(stderr, "usage: passerelle tls [--data DIR]")
		return errUsage
	}
	cfg, err := loadConfig(*data)
	if err != nil {
		return err
	}
	certPath := filepath.Join(*data, listener.CertFile)
	cert, err := tls.LoadX509KeyPair(certPath, filepath.Join(*data, listener.KeyFile))
	if errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("tls: no certificate in %s yet: the gateway makes it when it first starts with TLS", *data)
	}
	if err != nil {
		return fmt.Errorf("tls: %w", err)
	}
	x, err := x509.ParseCertificate(cert.Certificate[0])
	if err != nil {
		return fmt.Errorf("tls: %s: %w", certPath, err)
	}
	if !cfg.TLS {
		fmt.Fprintf(stderr, "passerelle: %s says tls: false: the gateway serves plain HTTP and this certificate is not in use\n", gateway.ConfigFile)
	}
	names := x.DNSNames
	for _, ip := range x.IPAddresses {
		names = append(names, ip.String())
	}
	if abs, err := filepath.Abs(certPath); err == nil {
		certPath = abs
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "file\t%s\n", certPath)
	fmt.Fprintf(tw, "fingerprint\t%s\n", listener.Fingerprint(cert))
	fmt.Fprintf(tw, "pin\t%s\n", listener.PublicKeyPin(cert))
	fmt.Fprintf(tw, "names\t%s\n", strings.Join(names, ", "))
	fmt.Fprintf(tw, "expires\t%s\n", x.NotAfter.UTC().Format("2006-01-02"))
	return tw.Flush()
}
