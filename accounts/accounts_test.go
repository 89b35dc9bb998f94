package accounts

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/crypto/ssh"

	"github.com/imagegw/imagegw/model"
	"github.com/imagegw/imagegw/secrets"
	"github.com/imagegw/imagegw/store"
)

func openStore(t *testing.T) (*Store, string) {
	t.Helper()
	dir := t.TempDir()
	path := filepath.Join(dir, "imagegw.db")
	st, err := store.Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	box, err := secrets.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	return New(st, box), path
}

// TestCredentialsAreSealed: the store never holds an account's cloud
// secret in clear, yet the account reads back whole; records written before
// sealing still read.
func TestCredentialsAreSealed(t *testing.T) {
	ctx := context.Background()
	s, _ := openStore(t)
	creds := map[string]model.Credentials{"ec2": {User: "AKIAEXAMPLE", Password: "wJalrXUtnFEMI-secret"}}
	if _, err := s.Add(ctx, Account{Login: "sealed", Email: "s@example.com", Driver: "ec2", Credentials: creds}); err != nil {
		t.Fatal(err)
	}
	raw, err := store.Get(ctx, s.st, NSAccounts, "sealed")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(raw), "wJalrXUtnFEMI-secret") || strings.Contains(string(raw), "AKIAEXAMPLE") {
		t.Errorf("stored account shows its credentials: %s", raw)
	}
	a, err := s.Get(ctx, "sealed")
	if err != nil || a.CredentialsFor("ec2") != creds["ec2"] {
		t.Errorf("read back %+v, %v", a.Credentials, err)
	}
	legacy := `{"id":"1","login":"old","email":"o@example.com","driver":"mock","credentials":{"mock":{"User":"mockuser","Password":"mockpassword"}}}`
	if err := store.Put(ctx, s.st, NSAccounts, "old", []byte(legacy)); err != nil {
		t.Fatal(err)
	}
	if a, err := s.Get(ctx, "old"); err != nil || a.CredentialsFor("mock").Password != "mockpassword" {
		t.Errorf("legacy record: %+v, %v", a, err)
	}
}

func newKey(t *testing.T, comment string) (ssh.PublicKey, []byte) {
	t.Helper()
	pub, _, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	sp, err := ssh.NewPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	line := ssh.MarshalAuthorizedKey(sp)
	if comment != "" {
		line = append(line[:len(line)-1], []byte(" "+comment+"\n")...)
	}
	return sp, line
}

func TestAccountLifecycle(t *testing.T) {
	ctx := context.Background()
	s, _ := openStore(t)
	a, err := s.Add(ctx, Account{Login: "testuser", Email: "t@example.com", Driver: "mock",
		Credentials: map[string]model.Credentials{"mock": {User: "mockuser", Password: "mockpassword"}}})
	if err != nil {
		t.Fatal(err)
	}
	if a.ID == "" || a.Created.IsZero() {
		t.Fatalf("Add did not fill id and times: %+v", a)
	}
	if _, err := s.Add(ctx, Account{Login: "testuser", Driver: "mock"}); model.CodeOf(err) != model.AlreadyExists {
		t.Fatalf("second Add: %v, want AlreadyExists", err)
	}
	got, err := s.Get(ctx, "testuser")
	if err != nil || got.ID != a.ID || got.CredentialsFor("mock").User != "mockuser" {
		t.Fatalf("Get = %+v, %v", got, err)
	}

	pub, line := newKey(t, "laptop")
	k, err := s.AddKey(ctx, "testuser", "", line)
	if err != nil {
		t.Fatal(err)
	}
	if k.Name != "laptop" || k.Fingerprint != ssh.FingerprintLegacyMD5(pub) {
		t.Fatalf("AddKey = %+v", k)
	}
	if _, err := s.AddKey(ctx, "testuser", "again", line); model.CodeOf(err) != model.AlreadyExists {
		t.Fatalf("duplicate key: %v", err)
	}
	if _, err := s.AddKey(ctx, "nobody", "", line); !model.IsNotFound(err) {
		t.Fatalf("key for unknown login: %v", err)
	}
	found, err := s.LookupKey(ctx, "testuser", k.Fingerprint)
	if err != nil || string(found.Marshal()) != string(pub.Marshal()) {
		t.Fatalf("LookupKey = %v, %v", found, err)
	}
	if _, err := s.LookupKey(ctx, "other", k.Fingerprint); !errors.Is(err, ErrUnknownKey) {
		t.Fatalf("LookupKey for another login: %v", err)
	}
	keys, err := s.Keys(ctx, "testuser")
	if err != nil || len(keys) != 1 {
		t.Fatalf("Keys = %v, %v", keys, err)
	}

	if err := s.RemoveKey(ctx, "testuser", "MD5:"+k.Fingerprint); err != nil {
		t.Fatal(err)
	}
	if _, err := s.LookupKey(ctx, "testuser", k.Fingerprint); !errors.Is(err, ErrUnknownKey) {
		t.Fatalf("removed key still found: %v", err)
	}
	if err := s.RemoveKey(ctx, "testuser", "laptop"); !model.IsNotFound(err) {
		t.Fatalf("removing a removed key: %v", err)
	}

	_, line2 := newKey(t, "")
	k2, err := s.AddKey(ctx, "testuser", "", line2)
	if err != nil || k2.Name != k2.Fingerprint {
		t.Fatalf("key without comment: %+v, %v", k2, err)
	}
	if err := s.Remove(ctx, "testuser"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.LookupKey(ctx, "testuser", k2.Fingerprint); !errors.Is(err, ErrUnknownKey) {
		t.Fatalf("keys outlived their account: %v", err)
	}
	if err := s.Remove(ctx, "testuser"); !model.IsNotFound(err) {
		t.Fatalf("second Remove: %v", err)
	}
	list, err := s.List(ctx)
	if err != nil || len(list) != 0 || list == nil {
		t.Fatalf("List = %#v, %v", list, err)
	}
}

func TestValidation(t *testing.T) {
	ctx := context.Background()
	s, _ := openStore(t)
	for _, login := range []string{"my", "api", "v1", "a", "1abc", "with space", "x/y", ""} {
		if _, err := s.Add(ctx, Account{Login: login, Driver: "mock"}); model.CodeOf(err) != model.InvalidArgument {
			t.Errorf("Add(%q) = %v, want InvalidArgument", login, err)
		}
	}
	if _, err := s.Add(ctx, Account{Login: "nodriver"}); model.CodeOf(err) != model.InvalidArgument {
		t.Errorf("account without driver: %v", err)
	}
	if _, err := s.Add(ctx, Account{Login: "ok", Driver: "mock"}); err != nil {
		t.Fatal(err)
	}
	for name, in := range map[string]string{
		"garbage":  "not a key",
		"two keys": string(ssh.MarshalAuthorizedKey(mustKey(t))) + string(ssh.MarshalAuthorizedKey(mustKey(t))),
		"dsa":      "ssh-dss AAAAB3NzaC1kc3MAAACBAP1/U4EddRIpUt9KnC7s5Of2EbdSPO9EAMMeP4C2USZpRV1AIlH7WT2NWPq/xfW6MPbLm1Vs14E7gB00b/JmYLdrmVClpJ+f6AR7ECLCT7up1/63xhv4O1fnxqimFQ8E+4P208UewwI1VBNaFpEy9nXzrith1yrv8iIDGZ3RSAHHAAAAFQCXYFCPFSMLzLKSuYKi64QL8Fgc9QAAAIEA9+GghdabPd7LvKtcNrhXuXmUr7v6OuqC+VdMCz0HgmdRWVeOutRZT+ZxBxCBgLRJFnEj6EwoFhO3zwkyjMim4TwWeotUfI0o4KOuHiuzpnWRbqN/C/ohNWLx+2J6ASQ7zKTxvqhRkImog9/hWuWfBpKLZl6Ae1UlZAFMO/7PSSoAAACBAJl1jEZkZDp/jPZhQ+KTrUYwKexFxKBaGHGBQlx4dQmnOZn1X4xNzFXNw4WrXhcL3XmQBAjiW8FDDzeUjXjiZMyrZ/iP0bJnv6Gs8kABSCgcjZEFYvCdmHs5c3pxTeUuSw43lWl47NgGz1JKwFDNAiwzg/3QhoIkaqa8gPHOuWAf x",
	} {
		if _, err := s.AddKey(ctx, "ok", "", []byte(in)); model.CodeOf(err) != model.InvalidArgument {
			t.Errorf("AddKey(%s) = %v, want InvalidArgument", name, err)
		}
	}
}

func mustKey(t *testing.T) ssh.PublicKey {
	k, _ := newKey(t, "")
	return k
}
