package gateway

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"strings"

	"github.com/google/uuid"

	"github.com/imagegw/imagegw/model"
	"github.com/imagegw/imagegw/store"
)

// Scheme is a way of naming native objects that a front's clients expect:
// every scheme id is computed from (driver, provider, kind, native id), so
// it needs no store to be shown and resolves back through the catalog's
// index.
type Scheme string

// The id schemes.
const (
	// SchemeUUID is CloudAPI's: native UUIDs (Triton, OpenStack) pass
	// through lower-cased; any other native id becomes the UUIDv5, in the
	// RFC 4122 URL namespace, of "imagegw://<driver>/<provider>/<kind>/<id>".
	SchemeUUID Scheme = "uuid"
	// SchemeObjectID is the Cycle front's: the first 24 hex digits of the
	// SHA-256 of the same name.
	SchemeObjectID Scheme = "objectid"
)

// Kinds of objects an id names.
const (
	KindImages    = "images"
	KindPackages  = "packages"
	KindInstances = "instances"
	KindOwners    = "owners"
)

// nsIDs records scheme ids whose native id cannot be recomputed from a
// catalog: images the gateway made (so that a replica or an entry that has
// not listed them yet resolves them) and mappings migrated from older
// versions. Key: scheme/driver/provider/kind/scheme id → native id.
const nsIDs = "ids"

// IsUUID reports whether s is a UUID in the canonical 8-4-4-4-12 form.
func IsUUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	_, err := uuid.Parse(s)
	return err == nil
}

// IsObjectID reports whether s is 24 lower- or upper-case hex digits.
func IsObjectID(s string) bool {
	if len(s) != 24 {
		return false
	}
	_, err := hex.DecodeString(s)
	return err == nil
}

// IDName is the name scheme ids are made from.
func IDName(driver, provider, kind, native string) string {
	return "imagegw://" + driver + "/" + provider + "/" + kind + "/" + native
}

// ID returns the scheme id of a native id.
func (s Scheme) ID(driver, provider, kind, native string) string {
	switch s {
	case SchemeObjectID:
		sum := sha256.Sum256([]byte(IDName(driver, provider, kind, native)))
		return hex.EncodeToString(sum[:12])
	default:
		if IsUUID(native) {
			return strings.ToLower(native)
		}
		return uuid.NewSHA1(uuid.NameSpaceURL, []byte(IDName(driver, provider, kind, native))).String()
	}
}

// Valid reports whether id has the form of the scheme's ids.
func (s Scheme) Valid(id string) bool {
	if s == SchemeObjectID {
		return IsObjectID(id)
	}
	return IsUUID(id)
}

// passThrough reports whether id may itself be a native id of the scheme.
func (s Scheme) passThrough(id string) bool { return s == SchemeUUID && IsUUID(id) }

func idKey(s Scheme, driver, provider, kind, id string) string {
	return string(s) + "/" + driver + "/" + provider + "/" + kind + "/" + strings.ToLower(id)
}

// recordIDs stores the scheme ids of a native id the gateway made, in every
// scheme, so that they resolve before a catalog lists the object.
func recordIDs(tx store.Tx, driver, provider, kind, native string) error {
	for _, s := range []Scheme{SchemeUUID, SchemeObjectID} {
		id := s.ID(driver, provider, kind, native)
		if s.passThrough(id) && strings.EqualFold(id, native) {
			continue
		}
		if err := tx.Put(nsIDs, idKey(s, driver, provider, kind, id), []byte(native)); err != nil {
			return err
		}
	}
	return nil
}

// recordedID returns the native id recorded for a scheme id.
func recordedID(ctx context.Context, st store.Store, s Scheme, driver, provider, kind, id string) (string, bool, error) {
	v, err := store.Get(ctx, st, nsIDs, idKey(s, driver, provider, kind, id))
	if model.IsNotFound(err) {
		return "", false, nil
	}
	if err != nil {
		return "", false, model.Wrap(model.Internal, err, "reading id mappings")
	}
	return string(v), true, nil
}
