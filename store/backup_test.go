package store_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/passerelle/passerelle/gateway"
	"github.com/passerelle/passerelle/store"
)

// TestBackupDuringWritesThenRestore backs up while writers commit, then
// restores the backup in place of a database that went on: every ticket
// committed before the backup began is in it, the old database is kept
// aside whole, and the restored store opens and checks.
func TestBackupDuringWritesThenRestore(t *testing.T) {
	ctx := context.Background()
	path := dbPath(t)
	s := open(t, path, nil)
	till := addTill(t, s, "caisse")
	var committed atomic.Int64 // tickets 1..committed are committed
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		for n := 1; ; n++ {
			select {
			case <-stop:
				return
			default:
			}
			tk := ticket(till, n)
			if err := s.Update(ctx, func(tx gateway.Tx) error { return createTicket(tx, &tk) }); err != nil {
				t.Errorf("ticket %d: %v", n, err)
				return
			}
			committed.Store(int64(n))
		}
	})
	waitFor(t, func() bool { return committed.Load() >= 200 })
	before := committed.Load()
	backup := filepath.Join(t.TempDir(), "backup.db")
	info, err := s.BackupTo(ctx, backup)
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { return committed.Load() >= info.Tickets+100 })
	close(stop)
	wg.Wait()
	if info.Tickets < before || info.LastSeq != info.Tickets {
		t.Fatalf("backup has %d tickets and last seq %d; %d were committed before it began", info.Tickets, info.LastSeq, before)
	}
	if fi, err := os.Stat(backup); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("backup mode: %v %v", fi.Mode(), err)
	}
	if _, err := s.BackupTo(ctx, backup); err == nil {
		t.Error("a second backup overwrote the first")
	}

	// While the store is open, restore refuses and changes nothing.
	if _, _, err := store.Restore(ctx, path, backup, time.Now()); !errors.Is(err, store.ErrInUse) {
		t.Fatalf("restore beside an open store: %v, want ErrInUse", err)
	}
	total := committed.Load()
	s.Close()

	aside, got, err := store.Restore(ctx, path, backup, time.Date(2026, 12, 2, 11, 0, 0, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	if got != info {
		t.Errorf("restored %+v, backed up %+v", got, info)
	}
	if filepath.Base(aside) != "passerelle.db.before-restore-20261202T110000Z" {
		t.Errorf("kept aside as %s", aside)
	}
	old, err := store.CheckBackup(ctx, aside)
	if err != nil || old.Tickets != total {
		t.Fatalf("the database kept aside has %d tickets (%v), want %d", old.Tickets, err, total)
	}
	r := open(t, path, nil)
	err = r.Update(ctx, func(tx gateway.Tx) error {
		for n := 1; n <= int(info.Tickets); n++ {
			if _, err := tx.TicketByID(ctx, ticket(till, n).ID); err != nil {
				return fmt.Errorf("ticket %d after restore: %w", n, err)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if last, err := r.LastSeq(ctx); err != nil || last != info.LastSeq {
		t.Errorf("last seq %d (%v), want %d", last, err, info.LastSeq)
	}
	if v, err := r.IntegrityCheck(ctx); v != "ok" || err != nil {
		t.Errorf("integrity %q %v", v, err)
	}
}

func TestRestoreRefuses(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	path := filepath.Join(dir, "passerelle.db")
	s := open(t, path, nil)
	till := addTill(t, s, "caisse")
	tk := ticket(till, 1)
	if err := s.Update(ctx, func(tx gateway.Tx) error { return createTicket(tx, &tk) }); err != nil {
		t.Fatal(err)
	}
	good := filepath.Join(dir, "good.db")
	if _, err := s.BackupTo(ctx, good); err != nil {
		t.Fatal(err)
	}
	s.Close()

	text := filepath.Join(dir, "notes.txt")
	os.WriteFile(text, []byte("not a database at all, but long enough to have a header"), 0o600)
	other := filepath.Join(dir, "other.db")
	odb := rawDB(t, other)
	if _, err := odb.Exec("CREATE TABLE recipes (name TEXT); PRAGMA user_version = 3"); err != nil {
		t.Fatal(err)
	}
	odb.Close()
	newer := filepath.Join(dir, "newer.db")
	copyFile(t, good, newer)
	ndb := rawDB(t, newer)
	if _, err := ndb.Exec("PRAGMA journal_mode = DELETE; PRAGMA user_version = 999"); err != nil {
		t.Fatal(err)
	}
	ndb.Close()

	for _, tc := range []struct {
		name, file string
		want       error
	}{
		{"text", text, store.ErrNotABackup},
		{"another program's database", other, store.ErrNotABackup},
		{"a newer schema", newer, store.ErrNewerSchema},
		{"missing", filepath.Join(dir, "nothing.db"), os.ErrNotExist},
		{"the live database", path, nil},
	} {
		before, _ := os.ReadFile(path)
		_, _, err := store.Restore(ctx, path, tc.file, time.Now())
		if err == nil {
			t.Errorf("%s: restored", tc.name)
			continue
		}
		if tc.want != nil && !errors.Is(err, tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, err, tc.want)
		}
		after, _ := os.ReadFile(path)
		if string(before) != string(after) {
			t.Errorf("%s: the database changed", tc.name)
		}
		if m, _ := filepath.Glob(path + ".before-restore-*"); len(m) > 0 {
			t.Fatalf("%s: a refused restore moved the database aside: %v", tc.name, m)
		}
		t.Logf("%s: %v", tc.name, err)
	}
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

// waitFor polls cond until it holds, or fails the test after a minute.
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within a minute")
		}
		time.Sleep(5 * time.Millisecond)
	}
}
