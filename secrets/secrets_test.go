package secrets_test

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/imagegw/imagegw/model"
	"github.com/imagegw/imagegw/secrets"
)

func TestSealOpen(t *testing.T) {
	dir := t.TempDir()
	b1, err := secrets.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	c := model.Credentials{User: "AKIA", Password: "s3cr3t"}
	sealed, err := b1.Seal(c)
	if err != nil || bytes.Contains(sealed, []byte("s3cr3t")) {
		t.Fatalf("sealed %q, %v: the secret shows", sealed, err)
	}
	fi, err := os.Stat(filepath.Join(dir, secrets.KeyFile))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("key file: %v %v", fi, err)
	}
	b2, _ := secrets.Load(dir) // a restart reads the same key
	if got, err := b2.Open(sealed); err != nil || got != c {
		t.Errorf("after reload: %+v %v", got, err)
	}
	other, _ := secrets.Load(t.TempDir())
	if _, err := other.Open(sealed); err == nil {
		t.Errorf("another key opened the credentials")
	}
	sealed[len(sealed)-1] ^= 1
	if _, err := b2.Open(sealed); err == nil {
		t.Errorf("tampered credentials opened")
	}
	if s, _ := b1.Seal(model.Credentials{}); s != nil {
		t.Errorf("empty credentials sealed to %q", s)
	}
	if got, err := b1.Open(nil); err != nil || !got.Empty() {
		t.Errorf("Open(nil) = %+v %v", got, err)
	}
	if err := os.WriteFile(filepath.Join(dir, secrets.KeyFile), []byte("short"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := secrets.Load(dir); err == nil {
		t.Errorf("a short key file was accepted")
	}
}
