package hub

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" driver
)

// migrationLock is the advisory lock that keeps two hub processes from
// migrating the same database at once.
const migrationLock = 8421

// OpenPostgres opens the hub's PostgreSQL database at url
// (postgres://...) and migrates it. Several hub processes may share it:
// the schema keeps each store's log gapless and each event once, and a
// batch locks its store's row, so they are correct together.
func OpenPostgres(ctx context.Context, url string, now func() time.Time) (*DB, error) {
	db, err := sql.Open("pgx", url)
	if err != nil {
		return nil, fmt.Errorf("hub: open the database: %w", err)
	}
	db.SetMaxOpenConns(16)
	db.SetMaxIdleConns(16)
	db.SetConnMaxIdleTime(5 * time.Minute)
	if err := migratePostgres(ctx, db); err != nil {
		db.Close()
		return nil, err
	}
	return start(ctx, &DB{engine: postgresEngine, db: db, wdb: db, now: now})
}

// migratePostgres applies the missing migrations in one transaction
// (PostgreSQL's DDL is transactional), under an advisory lock, recording
// the version in hub_schema; a newer database is refused.
func migratePostgres(ctx context.Context, db *sql.DB) error {
	ms, err := migrations(postgresEngine)
	if err != nil {
		return err
	}
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("hub: migrate: %w", err)
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, "SELECT pg_advisory_xact_lock($1)", migrationLock); err != nil {
		return fmt.Errorf("hub: migrate: %w", err)
	}
	if _, err := tx.ExecContext(ctx, "CREATE TABLE IF NOT EXISTS hub_schema (version INTEGER NOT NULL)"); err != nil {
		return fmt.Errorf("hub: migrate: %w", err)
	}
	var current int
	err = tx.QueryRowContext(ctx, "SELECT version FROM hub_schema").Scan(&current)
	if errors.Is(err, sql.ErrNoRows) {
		if _, err := tx.ExecContext(ctx, "INSERT INTO hub_schema (version) VALUES (0)"); err != nil {
			return fmt.Errorf("hub: migrate: %w", err)
		}
	} else if err != nil {
		return fmt.Errorf("hub: read schema version: %w", err)
	}
	if done, err := applyMigrations(ctx, tx, ms, current); done || err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, "UPDATE hub_schema SET version = $1", len(ms)); err != nil {
		return fmt.Errorf("hub: record schema version: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("hub: migrate: %w", err)
	}
	return nil
}
