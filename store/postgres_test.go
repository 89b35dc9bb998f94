package store_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/imagegw/imagegw/model"
	"github.com/imagegw/imagegw/store"
	"github.com/imagegw/imagegw/store/pgtest"
)

func pgQueryInt(t *testing.T, dsn, q string, args ...any) int {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var n int
	if err := conn.QueryRow(ctx, q, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return n
}

// TestPostgresMigrationsOnce: eight replicas opening a new database at once
// apply each migration once; a database from a newer imagegw is refused.
func TestPostgresMigrationsOnce(t *testing.T) {
	dsn := pgtest.DSN(t)
	ctx := context.Background()
	var wg sync.WaitGroup
	errs := make([]error, 8)
	for i := range errs {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			s, err := store.OpenPostgres(ctx, dsn)
			if err == nil {
				s.Close()
			}
			errs[i] = err
		}(i)
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("open %d: %v", i, err)
		}
	}
	if n := pgQueryInt(t, dsn, `SELECT count(*) FROM schema_migrations`); n != store.PostgresSchemaVersion() {
		t.Fatalf("%d migrations recorded, want each of %d once", n, store.PostgresSchemaVersion())
	}
	pgtest.Exec(t, dsn, `INSERT INTO schema_migrations (version, name) VALUES ($1, 'from the future')`, store.PostgresSchemaVersion()+1)
	_, err := store.OpenPostgres(ctx, dsn)
	if model.CodeOf(err) != model.FailedPrecondition || !strings.Contains(err.Error(), "newer") {
		t.Fatalf("open of a newer schema: %v", err)
	}
}

func TestPostgresOpenRefuses(t *testing.T) {
	base := pgtest.BaseDSN(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()

	_, err := store.OpenPostgres(ctx, pgtest.WithSchema(t, base, "no_such_schema"))
	if model.CodeOf(err) != model.FailedPrecondition {
		t.Fatalf("open with a missing schema: %v", err)
	}
	_, err = store.OpenPostgres(ctx, "postgres://u:s3cret@%zz/db")
	if model.CodeOf(err) != model.InvalidArgument || strings.Contains(err.Error(), "s3cret") {
		t.Fatalf("open of a malformed DSN: %v (the password must not show)", err)
	}
	// Nothing listens on port 1 of loopback.
	_, err = store.OpenPostgres(ctx, "postgres://u:s3cret@127.0.0.1:1/db?connect_timeout=5")
	if model.CodeOf(err) != model.Unavailable || strings.Contains(err.Error(), "s3cret") {
		t.Fatalf("open of an unreachable database: %v (code %v)", err, model.CodeOf(err))
	}
}

// TestPostgresSubscriptionBroken: when the listening connection is cut,
// Next says so, and a new subscription hears again.
func TestPostgresSubscriptionBroken(t *testing.T) {
	dsn := pgtest.DSN(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s, err := store.OpenPostgres(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	n := s.(store.Notifier)
	sub, err := n.Subscribe(ctx, "c")
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	pgtest.Exec(t, dsn, `SELECT pg_terminate_backend(pid) FROM pg_stat_activity
		WHERE application_name = 'imagegw listener ' || current_schema()`)
	if _, err := sub.Next(ctx); err == nil || ctx.Err() != nil {
		t.Fatalf("Next on a cut connection: %v; want an error", err)
	}
	sub2, err := n.Subscribe(ctx, "c")
	if err != nil {
		t.Fatal(err)
	}
	defer sub2.Close()
	if err := n.Publish(ctx, "c", []byte("again")); err != nil {
		t.Fatal(err)
	}
	if got, err := sub2.Next(ctx); err != nil || string(got.Payload) != "again" {
		t.Fatalf("Next after subscribing again = %q, %v", got.Payload, err)
	}
}
