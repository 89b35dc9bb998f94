package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/imagegw/imagegw/secrets"
	"github.com/imagegw/imagegw/store/pgtest"
)

// TestStoreCopy: an operator moves a gateway's state from SQLite to
// PostgreSQL and back; the management commands then work on the
// PostgreSQL store through IMAGEGW_STORE_DSN.
func TestStoreCopy(t *testing.T) {
	ctx := context.Background()
	dsn := pgtest.DSN(t)
	data := filepath.Join(t.TempDir(), "data")
	cmd := func(args ...string) (string, error) {
		var out bytes.Buffer
		err := commands[args[0]].run(&out, args[1:])
		return out.String(), err
	}
	if _, err := cmd("tenants", "add", "acme", "--data", data); err != nil {
		t.Fatal(err)
	}
	if _, err := secrets.Load(data); err != nil { // the key serve makes
		t.Fatal(err)
	}
	if err := tenantsCmd(ctx, &bytes.Buffer{}, []string{"keys", "add", "acme", "--user", "admin", "--data", data}); err != nil {
		t.Fatal(err)
	}
	out, err := cmd("store", "copy", "--data", data, "--to-dsn", dsn)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "copied ") || !strings.Contains(out, "secret.key") {
		t.Errorf("store copy said %q", out)
	}
	// The management commands now see the copy in PostgreSQL...
	t.Setenv("IMAGEGW_STORE_DSN", dsn)
	empty := filepath.Join(t.TempDir(), "elsewhere")
	if out, err := cmd("tenants", "list", "--data", empty); err != nil || !strings.Contains(out, "acme") {
		t.Errorf("tenants list on PostgreSQL: %q, %v; want acme", out, err)
	}
	if _, err := cmd("tenants", "add", "beta", "--data", empty); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(empty, "imagegw.db")); err == nil {
		t.Error("with IMAGEGW_STORE_DSN set, tenants add made a SQLite store")
	}
	// ...and a second copy into it is refused.
	if _, err := cmd("store", "copy", "--data", data, "--to-dsn", dsn); err == nil || !strings.Contains(err.Error(), "not empty") {
		t.Errorf("copy into a store with data: %v", err)
	}
	t.Setenv("IMAGEGW_STORE_DSN", "")
	// Back to SQLite in a new directory: both tenants, and the secret key.
	back := filepath.Join(t.TempDir(), "back")
	if _, err := cmd("store", "copy", "--from-dsn", dsn, "--to-data", back); err != nil {
		t.Fatal(err)
	}
	if out, err := cmd("tenants", "list", "--data", back); err != nil || !strings.Contains(out, "acme") || !strings.Contains(out, "beta") {
		t.Errorf("tenants list after copying back: %q, %v", out, err)
	}
	if _, err := cmd("store", "copy", "--from-dsn", dsn, "--to-data", back); err == nil || !strings.Contains(err.Error(), "already holds a store") {
		t.Errorf("copy into a data directory with a store: %v", err)
	}
	again := filepath.Join(t.TempDir(), "again")
	if _, err := cmd("store", "copy", "--data", data, "--to-data", again); err != nil {
		t.Fatal(err)
	}
	a, _ := os.ReadFile(filepath.Join(data, "secret.key"))
	b, err := os.ReadFile(filepath.Join(again, "secret.key"))
	if err != nil || !bytes.Equal(a, b) || len(a) == 0 {
		t.Errorf("secret.key not copied with --to-data: %v", err)
	}
	for _, bad := range [][]string{
		{"store", "copy"},
		{"store", "copy", "--data", data},
		{"store", "copy", "--data", data, "--from-dsn", dsn, "--to-data", again},
		{"store", "frobnicate"},
	} {
		if _, err := cmd(bad...); err == nil {
			t.Errorf("%v: no error", bad)
		}
	}
}
