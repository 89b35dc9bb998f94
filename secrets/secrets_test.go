package secrets_test

import (
	"bytes"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
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

// TestLoadConcurrentProcesses starts three processes on one fresh data
// directory at once, twelve times: each must load the same key (none may
// read a key half written, "not a 32-byte key").
func TestLoadConcurrentProcesses(t *testing.T) {
	if dir := os.Getenv("IMAGEGW_SECRETS_CHILD"); dir != "" {
		b, err := secrets.Load(dir)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(3)
		}
		sealed, err := b.Seal(model.Credentials{User: "u", Password: "p"})
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(3)
		}
		fmt.Print(hex.EncodeToString(sealed))
		os.Exit(0)
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	const rounds, procs = 12, 3
	for round := range rounds {
		dir := filepath.Join(t.TempDir(), "data")
		if err := os.Mkdir(dir, 0o700); err != nil {
			t.Fatal(err)
		}
		outs := make([][]byte, procs)
		errs := make([]error, procs)
		var wg sync.WaitGroup
		for i := range procs {
			wg.Go(func() {
				cmd := exec.Command(exe, "-test.run=^TestLoadConcurrentProcesses$")
				cmd.Env = append(os.Environ(), "IMAGEGW_SECRETS_CHILD="+dir)
				var stderr bytes.Buffer
				cmd.Stderr = &stderr
				outs[i], errs[i] = cmd.Output()
				if errs[i] != nil {
					errs[i] = fmt.Errorf("%w: %s", errs[i], stderr.Bytes())
				}
			})
		}
		wg.Wait()
		b, err := secrets.Load(dir)
		if err != nil {
			t.Fatalf("round %d: loading the key after: %v", round, err)
		}
		for i := range procs {
			if errs[i] != nil {
				t.Fatalf("round %d: process %d: %v", round, i, errs[i])
			}
			sealed, err := hex.DecodeString(string(outs[i]))
			if err != nil {
				t.Fatalf("round %d: process %d printed %q", round, i, outs[i])
			}
			if c, err := b.Open(sealed); err != nil || c.User != "u" {
				t.Fatalf("round %d: process %d used another key: %v", round, i, err)
			}
		}
		entries, _ := os.ReadDir(dir)
		if len(entries) != 1 {
			t.Fatalf("round %d: data directory holds %v, want only %s", round, entries, secrets.KeyFile)
		}
	}
}
