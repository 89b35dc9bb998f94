// Package secrets seals the cloud credentials imagegw must keep (those a
// job needs to follow its cloud after a restart, and CloudAPI accounts'
// credentials) so that they never lie in the store in clear. The key lives
// beside the store in the data directory, as secret.key (mode 0600): back it
// up with the database, or the sealed credentials cannot be opened. The key
// is created exclusively and durably, so processes starting at once on a
// fresh directory all use the one key that won.
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
	won, err := createKey(dataDir, path, key)
	if err != nil {
		return nil, err
	}
	if !won { // another process made the key first: use its key
		return Load(dataDir)
	}
	return newBox(key)
}

// createKey makes the key file exclusively and durably: the key is written
// to a private temporary file and synced, then hard-linked to its name,
// which fails if the name exists, so a reader never sees a partial key and
// of processes racing on a fresh directory exactly one wins. The directory
// is synced so that the name survives a crash. won is false when another
// process's key was there first.
func createKey(dataDir, path string, key []byte) (won bool, err error) {
	tmp, err := os.CreateTemp(dataDir, "."+KeyFile+".tmp-*") // mode 0600
	if err != nil {
		return false, fmt.Errorf("secrets: writing key: %w", err)
	}
	defer os.Remove(tmp.Name())
	_, err = tmp.Write(key)
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return false, fmt.Errorf("secrets: writing key: %w", err)
	}
	if err := os.Link(tmp.Name(), path); err != nil {
		if errors.Is(err, os.ErrExist) {
			return false, nil
		}
		return false, fmt.Errorf("secrets: writing key: %w", err)
	}
	if err := syncDir(dataDir); err != nil {
		return false, fmt.Errorf("secrets: writing key: %w", err)
	}
	return true, nil
}

// syncDir flushes a directory's entries to disk.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
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
