package main

import (
	"fmt"
	"io"
	"log/slog"
	"os"
	"time"

	"github.com/kardianos/service"
	"golang.org/x/sys/windows"
	"golang.org/x/sys/windows/svc/mgr"
)

func serviceDataDir() string { return systemDataDir() }

// systemdUnit is not used on Windows.
func systemdUnit(string) string { return "" }

// beforeInstall has nothing to do: the service runs as LocalSystem.
func beforeInstall(io.Writer) error { return nil }

// dataDirACL gives the data directory, and what is created in it, to
// SYSTEM (the service) and the Administrators alone: %ProgramData% lets
// every user read its sub-folders, and the database holds the tills'
// webhook secrets. P: the folder does not inherit ProgramData's entries.
const dataDirACL = "D:P(A;OICI;FA;;;SY)(A;OICI;FA;;;BA)"

// prepareServiceData creates %ProgramData%\Passerelle readable by the
// service and the administrators only, and makes sure the service is
// restarted when it fails, whether `passerelle service install` or the MSI
// (whose ServiceInstall cannot say it) registered it.
func prepareServiceData(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("data directory: %w", err)
	}
	sd, err := windows.SecurityDescriptorFromString(dataDirACL)
	if err != nil {
		return fmt.Errorf("data directory: %w", err)
	}
	dacl, _, err := sd.DACL()
	if err != nil {
		return fmt.Errorf("data directory: %w", err)
	}
	if err := windows.SetNamedSecurityInfo(dir, windows.SE_FILE_OBJECT,
		windows.DACL_SECURITY_INFORMATION|windows.PROTECTED_DACL_SECURITY_INFORMATION, nil, nil, dacl, nil); err != nil {
		return fmt.Errorf("data directory %s: permissions: %w", dir, err)
	}
	if service.Interactive() {
		return nil
	}
	return restartOnFailure()
}

// restartOnFailure sets the service's recovery actions: restart after 5 s,
// whether the process crashed or stopped with an error; the count of
// failures is forgotten after a day.
func restartOnFailure() error {
	m, err := mgr.Connect()
	if err != nil {
		return fmt.Errorf("service recovery: %w", err)
	}
	defer m.Disconnect()
	s, err := m.OpenService(serviceName)
	if err != nil {
		return fmt.Errorf("service recovery: %w", err)
	}
	defer s.Close()
	restart := mgr.RecoveryAction{Type: mgr.ServiceRestart, Delay: 5 * time.Second}
	if err := s.SetRecoveryActions([]mgr.RecoveryAction{restart, restart, restart}, 86400); err != nil {
		return fmt.Errorf("service recovery: %w", err)
	}
	if err := s.SetRecoveryActionsOnNonCrashFailures(true); err != nil {
		return fmt.Errorf("service recovery: %w", err)
	}
	return nil
}

// serviceLogger writes to the Windows event log (Application, source
// passerelle) under the service manager, to stderr in a console.
func serviceLogger(s service.Service, stderr io.Writer) (*slog.Logger, error) {
	if service.Interactive() {
		return slog.New(slog.NewTextHandler(stderr, nil)), nil
	}
	l, err := s.Logger(nil)
	if err != nil {
		return nil, fmt.Errorf("service: event log: %w", err)
	}
	return slog.New(newManagerHandler(l)), nil
}

// failed ends the process when the gateway fails by itself: the service
// manager sees the service die and applies its recovery actions (restart).
func failed(log *slog.Logger, err error) {
	log.Error("passerelle failed", "err", err)
	os.Exit(1)
}
