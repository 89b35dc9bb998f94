package main

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/crypto/ssh"
)

func writePub(t *testing.T, dir, name string) (string, string) {
	t.Helper()
	pub, _, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	sp, _ := ssh.NewPublicKey(pub)
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, ssh.MarshalAuthorizedKey(sp), 0o600); err != nil {
		t.Fatal(err)
	}
	return path, ssh.FingerprintLegacyMD5(sp)
}

func TestAccountsAndKeysCommands(t *testing.T) {
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	k1, fp1 := writePub(t, dir, "k1.pub")
	k2, fp2 := writePub(t, dir, "k2.pub")
	ctx := context.Background()
	steps := []struct {
		keys    bool
		args    []string
		wantErr string   // substring of the error, "" for success
		wantOut []string // substrings of the output
	}{
		{false, []string{"add", "testuser", "--driver", "mock", "--key", k1, "--data", data}, "", []string{"added account testuser", fp1}},
		{false, []string{"add", "testuser", "--key", k1, "--data", data}, "already exists", nil},
		{false, []string{"add", "other", "--driver", "nope", "--key", k1, "--data", data}, "unknown driver", nil},
		{false, []string{"add", "other", "--data", data}, "--key", nil},
		{false, []string{"add", "--data", data, "--key", k1}, "want 1 argument", nil},
		{false, []string{"add", "my", "--key", k1, "--data", data}, "reserved", nil},
		{true, []string{"add", "testuser", "--key", k2, "--name", "second", "--data", data}, "", []string{"added key " + fp2}},
		{true, []string{"add", "nobody", "--key", k2, "--data", data}, "not found", nil},
		{true, []string{"list", "testuser", "--data", data}, "", []string{fp1, "second", fp2, "ssh-ed25519"}},
		{false, []string{"list", "--data", data}, "", []string{"testuser", "mock", "2"}},
		{true, []string{"remove", "testuser", "second", "--data", data}, "", []string{"removed key second"}},
		{true, []string{"remove", "testuser", "second", "--data", data}, "not found", nil},
		{false, []string{"remove", "testuser", "--data", data}, "", []string{"removed account testuser"}},
		{true, []string{"list", "testuser", "--data", data}, "not found", nil},
		{false, []string{"frobnicate"}, "unknown subcommand", nil},
		{false, nil, "usage", nil},
	}
	for _, st := range steps {
		var out bytes.Buffer
		var err error
		name := "accounts"
		if st.keys {
			name = "keys"
			err = keysCmd(ctx, &out, st.args)
		} else {
			err = accountsCmd(ctx, &out, st.args)
		}
		switch {
		case st.wantErr == "" && err != nil:
			t.Fatalf("%s %v: %v", name, st.args, err)
		case st.wantErr != "" && (err == nil || !strings.Contains(err.Error(), st.wantErr)):
			t.Fatalf("%s %v: error %v, want one containing %q", name, st.args, err, st.wantErr)
		}
		for _, w := range st.wantOut {
			if !strings.Contains(out.String(), w) {
				t.Errorf("%s %v: output %q lacks %q", name, st.args, out.String(), w)
			}
		}
	}
}
