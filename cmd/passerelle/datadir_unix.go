//go:build !windows

package main

import (
	"fmt"
	"io/fs"
	"os"
	"syscall"
)

// systemDataDir is the service's data directory: the systemd unit's
// StateDirectory=passerelle.
func systemDataDir() string { return "/var/lib/passerelle" }

const adminHint = "run the command with sudo"

// asOwner makes a command run by root on a directory owned by another user
// (the service's, passerelle) run as that user from now on. Without it,
// `sudo passerelle till add` would leave a root-owned WAL or shared-memory
// file that the service, which is not root, then cannot open.
func asOwner(dir string, fi fs.FileInfo) error {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok || os.Geteuid() != 0 || st.Uid == 0 {
		return nil
	}
	// Groups first: once the user is changed, the groups cannot be.
	// Go applies these to every thread of the process (Linux, Go 1.16+).
	if err := syscall.Setgroups(nil); err != nil {
		return fmt.Errorf("drop groups: %w", err)
	}
	if err := syscall.Setgid(int(st.Gid)); err != nil {
		return fmt.Errorf("become group %d: %w", st.Gid, err)
	}
	if err := syscall.Setuid(int(st.Uid)); err != nil {
		return fmt.Errorf("become user %d: %w", st.Uid, err)
	}
	return nil
}
