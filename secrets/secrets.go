// Package secrets seals the cloud credentials imagegw must keep (those a
// job needs to follow its cloud after a restart, and CloudAPI accounts'
// credentials) so that they never lie in the store in clear. The key lives
// beside the store in the data directory, as secret.key (mode 0600): back it
// up with the database, or the sealed credentials cannot be opened.
package secrets

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/imagegw/imagegw/model"
)

// KeyFile is the key's file name in the data directory.
const KeyFile = "secret.key"

// Box seals and opens credentials with AES-256-GCM.
type Box struct {
	aead cipher.AEAD
	mac  []byte // key of Identity, derived from the data key
}

// Load returns the Box of a data directory, creating its key on first use.
// An empty dataDir gives an ephemeral key: what it seals cannot be opened
// after the process ends.
func Load(dataDir string) (*Box, error) {
	key := make([]byte, 32)
	if dataDir == "" {
		if _, err := rand.Read(key); err != nil {
			return nil, err
		}
		return newBox(key)
	}
	path := filepath.Join(dataDir, KeyFile)
	b, err := os.ReadFile(path)
	switch {
	case err == nil && len(b) == 32:
		return newBox(b)
	case err == nil:
		return nil, fmt.Errorf("secrets: %s is not a 32-byte key", path)
	case !errors.Is(err, os.ErrNotExist):
		return nil, fmt.Errorf("secrets: reading key: %w", err)
	}
	if _, err := rand.Read(key); err != nil {
		return nil, err
	}
	// O_EXCL: of two processes creating the key at once, one wins and the
	// other reads the winner's key.
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, os.ErrExist) {
		return Load(dataDir)
	}
	if err != nil {
		return nil, fmt.Errorf("secrets: writing key: %w", err)
	}
	if _, err := f.Write(key); err != nil {
		f.Close()
		return nil, fmt.Errorf("secrets: writing key: %w", err)
	}
	if err := f.Close(); err != nil {
		return nil, fmt.Errorf("secrets: writing key: %w", err)
	}
	return newBox(key)
}

func newBox(key []byte) (*Box, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	mk := sha256.Sum256(append([]byte("imagegw identity\x00"), key...))
	return &Box{aead: aead, mac: mk[:]}, nil
}

// Seal encrypts c; empty credentials seal to nil.
func (b *Box) Seal(c model.Credentials) ([]byte, error) {
	if c.Empty() {
		return nil, nil
	}
	plain, err := json.Marshal(c)
	if err != nil {
		return nil, err
	}
	nonce := make([]byte, b.aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return nil, err
	}
	return b.aead.Seal(nonce, nonce, plain, nil), nil
}

// Open decrypts what Seal made; nil opens to empty credentials. A wrong
// key or tampered data is an error.
func (b *Box) Open(sealed []byte) (model.Credentials, error) {
	var c model.Credentials
	if len(sealed) == 0 {
		return c, nil
	}
	n := b.aead.NonceSize()
	if len(sealed) < n {
		return c, errors.New("secrets: sealed credentials too short")
	}
	plain, err := b.aead.Open(nil, sealed[:n], sealed[n:], nil)
	if err != nil {
		return c, fmt.Errorf("secrets: opening sealed credentials (is %s the key they were sealed with?): %w", KeyFile, err)
	}
	err = json.Unmarshal(plain, &c)
	return c, err
}
