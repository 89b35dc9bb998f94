package store

import (
	"context"
	"database/sql"
	"time"

	"github.com/imagegw/imagegw/model"
)

// A migration moves the schema from version-1 to version. Migrations are
// only ever appended: a released one is never edited.
type migration struct {
	version int
	name    string
	stmts   []string
}

// schema lists every migration in order; version i+1 is at index i.
var schema = []migration{
	{1, "documents and counters", []string{
		`CREATE TABLE documents (
			ns  TEXT NOT NULL,
			key TEXT NOT NULL,
			val BLOB NOT NULL,
			PRIMARY KEY (ns, key)
		) WITHOUT ROWID`,
		`CREATE TABLE counters (
			ns    TEXT NOT NULL,
			key   TEXT NOT NULL,
			value INTEGER NOT NULL,
			PRIMARY KEY (ns, key)
		) WITHOUT ROWID`,
	}},
}

// SchemaVersion is the schema version this code creates and understands.
func SchemaVersion() int { return len(schema) }

// migrate applies, each once and each in its own write transaction, the
// migrations db has not seen, recording them in schema_migrations. It fails
// with FailedPrecondition if db was migrated by a newer imagegw. Several
// processes may migrate one file at once: BEGIN IMMEDIATE serializes them and
// each re-reads the version inside its transaction.
func migrate(ctx context.Context, db *sql.DB) error {
	if err := inTx(ctx, db, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
			version    INTEGER PRIMARY KEY,
			name       TEXT NOT NULL,
			applied_at TEXT NOT NULL
		)`)
		if err != nil {
			return dbError(ctx, err, "create schema_migrations")
		}
		return nil
	}); err != nil {
		return err
	}
	for _, m := range schema {
		err := inTx(ctx, db, func(tx *sql.Tx) error {
			var cur int
			if err := tx.QueryRowContext(ctx,
				`SELECT COALESCE(MAX(version), 0) FROM schema_migrations`).Scan(&cur); err != nil {
				return dbError(ctx, err, "read schema version")
			}
			if cur > len(schema) {
				return model.Errorf(model.FailedPrecondition,
					"store: database schema version %d is newer than this imagegw knows (%d): run a newer imagegw or restore a backup",
					cur, len(schema))
			}
			if cur >= m.version {
				return nil
			}
			for _, stmt := range m.stmts {
				if _, err := tx.ExecContext(ctx, stmt); err != nil {
					return dbError(ctx, err, "migration %d (%s)", m.version, m.name)
				}
			}
			if _, err := tx.ExecContext(ctx,
				`INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)`,
				m.version, m.name, time.Now().UTC().Format(time.RFC3339)); err != nil {
				return dbError(ctx, err, "record migration %d", m.version)
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// inTx runs fn in a transaction on db, committing if it returns nil. A
// BEGIN that finds the database busy is retried for a while: on a new file,
// another process switching it to WAL (a pragma of its connection's open)
// can make BEGIN IMMEDIATE fail at once, without waiting out busy_timeout.
func inTx(ctx context.Context, db *sql.DB, fn func(*sql.Tx) error) error {
	for try := 0; ; try++ {
		err := inTx1(ctx, db, fn)
		if try >= 50 || model.CodeOf(err) != model.Unavailable || ctx.Err() != nil {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
}

func inTx1(ctx context.Context, db *sql.DB, fn func(*sql.Tx) error) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return dbError(ctx, err, "begin migration")
	}
	if err := fn(tx); err != nil {
		tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return dbError(ctx, err, "commit migration")
	}
	return nil
}
