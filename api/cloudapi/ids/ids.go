// Package ids maps native cloud ids to the UUIDs CloudAPI clients expect,
// and back.
//
// Native UUIDs (Triton, OpenStack) pass through unchanged. Any other native
// id (ami-..., mock's img1, vSphere's vm-42) becomes the UUIDv5, in the RFC
// 4122 URL namespace, of "imagegw://<driver>/<provider>/<kind>/<native id>".
// Mappings are recorded in the store when shown, so that a shown UUID can
// be resolved back; on a miss the caller recomputes by listing.
package ids

import (
	"context"
	"strings"
	"sync"

	"github.com/google/uuid"

	"github.com/imagegw/imagegw/model"
	"github.com/imagegw/imagegw/store"
)

// Kinds of mapped ids.
const (
	Images    = "images"
	Packages  = "packages"
	Instances = "instances"
	Owners    = "owners"
)

// Namespace is the store namespace of recorded mappings.
const Namespace = "cloudapi_ids"

// IsUUID reports whether s is a UUID in the canonical 8-4-4-4-12 form.
func IsUUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	_, err := uuid.Parse(s)
	return err == nil
}

// Name returns the name a UUIDv5 is made from.
func Name(driver, provider, kind, native string) string {
	return "imagegw://" + driver + "/" + provider + "/" + kind + "/" + native
}

// UUID returns the CloudAPI id of a native id: the id itself when it is a
// UUID (lower-cased), else its UUIDv5.
func UUID(driver, provider, kind, native string) string {
	if IsUUID(native) {
		return strings.ToLower(native)
	}
	return uuid.NewSHA1(uuid.NameSpaceURL, []byte(Name(driver, provider, kind, native))).String()
}

// Mapper records and resolves mappings, with an in-memory cache in front of
// the store.
type Mapper struct {
	st    store.Store
	mu    sync.RWMutex
	known map[string]string // key → native id
	shown map[string]string // native key → UUID, for recorded natives
}

// NewMapper returns a Mapper over st.
func NewMapper(st store.Store) *Mapper {
	return &Mapper{st: st, known: map[string]string{}, shown: map[string]string{}}
}

func key(driver, provider, kind, id string) string {
	return driver + "/" + provider + "/" + kind + "/" + id
}

// Map returns the UUID of each native id, recording the new mappings in
// one transaction. Native UUIDs are not recorded: they resolve to themselves.
func (m *Mapper) Map(ctx context.Context, driver, provider, kind string, natives ...string) ([]string, error) {
	out := make([]string, len(natives))
	var fresh map[string]string
	m.mu.RLock()
	for i, n := range natives {
		if u, ok := m.shown[key(driver, provider, kind, n)]; ok {
			out[i] = u // recorded already: no need to hash again
			continue
		}
		out[i] = UUID(driver, provider, kind, n)
		if out[i] == strings.ToLower(n) {
			continue
		}
		k := key(driver, provider, kind, out[i])
		if _, ok := m.known[k]; !ok {
			if fresh == nil {
				fresh = map[string]string{}
			}
			fresh[k] = n
		}
	}
	m.mu.RUnlock()
	if len(fresh) == 0 {
		return out, nil
	}
	err := m.st.Update(ctx, func(tx store.Tx) error {
		for k, n := range fresh {
			if err := tx.Put(Namespace, k, []byte(n)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, model.Wrap(model.Internal, err, "recording id mappings")
	}
	m.mu.Lock()
	for k, n := range fresh {
		m.known[k] = n
		prefix := k[:strings.LastIndexByte(k, '/')+1]
		m.shown[prefix+n] = k[len(prefix):]
	}
	m.mu.Unlock()
	return out, nil
}

// Resolve returns the native id recorded for a UUID, and whether one was.
func (m *Mapper) Resolve(ctx context.Context, driver, provider, kind, id string) (string, bool, error) {
	id = strings.ToLower(id)
	k := key(driver, provider, kind, id)
	m.mu.RLock()
	n, ok := m.known[k]
	m.mu.RUnlock()
	if ok {
		return n, true, nil
	}
	v, err := store.Get(ctx, m.st, Namespace, k)
	if model.IsNotFound(err) {
		return "", false, nil
	}
	if err != nil {
		return "", false, model.Wrap(model.Internal, err, "reading id mappings")
	}
	m.mu.Lock()
	m.known[k] = string(v)
	m.mu.Unlock()
	return string(v), true, nil
}
