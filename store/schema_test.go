package store_test

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/passerelle/passerelle/gateway"
	"github.com/passerelle/passerelle/store"
)

func userVersion(t *testing.T, path string) int {
	t.Helper()
	db := rawDB(t, path)
	defer db.Close()
	var v int
	if err := db.QueryRow("PRAGMA user_version").Scan(&v); err != nil {
		t.Fatal(err)
	}
	return v
}

// schema returns the database's schema as SQLite records it.
func schema(t *testing.T, path string) string {
	t.Helper()
	db := rawDB(t, path)
	defer db.Close()
	rows, err := db.Query("SELECT type, name, COALESCE(sql, '') FROM sqlite_schema ORDER BY type, name")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var b strings.Builder
	for rows.Next() {
		var typ, name, sql string
		if err := rows.Scan(&typ, &name, &sql); err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&b, "%s %s: %s\n", typ, name, sql)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

func TestMigrateNewFile(t *testing.T) {
	path := dbPath(t)
	s := open(t, path, nil)
	if store.SchemaVersion() < 1 {
		t.Fatalf("SchemaVersion() = %d", store.SchemaVersion())
	}
	if v := userVersion(t, path); v != store.SchemaVersion() {
		t.Errorf("user_version = %d, want %d", v, store.SchemaVersion())
	}
	got := schema(t, path)
	for _, table := range []string{"tills", "tickets", "payments", "events", "webhook_cursors"} {
		if !strings.Contains(got, "table "+table+": ") {
			t.Errorf("no table %s in\n%s", table, got)
		}
	}
	if res, err := s.IntegrityCheck(context.Background()); err != nil || res != "ok" {
		t.Errorf("integrity check: %q, %v", res, err)
	}
}

func TestReopenIsNoOp(t *testing.T) {
	path := dbPath(t)
	s, err := store.Open(context.Background(), path, discard, nil)
	if err != nil {
		t.Fatal(err)
	}
	till := addTill(t, s, "caisse")
	tk := ticket(till, 1)
	if err := s.Update(context.Background(), func(tx gateway.Tx) error { return createTicket(tx, &tk) }); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	before := schema(t, path)

	for range 2 {
		s, err := store.Open(context.Background(), path, discard, nil)
		if err != nil {
			t.Fatalf("reopen: %v", err)
		}
		if _, err := s.Ticket(context.Background(), tk.ID); err != nil {
			t.Errorf("ticket after reopen: %v", err)
		}
		if seq, err := s.LastSeq(context.Background()); err != nil || seq != 1 {
			t.Errorf("last seq after reopen: %d, %v", seq, err)
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
	}
	if after := schema(t, path); after != before {
		t.Errorf("reopening changed the schema:\n%s\nwas\n%s", after, before)
	}
	if v := userVersion(t, path); v != store.SchemaVersion() {
		t.Errorf("user_version = %d, want %d", v, store.SchemaVersion())
	}
}

func fileSum(t *testing.T, path string) [32]byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return sha256.Sum256(b)
}

func TestNewerSchemaRefused(t *testing.T) {
	path := dbPath(t)
	s, err := store.Open(context.Background(), path, discard, nil)
	if err != nil {
		t.Fatal(err)
	}
	addTill(t, s, "caisse")
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	newer := store.SchemaVersion() + 1
	db := rawDB(t, path)
	if _, err := db.Exec(fmt.Sprintf("PRAGMA user_version = %d", newer)); err != nil {
		t.Fatal(err)
	}
	// Closing the last connection checkpoints the WAL into the file.
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	sum := fileSum(t, path)

	_, err = store.Open(context.Background(), path, discard, nil)
	if err == nil {
		t.Fatal("a database of a newer schema was opened")
	}
	for _, v := range []int{newer, store.SchemaVersion()} {
		if !strings.Contains(err.Error(), strconv.Itoa(v)) {
			t.Errorf("error %q does not name version %d", err, v)
		}
	}
	if fileSum(t, path) != sum {
		t.Error("the refused database was changed")
	}
	if _, err := os.Stat(path + "-wal"); err == nil {
		if wal, _ := os.ReadFile(path + "-wal"); len(wal) > 0 {
			t.Errorf("the refused database has a WAL of %d bytes", len(wal))
		}
	}
	if v := userVersion(t, path); v != newer {
		t.Errorf("user_version = %d, want %d still", v, newer)
	}
}

// The pragmas are in the DSN so that every pooled connection has them:
// hold all the readers at once, so that each is a connection of its own.
func TestPragmasOnEveryConnection(t *testing.T) {
	s := open(t, dbPath(t), nil)
	ctx := context.Background()
	want := map[string]string{
		"journal_mode": "wal",
		"synchronous":  "2", // FULL
		"foreign_keys": "1",
		"busy_timeout": "10000",
	}
	check := func(t *testing.T, name string, c *sql.Conn) {
		for pragma, v := range want {
			var got string
			if err := c.QueryRowContext(ctx, "PRAGMA "+pragma).Scan(&got); err != nil {
				t.Errorf("%s: %s: %v", name, pragma, err)
				continue
			}
			if got != v {
				t.Errorf("%s: %s = %s, want %s", name, pragma, got, v)
			}
		}
	}

	readers := s.ReaderDB()
	n := readers.Stats().MaxOpenConnections
	if n < 2 {
		t.Fatalf("reader pool of %d connections", n)
	}
	conns := make([]*sql.Conn, n)
	for i := range conns {
		c, err := readers.Conn(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		conns[i] = c
	}
	if open := readers.Stats().OpenConnections; open != n {
		t.Fatalf("%d reader connections open, want %d", open, n)
	}
	var wg sync.WaitGroup
	for i, c := range conns {
		wg.Go(func() { check(t, fmt.Sprintf("reader %d", i), c) })
	}
	// The writer's connection, from within a write, while the readers
	// are busy.
	wg.Go(func() {
		for pragma, v := range want {
			got, err := s.WriterPragma(ctx, pragma)
			if err != nil || got != v {
				t.Errorf("writer: %s = %s, %v; want %s", pragma, got, err, v)
			}
		}
	})
	wg.Wait()
	// The savepoints' journal stays in memory.
	if got, err := s.WriterPragma(ctx, "temp_store"); err != nil || got != "2" {
		t.Errorf("writer: temp_store = %s, %v; want 2 (MEMORY)", got, err)
	}

	// The writer's transactions see the same (foreign keys are enforced
	// inside Update).
	err := s.Update(ctx, func(tx gateway.Tx) error {
		tk := ticket(gateway.Till{ID: "till_nobody", Name: "nobody"}, 1)
		return tx.InsertTicket(ctx, &tk)
	})
	if err == nil || !strings.Contains(err.Error(), "FOREIGN KEY") {
		t.Errorf("ticket of an unknown till: got %v, want a foreign key error", err)
	}
}

// The schema refuses bad money and states even from raw SQL, whatever the
// Go code checks.
func TestConstraintsRefuseBadRows(t *testing.T) {
	path := dbPath(t)
	s := open(t, path, nil)
	till := addTill(t, s, "caisse")
	db := rawDB(t, path)
	insert := func(id string, total any, status string) error {
		_, err := db.Exec(`INSERT INTO tickets (id, till_id, ref, currency, lines, vat, total, status, version, source, content_hash, created_at, updated_at, seq)
			VALUES (?, ?, ?, 'EUR', '[]', '[]', ?, ?, 1, 'till', x'00', '2025-01-01T00:00:00.000000000Z', '2025-01-01T00:00:00.000000000Z',
				(SELECT COALESCE(MAX(seq), 0) + 1 FROM tickets))`,
			id, till.ID, id, total, status)
		return err
	}
	tests := []struct {
		name   string
		total  any
		status string
		ok     bool
	}{
		{"valid", int64(1), "open", true},
		{"largest total", int64(100_000_000), "paid", true},
		{"zero total", int64(0), "open", false},
		{"negative total", int64(-100), "open", false},
		{"total too large", int64(100_000_001), "open", false},
		{"fractional total", 12.5, "open", false},
		{"text total", "12 EUR", "open", false},
		{"unknown status", int64(100), "bogus", false},
		{"status in capitals", int64(100), "OPEN", false},
		{"empty status", int64(100), "", false},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := insert(fmt.Sprintf("tkt_%d", i), tt.total, tt.status)
			if tt.ok && err != nil {
				t.Fatalf("refused: %v", err)
			}
			if !tt.ok {
				if err == nil {
					t.Fatal("accepted")
				}
				if msg := err.Error(); !strings.Contains(msg, "constraint") && !strings.Contains(msg, "cannot store") {
					t.Fatalf("refused for another reason: %v", err)
				}
			}
		})
	}
	var n int
	if err := db.QueryRow("SELECT count(*) FROM tickets").Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 2 {
		t.Errorf("%d tickets stored, want the 2 valid ones", n)
	}
}

func TestBackup(t *testing.T) {
	path := dbPath(t)
	s := open(t, path, nil)
	till := addTill(t, s, "caisse")
	for i := range 10 {
		tk := ticket(till, i)
		if err := s.Update(context.Background(), func(tx gateway.Tx) error { return createTicket(tx, &tk) }); err != nil {
			t.Fatal(err)
		}
	}
	backup := filepath.Join(t.TempDir(), "backup.db")
	if err := s.Backup(context.Background(), backup); err != nil {
		t.Fatal(err)
	}
	// A backup is never written over an existing file.
	if err := s.Backup(context.Background(), backup); err == nil {
		t.Error("backup over an existing file succeeded")
	}

	b := open(t, backup, nil)
	if res, err := b.IntegrityCheck(context.Background()); err != nil || res != "ok" {
		t.Errorf("integrity check of the backup: %q, %v", res, err)
	}
	tks, err := b.Tickets(context.Background(), gateway.TicketQuery{Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	if len(tks) != 10 {
		t.Errorf("backup has %d tickets, want 10", len(tks))
	}
	if seq, err := b.LastSeq(context.Background()); err != nil || seq != 10 {
		t.Errorf("backup's last seq: %d, %v", seq, err)
	}
	if v := userVersion(t, backup); v != store.SchemaVersion() {
		t.Errorf("backup's user_version = %d", v)
	}
	if _, err := b.TillByName(context.Background(), "caisse"); errors.Is(err, gateway.ErrNotFound) {
		t.Error("backup lost the till")
	}
}

// Migration 0008 removes the json_valid CHECKs of the tickets' lines and
// VAT and of the events' data, in place, on a new database and on one
// upgraded from the first schema with a ticket in it: the other CHECKs
// stay, the rows are read as before, and the file is sound.
func TestJSONChecksRemoved(t *testing.T) {
	for name, path := range map[string]string{"new": dbPath(t), "upgraded": oldDatabase(t)} {
		t.Run(name, func(t *testing.T) {
			s := open(t, path, nil)
			till := addTill(t, s, "caisse 0008")
			tk := ticket(till, 1)
			if err := s.Update(context.Background(), func(tx gateway.Tx) error { return createTicket(tx, &tk) }); err != nil {
				t.Fatal(err)
			}
			db := rawDB(t, path)
			defer db.Close()
			for _, table := range []string{"tickets", "events"} {
				var sql string
				if err := db.QueryRow("SELECT sql FROM sqlite_schema WHERE type = 'table' AND name = ?", table).Scan(&sql); err != nil {
					t.Fatal(err)
				}
				if strings.Contains(sql, "json_valid") {
					t.Errorf("a JSON check is left in %s", sql)
				}
			}
			if got := schema(t, path); !strings.Contains(got, "CHECK (total BETWEEN 1 AND 100000000)") || !strings.Contains(got, "CHECK (json_valid(receipt))") {
				t.Errorf("other checks are gone:\n%s", got)
			}
			if _, err := db.Exec(`UPDATE tickets SET total = 0 WHERE id = ?`, tk.ID); err == nil {
				t.Error("a zero total is accepted after the migration")
			}
			back, err := s.Ticket(context.Background(), tk.ID)
			if err != nil || len(back.Lines) != len(tk.Lines) {
				t.Fatalf("ticket after the migration: %+v, %v", back, err)
			}
			if res, err := s.IntegrityCheck(context.Background()); err != nil || res != "ok" {
				t.Errorf("integrity check: %q, %v", res, err)
			}
		})
	}
}
