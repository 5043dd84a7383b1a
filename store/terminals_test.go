package store_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/passerelle/passerelle/gateway"
)

// The narrow terminal writes change their own columns only and answer with
// the stored row.
func TestTerminalNarrowWrites(t *testing.T) {
	ctx := context.Background()
	s := open(t, dbPath(t), nil)
	at := func(d time.Duration) *time.Time { v := t0.Add(d); return &v }
	write := func(fn func(tx gateway.Tx) (gateway.Terminal, error)) (gateway.Terminal, error) {
		var got gateway.Terminal
		err := s.Update(ctx, func(tx gateway.Tx) error {
			var err error
			got, err = fn(tx)
			return err
		})
		return got, err
	}
	for _, tm := range []gateway.Terminal{
		{ID: "trm_1", Name: "Terminal bar", Serial: "A1", Model: "M1", AppVersion: "1.0", PairedAt: t0},
		{ID: "trm_2", Name: "Terminal salle", Serial: "B2", PairedAt: t0},
	} {
		tm.TokenHash = gateway.HashKey("token-" + tm.ID)
		if err := s.Update(ctx, func(tx gateway.Tx) error { return tx.InsertTerminal(ctx, &tm) }); err != nil {
			t.Fatal(err)
		}
	}

	// A touch with a stale copy of the row writes only what a hello says.
	stale := gateway.Terminal{ID: "trm_1", Name: "Old name", Serial: "X", AppVersion: "2.0", DisplayCols: 20,
		DisplayRows: 4, PrinterCols: 48, Keys: []string{"F1"}, LastSeen: at(time.Minute)}
	got, err := write(func(tx gateway.Tx) (gateway.Terminal, error) { return tx.TouchTerminal(ctx, &stale) })
	if err != nil {
		t.Fatal(err)
	}
	if got.Name != "Terminal bar" || got.Serial != "A1" || got.Model != "M1" || got.AppVersion != "2.0" ||
		got.DisplayCols != 20 || got.DisplayRows != 4 || got.PrinterCols != 48 || len(got.Keys) != 1 ||
		got.LastSeen == nil || !got.LastSeen.Equal(*stale.LastSeen) || got.RevokedAt != nil {
		t.Errorf("touched: %+v", got)
	}

	var cerr *gateway.ConflictError
	if _, err := write(func(tx gateway.Tx) (gateway.Terminal, error) {
		return tx.RenameTerminal(ctx, "trm_1", "Terminal salle")
	}); !errors.As(err, &cerr) {
		t.Errorf("rename to a taken name: %v", err)
	}
	if got, err := write(func(tx gateway.Tx) (gateway.Terminal, error) {
		return tx.RenameTerminal(ctx, "trm_1", "Terminal bar")
	}); err != nil || got.Name != "Terminal bar" {
		t.Errorf("rename to its own name: %q, %v", got.Name, err)
	}

	first, err := write(func(tx gateway.Tx) (gateway.Terminal, error) { return tx.RevokeTerminal(ctx, "trm_1", *at(time.Hour)) })
	if err != nil || first.RevokedAt == nil || !first.RevokedAt.Equal(*at(time.Hour)) || first.AppVersion != "2.0" {
		t.Fatalf("revoked: %+v, %v", first, err)
	}
	again, err := write(func(tx gateway.Tx) (gateway.Terminal, error) {
		return tx.RevokeTerminal(ctx, "trm_1", *at(2 * time.Hour))
	})
	if err != nil || again.RevokedAt == nil || !again.RevokedAt.Equal(*first.RevokedAt) {
		t.Errorf("revoked twice: revoked at %v, %v; want the first time kept", again.RevokedAt, err)
	}
	if _, err := write(func(tx gateway.Tx) (gateway.Terminal, error) { return tx.TouchTerminal(ctx, &stale) }); !errors.Is(err, gateway.ErrUnauthorized) {
		t.Errorf("touch of a revoked terminal: %v, want unauthorized", err)
	}
	if got, err := s.TerminalByID(ctx, "trm_1"); err != nil || got.RevokedAt == nil {
		t.Errorf("after a touch of the revoked terminal: %+v, %v", got, err)
	}

	for name, fn := range map[string]func(tx gateway.Tx) (gateway.Terminal, error){
		"rename": func(tx gateway.Tx) (gateway.Terminal, error) { return tx.RenameTerminal(ctx, "trm_none", "X") },
		"revoke": func(tx gateway.Tx) (gateway.Terminal, error) { return tx.RevokeTerminal(ctx, "trm_none", t0) },
	} {
		if _, err := write(fn); !errors.Is(err, gateway.ErrNotFound) {
			t.Errorf("%s of no terminal: %v, want not found", name, err)
		}
	}
}
