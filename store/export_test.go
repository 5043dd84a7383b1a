package store

import (
	"context"
	"database/sql"

	"github.com/passerelle/passerelle/gateway"
)

// ReaderDB lets the tests look at the reader pool's connections.
func (s *Store) ReaderDB() *sql.DB { return s.db }

// WriterPragma reads a pragma on the writer's connection, inside a write.
func (s *Store) WriterPragma(ctx context.Context, name string) (string, error) {
	var v string
	err := s.Update(ctx, func(tx gateway.Tx) error {
		return tx.(*txn).queryRow("PRAGMA " + name).Scan(&v)
	})
	return v, err
}

// RawExec runs SQL in a caller's savepoint, behind the Tx interface's back.
func RawExec(tx gateway.Tx, query string) error {
	_, err := tx.(*txn).exec(query)
	return err
}
