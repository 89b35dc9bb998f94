package store

// The Store semantics are tested by the conformance suite (store/storetest,
// run on SQLite and PostgreSQL by conformance_test.go); these are the
// SQLite store's own: its file, its mode, its migrations.

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/imagegw/imagegw/model"
)

// wantCode fails t unless err has code want.
func wantCode(t testing.TB, what string, err error, want model.Code) {
	t.Helper()
	if got := model.CodeOf(err); got != want {
		t.Fatalf("%s: error %v has code %v, want %v", what, err, got, want)
	}
}

func TestReopenKeepsData(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	path := filepath.Join(dir, "sub", "dir?#%", FileName) // created, and URI-escaped
	for round := 0; round < 3; round++ {
		s, err := Open(ctx, path)
		if err != nil {
			t.Fatalf("round %d: Open: %v", round, err)
		}
		err = s.Update(ctx, func(tx Tx) error {
			n, err := tx.Next("seq", "rounds", 0)
			if err != nil {
				return err
			}
			if n != int64(round) {
				return fmt.Errorf("counter = %d, want %d", n, round)
			}
			for r := 0; r < round; r++ {
				v, err := tx.Get("rounds", fmt.Sprint(r))
				if err != nil || string(v) != fmt.Sprintf("written in round %d", r) {
					return fmt.Errorf("round %d value: %q, %v", r, v, err)
				}
			}
			return tx.Insert("rounds", fmt.Sprint(round), []byte(fmt.Sprintf("written in round %d", round)))
		})
		if err != nil {
			t.Fatalf("round %d: %v", round, err)
		}
		var versions int
		ss := s.(*sqliteStore)
		if err := ss.w.QueryRow(`SELECT COUNT(*) FROM schema_migrations`).Scan(&versions); err != nil {
			t.Fatal(err)
		}
		if versions != SchemaVersion() {
			t.Fatalf("round %d: %d migrations recorded, want each of %d once", round, versions, SchemaVersion())
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if perm := fi.Mode().Perm(); perm != 0o600 {
		t.Fatalf("database file mode %v, want 0600", perm)
	}
}

func TestOpenRefuses(t *testing.T) {
	ctx := context.Background()

	t.Run("newer schema", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), FileName)
		s, err := Open(ctx, path)
		if err != nil {
			t.Fatal(err)
		}
		_, err = s.(*sqliteStore).w.Exec(`INSERT INTO schema_migrations VALUES (?, 'from the future', '')`, SchemaVersion()+1)
		s.Close()
		if err != nil {
			t.Fatal(err)
		}
		_, err = Open(ctx, path)
		wantCode(t, "Open newer schema", err, model.FailedPrecondition)
		if !strings.Contains(err.Error(), "newer") {
			t.Fatalf("error %q does not say the database is newer", err)
		}
	})

	t.Run("not a database", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), FileName)
		junk := bytes.Repeat([]byte("this is not an SQLite database\n"), 200)
		if err := os.WriteFile(path, junk, 0o600); err != nil {
			t.Fatal(err)
		}
		_, err := Open(ctx, path)
		wantCode(t, "Open junk file", err, model.FailedPrecondition)
		if got, _ := os.ReadFile(path); !bytes.Equal(got, junk) {
			t.Fatal("Open modified a file that is not a database")
		}
	})

	t.Run("empty path", func(t *testing.T) {
		_, err := Open(ctx, "")
		wantCode(t, "Open empty path", err, model.InvalidArgument)
	})

	t.Run("directory", func(t *testing.T) {
		_, err := Open(ctx, t.TempDir())
		if err == nil {
			t.Fatal("Open of a directory succeeded")
		}
	})
}

func TestMigrations(t *testing.T) {
	for i, m := range schema {
		if m.version != i+1 || m.name == "" || len(m.stmts) == 0 {
			t.Fatalf("migration at index %d is version %d %q: versions must run 1, 2, 3... with a name and statements", i, m.version, m.name)
		}
	}

	// Several stores opening one new file at once apply each migration once.
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), FileName)
	const n = 4
	stores := make([]Store, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range stores {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			stores[i], errs[i] = Open(ctx, path)
		}(i)
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("concurrent Open %d: %v", i, err)
		}
		defer stores[i].Close()
	}
	rows, err := stores[0].(*sqliteStore).w.Query(`SELECT version FROM schema_migrations ORDER BY version`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var got []int
	for rows.Next() {
		var v int
		if err := rows.Scan(&v); err != nil {
			t.Fatal(err)
		}
		got = append(got, v)
	}
	if len(got) != SchemaVersion() || got[len(got)-1] != SchemaVersion() {
		t.Fatalf("schema_migrations holds %v, want 1..%d once each", got, SchemaVersion())
	}
	// And the stores work together on the file.
	if err := Put(ctx, stores[1], "ns", "k", []byte("from 1")); err != nil {
		t.Fatal(err)
	}
	if v, err := Get(ctx, stores[3], "ns", "k"); err != nil || string(v) != "from 1" {
		t.Fatalf("another store on the file reads %q, %v", v, err)
	}
}
