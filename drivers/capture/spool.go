package capture

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
)

// Spool file names: NNNNNNNNNNNN.job, a connection's bytes to send;
// .part while the till is still sending (dropped at start: the till saw
// its connection fail); .sending while the forwarder sends it.
const (
	extJob     = ".job"
	extPart    = ".part"
	extSending = ".sending"
)

// ErrSpoolFull is a connection refused because the spool is at its limit.
var ErrSpoolFull = errors.New("capture: spool full")

// spool is the folder of jobs waiting for the printer.
type spool struct {
	dir      string
	maxBytes int64
	maxFiles int

	mu    sync.Mutex
	next  uint64
	files []string // waiting, oldest first
	bytes int64
}

// openSpool opens dir, dropping unfinished files. A file that was being
// sent when the process died is sent again only if it was never started
// (see docs/capture.md): it is kept as .sending and reported by uncertain.
func openSpool(dir string, maxBytes int64, maxFiles int) (*spool, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("capture: spool: %w", err)
	}
	s := &spool{dir: dir, maxBytes: maxBytes, maxFiles: maxFiles}
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("capture: spool: %w", err)
	}
	for _, e := range ents {
		name := e.Name()
		ext := filepath.Ext(name)
		n, err := strconv.ParseUint(strings.TrimSuffix(name, ext), 10, 64)
		if err != nil {
			continue
		}
		s.next = max(s.next, n+1)
		switch ext {
		case extPart:
			_ = os.Remove(filepath.Join(dir, name))
		case extJob:
			info, err := e.Info()
			if err != nil {
				return nil, fmt.Errorf("capture: spool: %w", err)
			}
			s.files = append(s.files, name)
			s.bytes += info.Size()
		}
	}
	slices.Sort(s.files)
	return s, nil
}

// uncertain lists the files that were being sent when the process died:
// the printer may have printed them, so they are not sent again.
func (s *spool) uncertain() []string {
	m, _ := filepath.Glob(filepath.Join(s.dir, "*"+extSending))
	return m
}

// waiting returns how many files wait, and their bytes.
func (s *spool) waiting() (int, int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.files), s.bytes
}

// part is a connection's bytes being written to the spool.
type part struct {
	s    *spool
	f    *os.File
	name string
	n    int64
}

// create starts a new spool file, or refuses when the spool is full.
func (s *spool) create() (*part, error) {
	s.mu.Lock()
	if len(s.files) >= s.maxFiles || s.bytes >= s.maxBytes {
		s.mu.Unlock()
		return nil, ErrSpoolFull
	}
	name := fmt.Sprintf("%012d", s.next)
	s.next++
	s.mu.Unlock()
	f, err := os.OpenFile(filepath.Join(s.dir, name+extPart), os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return nil, fmt.Errorf("capture: spool: %w", err)
	}
	return &part{s: s, f: f, name: name}, nil
}

// Write adds p, up to the spool's room.
func (p *part) Write(b []byte) (int, error) {
	p.s.mu.Lock()
	room := p.s.maxBytes - p.s.bytes - p.n
	p.s.mu.Unlock()
	if int64(len(b)) > room {
		return 0, ErrSpoolFull
	}
	n, err := p.f.Write(b)
	p.n += int64(n)
	return n, err
}

// commit makes the file durable and puts it at the end of the queue.
// An empty file is dropped.
func (p *part) commit() error {
	path := filepath.Join(p.s.dir, p.name)
	if p.n == 0 {
		p.abort()
		return nil
	}
	if err := p.f.Sync(); err != nil {
		p.abort()
		return fmt.Errorf("capture: spool: %w", err)
	}
	if err := p.f.Close(); err != nil {
		p.abort()
		return fmt.Errorf("capture: spool: %w", err)
	}
	if err := os.Rename(path+extPart, path+extJob); err != nil {
		return fmt.Errorf("capture: spool: %w", err)
	}
	if err := syncDir(p.s.dir); err != nil {
		return err
	}
	p.s.mu.Lock()
	p.s.files = append(p.s.files, p.name+extJob)
	p.s.bytes += p.n
	p.s.mu.Unlock()
	return nil
}

func (p *part) abort() {
	_ = p.f.Close()
	_ = os.Remove(filepath.Join(p.s.dir, p.name+extPart))
}

// oldest returns the first waiting file's name, or "".
func (s *spool) oldest() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.files) == 0 {
		return ""
	}
	return s.files[0]
}

// send marks name as being sent, calls fn with its bytes, and removes it
// once fn succeeded. When fn fails the file waits again, at its place.
// The caller has reached the printer already: a file is marked only when
// its bytes are about to go.
func (s *spool) send(name string, fn func(r io.Reader) error) error {
	path := filepath.Join(s.dir, name)
	sending := strings.TrimSuffix(path, extJob) + extSending
	if err := os.Rename(path, sending); err != nil {
		return fmt.Errorf("capture: spool: %w", err)
	}
	if err := syncDir(s.dir); err != nil {
		return err
	}
	f, err := os.Open(sending)
	if err != nil {
		return fmt.Errorf("capture: spool: %w", err)
	}
	info, _ := f.Stat()
	err = fn(f)
	f.Close()
	if err != nil {
		if rerr := os.Rename(sending, path); rerr != nil {
			return errors.Join(err, rerr)
		}
		return err
	}
	if err := os.Remove(sending); err != nil {
		return fmt.Errorf("capture: spool: %w", err)
	}
	if err := syncDir(s.dir); err != nil {
		return err
	}
	s.mu.Lock()
	s.files = s.files[1:]
	if info != nil {
		s.bytes -= info.Size()
	}
	s.mu.Unlock()
	return nil
}

// syncDir makes a rename or remove in dir durable. Windows cannot sync a
// folder (its renames are journaled by NTFS).
func syncDir(dir string) error {
	if runtime.GOOS == "windows" {
		return nil
	}
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("capture: spool: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil && !errors.Is(err, os.ErrInvalid) {
		return fmt.Errorf("capture: spool: %w", err)
	}
	return nil
}
