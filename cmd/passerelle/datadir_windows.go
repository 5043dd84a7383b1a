package main

import (
	"io/fs"
	"os"
	"path/filepath"
)

// systemDataDir is the service's data directory, %ProgramData%\Passerelle.
func systemDataDir() string {
	base := os.Getenv("ProgramData")
	if base == "" {
		base = `C:\ProgramData`
	}
	return filepath.Join(base, "Passerelle")
}

const adminHint = "run the command from an administrator's prompt"

// asOwner has nothing to do on Windows: an administrator's files in the
// data directory are readable by the service, which runs as LocalSystem.
func asOwner(string, fs.FileInfo) error { return nil }
