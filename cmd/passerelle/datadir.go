package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
)

// devDataDir is the data directory of a developer's checkout (`make run`).
const devDataDir = "./passerelle-data"

// defaultDataDir is where a command looks when --data is not given, so that
// a manager on the shop's box never types it:
//
//  1. PASSERELLE_DATA, if set;
//  2. the system data directory (systemDataDir: /var/lib/passerelle,
//     %ProgramData%\Passerelle) if it exists: the packages and `passerelle
//     service` put the service's data there;
//  3. ./passerelle-data, a developer's checkout.
//
// The service itself always uses the system directory (serviceDataDir).
func defaultDataDir() string {
	if v := os.Getenv("PASSERELLE_DATA"); v != "" {
		return v
	}
	// Stat, not Open: the directory is the service user's (0700), and a
	// manager without the right to read it must still be told about it
	// (checkDataDir) rather than sent to an empty ./passerelle-data.
	if fi, err := os.Stat(systemDataDir()); err == nil && fi.IsDir() {
		return systemDataDir()
	}
	return devDataDir
}

// checkDataDir is run before a command opens the data directory: as root on
// a directory that belongs to the service's user, the command becomes that
// user (asOwner), so that the files SQLite creates beside the database stay
// the service's; without the right to read it, the error says what to do.
func checkDataDir(dir string) error {
	fi, err := os.Stat(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil // created by the caller
	}
	if err != nil {
		return fmt.Errorf("data directory: %w", err)
	}
	if err := asOwner(dir, fi); err != nil {
		return fmt.Errorf("data directory %s: %w", dir, err)
	}
	f, err := os.Open(dir)
	if errors.Is(err, fs.ErrPermission) {
		return fmt.Errorf("data directory: %w (it is the service's: %s)", err, adminHint)
	}
	if err != nil {
		return fmt.Errorf("data directory: %w", err)
	}
	return f.Close()
}
