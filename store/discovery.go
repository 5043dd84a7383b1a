package store

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/passerelle/passerelle/gateway"
)

var (
	_ gateway.DiscoveryStore = (*Store)(nil)
	_ gateway.MetaStore      = (*Store)(nil)
)

// EnsureMeta implements gateway.MetaStore.
func (s *Store) EnsureMeta(ctx context.Context, key, value string) (string, error) {
	var stored string
	err := s.Update(ctx, func(tx gateway.Tx) error {
		t := tx.(*txn)
		if _, err := t.exec("INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO NOTHING", key, value); err != nil {
			return fmt.Errorf("store: meta %s: %w", key, err)
		}
		if err := t.queryRow("SELECT value FROM meta WHERE key = ?", key).Scan(&stored); err != nil {
			return fmt.Errorf("store: meta %s: %w", key, err)
		}
		return nil
	})
	return stored, err
}

// SaveDiscovered implements gateway.DiscoveryStore.
func (s *Store) SaveDiscovered(ctx context.Context, d gateway.DiscoveredTerminal, keep int, forgetBefore time.Time) error {
	addrs := d.Addrs
	if addrs == nil {
		addrs = []string{}
	}
	ab, err := json.Marshal(addrs)
	if err != nil {
		return fmt.Errorf("store: encode addresses: %w", err)
	}
	return s.Update(ctx, func(tx gateway.Tx) error {
		t := tx.(*txn)
		_, err := t.exec(`INSERT INTO discovered_terminals (serial, instance, model, host, port, addrs, first_seen, last_seen)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (serial) DO UPDATE SET instance = excluded.instance, model = excluded.model,
				host = excluded.host, port = excluded.port, addrs = excluded.addrs, last_seen = excluded.last_seen`,
			d.Serial, d.Instance, d.Model, d.Host, d.Port, string(ab), formatTime(d.FirstSeen), formatTime(d.LastSeen))
		if err != nil {
			return fmt.Errorf("store: save discovered terminal: %w", err)
		}
		if _, err := t.exec(`DELETE FROM discovered_terminals WHERE last_seen < ? OR serial NOT IN
			(SELECT serial FROM discovered_terminals ORDER BY last_seen DESC LIMIT ?)`, formatTime(forgetBefore), keep); err != nil {
			return fmt.Errorf("store: forget discovered terminals: %w", err)
		}
		return nil
	})
}

// Discovered implements gateway.DiscoveryStore.
func (s *Store) Discovered(ctx context.Context) ([]gateway.DiscoveredTerminal, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT serial, instance, model, host, port, addrs, first_seen, last_seen
		FROM discovered_terminals ORDER BY last_seen DESC, serial`)
	if err != nil {
		return nil, fmt.Errorf("store: list discovered terminals: %w", err)
	}
	defer rows.Close()
	var out []gateway.DiscoveredTerminal
	for rows.Next() {
		var d gateway.DiscoveredTerminal
		var addrs, first, last string
		if err := rows.Scan(&d.Serial, &d.Instance, &d.Model, &d.Host, &d.Port, &addrs, &first, &last); err != nil {
			return nil, fmt.Errorf("store: read discovered terminal: %w", err)
		}
		if err := json.Unmarshal([]byte(addrs), &d.Addrs); err != nil {
			return nil, fmt.Errorf("store: discovered terminal %s addresses: %w", d.Serial, err)
		}
		if d.FirstSeen, err = parseTime(first); err != nil {
			return nil, err
		}
		if d.LastSeen, err = parseTime(last); err != nil {
			return nil, err
		}
		out = append(out, d)
	}
	return out, rows.Err()
}
