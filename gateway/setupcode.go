package gateway

import (
	"crypto/rand"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
)

// The setup code proves that whoever chooses the first admin password can
// read a file on the box (or run a command there): on a shared LAN, being
// first to open the page is not enough.

// SetupCodeFileName is the setup code's file in the data directory.
const SetupCodeFileName = "setup-code"

// SetupCodeLen is the length of a setup code. 31 symbols to the power of
// 10 is about 2^49: with LoginTriesAllowed guesses per address and window,
// out of reach.
const SetupCodeLen = 10

// setupCodeAlphabet has no 0/O, 1/I/L: the code is read on one screen and
// typed on another.
const setupCodeAlphabet = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"

// NewSetupCode returns a random setup code.
func NewSetupCode() string {
	// Rejection sampling keeps every symbol equally likely: 248 is the
	// largest multiple of 31 that fits in a byte.
	const limit = 256 - 256%len(setupCodeAlphabet)
	out := make([]byte, 0, SetupCodeLen)
	buf := make([]byte, 2*SetupCodeLen)
	for len(out) < SetupCodeLen {
		rand.Read(buf)
		for _, b := range buf {
			if int(b) < limit && len(out) < SetupCodeLen {
				out = append(out, setupCodeAlphabet[int(b)%len(setupCodeAlphabet)])
			}
		}
	}
	return string(out)
}

// normalizeSetupCode forgives what a person typing a code does: spaces,
// dashes, lower case.
func normalizeSetupCode(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r == '-' || r == ' ' || r == '\t' || r == '\r' || r == '\n':
			return -1
		case r >= 'a' && r <= 'z':
			return r - 'a' + 'A'
		}
		return r
	}, s)
}

func validSetupCode(s string) bool {
	if len(s) != SetupCodeLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		if strings.IndexByte(setupCodeAlphabet, s[i]) < 0 {
			return false
		}
	}
	return true
}

// SetupCodeFile keeps the setup code in a file readable by the box's
// owner only. The gateway and `passerelle admin setup-code` may both make
// it: the file is published without replacing one already there, so both
// agree on the code.
type SetupCodeFile struct {
	path string
	mu   sync.Mutex // one maker at a time in this process
}

// NewSetupCodeFile returns the setup code file of the data directory dir.
func NewSetupCodeFile(dir string) *SetupCodeFile {
	return &SetupCodeFile{path: filepath.Join(dir, SetupCodeFileName)}
}

// Path is where the code is.
func (f *SetupCodeFile) Path() string { return f.path }

// Code returns the code in the file, making a new one if there is none or
// if what is there is not a code.
func (f *SetupCodeFile) Code() (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for range 3 {
		code, err := f.read()
		if err == nil {
			return code, nil
		}
		if !errors.Is(err, fs.ErrNotExist) {
			return "", err
		}
		if err := f.publish(NewSetupCode()); err != nil && !errors.Is(err, fs.ErrExist) {
			return "", err
		}
		// Published, or another process was first: read what is there.
	}
	return "", fmt.Errorf("gateway: setup code %s: the file keeps changing", f.path)
}

// read returns the code in the file. A file that holds no valid code (an
// edit by hand, a copy gone wrong) reads as none, and is replaced.
func (f *SetupCodeFile) read() (string, error) {
	b, err := os.ReadFile(f.path)
	if errors.Is(err, fs.ErrNotExist) {
		return "", err
	}
	if err != nil {
		return "", fmt.Errorf("gateway: setup code: %w", err)
	}
	code := strings.TrimSpace(string(b))
	if !validSetupCode(code) {
		if err := os.Remove(f.path); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return "", fmt.Errorf("gateway: setup code: %w", err)
		}
		return "", fs.ErrNotExist
	}
	return code, nil
}

// publish writes code to a temporary file, syncs it, then puts it in
// place atomically: a crash leaves no file or a whole one. A hard link
// fails if the file exists (another maker was first), where a rename would
// silently replace a code someone may have been given; on a filesystem
// without hard links it falls back to a rename.
func (f *SetupCodeFile) publish(code string) error {
	dir := filepath.Dir(f.path)
	tmp, err := os.CreateTemp(dir, "."+SetupCodeFileName+".tmp*")
	if err != nil {
		return fmt.Errorf("gateway: setup code: %w", err)
	}
	defer os.Remove(tmp.Name())
	err = tmp.Chmod(0o600)
	if err == nil {
		_, err = tmp.WriteString(code + "\n")
	}
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("gateway: write setup code: %w", err)
	}
	if err := os.Link(tmp.Name(), f.path); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return err
		}
		if err := os.Rename(tmp.Name(), f.path); err != nil {
			return fmt.Errorf("gateway: write setup code: %w", err)
		}
	}
	if d, err := os.Open(dir); err == nil {
		d.Sync() // not supported on every OS (Windows): best effort
		d.Close()
	}
	return nil
}

// Remove deletes the code: it was used, or a password is set. No file is
// not an error.
func (f *SetupCodeFile) Remove() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := os.Remove(f.path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("gateway: remove setup code: %w", err)
	}
	return nil
}
