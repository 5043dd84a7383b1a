package store

import (
	"context"
	"database/sql"
	"strings"

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

// TicketsPlan is SQLite's plan for the query Tickets(q) runs, one step a
// line.
func (s *Store) TicketsPlan(ctx context.Context, q gateway.TicketQuery) (string, error) {
	query, args, err := s.ticketsQuery(ctx, q)
	if err != nil {
		return "", err
	}
	rows, err := s.db.QueryContext(ctx, "EXPLAIN QUERY PLAN "+query, args...)
	if err != nil {
		return "", err
	}
	defer rows.Close()
	var plan []string
	for rows.Next() {
		var id, parent, unused int
		var detail string
		if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
			return "", err
		}
		plan = append(plan, detail)
	}
	return strings.Join(plan, "\n"), rows.Err()
}
