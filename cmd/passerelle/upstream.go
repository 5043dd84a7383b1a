package main

import (
	"bufio"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	gosync "sync"
	"time"

	"github.com/passerelle/passerelle/gateway"
	"github.com/passerelle/passerelle/sync/upstream"
	"github.com/passerelle/passerelle/sync/wire"
	"github.com/passerelle/passerelle/web"
	"github.com/passerelle/passerelle/web/views"
)

// Files of upstream sync in the data directory.
const (
	upstreamKeyFile = "upstream.key"
	upstreamCAFile  = "upstream-ca.pem"
)

// upstreamTestTimeout bounds the connection test of upstream set.
const upstreamTestTimeout = 10 * time.Second

func upstreamCommand(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprintln(stderr, "usage: passerelle upstream set --url URL --store ID --key KEY|--key-stdin [--ca FILE|FINGERPRINT] | status [--json] | off")
		return errUsage
	}
	fs := flag.NewFlagSet("upstream "+args[0], flag.ContinueOnError)
	fs.SetOutput(stderr)
	data := dataFlag(fs)
	switch args[0] {
	case "set":
		return upstreamSet(ctx, fs, data, args[1:], stdout)
	case "status":
		asJSON := fs.Bool("json", false, "print the status as JSON")
		if err := fs.Parse(args[1:]); err != nil || fs.NArg() > 0 {
			return errUsage
		}
		return upstreamStatus(ctx, *data, *asJSON, stdout, stderr)
	case "off":
		if err := fs.Parse(args[1:]); err != nil || fs.NArg() > 0 {
			return errUsage
		}
		return upstreamOff(*data, stdout)
	}
	fmt.Fprintln(stderr, "usage: passerelle upstream set|status|off")
	return errUsage
}

func upstreamSet(ctx context.Context, fs *flag.FlagSet, data *string, args []string, stdout io.Writer) error {
	hubURL := fs.String("url", "", "the hub's URL (https://...; http only for a hub on this box)")
	storeID := fs.String("store", "", "this shop's store_id, as `passerelle hub store add` printed it")
	key := fs.String("key", "", "the store key (or --key-stdin)")
	keyStdin := fs.Bool("key-stdin", false, "read the store key from standard input")
	ca := fs.String("ca", "", "pin a self-signed hub: its certificate's PEM file, or its SHA-256 fingerprint")
	if err := fs.Parse(args); err != nil || fs.NArg() > 0 {
		return errUsage
	}
	if *keyStdin {
		line, err := bufio.NewReader(os.Stdin).ReadString('\n')
		if err != nil && !errors.Is(err, io.EOF) {
			return fmt.Errorf("upstream set: read the key: %w", err)
		}
		*key = strings.TrimSpace(line)
	}
	if err := upstream.CheckKey(*key); err != nil {
		return err
	}
	u := gateway.Upstream{URL: *hubURL, StoreID: *storeID, KeyFile: upstreamKeyFile}
	if *ca != "" {
		pinned, err := pinFromFlag(*ca)
		if err != nil {
			return err
		}
		u.CAFile, u.CAFingerprint = pinned.file, pinned.fingerprint
	}
	if _, err := loadConfig(*data); err != nil {
		return err
	}
	cfg := gateway.DefaultConfig()
	cfg.Upstream = u
	if err := cfg.Validate(); err != nil {
		return err
	}
	if err := upstreamFiles(*data, *key, u.CAFile); err != nil {
		return err
	}
	on := true
	u.Enabled = &on
	if u.CAFile != "" {
		u.CAFile = upstreamCAFile
	}
	if err := writeSection(filepath.Join(*data, gateway.ConfigFile), "upstream", u); err != nil {
		return err
	}
	fmt.Fprintln(stdout, "upstream sync is on: a running gateway starts within 5 s")
	fmt.Fprintln(stdout, "connection test:", testUpstream(ctx, u, *data))
	return nil
}

// pinned is --ca read: a PEM file or a fingerprint.
type pinned struct{ file, fingerprint string }

func pinFromFlag(v string) (pinned, error) {
	if _, err := os.Stat(v); err == nil {
		if _, err := upstream.PinFile(v); err != nil {
			return pinned{}, err
		}
		return pinned{file: v}, nil
	}
	if _, err := upstream.ParseFingerprint(v); err != nil {
		return pinned{}, fmt.Errorf("--ca is neither a readable PEM file nor a SHA-256 fingerprint: %w", err)
	}
	return pinned{fingerprint: v}, nil
}

// upstreamFiles writes the key, and a copy of the pinned certificate, in
// the data directory: readable by the service's user only.
func upstreamFiles(data, key, caFile string) error {
	if err := writeFileAtomic(filepath.Join(data, upstreamKeyFile), []byte(key+"\n"), 0o600); err != nil {
		return err
	}
	if caFile == "" {
		return nil
	}
	pem, err := os.ReadFile(caFile)
	if err != nil {
		return fmt.Errorf("upstream set: %w", err)
	}
	return writeFileAtomic(filepath.Join(data, upstreamCAFile), pem, 0o600)
}

// writeFileAtomic writes a file so that a crash leaves the old one or the
// new one: temporary file, fsync, rename.
func writeFileAtomic(path string, b []byte, perm os.FileMode) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	defer os.Remove(tmp.Name())
	err = tmp.Chmod(perm)
	if err == nil {
		_, err = tmp.Write(b)
	}
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

// testUpstream sends an empty batch: the hub checks the key and says
// where it stands, and nothing is written.
func testUpstream(ctx context.Context, u gateway.Upstream, data string) string {
	t, err := upstream.Resolve(u, data)
	if err != nil {
		return "not tried: " + err.Error()
	}
	ctx, cancel := context.WithTimeout(ctx, upstreamTestTimeout)
	defer cancel()
	var b wire.Builder
	status, ack, _, err := upstream.Post(ctx, upstream.NewHTTPClient(t, upstreamTestTimeout), t, b.Bytes())
	switch {
	case err != nil:
		return "failed: " + err.Error() + " (the settings are saved: sync starts when the hub can be reached)"
	case status == 200:
		return fmt.Sprintf("ok: the hub has this shop's events up to %d", ack.AckedThrough)
	case status == 401 || status == 403:
		return fmt.Sprintf("refused (%d): the hub does not take this key for this store_id", status)
	}
	return fmt.Sprintf("the hub answered %d", status)
}

func upstreamStatus(ctx context.Context, data string, asJSON bool, stdout, stderr io.Writer) error {
	cfg, err := loadConfig(data)
	if err != nil {
		return err
	}
	st, err := openStore(ctx, data, stderr)
	if err != nil {
		return err
	}
	defer st.Close()
	s, err := upstream.ReadStatus(ctx, st, cfg.Upstream, time.Now())
	if err != nil {
		return err
	}
	if asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(s)
	}
	fmt.Fprintf(stdout, "state          %s\n", s.State)
	if cfg.Upstream.URL != "" {
		fmt.Fprintf(stdout, "hub            %s (store %s)\n", cfg.Upstream.URL, cfg.Upstream.StoreID)
	}
	fmt.Fprintf(stdout, "acked_through  %d\nlast_seq       %d\nqueue          %d\n", s.AckedThrough, s.LastSeq, s.Queue)
	fmt.Fprintf(stdout, "oldest_unsent  %s\nlast_success   %s\nlast_error     %s\n", optTime(s.OldestUnsent), optTime(s.LastSuccess), orDash(s.LastError))
	return nil
}

func optTime(t *time.Time) string {
	if t == nil {
		return "-"
	}
	return t.Format(time.RFC3339)
}

func upstreamOff(data string, stdout io.Writer) error {
	cfg, err := loadConfig(data)
	if err != nil {
		return err
	}
	u := cfg.Upstream
	off := false
	u.Enabled = &off
	if err := writeSection(filepath.Join(data, gateway.ConfigFile), "upstream", u); err != nil {
		return err
	}
	fmt.Fprintln(stdout, "upstream sync is off; nothing queued is lost: `passerelle upstream set` resumes where it stopped")
	return nil
}

// upstreamSettings returns a reader of the upstream section of the
// configuration file as it is now: `passerelle upstream set` and `off`
// change it under a running gateway. The file is read again only when
// its size or time changes. The push and the pull both call it.
func upstreamSettings(path string) func() (gateway.Upstream, error) {
	var last struct {
		mu   gosync.Mutex
		size int64
		mod  time.Time
		u    gateway.Upstream
		err  error
		ok   bool
	}
	return func() (gateway.Upstream, error) {
		last.mu.Lock()
		defer last.mu.Unlock()
		fi, err := os.Stat(path)
		if errors.Is(err, os.ErrNotExist) {
			return gateway.Upstream{}, nil
		}
		if err != nil {
			return gateway.Upstream{}, err
		}
		if last.ok && fi.Size() == last.size && fi.ModTime().Equal(last.mod) {
			return last.u, last.err
		}
		cfg, err := gateway.LoadConfig(path)
		last.size, last.mod, last.u, last.err, last.ok = fi.Size(), fi.ModTime(), cfg.Upstream, err, true
		return cfg.Upstream, err
	}
}

// upstreamState is what /healthz and the dashboard show of sync.
type upstreamState struct {
	store    upstream.Store
	settings func() (gateway.Upstream, error)
	data     string
}

func (u upstreamState) Status(ctx context.Context) (upstream.Status, error) {
	set, err := u.settings()
	if err != nil {
		return upstream.Status{State: gateway.UpstreamError, LastError: err.Error()}, nil
	}
	return upstream.ReadStatus(ctx, u.store, set, time.Now())
}

// State implements web.Sync.
func (u upstreamState) State(ctx context.Context) views.Sync {
	s, err := u.Status(ctx)
	if err != nil || s.State == gateway.UpstreamDisabled {
		return views.Sync{}
	}
	v := views.Sync{Configured: true, QueueDepth: int(s.Queue)}
	if s.OldestUnsent != nil {
		v.OldestEvent = *s.OldestUnsent
	}
	if s.LastSuccess != nil {
		v.LastSuccess = *s.LastSuccess
	}
	if s.State == gateway.UpstreamError || s.State == gateway.UpstreamBehind {
		v.LastError = s.LastError
		if v.LastError == "" {
			v.LastError = s.State
		}
	}
	return v
}

var _ web.Upstream = upstreamState{}

// UpstreamView implements web.Upstream.
func (u upstreamState) UpstreamView(ctx context.Context) views.Upstream {
	set, err := u.settings()
	s, serr := u.Status(ctx)
	v := views.Upstream{On: set.On(), URL: set.URL, StoreID: set.StoreID, CAFingerprint: set.CAFingerprint,
		State: s.State, Queue: s.Queue, AckedThrough: s.AckedThrough, LastError: s.LastError}
	if err != nil {
		v.LastError = err.Error()
	} else if serr != nil {
		v.LastError = serr.Error()
	}
	if set.CAFile != "" {
		if pin, err := upstream.PinFile(inData(u.data, set.CAFile)); err == nil {
			v.CAFingerprint = hex.EncodeToString(pin)
		}
	}
	v.Pinned = v.CAFingerprint != ""
	if s.LastSuccess != nil {
		v.LastSuccess = *s.LastSuccess
	}
	return v
}

func inData(data, path string) string {
	if filepath.IsAbs(path) {
		return path
	}
	return filepath.Join(data, path)
}

// SaveUpstream implements web.Upstream.
func (u upstreamState) SaveUpstream(ctx context.Context, f views.UpstreamForm) (string, error) {
	set := gateway.Upstream{URL: f.URL, StoreID: f.StoreID, KeyFile: upstreamKeyFile, CAFingerprint: f.CAFingerprint}
	var fe []gateway.FieldError
	if f.Key != "" {
		if err := upstream.CheckKey(f.Key); err != nil {
			fe = append(fe, gateway.FieldError{Field: "upstream.key", Message: err.Error()})
		}
	} else if _, err := os.Stat(filepath.Join(u.data, upstreamKeyFile)); err != nil {
		fe = append(fe, gateway.FieldError{Field: "upstream.key", Message: "the store key is required"})
	}
	if f.CAFingerprint != "" {
		if _, err := upstream.ParseFingerprint(f.CAFingerprint); err != nil {
			fe = append(fe, gateway.FieldError{Field: "upstream.ca_fingerprint", Message: err.Error()})
		}
	}
	cfg := gateway.DefaultConfig()
	cfg.Upstream = set
	var ve *gateway.ValidationError
	if err := cfg.Validate(); errors.As(err, &ve) {
		fe = append(fe, ve.Fields...)
	}
	if len(fe) > 0 {
		return "", &gateway.ValidationError{Fields: fe}
	}
	if f.Key != "" {
		if err := upstreamFiles(u.data, f.Key, ""); err != nil {
			return "", err
		}
	}
	on := true
	set.Enabled = &on
	if err := writeSection(filepath.Join(u.data, gateway.ConfigFile), "upstream", set); err != nil {
		return "", err
	}
	return testUpstream(ctx, set, u.data), nil
}

// TestUpstream implements web.Upstream.
func (u upstreamState) TestUpstream(ctx context.Context) string {
	set, err := u.settings()
	if err != nil {
		return "not tried: " + err.Error()
	}
	return testUpstream(ctx, set, u.data)
}

// UpstreamOff implements web.Upstream.
func (u upstreamState) UpstreamOff(context.Context) error {
	return upstreamOff(u.data, io.Discard)
}
