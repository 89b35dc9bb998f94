package gateway

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/imagegw/imagegw/model"
)

// sealer encrypts the credentials a job needs to keep following its cloud
// after a restart, so that they never lie in the store in clear. The key
// lives beside the store in the data directory (mode 0600); without a data
// directory it is ephemeral and jobs started with client credentials cannot
// resume after a restart.
type sealer struct{ aead cipher.AEAD }

const keyFile = "secret.key"

func newSealer(dataDir string) (*sealer, error) {
	key := make([]byte, 32)
	if dataDir == "" {
		if _, err := rand.Read(key); err != nil {
			return nil, err
		}
	} else {
		path := filepath.Join(dataDir, keyFile)
		b, err := os.ReadFile(path)
		switch {
		case err == nil && len(b) == 32:
			key = b
		case err == nil:
			return nil, fmt.Errorf("gateway: %s is not a 32-byte key", path)
		case errors.Is(err, os.ErrNotExist):
			if _, err := rand.Read(key); err != nil {
				return nil, err
			}
			if err := os.WriteFile(path, key, 0o600); err != nil {
				return nil, fmt.Errorf("gateway: writing credential key: %w", err)
			}
		default:
			return nil, fmt.Errorf("gateway: reading credential key: %w", err)
		}
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	return &sealer{aead: aead}, nil
}

func (s *sealer) seal(c model.Credentials) ([]byte, error) {
	if c.Empty() {
		return nil, nil
	}
	plain, err := json.Marshal(c)
	if err != nil {
		return nil, err
	}
	nonce := make([]byte, s.aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return nil, err
	}
	return s.aead.Seal(nonce, nonce, plain, nil), nil
}

func (s *sealer) open(b []byte) (model.Credentials, error) {
	var c model.Credentials
	if len(b) == 0 {
		return c, nil
	}
	n := s.aead.NonceSize()
	if len(b) < n {
		return c, errors.New("sealed credentials too short")
	}
	plain, err := s.aead.Open(nil, b[:n], b[n:], nil)
	if err != nil {
		return c, fmt.Errorf("opening sealed credentials: %w", err)
	}
	err = json.Unmarshal(plain, &c)
	return c, err
}
