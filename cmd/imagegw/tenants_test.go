package main

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/imagegw/imagegw/tenants"
)

func TestTenantsCommands(t *testing.T) {
	data := filepath.Join(t.TempDir(), "data")
	ctx := context.Background()
	run := func(args ...string) (string, error) {
		var out bytes.Buffer
		err := tenantsCmd(ctx, &out, append(args, "--data", data))
		return out.String(), err
	}
	steps := []struct {
		args    []string
		wantErr string
		wantOut []string
	}{
		{[]string{"add", "acme"}, "", []string{"added tenant acme"}},
		{[]string{"add", "acme"}, "already exists", nil},
		{[]string{"add", "bad/name"}, "tenant name must be", nil},
		{[]string{"keys", "add", "nobody", "--user", "admin"}, "tenant nobody does not exist", nil},
		{[]string{"keys", "add", "acme"}, "--user USER is required", nil},
		{[]string{"list"}, "", []string{"TENANT", "acme"}},
		{[]string{"frobnicate"}, "unknown subcommand", nil},
	}
	for _, st := range steps {
		out, err := run(st.args...)
		if st.wantErr == "" && err != nil || st.wantErr != "" && (err == nil || !strings.Contains(err.Error(), st.wantErr)) {
			t.Fatalf("tenants %v: err %v, want %q", st.args, err, st.wantErr)
		}
		for _, w := range st.wantOut {
			if !strings.Contains(out, w) {
				t.Errorf("tenants %v: output %q lacks %q", st.args, out, w)
			}
		}
	}

	// the key is printed once, alone on stdout, and stored only hashed
	out, err := run("keys", "add", "acme", "--user", "admin")
	if err != nil {
		t.Fatal(err)
	}
	key := strings.TrimSpace(out)
	if len(key) < 40 || strings.ContainsAny(key, " \n") {
		t.Fatalf("keys add printed %q, want the key alone", out)
	}
	st, err := openStore(ctx, data, nil)
	if err != nil {
		t.Fatal(err)
	}
	ts := tenants.New(st)
	if err := ts.Check(ctx, "acme", "admin", key); err != nil {
		t.Errorf("the printed key does not check: %v", err)
	}
	if err := ts.Check(ctx, "acme", "alice", key); err == nil {
		t.Error("admin's key checks for alice")
	}
	keys, _ := ts.Keys(ctx, "acme")
	st.Close()
	if len(keys) != 1 || keys[0].Hash != tenants.Hash(key) || strings.Contains(keys[0].Hash, key) {
		t.Fatalf("stored keys %+v", keys)
	}
	if out, err = run("keys", "list", "acme"); err != nil || !strings.Contains(out, keys[0].Hash[:16]) || strings.Contains(out, key) {
		t.Errorf("keys list: %q %v", out, err)
	}
	if out, err = run("keys", "remove", "acme", "--user", "admin", "--hash", keys[0].Hash[:12]); err != nil || !strings.Contains(out, "removed key") {
		t.Errorf("keys remove: %q %v", out, err)
	}
	if out, err = run("remove", "acme"); err != nil || !strings.Contains(out, "removed tenant acme") {
		t.Errorf("remove: %q %v", out, err)
	}
	if _, err = run("remove", "acme"); err == nil || !strings.Contains(err.Error(), "does not exist") {
		t.Errorf("remove again: %v", err)
	}
}
