package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"go.yaml.in/yaml/v3"
	"golang.org/x/term"

	"github.com/passerelle/passerelle/drivers/receipt"
	"github.com/passerelle/passerelle/gateway"
)

func adminCommand(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return adminRun(ctx, args, os.Stdin, stdout, stderr)
}

const adminUsage = `usage: passerelle admin setup-code [--data DIR]
       passerelle admin reset-password [--password-stdin] [--data DIR]`

// adminRun is the admin command with its input given: the tests type the
// passwords.
func adminRun(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprintln(stderr, adminUsage)
		return errUsage
	}
	switch args[0] {
	case "setup-code":
		return adminSetupCode(ctx, args[1:], stdout, stderr)
	case "reset-password":
		return adminResetPassword(ctx, args[1:], stdin, stdout, stderr)
	}
	fmt.Fprintln(stderr, adminUsage)
	return errUsage
}

// adminSetupCode prints the one-time code the setup page asks for, alone
// on the last line, making it if the gateway has not yet. Reading it takes
// the box's shell, which is the point.
func adminSetupCode(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("admin setup-code", flag.ContinueOnError)
	fs.SetOutput(stderr)
	data := dataFlag(fs)
	if err := fs.Parse(args); err != nil {
		return errUsage
	}
	st, err := openStore(ctx, *data, stderr)
	if err != nil {
		return err
	}
	defer st.Close()
	codes := gateway.NewSetupCodeFile(*data)
	code, err := gateway.NewAdmin(st, codes, time.Now).SetupCode(ctx)
	if errors.Is(err, gateway.ErrAdminPasswordSet) {
		return errors.New("admin setup-code: the admin password is already set, there is no setup code: " +
			"log in, or replace a forgotten password with passerelle admin reset-password")
	}
	if err != nil {
		return fmt.Errorf("admin setup-code: %w", err)
	}
	fmt.Fprintf(stdout, "the admin password is not set; open the admin page and type this setup code (also in %s):\n", codes.Path())
	fmt.Fprintln(stdout, code)
	return nil
}

func adminResetPassword(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("admin reset-password", flag.ContinueOnError)
	fs.SetOutput(stderr)
	data := dataFlag(fs)
	fromStdin := fs.Bool("password-stdin", false, "read the new password from standard input (one line), without asking")
	if err := fs.Parse(args); err != nil {
		return errUsage
	}
	pw, confirm, err := readNewPassword(stdin, stderr, *fromStdin)
	if err != nil {
		return fmt.Errorf("admin reset-password: %w", err)
	}
	st, err := openStore(ctx, *data, stderr)
	if err != nil {
		return err
	}
	defer st.Close()
	// With a password set, setup is over: a setup code left goes too.
	admin := gateway.NewAdmin(st, gateway.NewSetupCodeFile(*data), time.Now)
	if err := admin.ResetPassword(ctx, pw, confirm); err != nil {
		return fmt.Errorf("admin reset-password: %w", err)
	}
	fmt.Fprintln(stdout, "admin password changed; every admin session is closed")
	return nil
}

// readNewPassword asks for the password twice, without echo when stdin is
// a terminal; with --password-stdin it reads one line and asks nothing.
// Nothing it reads is ever written out.
func readNewPassword(stdin io.Reader, prompt io.Writer, oneLine bool) (string, string, error) {
	if f, ok := stdin.(*os.File); ok && !oneLine && term.IsTerminal(int(f.Fd())) {
		ask := func(label string) (string, error) {
			fmt.Fprint(prompt, label)
			b, err := term.ReadPassword(int(f.Fd()))
			fmt.Fprintln(prompt)
			return string(b), err
		}
		pw, err := ask(fmt.Sprintf("New admin password (at least %d characters): ", gateway.AdminPasswordMin))
		if err != nil {
			return "", "", err
		}
		confirm, err := ask("Again: ")
		return pw, confirm, err
	}
	r := bufio.NewReader(io.LimitReader(stdin, 64<<10))
	line := func() (string, error) {
		s, err := r.ReadString('\n')
		if err != nil && (!errors.Is(err, io.EOF) || s == "") {
			return "", errors.New("no password on standard input")
		}
		return strings.TrimRight(s, "\r\n"), nil
	}
	pw, err := line()
	if err != nil {
		return "", "", err
	}
	if oneLine {
		return pw, pw, nil
	}
	confirm, err := line()
	if err != nil {
		return "", "", errors.New("the password must be given twice, on two lines")
	}
	return pw, confirm, nil
}

// settings is the configuration in service. The admin page edits the
// shop's part: it is written to passerelle.yaml and applies at once to new
// tickets' rules, receipts and the pages; the rest of the file (listen
// address, TLS, hosts) and the command line's overrides are left as they
// are.
type settings struct {
	path string
	mu   sync.Mutex // serialises saves
	cur  atomic.Pointer[gateway.Config]
}

func newSettings(path string, cfg gateway.Config) *settings {
	s := &settings{path: path}
	s.cur.Store(&cfg)
	return s
}

// Config returns the configuration in service.
func (s *settings) Config() gateway.Config { return *s.cur.Load() }

// Rules are the ticket rules in service.
func (s *settings) Rules() gateway.Rules { return s.Config().Rules() }

// SaveShop validates the shop's settings, writes them to the file and puts
// them in service.
func (s *settings) SaveShop(_ context.Context, shop gateway.Shop) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	cfg := s.Config()
	cfg.Shop = shop
	if err := cfg.Validate(); err != nil {
		return err
	}
	if err := writeShop(s.path, shop); err != nil {
		return err
	}
	s.cur.Store(&cfg)
	return nil
}

// writeShop replaces the shop section of the configuration file.
func writeShop(path string, shop gateway.Shop) error {
	return writeSection(path, "shop", shop)
}

// writeSection replaces one top-level section of the configuration file,
// keeping the other sections and their comments. The new file must load
// before it takes the old one's place.
func writeSection(path, section string, value any) error {
	old, err := os.ReadFile(path)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("settings: %w", err)
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(old, &doc); err != nil {
		return fmt.Errorf("settings: %s: %w", path, err)
	}
	if doc.Kind == 0 {
		doc = yaml.Node{Kind: yaml.DocumentNode, Content: []*yaml.Node{{Kind: yaml.MappingNode}}}
	}
	root := doc.Content[0]
	if root.Kind != yaml.MappingNode {
		return fmt.Errorf("settings: %s is not a mapping", path)
	}
	var val yaml.Node
	if err := val.Encode(value); err != nil {
		return fmt.Errorf("settings: %w", err)
	}
	replaced := false
	for i := 0; i+1 < len(root.Content); i += 2 {
		if root.Content[i].Value == section {
			root.Content[i+1], replaced = &val, true
		}
	}
	if !replaced {
		root.Content = append(root.Content, &yaml.Node{Kind: yaml.ScalarNode, Value: section}, &val)
	}
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(&doc); err != nil {
		return fmt.Errorf("settings: %w", err)
	}
	enc.Close()
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return fmt.Errorf("settings: %w", err)
	}
	defer os.Remove(tmp.Name())
	_, err = tmp.Write(buf.Bytes())
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("settings: write %s: %w", path, err)
	}
	if _, err := gateway.LoadConfig(tmp.Name()); err != nil {
		return fmt.Errorf("settings: the new file would not load: %w", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("settings: %w", err)
	}
	return nil
}

// livePrinter lays out receipts with the shop's header and time zone in
// service, so that a change in the settings prints at once.
type livePrinter struct{ s *settings }

var _ gateway.ReceiptPrinter = livePrinter{}

func (p livePrinter) printer() receipt.Printer {
	cfg := p.s.Config()
	return receipt.Printer{Location: cfg.Location(), Now: time.Now,
		Shop: receipt.Header{Name: cfg.Shop.Name, Address: cfg.Shop.Address, Phone: cfg.Shop.Phone}}
}

func (p livePrinter) BankTicket(pay gateway.Payment, cols int) ([]string, error) {
	return p.printer().BankTicket(pay, cols)
}

func (p livePrinter) Note(t gateway.Ticket, cols int) ([]string, error) {
	return p.printer().Note(t, cols)
}
