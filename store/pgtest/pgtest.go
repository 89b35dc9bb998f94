// Package pgtest gives tests a PostgreSQL database of their own: a fresh
// schema in the throwaway cluster that scripts/with-postgres.sh (run by
// `make test`) starts and names in IMAGEGW_TEST_PG_DSN. Without that
// variable the tests that need PostgreSQL skip, except under CI=true, where
// they fail.
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// EnvDSN names the environment variable holding the cluster's DSN.
const EnvDSN = "IMAGEGW_TEST_PG_DSN"

// BaseDSN returns the cluster's DSN, skipping t (failing it under CI=true)
// when there is none.
func BaseDSN(t testing.TB) string {
	t.Helper()
	dsn := os.Getenv(EnvDSN)
	if dsn == "" {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s is not set under CI=true: run the tests through scripts/with-postgres.sh (make test)", EnvDSN)
		}
		t.Skipf("no PostgreSQL: %s is not set (make test, or scripts/with-postgres.sh go test ...)", EnvDSN)
	}
	return dsn
}

// DSN creates a new empty schema, dropped when t ends, and returns a DSN
// whose search_path selects it.
func DSN(t testing.TB) string {
	t.Helper()
	base := BaseDSN(t)
	b := make([]byte, 6)
	rand.Read(b)
	schema := "t_" + hex.EncodeToString(b)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	exec(t, ctx, base, "CREATE SCHEMA "+schema)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		exec(t, ctx, base, "DROP SCHEMA "+schema+" CASCADE")
	})
	return WithSchema(t, base, schema)
}

// WithSchema returns dsn with its search_path set to schema.
func WithSchema(t testing.TB, dsn, schema string) string {
	t.Helper()
	u, err := url.Parse(dsn)
	if err != nil || !strings.HasPrefix(u.Scheme, "postgres") {
		t.Fatalf("%s must be a postgres:// URL", EnvDSN)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

// Exec runs one statement on dsn's database.
func Exec(t testing.TB, dsn, stmt string, args ...any) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	exec(t, ctx, dsn, stmt, args...)
}

func exec(t testing.TB, ctx context.Context, dsn, stmt string, args ...any) {
	t.Helper()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatalf("connect to the test cluster: %v", err)
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(ctx, stmt, args...); err != nil {
		t.Fatalf("%s: %v", stmt, err)
	}
}
