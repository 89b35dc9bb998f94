// Package accounts keeps the CloudAPI accounts of the gateway: a login, its
// profile, the driver and provider it is bound to with the cloud
// credentials the gateway acts with, and the SSH public keys that sign its
// requests. Accounts live in the store namespace "accounts" (by login) and
// keys in "keys" (by login and MD5 fingerprint).
package accounts

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/google/uuid"
	"golang.org/x/crypto/ssh"

	"github.com/imagegw/imagegw/model"
	"github.com/imagegw/imagegw/secrets"
	"github.com/imagegw/imagegw/store"
)

// Store namespaces.
const (
	NSAccounts = "accounts"
	NSKeys     = "keys"
)

// Profile is an account's optional personal fields, in CloudAPI's names;
// the CloudAPI front shows them as they are.
type Profile struct {
	CompanyName string `json:"companyName,omitempty"`
	FirstName   string `json:"firstName,omitempty"`
	LastName    string `json:"lastName,omitempty"`
	Address     string `json:"address,omitempty"`
	PostalCode  string `json:"postalCode,omitempty"`
	City        string `json:"city,omitempty"`
	State       string `json:"state,omitempty"`
	Country     string `json:"country,omitempty"`
	Phone       string `json:"phone,omitempty"`
}

// Account is one CloudAPI account.
type Account struct {
	ID    string `json:"id"`
	Login string `json:"login"`
	Email string `json:"email"`
	Profile
	// Driver and Provider are the account's default selection ("" provider:
	// the driver's default).
	Driver   string `json:"driver"`
	Provider string `json:"provider,omitempty"`
	// Credentials are the cloud credentials the gateway acts with, per
	// driver id. A driver without an entry is called with the provider's
	// server-side credentials.
	Credentials map[string]model.Credentials `json:"credentials,omitempty"`
	Created     time.Time                    `json:"created"`
	Updated     time.Time                    `json:"updated"`
}

// CredentialsFor returns the account's credentials for a driver.
func (a Account) CredentialsFor(driver string) model.Credentials {
	return a.Credentials[driver]
}

// Key is one SSH public key of an account.
type Key struct {
	Login       string    `json:"login"`
	Name        string    `json:"name"`
	Fingerprint string    `json:"fingerprint"` // MD5, colon-separated hex
	Key         string    `json:"key"`         // authorized_keys form
	Created     time.Time `json:"created"`
}

// Store reads and writes accounts and keys. Accounts' cloud credentials
// are sealed with the data directory's key (package secrets) before they
// reach the store.
type Store struct {
	st  store.Store
	box *secrets.Box
	now func() time.Time
}

// New returns a Store over st that seals credentials with box.
func New(st store.Store, box *secrets.Box) *Store { return &Store{st: st, box: box, now: time.Now} }

// record is an account as the store keeps it: the credentials sealed.
type record struct {
	Account
	// Credentials shadows Account.Credentials so it is never written; it
	// reads records from before credentials were sealed.
	Credentials map[string]model.Credentials `json:"credentials,omitempty"`
	Sealed      map[string][]byte            `json:"sealed_credentials,omitempty"`
}

func (s *Store) encode(a Account) ([]byte, error) {
	rec := record{Account: a}
	for drv, c := range a.Credentials {
		sealed, err := s.box.Seal(c)
		if err != nil {
			return nil, model.Wrap(model.Internal, err, "sealing credentials of account %s", a.Login)
		}
		if rec.Sealed == nil {
			rec.Sealed = map[string][]byte{}
		}
		rec.Sealed[drv] = sealed
	}
	return json.Marshal(rec)
}

func (s *Store) decode(login string, b []byte) (Account, error) {
	var rec record
	if err := json.Unmarshal(b, &rec); err != nil {
		return Account{}, model.Wrap(model.Internal, err, "corrupt account %s", login)
	}
	a := rec.Account
	a.Credentials = rec.Credentials
	for drv, sealed := range rec.Sealed {
		c, err := s.box.Open(sealed)
		if err != nil {
			return Account{}, model.Wrap(model.Internal, err, "account %s: cannot open its %s credentials", login, drv)
		}
		if a.Credentials == nil {
			a.Credentials = map[string]model.Credentials{}
		}
		a.Credentials[drv] = c
	}
	return a, nil
}

// reserved are names that cannot be logins: "my" is the caller's alias,
// the others are path prefixes of other fronts and the server's own routes
// (api/server.Reserved; a test there checks both lists agree).
var reserved = map[string]bool{"my": true, "api": true, "v1": true, "v2": true,
	"metrics": true, "healthz": true, "readyz": true, "version": true}

var loginRE = regexp.MustCompile(`^[a-zA-Z][a-zA-Z0-9_.@-]{1,31}$`)

// ValidLogin checks a login: 2 to 32 characters, a letter first, then
// letters, digits, "_", ".", "@" or "-"; not a reserved word.
func ValidLogin(login string) error {
	if !loginRE.MatchString(login) {
		return model.Errorf(model.InvalidArgument, "login %q: use 2-32 letters, digits, _ . @ or -, starting with a letter", login)
	}
	if reserved[strings.ToLower(login)] {
		return model.Errorf(model.InvalidArgument, "login %q is reserved", login)
	}
	return nil
}

// Add creates an account; its ID and times are set here when empty. A
// login in use is model.AlreadyExists.
func (s *Store) Add(ctx context.Context, a Account) (Account, error) {
	if err := ValidLogin(a.Login); err != nil {
		return Account{}, err
	}
	if a.Driver == "" {
		return Account{}, model.Errorf(model.InvalidArgument, "account %s needs a driver", a.Login)
	}
	if a.ID == "" {
		a.ID = uuid.NewString()
	}
	now := s.now().UTC().Truncate(time.Second)
	a.Created, a.Updated = now, now
	b, err := s.encode(a)
	if err != nil {
		return Account{}, err
	}
	err = s.st.Update(ctx, func(tx store.Tx) error { return tx.Insert(NSAccounts, a.Login, b) })
	if model.CodeOf(err) == model.AlreadyExists {
		return Account{}, model.Errorf(model.AlreadyExists, "account %s already exists", a.Login)
	}
	return a, err
}

// Get returns an account, or model.NotFound.
func (s *Store) Get(ctx context.Context, login string) (Account, error) {
	b, err := store.Get(ctx, s.st, NSAccounts, login)
	if model.IsNotFound(err) {
		return Account{}, model.Errorf(model.NotFound, "account %s not found", login)
	}
	if err != nil {
		return Account{}, err
	}
	return s.decode(login, b)
}

// List returns every account, by login.
func (s *Store) List(ctx context.Context) ([]Account, error) {
	out := []Account{}
	err := s.st.View(ctx, func(tx store.Tx) error {
		return tx.Scan(NSAccounts, "", func(k string, v []byte) error {
			a, err := s.decode(k, v)
			if err != nil {
				return err
			}
			out = append(out, a)
			return nil
		})
	})
	return out, err
}

// Remove deletes an account and its keys, or returns model.NotFound.
func (s *Store) Remove(ctx context.Context, login string) error {
	return s.st.Update(ctx, func(tx store.Tx) error {
		if err := tx.Delete(NSAccounts, login); err != nil {
			if model.IsNotFound(err) {
				return model.Errorf(model.NotFound, "account %s not found", login)
			}
			return err
		}
		var keys []string
		if err := tx.Scan(NSKeys, login+"/", func(k string, _ []byte) error {
			keys = append(keys, k)
			return nil
		}); err != nil {
			return err
		}
		for _, k := range keys {
			if err := tx.Delete(NSKeys, k); err != nil {
				return err
			}
		}
		return nil
	})
}

// ParseKey parses one public key in authorized_keys form (the contents of
// an id_*.pub file) and returns it with its comment.
func ParseKey(authorized []byte) (ssh.PublicKey, string, error) {
	pub, comment, _, rest, err := ssh.ParseAuthorizedKey(authorized)
	if err != nil {
		return nil, "", model.Wrap(model.InvalidArgument, err, "not an SSH public key")
	}
	if len(strings.TrimSpace(string(rest))) > 0 {
		return nil, "", model.Errorf(model.InvalidArgument, "give one public key at a time")
	}
	switch pub.Type() {
	case ssh.KeyAlgoRSA, ssh.KeyAlgoED25519, ssh.KeyAlgoECDSA256, ssh.KeyAlgoECDSA384, ssh.KeyAlgoECDSA521:
	default:
		return nil, "", model.Errorf(model.InvalidArgument, "key type %s is not supported (rsa, ecdsa or ed25519)", pub.Type())
	}
	return pub, comment, nil
}

// AddKey adds a public key (authorized_keys form) to an account. An empty
// name becomes the key's comment, else its fingerprint. A key already on
// the account is model.AlreadyExists; an unknown login model.NotFound.
func (s *Store) AddKey(ctx context.Context, login, name string, authorized []byte) (Key, error) {
	pub, comment, err := ParseKey(authorized)
	if err != nil {
		return Key{}, err
	}
	fp := ssh.FingerprintLegacyMD5(pub)
	if name == "" {
		name = comment
	}
	if name == "" {
		name = fp
	}
	k := Key{Login: login, Name: name, Fingerprint: fp, Created: s.now().UTC().Truncate(time.Second),
		Key: strings.TrimSpace(string(ssh.MarshalAuthorizedKey(pub)))}
	b, err := json.Marshal(k)
	if err != nil {
		return Key{}, err
	}
	err = s.st.Update(ctx, func(tx store.Tx) error {
		if _, err := tx.Get(NSAccounts, login); err != nil {
			if model.IsNotFound(err) {
				return model.Errorf(model.NotFound, "account %s not found", login)
			}
			return err
		}
		if err := tx.Insert(NSKeys, login+"/"+fp, b); err != nil {
			if model.CodeOf(err) == model.AlreadyExists {
				return model.Errorf(model.AlreadyExists, "key %s is already a key of %s", fp, login)
			}
			return err
		}
		return nil
	})
	if err != nil {
		return Key{}, err
	}
	return k, nil
}

// Keys lists an account's keys, by name.
func (s *Store) Keys(ctx context.Context, login string) ([]Key, error) {
	if _, err := s.Get(ctx, login); err != nil {
		return nil, err
	}
	out := []Key{}
	err := s.st.View(ctx, func(tx store.Tx) error {
		return tx.Scan(NSKeys, login+"/", func(k string, v []byte) error {
			var key Key
			if err := json.Unmarshal(v, &key); err != nil {
				return model.Wrap(model.Internal, err, "corrupt key %s", k)
			}
			out = append(out, key)
			return nil
		})
	})
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, err
}

// RemoveKey removes a key by fingerprint or name, or returns model.NotFound.
func (s *Store) RemoveKey(ctx context.Context, login, nameOrFP string) error {
	keys, err := s.Keys(ctx, login)
	if err != nil {
		return err
	}
	want := strings.TrimPrefix(strings.ToLower(nameOrFP), "md5:")
	for _, k := range keys {
		if k.Fingerprint == want || k.Name == nameOrFP {
			return s.st.Update(ctx, func(tx store.Tx) error { return tx.Delete(NSKeys, login+"/"+k.Fingerprint) })
		}
	}
	return model.Errorf(model.NotFound, "key %s of %s not found", nameOrFP, login)
}

// ErrUnknownKey is returned (wrapped) by LookupKey for an unknown login or
// fingerprint.
var ErrUnknownKey = errors.New("unknown key")

// LookupKey returns the public key of login with the MD5 fingerprint fp.
// Its signature suits httpsig.KeyStore.
func (s *Store) LookupKey(ctx context.Context, login, fp string) (ssh.PublicKey, error) {
	b, err := store.Get(ctx, s.st, NSKeys, login+"/"+fp)
	if model.IsNotFound(err) {
		return nil, fmt.Errorf("%w: %s of %s", ErrUnknownKey, fp, login)
	}
	if err != nil {
		return nil, err
	}
	var k Key
	if err := json.Unmarshal(b, &k); err != nil {
		return nil, model.Wrap(model.Internal, err, "corrupt key %s", fp)
	}
	pub, _, err := ParseKey([]byte(k.Key))
	return pub, err
}
