package store_test

import (
	"context"
	"database/sql"
	"path/filepath"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/imagegw/imagegw/store"
	"github.com/imagegw/imagegw/store/pgtest"
	"github.com/imagegw/imagegw/store/storetest"
)

// sqliteHarness makes SQLite stores in temporary directories.
var sqliteHarness = storetest.Harness{
	New:        func(t *testing.T) string { return filepath.Join(t.TempDir(), store.FileName) },
	Open:       func(ctx context.Context, path string) (store.Store, error) { return store.Open(ctx, path) },
	HelperTest: "TestStoretestHelperSQLite",
	Check: func(t *testing.T, path string) {
		db, err := sql.Open("sqlite", path) // the driver store registers
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		var check string
		if err := db.QueryRow(`PRAGMA integrity_check`).Scan(&check); err != nil || check != "ok" {
			t.Fatalf("integrity_check after kill: %q, %v", check, err)
		}
	},
}

// postgresHarness makes PostgreSQL stores, each in a fresh schema of the
// test cluster.
var postgresHarness = storetest.Harness{
	New:        func(t *testing.T) string { return pgtest.DSN(t) },
	Open:       store.OpenPostgres,
	HelperTest: "TestStoretestHelperPostgres",
	Check: func(t *testing.T, dsn string) {
		ctx := context.Background()
		conn, err := pgx.Connect(ctx, dsn)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close(ctx)
		// No transaction of the killed writer is left open or prepared.
		var open int
		if err := conn.QueryRow(ctx, `SELECT count(*) FROM pg_prepared_xacts`).Scan(&open); err != nil || open != 0 {
			t.Fatalf("prepared transactions after kill: %d, %v", open, err)
		}
	},
}

func TestConformanceSQLite(t *testing.T) { storetest.RunConformanceTests(t, sqliteHarness) }

func TestConformancePostgres(t *testing.T) {
	pgtest.BaseDSN(t)
	storetest.RunConformanceTests(t, postgresHarness)
}

func TestStoretestHelperSQLite(t *testing.T) { storetest.HelperWriter(t, sqliteHarness) }

func TestStoretestHelperPostgres(t *testing.T) { storetest.HelperWriter(t, postgresHarness) }
