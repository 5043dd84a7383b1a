package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"path/filepath"
	"time"

	"github.com/passerelle/passerelle/store"
)

// operandsAndFlags parses fs from args, flags before, between or after the
// operands, and returns the operands.
func operandsAndFlags(fs *flag.FlagSet, args []string) ([]string, error) {
	var operands []string
	for rest := args; ; {
		if err := fs.Parse(rest); err != nil {
			return nil, errUsage
		}
		if rest = fs.Args(); len(rest) == 0 {
			return operands, nil
		}
		operands, rest = append(operands, rest[0]), rest[1:]
	}
}

// backupCommand writes a consistent copy of the database to FILE, beside a
// running gateway or not: SQLite's VACUUM INTO reads one snapshot while
// the gateway goes on committing.
func backupCommand(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("backup", flag.ContinueOnError)
	fs.SetOutput(stderr)
	data := dataFlag(fs)
	operands, err := operandsAndFlags(fs, args)
	if err != nil {
		return err
	}
	if len(operands) != 1 {
		fmt.Fprintln(stderr, "usage: passerelle backup [--data DIR] FILE")
		return errUsage
	}
	st, err := openStore(ctx, *data, stderr)
	if err != nil {
		return err
	}
	defer st.Close()
	info, err := st.BackupTo(ctx, operands[0])
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "backup written to %s: %d tickets, events up to %d, schema version %d\n",
		operands[0], info.Tickets, info.LastSeq, info.Schema)
	return nil
}

// restoreCommand replaces the data directory's database by a backup. The
// gateway must be stopped: a gateway answering for the directory (its
// listening record and /healthz) is named, and any process that still has
// the database open (a gateway that recorded nothing, a command) makes
// SQLite's exclusive lock fail.
func restoreCommand(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("restore", flag.ContinueOnError)
	fs.SetOutput(stderr)
	data := dataFlag(fs)
	operands, err := operandsAndFlags(fs, args)
	if err != nil {
		return err
	}
	if len(operands) != 1 {
		fmt.Fprintln(stderr, "usage: passerelle restore [--data DIR] FILE   (the gateway stopped)")
		return errUsage
	}
	if l, err := readListening(ctx, *data); err == nil {
		return fmt.Errorf("the gateway is running (pid %d, %s): stop it first (passerelle service stop), then restore; nothing was changed", l.PID, l.Listen)
	} else if !errors.Is(err, errNotRunning) {
		return err
	}
	if _, err := loadConfig(*data); err != nil {
		return err
	}
	aside, info, err := store.Restore(ctx, filepath.Join(*data, dbFile), operands[0], time.Now())
	if errors.Is(err, store.ErrInUse) {
		return fmt.Errorf("%w; nothing was changed", err)
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "restored %s: %d tickets, events up to %d, schema version %d\n", operands[0], info.Tickets, info.LastSeq, info.Schema)
	if aside != "" {
		fmt.Fprintf(stdout, "the database it replaced is kept as %s\n", aside)
	}
	fmt.Fprintln(stdout, "tills resuming their event stream past the restored log get 409 resume-past-end and re-read their tickets")
	return nil
}
