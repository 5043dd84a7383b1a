//go:build !windows

package main

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"os/user"
	"runtime"

	"github.com/kardianos/service"

	"github.com/passerelle/passerelle/packaging/systemd"
)

// serviceUser is the dedicated system user the unit runs as.
const serviceUser = "passerelle"

func serviceDataDir() string { return systemDataDir() }

func systemdUnit(exe string) string { return systemd.Unit(exe) }

// beforeInstall creates the service's system user, as the packages'
// scripts do, when the binary is installed by hand.
func beforeInstall(stdout io.Writer) error {
	if runtime.GOOS != "linux" {
		return nil
	}
	var unknown user.UnknownUserError
	if _, err := user.Lookup(serviceUser); !errors.As(err, &unknown) {
		return err // nil: it exists
	}
	out, err := exec.Command("useradd", "--system", "--user-group", "--home-dir", systemDataDir(),
		"--no-create-home", "--shell", "/usr/sbin/nologin", "--comment", "Passerelle payment gateway", serviceUser).CombinedOutput()
	if err != nil {
		return fmt.Errorf("service install: create the user %s: %w: %s", serviceUser, err, out)
	}
	fmt.Fprintf(stdout, "system user %s created\n", serviceUser)
	return nil
}

// prepareServiceData has nothing to do: systemd creates the directory
// (StateDirectory=passerelle) for the service's user.
func prepareServiceData(string) error { return nil }

// serviceLogger writes text to stderr, which systemd sends to the journal;
// there, without the time, which the journal adds.
func serviceLogger(_ service.Service, stderr io.Writer) (*slog.Logger, error) {
	opts := &slog.HandlerOptions{}
	if os.Getenv("JOURNAL_STREAM") != "" {
		opts.ReplaceAttr = dropTime
	}
	return slog.New(slog.NewTextHandler(stderr, opts)), nil
}

// failed has nothing to do: Run's RunWait returns when the gateway fails,
// and the process exits with its error.
func failed(*slog.Logger, error) {}
