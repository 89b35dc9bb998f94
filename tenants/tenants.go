// Package tenants keeps the Coopr-style tenants of the gateway and their
// users' API keys. A tenant is a name owning a set of image and hardware
// types; a key belongs to one user of one tenant and is stored only as its
// SHA-256 hash, so the store never holds a usable key. Tenants live in the
// store namespace "tenants" (by name), keys in "tenant_keys" (by tenant,
// user and hash).
package tenants

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"sort"
	"strings"
	"time"

	"github.com/imagegw/imagegw/model"
	"github.com/imagegw/imagegw/store"
)

// Store namespaces.
const (
	NSTenants = "tenants"
	NSKeys    = "tenant_keys"
	// NSTypes is where the gateway keeps the tenants' image and hardware
	// types; removing a tenant removes them too.
	NSTypes = "types"
)

// Tenant is one tenant.
type Tenant struct {
	Name    string    `json:"name"`
	Created time.Time `json:"created"`
}

// Key is one stored API key: who it belongs to, never the key itself.
type Key struct {
	Tenant  string    `json:"tenant"`
	User    string    `json:"user"`
	Hash    string    `json:"hash"` // hex SHA-256 of the key
	Created time.Time `json:"created"`
}

// Store reads and writes tenants and keys.
type Store struct {
	st  store.Store
	now func() time.Time
}

// New returns a Store over st.
func New(st store.Store) *Store { return &Store{st: st, now: time.Now} }

// ValidName reports whether s may name a tenant or a user: 1 to 255
// characters of [A-Za-z0-9_.-].
func ValidName(s string) bool { return model.ValidTypeName(s) }

// Add creates a tenant; an existing name is model.AlreadyExists.
func (s *Store) Add(ctx context.Context, name string) (Tenant, error) {
	if !ValidName(name) {
		return Tenant{}, model.Errorf(model.InvalidArgument, "tenant name must be 1-255 characters of [A-Za-z0-9_.-]")
	}
	t := Tenant{Name: name, Created: s.now().UTC()}
	b, _ := json.Marshal(t)
	err := s.st.Update(ctx, func(tx store.Tx) error { return tx.Insert(NSTenants, name, b) })
	if model.CodeOf(err) == model.AlreadyExists {
		return Tenant{}, model.Errorf(model.AlreadyExists, "tenant %s already exists", name)
	}
	return t, err
}

// Get returns a tenant, or model.NotFound.
func (s *Store) Get(ctx context.Context, name string) (Tenant, error) {
	b, err := store.Get(ctx, s.st, NSTenants, name)
	if model.IsNotFound(err) {
		return Tenant{}, model.Errorf(model.NotFound, "tenant %s does not exist", name)
	}
	if err != nil {
		return Tenant{}, err
	}
	var t Tenant
	if err := json.Unmarshal(b, &t); err != nil {
		return Tenant{}, model.Wrap(model.Internal, err, "corrupt tenant %s", name)
	}
	return t, nil
}

// List returns every tenant, by name.
func (s *Store) List(ctx context.Context) ([]Tenant, error) {
	var out []Tenant
	err := s.st.View(ctx, func(tx store.Tx) error {
		return tx.Scan(NSTenants, "", func(k string, v []byte) error {
			var t Tenant
			if err := json.Unmarshal(v, &t); err != nil {
				return model.Wrap(model.Internal, err, "corrupt tenant %s", k)
			}
			out = append(out, t)
			return nil
		})
	})
	return out, err
}

// Remove deletes a tenant with its keys and its image and hardware types,
// in one transaction; an unknown tenant is model.NotFound.
func (s *Store) Remove(ctx context.Context, name string) error {
	return s.st.Update(ctx, func(tx store.Tx) error {
		if err := tx.Delete(NSTenants, name); model.IsNotFound(err) {
			return model.Errorf(model.NotFound, "tenant %s does not exist", name)
		} else if err != nil {
			return err
		}
		for _, ns := range []string{NSKeys, NSTypes} {
			var keys []string
			if err := tx.Scan(ns, name+"/", func(k string, _ []byte) error {
				keys = append(keys, k)
				return nil
			}); err != nil {
				return err
			}
			for _, k := range keys {
				if err := tx.Delete(ns, k); err != nil {
					return err
				}
			}
		}
		return nil
	})
}

// Hash returns the hex SHA-256 of an API key. Keys are 32 random bytes, so
// a fast hash is enough: there is nothing to guess.
func Hash(key string) string {
	h := sha256.Sum256([]byte(key))
	return hex.EncodeToString(h[:])
}

// AddKey makes a new random key for user of tenant, stores its hash and
// returns the key: the only time it is shown.
func (s *Store) AddKey(ctx context.Context, tenant, user string) (string, error) {
	if !ValidName(user) {
		return "", model.Errorf(model.InvalidArgument, "user name must be 1-255 characters of [A-Za-z0-9_.-]")
	}
	var raw [32]byte
	if _, err := rand.Read(raw[:]); err != nil {
		return "", model.Wrap(model.Internal, err, "making a key")
	}
	key := base64.RawURLEncoding.EncodeToString(raw[:])
	k := Key{Tenant: tenant, User: user, Hash: Hash(key), Created: s.now().UTC()}
	b, _ := json.Marshal(k)
	err := s.st.Update(ctx, func(tx store.Tx) error {
		if _, err := tx.Get(NSTenants, tenant); model.IsNotFound(err) {
			return model.Errorf(model.NotFound, "tenant %s does not exist", tenant)
		} else if err != nil {
			return err
		}
		return tx.Insert(NSKeys, keyKey(tenant, user, k.Hash), b)
	})
	if err != nil {
		return "", err
	}
	return key, nil
}

// Keys lists the keys of a tenant (their owners and hashes), by user.
func (s *Store) Keys(ctx context.Context, tenant string) ([]Key, error) {
	var out []Key
	err := s.st.View(ctx, func(tx store.Tx) error {
		return tx.Scan(NSKeys, tenant+"/", func(k string, v []byte) error {
			var key Key
			if err := json.Unmarshal(v, &key); err != nil {
				return model.Wrap(model.Internal, err, "corrupt key %s", k)
			}
			out = append(out, key)
			return nil
		})
	})
	sort.SliceStable(out, func(i, j int) bool { return out[i].User < out[j].User })
	return out, err
}

// RemoveKey deletes the key of user in tenant whose hash starts with
// hashPrefix (at least 8 hex digits); model.NotFound when none does.
func (s *Store) RemoveKey(ctx context.Context, tenant, user, hashPrefix string) error {
	if len(hashPrefix) < 8 {
		return model.Errorf(model.InvalidArgument, "give at least 8 hex digits of the key's hash")
	}
	return s.st.Update(ctx, func(tx store.Tx) error {
		var found []string
		if err := tx.Scan(NSKeys, keyKey(tenant, user, strings.ToLower(hashPrefix)), func(k string, _ []byte) error {
			found = append(found, k)
			return nil
		}); err != nil {
			return err
		}
		if len(found) != 1 {
			return model.Errorf(model.NotFound, "no single key %s of user %s in tenant %s", hashPrefix, user, tenant)
		}
		return tx.Delete(NSKeys, found[0])
	})
}

// Check reports whether key is a stored key of user in tenant: nil, or a
// model.Unauthenticated error.
func (s *Store) Check(ctx context.Context, tenant, user, key string) error {
	bad := model.Errorf(model.Unauthenticated, "invalid Coopr-ApiKey")
	if key == "" {
		return bad
	}
	_, err := store.Get(ctx, s.st, NSKeys, keyKey(tenant, user, Hash(key)))
	if model.IsNotFound(err) {
		return bad
	}
	return err
}

func keyKey(tenant, user, hash string) string { return tenant + "/" + user + "/" + hash }
