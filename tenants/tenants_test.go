package tenants_test

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/imagegw/imagegw/model"
	"github.com/imagegw/imagegw/store"
	"github.com/imagegw/imagegw/tenants"
)

func TestTenantsAndKeys(t *testing.T) {
	ctx := context.Background()
	st, err := store.Open(ctx, filepath.Join(t.TempDir(), "imagegw.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	s := tenants.New(st)
	for _, n := range []string{"acme", "acme2"} {
		if _, err := s.Add(ctx, n); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.Add(ctx, "acme"); model.CodeOf(err) != model.AlreadyExists {
		t.Errorf("second add: %v", err)
	}
	k1, err := s.AddKey(ctx, "acme", "admin")
	if err != nil {
		t.Fatal(err)
	}
	k2, _ := s.AddKey(ctx, "acme2", "admin")
	if _, err := s.AddKey(ctx, "nosuch", "admin"); !model.IsNotFound(err) {
		t.Errorf("key for a missing tenant: %v", err)
	}
	checks := []struct {
		tenant, user, key string
		ok                bool
	}{
		{"acme", "admin", k1, true},
		{"acme", "admin", k2, false}, // another tenant's key
		{"acme", "alice", k1, false}, // another user's
		{"acme", "admin", "", false},
		{"acme", "admin", k1 + "x", false},
		{"acme2", "admin", k2, true},
	}
	for _, c := range checks {
		err := s.Check(ctx, c.tenant, c.user, c.key)
		if (err == nil) != c.ok || (err != nil && model.CodeOf(err) != model.Unauthenticated) {
			t.Errorf("Check(%s, %s, %.6s…) = %v, want ok=%v", c.tenant, c.user, c.key, err, c.ok)
		}
	}
	// the store holds hashes only
	_ = st.View(ctx, func(tx store.Tx) error {
		return tx.Scan(tenants.NSKeys, "", func(k string, v []byte) error {
			for _, key := range []string{k1, k2} {
				if contains(k, key) || contains(string(v), key) {
					t.Errorf("the store holds a key in clear: %s", k)
				}
			}
			return nil
		})
	})
	// removing a tenant removes its keys and types, not another's
	if err := store.Put(ctx, st, tenants.NSTypes, "acme/imagetypes/x/0000000001", []byte(`{}`)); err != nil {
		t.Fatal(err)
	}
	if err := store.Put(ctx, st, tenants.NSTypes, "acme2/imagetypes/x/0000000001", []byte(`{}`)); err != nil {
		t.Fatal(err)
	}
	if err := s.Remove(ctx, "acme"); err != nil {
		t.Fatal(err)
	}
	if err := s.Check(ctx, "acme", "admin", k1); err == nil {
		t.Error("a removed tenant's key still checks")
	}
	if _, err := store.Get(ctx, st, tenants.NSTypes, "acme/imagetypes/x/0000000001"); !model.IsNotFound(err) {
		t.Errorf("a removed tenant's type: %v", err)
	}
	if _, err := store.Get(ctx, st, tenants.NSTypes, "acme2/imagetypes/x/0000000001"); err != nil {
		t.Errorf("another tenant's type: %v", err)
	}
	if err := s.Check(ctx, "acme2", "admin", k2); err != nil {
		t.Errorf("another tenant's key: %v", err)
	}
	list, _ := s.List(ctx)
	if len(list) != 1 || list[0].Name != "acme2" {
		t.Errorf("List = %+v", list)
	}
}

func contains(s, sub string) bool { return strings.Contains(s, sub) }
