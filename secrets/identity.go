package secrets

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
)

// Identity returns a keyed hash (HMAC-SHA-256 with a key derived from the
// data directory's key) of parts, for telling callers apart without
// keeping their secrets: two different sets of credentials never share an
// identity, and the identity cannot be reversed or recomputed without the
// data directory's key.
func (b *Box) Identity(parts ...string) string {
	h := hmac.New(sha256.New, b.mac)
	for _, p := range parts {
		h.Write([]byte(p))
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil)[:16])
}
