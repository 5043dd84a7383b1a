package store

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
)

// ownerOnly makes the database file, and its WAL and shared-memory files if
// they exist, readable by the service's user alone, whatever the mode of
// the folder: the database holds the tills' webhook secrets. SQLite gives a
// new -wal and -shm file the mode of the database file, so creating the
// database 0600 before SQLite does is enough for a new data directory; the
// chmods mend one made by an older version.
func ownerOnly(path string) error {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("store: create %s: %w", path, err)
	}
	f.Close()
	for _, p := range []string{path, path + "-wal", path + "-shm"} {
		if err := os.Chmod(p, 0o600); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("store: %w", err)
		}
	}
	return nil
}
