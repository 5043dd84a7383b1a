package store

import (
	"errors"
	"fmt"
	"sync"
	"syscall"
	"time"

	"github.com/passerelle/passerelle/gateway"
	"modernc.org/sqlite"
)

// sqliteFull is SQLITE_FULL: SQLite's unix and Windows VFS answer a write
// the disk has no room for with it (ENOSPC, ERROR_DISK_FULL).
const sqliteFull = 13

// fullState remembers the last write that failed for want of space, until
// a write succeeds again: /healthz and the admin page say why nothing is
// recorded.
type fullState struct {
	mu    sync.Mutex
	since time.Time // zero while writes succeed
	err   error
}

// classify marks a write's error that a full disk caused with
// gateway.ErrStorageFull, for the edges to map, and notes it.
func (s *Store) classify(err error) error {
	if err == nil || !isFull(err) {
		return err
	}
	s.full.mu.Lock()
	if s.full.since.IsZero() {
		s.full.since = time.Now()
		s.log.Error("store: the disk is full: nothing can be recorded until space is freed", "err", err)
	}
	s.full.err = err
	s.full.mu.Unlock()
	if errors.Is(err, gateway.ErrStorageFull) {
		return err
	}
	return fmt.Errorf("%w: %w", gateway.ErrStorageFull, err)
}

// written notes a commit that went through: the disk has room again.
func (s *Store) written() {
	s.full.mu.Lock()
	if !s.full.since.IsZero() {
		s.log.Info("store: writes succeed again after a full disk", "full_for", time.Since(s.full.since).Round(time.Second))
		s.full.since, s.full.err = time.Time{}, nil
	}
	s.full.mu.Unlock()
}

// WriteHealth is nil while writes succeed; after a write failed for want of
// space, and until one succeeds, an error saying so (and since when).
func (s *Store) WriteHealth() error {
	s.full.mu.Lock()
	defer s.full.mu.Unlock()
	if s.full.since.IsZero() {
		return nil
	}
	return fmt.Errorf("disk full since %s: nothing is recorded until space is freed in the data directory",
		s.full.since.UTC().Format(time.RFC3339))
}

func isFull(err error) bool {
	var se *sqlite.Error
	if errors.As(err, &se) && se.Code()&0xff == sqliteFull {
		return true
	}
	return errors.Is(err, syscall.ENOSPC)
}
