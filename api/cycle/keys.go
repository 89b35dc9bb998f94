package cycle

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/imagegw/imagegw/model"
	"github.com/imagegw/imagegw/secrets"
	"github.com/imagegw/imagegw/store"
)

// Store namespaces of the front's hubs and API keys.
const (
	nsHubs      = "cycle_hubs"       // hub id → Hub
	nsHubNames  = "cycle_hub_names"  // hub name → hub id
	nsKeys      = "cycle_apikeys"    // key id → APIKey
	nsKeyHashes = "cycle_apikey_sha" // hex SHA-256 of the secret → key id
)

// Capabilities an API key may hold (spec decision 1).
const (
	CapImagesView   = "images-view"
	CapImagesManage = "images-manage"
	CapImagesImport = "images-import"
	CapJobsView     = "apionly-jobs-view"
)

// Capabilities lists every capability, in the order they are shown.
var Capabilities = []string{CapImagesView, CapImagesManage, CapImagesImport, CapJobsView}

// Hub maps a Cycle hub to one configured driver and provider (spec decision
// 2). Its cloud credentials are sealed with the data directory's key.
type Hub struct {
	ID       string    `json:"id"`
	Name     string    `json:"name"`
	Driver   string    `json:"driver"`
	Provider string    `json:"provider,omitempty"` // "" is the driver's default
	Creds    []byte    `json:"creds,omitempty"`    // sealed model.Credentials
	Created  time.Time `json:"created"`
}

// APIKey is an API key record. The secret itself is never stored: only its
// SHA-256 (the secret is 32 random bytes, so a fast hash is enough: there
// is nothing to guess, and a lookup by hash needs no per-key salt).
type APIKey struct {
	ID     string `json:"id"`
	Name   string `json:"name"`
	HubID  string `json:"hub_id"`
	SHA256 string `json:"secret_sha256"`
	// Capabilities is nil for every capability ("all").
	Capabilities []string   `json:"capabilities,omitempty"`
	Expires      *time.Time `json:"expires,omitempty"`
	Revoked      *time.Time `json:"revoked,omitempty"`
	Created      time.Time  `json:"created"`
	Updated      time.Time  `json:"updated"`
}

// All reports whether the key holds every capability.
func (k APIKey) All() bool { return k.Capabilities == nil }

// Can reports whether the key holds capability c.
func (k APIKey) Can(c string) bool { return k.All() || slices.Contains(k.Capabilities, c) }

// Keys manages hubs and API keys in the gateway's store.
type Keys struct {
	st  store.Store
	box *secrets.Box
	now func() time.Time
}

// NewKeys returns the hub and key store over st, sealing hub credentials
// with box.
func NewKeys(st store.Store, box *secrets.Box) *Keys {
	return &Keys{st: st, box: box, now: time.Now}
}

// NewObjectID returns a fresh ObjectID for a gateway-made resource: a
// 4-byte Unix time and 8 random bytes, in hex (spec decision 3).
func NewObjectID(now time.Time) string {
	var b [12]byte
	binary.BigEndian.PutUint32(b[:4], uint32(now.Unix()))
	if _, err := rand.Read(b[4:]); err != nil {
		panic(err) // crypto/rand does not fail
	}
	return hex.EncodeToString(b[:])
}

func hashSecret(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:])
}

// AddHub records a hub for driver and provider (already checked by the
// caller) with the cloud credentials the gateway acts with for it.
func (k *Keys) AddHub(ctx context.Context, name, driver, provider string, creds model.Credentials) (Hub, error) {
	name = strings.TrimSpace(name)
	if name == "" {
		return Hub{}, model.Errorf(model.InvalidArgument, "a hub needs a name")
	}
	sealed, err := k.box.Seal(creds)
	if err != nil {
		return Hub{}, err
	}
	h := Hub{ID: NewObjectID(k.now()), Name: name, Driver: driver, Provider: provider, Creds: sealed, Created: k.now().UTC()}
	b, _ := json.Marshal(h)
	err = k.st.Update(ctx, func(tx store.Tx) error {
		if err := tx.Insert(nsHubNames, name, []byte(h.ID)); model.CodeOf(err) == model.AlreadyExists {
			return model.Errorf(model.AlreadyExists, "hub %q already exists", name)
		} else if err != nil {
			return err
		}
		return tx.Insert(nsHubs, h.ID, b)
	})
	return h, err
}

// Hub returns a hub by id, or model.NotFound.
func (k *Keys) Hub(ctx context.Context, id string) (Hub, error) {
	var h Hub
	v, err := store.Get(ctx, k.st, nsHubs, strings.ToLower(id))
	if model.IsNotFound(err) {
		return h, model.Errorf(model.NotFound, "hub %s not found", id)
	}
	if err != nil {
		return h, err
	}
	return h, json.Unmarshal(v, &h)
}

// FindHub returns a hub by id or name.
func (k *Keys) FindHub(ctx context.Context, idOrName string) (Hub, error) {
	if h, err := k.Hub(ctx, idOrName); err == nil || !model.IsNotFound(err) {
		return h, err
	}
	v, err := store.Get(ctx, k.st, nsHubNames, idOrName)
	if model.IsNotFound(err) {
		return Hub{}, model.Errorf(model.NotFound, "hub %s not found", idOrName)
	}
	if err != nil {
		return Hub{}, err
	}
	return k.Hub(ctx, string(v))
}

// Credentials opens a hub's sealed cloud credentials.
func (k *Keys) Credentials(h Hub) (model.Credentials, error) { return k.box.Open(h.Creds) }

// Hubs lists every hub by name.
func (k *Keys) Hubs(ctx context.Context) ([]Hub, error) {
	var out []Hub
	err := k.st.View(ctx, func(tx store.Tx) error {
		return tx.Scan(nsHubs, "", func(_ string, v []byte) error {
			var h Hub
			if err := json.Unmarshal(v, &h); err != nil {
				return err
			}
			out = append(out, h)
			return nil
		})
	})
	slices.SortFunc(out, func(a, b Hub) int { return strings.Compare(a.Name, b.Name) })
	return out, err
}

// RemoveHub removes a hub (by id or name) and every API key of it.
func (k *Keys) RemoveHub(ctx context.Context, idOrName string) (Hub, error) {
	h, err := k.FindHub(ctx, idOrName)
	if err != nil {
		return h, err
	}
	keys, err := k.List(ctx, h.ID)
	if err != nil {
		return h, err
	}
	return h, k.st.Update(ctx, func(tx store.Tx) error {
		for _, key := range keys {
			if err := tx.Delete(nsKeys, key.ID); err != nil {
				return err
			}
			if err := tx.Delete(nsKeyHashes, key.SHA256); err != nil && !model.IsNotFound(err) {
				return err
			}
		}
		if err := tx.Delete(nsHubNames, h.Name); err != nil && !model.IsNotFound(err) {
			return err
		}
		return tx.Delete(nsHubs, h.ID)
	})
}

// ParseCapabilities checks capability names; none means every one (nil).
func ParseCapabilities(names []string) ([]string, error) {
	if len(names) == 0 {
		return nil, nil
	}
	out := []string{}
	for _, n := range names {
		for _, c := range strings.Split(n, ",") {
			c = strings.TrimSpace(c)
			if c == "all" {
				return nil, nil
			}
			if !slices.Contains(Capabilities, c) {
				return nil, model.Errorf(model.InvalidArgument, "unknown capability %q; capabilities are %s (or all)", c, strings.Join(Capabilities, ", "))
			}
			if !slices.Contains(out, c) {
				out = append(out, c)
			}
		}
	}
	return out, nil
}

// AddKey makes an API key of a hub and returns it with its secret, which
// is shown this once and stored only hashed. expires ≤ 0 never expires.
func (k *Keys) AddKey(ctx context.Context, hubID, name string, caps []string, expires time.Duration) (APIKey, string, error) {
	h, err := k.FindHub(ctx, hubID)
	if err != nil {
		return APIKey{}, "", err
	}
	if strings.TrimSpace(name) == "" {
		return APIKey{}, "", model.Errorf(model.InvalidArgument, "an API key needs a name")
	}
	var raw [32]byte
	if _, err := rand.Read(raw[:]); err != nil {
		return APIKey{}, "", err
	}
	secret := "igw_" + base64.RawURLEncoding.EncodeToString(raw[:])
	now := k.now().UTC()
	key := APIKey{ID: NewObjectID(now), Name: name, HubID: h.ID, SHA256: hashSecret(secret), Capabilities: caps, Created: now, Updated: now}
	if expires > 0 {
		t := now.Add(expires)
		key.Expires = &t
	}
	b, _ := json.Marshal(key)
	err = k.st.Update(ctx, func(tx store.Tx) error {
		if err := tx.Insert(nsKeys, key.ID, b); err != nil {
			return err
		}
		return tx.Insert(nsKeyHashes, key.SHA256, []byte(key.ID))
	})
	if err != nil {
		return APIKey{}, "", err
	}
	return key, secret, nil
}

// Key returns a key by id, or model.NotFound.
func (k *Keys) Key(ctx context.Context, id string) (APIKey, error) {
	var key APIKey
	v, err := store.Get(ctx, k.st, nsKeys, strings.ToLower(id))
	if model.IsNotFound(err) {
		return key, model.Errorf(model.NotFound, "API key %s not found", id)
	}
	if err != nil {
		return key, err
	}
	return key, json.Unmarshal(v, &key)
}

// List lists a hub's keys (every key when hubID is ""), oldest first.
func (k *Keys) List(ctx context.Context, hubID string) ([]APIKey, error) {
	var out []APIKey
	err := k.st.View(ctx, func(tx store.Tx) error {
		return tx.Scan(nsKeys, "", func(_ string, v []byte) error {
			var key APIKey
			if err := json.Unmarshal(v, &key); err != nil {
				return err
			}
			if hubID == "" || key.HubID == hubID {
				out = append(out, key)
			}
			return nil
		})
	})
	slices.SortFunc(out, func(a, b APIKey) int {
		if c := a.Created.Compare(b.Created); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	return out, err
}

// Revoke marks a key revoked: it authenticates no more (401).
func (k *Keys) Revoke(ctx context.Context, id string) (APIKey, error) {
	var key APIKey
	err := k.st.Update(ctx, func(tx store.Tx) error {
		v, err := tx.Get(nsKeys, strings.ToLower(id))
		if model.IsNotFound(err) {
			return model.Errorf(model.NotFound, "API key %s not found", id)
		}
		if err != nil {
			return err
		}
		if err := json.Unmarshal(v, &key); err != nil {
			return err
		}
		if key.Revoked == nil {
			now := k.now().UTC()
			key.Revoked, key.Updated = &now, now
		}
		b, _ := json.Marshal(key)
		return tx.Put(nsKeys, key.ID, b)
	})
	return key, err
}

// authError is why a secret does not authenticate.
type authError struct{ expired bool }

func (e authError) Error() string {
	if e.expired {
		return "the API key has expired"
	}
	return "the API key is missing, unknown or revoked"
}

// Authenticate returns the live key whose secret is given, or an
// authError (expired or invalid).
func (k *Keys) Authenticate(ctx context.Context, secret string) (APIKey, error) {
	if secret == "" {
		return APIKey{}, authError{}
	}
	h := hashSecret(secret)
	v, err := store.Get(ctx, k.st, nsKeyHashes, h)
	if model.IsNotFound(err) {
		return APIKey{}, authError{}
	}
	if err != nil {
		return APIKey{}, err
	}
	key, err := k.Key(ctx, string(v))
	if model.IsNotFound(err) {
		return APIKey{}, authError{}
	}
	if err != nil {
		return APIKey{}, err
	}
	if subtle.ConstantTimeCompare([]byte(key.SHA256), []byte(h)) != 1 || key.Revoked != nil {
		return APIKey{}, authError{}
	}
	if key.Expires != nil && !k.now().Before(*key.Expires) {
		return APIKey{}, authError{expired: true}
	}
	return key, nil
}

// Lookup authenticates secret and reads the hub hubID in one read
// transaction (what every request needs): the live key, or an authError;
// the hub, or nil when hubID names none.
func (k *Keys) Lookup(ctx context.Context, secret, hubID string) (APIKey, *Hub, error) {
	var key APIKey
	var hub *Hub
	if secret == "" {
		return key, nil, authError{}
	}
	h := hashSecret(secret)
	found := false
	err := k.st.View(ctx, func(tx store.Tx) error {
		id, err := tx.Get(nsKeyHashes, h)
		if model.IsNotFound(err) {
			return nil
		}
		if err != nil {
			return err
		}
		v, err := tx.Get(nsKeys, string(id))
		if model.IsNotFound(err) {
			return nil
		}
		if err != nil {
			return err
		}
		if err := json.Unmarshal(v, &key); err != nil {
			return err
		}
		found = true
		if hubID == "" {
			return nil
		}
		v, err = tx.Get(nsHubs, strings.ToLower(hubID))
		if model.IsNotFound(err) {
			return nil
		}
		if err != nil {
			return err
		}
		hub = new(Hub)
		return json.Unmarshal(v, hub)
	})
	if err != nil {
		return APIKey{}, nil, err
	}
	if !found || subtle.ConstantTimeCompare([]byte(key.SHA256), []byte(h)) != 1 {
		return APIKey{}, nil, authError{}
	}
	return key, hub, k.live(key)
}

// live says why a key that exists does not authenticate now, or nil.
func (k *Keys) live(key APIKey) error {
	switch {
	case key.Revoked != nil:
		return authError{}
	case key.Expires != nil && !k.now().Before(*key.Expires):
		return authError{expired: true}
	}
	return nil
}

// authTTL is how long the front reuses a key and hub it read: a revoke or
// a hub removal made by another process (the CLI) takes effect within it.
const authTTL = time.Second

// maxAuthCache bounds the remembered lookups.
const maxAuthCache = 10000

type authEntry struct {
	key APIKey
	hub *Hub
	err error
	at  time.Time
}

// authCache remembers Lookup's answers for authTTL, so that a busy client
// costs one store read a second rather than one per request.
type authCache struct {
	mu sync.Mutex
	m  map[string]authEntry
}

// lookup is Lookup through the cache (expiry is checked at every use).
func (a *authCache) lookup(ctx context.Context, k *Keys, secret, hubID string) (APIKey, *Hub, error) {
	id := hashSecret(secret) + "\x00" + hubID
	now := k.now()
	a.mu.Lock()
	e, ok := a.m[id]
	a.mu.Unlock()
	if ok && now.Sub(e.at) < authTTL && now.Sub(e.at) >= 0 {
		if e.err != nil {
			return APIKey{}, nil, e.err
		}
		return e.key, e.hub, k.live(e.key)
	}
	key, hub, err := k.Lookup(ctx, secret, hubID)
	var ae authError
	if err == nil || errors.As(err, &ae) {
		a.mu.Lock()
		if a.m == nil || len(a.m) >= maxAuthCache {
			a.m = map[string]authEntry{}
		}
		a.m[id] = authEntry{key: key, hub: hub, err: err, at: now}
		a.mu.Unlock()
	}
	return key, hub, err
}

// String describes a key for listings.
func (k APIKey) String() string {
	caps := "all"
	if !k.All() {
		caps = strings.Join(k.Capabilities, ",")
	}
	return fmt.Sprintf("%s %s hub=%s capabilities=%s", k.ID, k.Name, k.HubID, caps)
}
