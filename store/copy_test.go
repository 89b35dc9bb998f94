package store_test

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/imagegw/imagegw/model"
	"github.com/imagegw/imagegw/store"
	"github.com/imagegw/imagegw/store/pgtest"
)

// fill writes documents in three namespaces (keys of any byte but NUL,
// an empty value, a 1 MiB one) and two counters.
func fill(t *testing.T, s store.Store) {
	t.Helper()
	big := make([]byte, 1<<20)
	for i := range big {
		big[i] = byte(i)
	}
	err := s.Update(context.Background(), func(tx store.Tx) error {
		for i := range 300 {
			if err := tx.Put("jobs", fmt.Sprintf("job-%03d", i), []byte(fmt.Sprintf(`{"n":%d}`, i))); err != nil {
				return err
			}
		}
		for _, kv := range []struct {
			ns, key string
			val     []byte
		}{
			{"overlay", "mock/mock/img1", []byte(`{"name":"renamed"}`)},
			{"overlay", "ünï/cødé\xff", []byte{}},
			{"blobs", "big", big},
		} {
			if err := tx.Put(kv.ns, kv.key, kv.val); err != nil {
				return err
			}
		}
		if _, err := tx.Next("seq", "jobs", 41); err != nil {
			return err
		}
		for range 3 {
			if _, err := tx.Next("seq", "events", 1); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// contents reads back every document of fill's namespaces.
func contents(t *testing.T, s store.Store) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := s.View(context.Background(), func(tx store.Tx) error {
		for _, ns := range []string{"jobs", "overlay", "blobs"} {
			if err := tx.Scan(ns, "", func(k string, v []byte) error {
				out[ns+"/"+k] = string(v)
				return nil
			}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestCopy(t *testing.T) {
	sqlite := func(t *testing.T) store.Store {
		s, err := store.Open(context.Background(), filepath.Join(t.TempDir(), "imagegw.db"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	}
	postgres := func(t *testing.T) store.Store {
		s, err := store.OpenPostgres(context.Background(), pgtest.DSN(t))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	}
	tests := []struct {
		name     string
		src, dst func(*testing.T) store.Store
	}{
		{"sqlite to postgres", sqlite, postgres},
		{"postgres to sqlite", postgres, sqlite},
		{"sqlite to sqlite", sqlite, sqlite},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			src, dst := tc.src(t), tc.dst(t)
			fill(t, src)
			st, err := store.Copy(ctx, dst, src)
			if err != nil {
				t.Fatal(err)
			}
			if st != (store.CopyStats{Namespaces: 3, Documents: 303, Counters: 2}) {
				t.Errorf("stats = %+v, want 3 namespaces, 303 documents, 2 counters", st)
			}
			want, got := contents(t, src), contents(t, dst)
			if len(got) != len(want) {
				t.Fatalf("%d documents copied, want %d", len(got), len(want))
			}
			for k, v := range want {
				if got[k] != v {
					t.Errorf("%q: %d bytes, want %d", k, len(got[k]), len(v))
				}
			}
			// Counters go on from where they were, not from their start.
			err = dst.Update(ctx, func(tx store.Tx) error {
				for _, c := range []struct {
					key  string
					want int64
				}{{"jobs", 42}, {"events", 4}} {
					n, err := tx.Next("seq", c.key, 1)
					if err != nil {
						return err
					}
					if n != c.want {
						t.Errorf("counter %s after the copy: Next = %d, want %d", c.key, n, c.want)
					}
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			// A second copy into the now full store is refused and changes nothing.
			if _, err := store.Copy(ctx, dst, src); model.CodeOf(err) != model.FailedPrecondition {
				t.Errorf("copy into a store with data: %v, want FailedPrecondition", err)
			}
			if n := len(contents(t, dst)); n != len(want) {
				t.Errorf("after the refused copy: %d documents, want %d", n, len(want))
			}
		})
	}
}
