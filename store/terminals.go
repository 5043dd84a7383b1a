package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/passerelle/passerelle/gateway"
)

var _ gateway.TerminalStore = (*Store)(nil)

const terminalColumns = `id, name, serial, model, app_version, token_hash, display_cols, display_rows,
	printer_cols, keys, paired_at, last_seen, revoked_at`

func optTime(s *string) (*time.Time, error) {
	if s == nil {
		return nil, nil
	}
	t, err := parseTime(*s)
	if err != nil {
		return nil, err
	}
	return &t, nil
}

func optTimeArg(t *time.Time) *string {
	if t == nil {
		return nil
	}
	s := formatTime(*t)
	return &s
}

func scanTerminal(row scanner) (gateway.Terminal, error) {
	var t gateway.Terminal
	var keys, paired string
	var seen, revoked *string
	err := row.Scan(&t.ID, &t.Name, &t.Serial, &t.Model, &t.AppVersion, &t.TokenHash, &t.DisplayCols,
		&t.DisplayRows, &t.PrinterCols, &keys, &paired, &seen, &revoked)
	if errors.Is(err, sql.ErrNoRows) {
		return t, gateway.ErrNotFound
	}
	if err != nil {
		return t, fmt.Errorf("store: read terminal: %w", err)
	}
	if err := json.Unmarshal([]byte(keys), &t.Keys); err != nil {
		return t, fmt.Errorf("store: terminal %s keys: %w", t.ID, err)
	}
	if t.PairedAt, err = parseTime(paired); err != nil {
		return t, err
	}
	if t.LastSeen, err = optTime(seen); err != nil {
		return t, err
	}
	t.RevokedAt, err = optTime(revoked)
	return t, err
}

func (s *Store) terminalWhere(ctx context.Context, where string, args ...any) (gateway.Terminal, error) {
	return scanTerminal(s.db.QueryRowContext(ctx, "SELECT "+terminalColumns+" FROM terminals WHERE "+where, args...))
}

// TerminalByTokenHash implements gateway.TerminalStore. Revoked terminals
// are not found.
func (s *Store) TerminalByTokenHash(ctx context.Context, hash []byte) (gateway.Terminal, error) {
	return s.terminalWhere(ctx, "token_hash = ? AND revoked_at IS NULL", hash)
}

// TerminalByName implements gateway.TerminalStore.
func (s *Store) TerminalByName(ctx context.Context, name string) (gateway.Terminal, error) {
	return s.terminalWhere(ctx, "name = ?", name)
}

// TerminalByID implements gateway.TerminalStore.
func (s *Store) TerminalByID(ctx context.Context, id string) (gateway.Terminal, error) {
	return s.terminalWhere(ctx, "id = ?", id)
}

// Terminals implements gateway.TerminalStore.
func (s *Store) Terminals(ctx context.Context) ([]gateway.Terminal, error) {
	rows, err := s.db.QueryContext(ctx, "SELECT "+terminalColumns+" FROM terminals ORDER BY name")
	if err != nil {
		return nil, fmt.Errorf("store: list terminals: %w", err)
	}
	defer rows.Close()
	var out []gateway.Terminal
	for rows.Next() {
		t, err := scanTerminal(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	return out, rows.Err()
}

func encodeKeys(keys []string) (string, error) {
	if keys == nil {
		keys = []string{}
	}
	kb, err := json.Marshal(keys)
	if err != nil {
		return "", fmt.Errorf("store: encode keys: %w", err)
	}
	return string(kb), nil
}

func terminalArgs(t *gateway.Terminal) ([]any, error) {
	keys, err := encodeKeys(t.Keys)
	if err != nil {
		return nil, err
	}
	return []any{t.Name, t.Serial, t.Model, t.AppVersion, t.TokenHash, t.DisplayCols, t.DisplayRows,
		t.PrinterCols, keys, formatTime(t.PairedAt), optTimeArg(t.LastSeen), optTimeArg(t.RevokedAt), t.ID}, nil
}

// InsertTerminal implements gateway.Tx.
func (t *txn) InsertTerminal(_ context.Context, tm *gateway.Terminal) error {
	args, err := terminalArgs(tm)
	if err != nil {
		return err
	}
	_, err = t.exec(`INSERT INTO terminals (name, serial, model, app_version, token_hash, display_cols,
		display_rows, printer_cols, keys, paired_at, last_seen, revoked_at, id)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, args...)
	if err != nil {
		return fmt.Errorf("store: insert terminal: %w", err)
	}
	return nil
}

// TouchTerminal implements gateway.Tx.
func (t *txn) TouchTerminal(_ context.Context, tm *gateway.Terminal) (gateway.Terminal, error) {
	keys, err := encodeKeys(tm.Keys)
	if err != nil {
		return gateway.Terminal{}, err
	}
	got, err := scanTerminal(t.queryRow(`UPDATE terminals SET last_seen = ?, app_version = ?, display_cols = ?,
		display_rows = ?, printer_cols = ?, keys = ? WHERE id = ? AND revoked_at IS NULL RETURNING `+terminalColumns,
		optTimeArg(tm.LastSeen), tm.AppVersion, tm.DisplayCols, tm.DisplayRows, tm.PrinterCols, keys, tm.ID))
	if errors.Is(err, gateway.ErrNotFound) {
		// Revoked, or gone: either way its token no longer opens anything.
		return got, fmt.Errorf("store: touch terminal %s: %w", tm.ID, gateway.ErrUnauthorized)
	}
	if err != nil {
		return got, fmt.Errorf("store: touch terminal %s: %w", tm.ID, err)
	}
	return got, nil
}

// RenameTerminal implements gateway.Tx.
func (t *txn) RenameTerminal(_ context.Context, id, name string) (gateway.Terminal, error) {
	var other string
	err := t.queryRow("SELECT id FROM terminals WHERE name = ? AND id <> ?", name, id).Scan(&other)
	switch {
	case err == nil:
		return gateway.Terminal{}, gateway.Conflict("a terminal is already named %q", name)
	case !errors.Is(err, sql.ErrNoRows):
		return gateway.Terminal{}, fmt.Errorf("store: rename terminal %s: %w", id, err)
	}
	got, err := scanTerminal(t.queryRow("UPDATE terminals SET name = ? WHERE id = ? RETURNING "+terminalColumns, name, id))
	if err != nil {
		return got, fmt.Errorf("store: rename terminal %s: %w", id, err)
	}
	return got, nil
}

// RevokeTerminal implements gateway.Tx.
func (t *txn) RevokeTerminal(_ context.Context, id string, at time.Time) (gateway.Terminal, error) {
	got, err := scanTerminal(t.queryRow("UPDATE terminals SET revoked_at = COALESCE(revoked_at, ?) WHERE id = ? RETURNING "+terminalColumns,
		formatTime(at), id))
	if err != nil {
		return got, fmt.Errorf("store: revoke terminal %s: %w", id, err)
	}
	return got, nil
}

// InsertPairingCode implements gateway.Tx.
func (t *txn) InsertPairingCode(_ context.Context, hash []byte, created, expires time.Time) error {
	// A used or expired code with the same digits is replaced; a live one
	// is not, and the caller draws another code.
	res, err := t.exec(`INSERT INTO pairing_codes (code_hash, created_at, expires_at) VALUES (?, ?, ?)
		ON CONFLICT (code_hash) DO UPDATE SET created_at = excluded.created_at,
			expires_at = excluded.expires_at, used_at = NULL
		WHERE used_at IS NOT NULL OR expires_at <= excluded.created_at`,
		hash, formatTime(created), formatTime(expires))
	if err != nil {
		return fmt.Errorf("store: insert pairing code: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return gateway.Conflict("that pairing code is live already")
	}
	return nil
}

// VoidPairingCodes implements gateway.Tx. A voided code is marked used:
// spent whatever the clock does later, and its digits free to draw again.
func (t *txn) VoidPairingCodes(_ context.Context, now time.Time) (int, error) {
	res, err := t.exec(`UPDATE pairing_codes SET used_at = ? WHERE used_at IS NULL AND expires_at > ?`,
		formatTime(now), formatTime(now))
	if err != nil {
		return 0, fmt.Errorf("store: void pairing codes: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("store: void pairing codes: %w", err)
	}
	return int(n), nil
}

// UsePairingCode implements gateway.Tx.
func (t *txn) UsePairingCode(_ context.Context, hash []byte, now time.Time) error {
	// A code created after now (beyond what the clock may step back) was
	// made before a step back of the clock: it is refused rather than
	// live for as much longer as the step.
	res, err := t.exec(`UPDATE pairing_codes SET used_at = ?
		WHERE code_hash = ? AND used_at IS NULL AND expires_at > ? AND created_at <= ?`,
		formatTime(now), hash, formatTime(now), formatTime(now.Add(gateway.ClockStepAllowed)))
	if err != nil {
		return fmt.Errorf("store: use pairing code: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return gateway.ErrUnauthorized
	}
	return nil
}
