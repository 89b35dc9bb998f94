package triton_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/agent"

	"github.com/imagegw/imagegw/api/cloudapi/httpsig"
	"github.com/imagegw/imagegw/drivers"
	"github.com/imagegw/imagegw/drivers/triton"
	"github.com/imagegw/imagegw/model"
)

// TestOpenSettings checks what an operator sees for good and bad
// provider settings: the error names the problem.
func TestOpenSettings(t *testing.T) {
	clearTritonEnv(t)
	dir := t.TempDir()
	k := newKey(t, dir, "ed25519")
	other := newKey(t, dir, "rsa")
	for _, tc := range []struct {
		name     string
		settings map[string]any
		env      map[string]string
		wantErr  string // "" means it opens
	}{
		{"url only", map[string]any{"url": "https://cloudapi.example"}, nil, ""},
		{"server key file", map[string]any{"url": "https://c.example", "account": "ops", "key_file": k.file}, nil, ""},
		{"server key file and id", map[string]any{"url": "https://c.example", "account": "ops", "key_id": "MD5:" + k.fp, "key_file": k.file}, nil, ""},
		{"key id without colons", map[string]any{"url": "https://c.example", "account": "ops", "key_id": strings.ReplaceAll(k.fp, ":", ""), "key_file": k.file}, nil, ""},
		{"env defaults", map[string]any{"key_file": k.file}, map[string]string{"TRITON_URL": "https://c.example", "TRITON_ACCOUNT": "ops", "TRITON_KEY_ID": k.fp}, ""},
		{"SDC env", map[string]any{"key_file": k.file}, map[string]string{"SDC_URL": "https://c.example", "SDC_ACCOUNT": "ops"}, ""},
		{"TRITON_KEY_ID of another key beside key_file", map[string]any{"key_file": k.file}, map[string]string{"TRITON_URL": "https://c.example", "TRITON_ACCOUNT": "ops", "TRITON_KEY_ID": other.fp}, ""},
		{"agent key from env", map[string]any{"ssh_agent_socket": "/nonexistent/agent.sock"}, map[string]string{"TRITON_URL": "https://c.example", "TRITON_ACCOUNT": "ops", "TRITON_KEY_ID": k.fp}, ""},
		{"env account without a key", map[string]any{}, map[string]string{"TRITON_URL": "https://c.example", "TRITON_ACCOUNT": "ops"}, "needs key_id"},
		{"agent key", map[string]any{"url": "https://c.example", "account": "ops", "key_id": k.fp, "ssh_agent_socket": "/nonexistent/agent.sock"}, nil, ""},
		{"client keys", map[string]any{"url": "https://c.example", "keys": []any{map[string]any{"account": "alice", "name": "n1", "key_file": k.file}}}, nil, ""},

		{"no url", map[string]any{}, nil, "url is required"},
		{"bad url", map[string]any{"url": "cloudapi.example"}, nil, "not an http(s) URL"},
		{"unknown key", map[string]any{"url": "https://c.example", "region": "x"}, nil, "region"},
		{"key without account", map[string]any{"url": "https://c.example", "key_file": k.file}, nil, "need an account"},
		{"account without key", map[string]any{"url": "https://c.example", "account": "ops"}, nil, "needs key_id"},
		{"wrong key_id", map[string]any{"url": "https://c.example", "account": "ops", "key_id": other.fp, "key_file": k.file}, nil, "not key_id"},
		{"missing key file", map[string]any{"url": "https://c.example", "account": "ops", "key_file": filepath.Join(dir, "nope")}, nil, "reading key_file"},
		{"agent without socket", map[string]any{"url": "https://c.example", "account": "ops", "key_id": k.fp}, nil, "SSH agent"},
		{"key entry without name", map[string]any{"url": "https://c.example", "keys": []any{map[string]any{"account": "alice", "key_file": k.file}}}, nil, "account and name are required"},
		{"duplicate key name", map[string]any{"url": "https://c.example", "keys": []any{
			map[string]any{"account": "alice", "name": "n", "key_file": k.file},
			map[string]any{"account": "alice", "name": "n", "key_file": other.file}}}, nil, "same name"},
		{"negative timeout", map[string]any{"url": "https://c.example", "timeout": "-1s"}, nil, "timeout"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			p, err := triton.Open(context.Background(), model.ProviderConfig{Name: "tr", Driver: "triton", Settings: tc.settings}, drivers.Env{})
			if tc.wantErr == "" {
				if err != nil {
					t.Fatalf("Open: %v", err)
				}
				p.Close()
				return
			}
			if err == nil {
				p.Close()
				t.Fatalf("Open succeeded, want an error about %q", tc.wantErr)
			}
			if model.CodeOf(err) != model.InvalidArgument || !strings.Contains(err.Error(), tc.wantErr) || !strings.Contains(err.Error(), "provider tr") {
				t.Errorf("Open: %v (code %v); want InvalidArgument naming provider tr and %q", err, model.CodeOf(err), tc.wantErr)
			}
		})
	}
}

// TestKeyTypes signs with every key type a CloudAPI accepts, from files
// in every format ssh-keygen and openssl write, checked by imagegw's own
// CloudAPI verifier.
func TestKeyTypes(t *testing.T) {
	clearTritonEnv(t)
	rk, _ := rsa.GenerateKey(rand.Reader, 2048)
	ek, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	ek384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	_, edk, _ := ed25519.GenerateKey(rand.Reader)
	for _, tc := range []struct {
		name    string
		key     any
		format  string // "openssh", "pkcs8" or "native"
		wantAlg string
	}{
		{"rsa openssh", rk, "openssh", "rsa-sha256"},
		{"rsa pkcs1", rk, "native", "rsa-sha256"},
		{"rsa pkcs8", rk, "pkcs8", "rsa-sha256"},
		{"ecdsa p256 sec1", ek, "native", "ecdsa-sha256"},
		{"ecdsa p384 openssh", ek384, "openssh", "ecdsa-sha384"},
		{"ed25519 openssh", edk, "openssh", "ed25519-sha512"},
		{"ed25519 pkcs8", edk, "pkcs8", "ed25519-sha512"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			file, pub := writeKey(t, tc.key, tc.format)
			gotAlg := ""
			srv := verifyingServer(t, pub, &gotAlg)
			p, err := triton.Open(context.Background(), model.ProviderConfig{Name: "tr", Driver: "triton", Settings: map[string]any{
				"url": srv.URL, "account": "alice", "key_file": file}}, drivers.Env{})
			if err != nil {
				t.Fatal(err)
			}
			defer p.Close()
			d, _ := p.Connect(context.Background(), model.Credentials{})
			if err := d.(drivers.CredentialChecker).CheckCredentials(context.Background()); err != nil {
				t.Fatalf("CheckCredentials: %v", err)
			}
			if gotAlg != tc.wantAlg {
				t.Errorf("signed with %s, want %s", gotAlg, tc.wantAlg)
			}
		})
	}
}

// TestSSHAgent signs with a key held by an SSH agent (x/crypto's keyring
// served on a Unix socket), named by its MD5 or SHA256 fingerprint.
func TestSSHAgent(t *testing.T) {
	clearTritonEnv(t)
	_, edk, _ := ed25519.GenerateKey(rand.Reader)
	rk, _ := rsa.GenerateKey(rand.Reader, 2048)
	keyring := agent.NewKeyring()
	for _, k := range []any{rk, edk} {
		if err := keyring.Add(agent.AddedKey{PrivateKey: k}); err != nil {
			t.Fatal(err)
		}
	}
	sock := filepath.Join(t.TempDir(), "agent.sock")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				_ = agent.ServeAgent(keyring, c)
			}()
		}
	}()
	for _, tc := range []struct {
		name    string
		key     any
		keyID   func(ssh.PublicKey) string
		viaEnv  bool
		wantAlg string
	}{
		{"rsa by MD5", rk, func(k ssh.PublicKey) string { return ssh.FingerprintLegacyMD5(k) }, false, "rsa-sha256"},
		{"ed25519 by SHA256", edk, ssh.FingerprintSHA256, false, "ed25519-sha512"},
		{"ed25519 by MD5 from SSH_AUTH_SOCK", edk, func(k ssh.PublicKey) string { return "MD5:" + ssh.FingerprintLegacyMD5(k) }, true, "ed25519-sha512"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			signer, _ := ssh.NewSignerFromKey(tc.key)
			gotAlg := ""
			srv := verifyingServer(t, signer.PublicKey(), &gotAlg)
			settings := map[string]any{"url": srv.URL, "account": "alice", "key_id": tc.keyID(signer.PublicKey())}
			if tc.viaEnv {
				t.Setenv("SSH_AUTH_SOCK", sock)
			} else {
				settings["ssh_agent_socket"] = sock
			}
			p, err := triton.Open(context.Background(), model.ProviderConfig{Name: "tr", Driver: "triton", Settings: settings}, drivers.Env{})
			if err != nil {
				t.Fatal(err)
			}
			defer p.Close()
			d, _ := p.Connect(context.Background(), model.Credentials{})
			if err := d.(drivers.CredentialChecker).CheckCredentials(context.Background()); err != nil {
				t.Fatalf("CheckCredentials: %v", err)
			}
			if gotAlg != tc.wantAlg {
				t.Errorf("signed with %s, want %s", gotAlg, tc.wantAlg)
			}
		})
	}

	// A key the agent does not hold: the request cannot be signed.
	_, stray, _ := ed25519.GenerateKey(rand.Reader)
	ss, _ := ssh.NewSignerFromKey(stray)
	p, err := triton.Open(context.Background(), model.ProviderConfig{Name: "tr", Driver: "triton", Settings: map[string]any{
		"url": "http://127.0.0.1:1", "account": "alice", "key_id": ssh.FingerprintLegacyMD5(ss.PublicKey()), "ssh_agent_socket": sock}}, drivers.Env{})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	d, _ := p.Connect(context.Background(), model.Credentials{})
	_, err = d.ListImages(context.Background(), model.ImageQuery{})
	if model.CodeOf(err) != model.Unavailable || !strings.Contains(err.Error(), "holds no key") {
		t.Errorf("ListImages with a key the agent lacks: %v (code %v); want Unavailable saying the agent holds no such key", err, model.CodeOf(err))
	}
}

// writeKey writes k as a private key file in format and returns its path
// and public key.
func writeKey(t *testing.T, k any, format string) (string, ssh.PublicKey) {
	t.Helper()
	var pemBytes []byte
	switch format {
	case "openssh":
		b, err := ssh.MarshalPrivateKey(k, "")
		if err != nil {
			t.Fatal(err)
		}
		pemBytes = pemEncode(b.Type, b.Bytes)
	case "pkcs8":
		pemBytes = pkcs8PEM(t, k)
	default:
		pemBytes = nativePEM(t, k)
	}
	f := filepath.Join(t.TempDir(), "key.pem")
	if err := os.WriteFile(f, pemBytes, 0o600); err != nil {
		t.Fatal(err)
	}
	s, err := ssh.NewSignerFromKey(k)
	if err != nil {
		t.Fatal(err)
	}
	return f, s.PublicKey()
}

// verifyingServer answers GET /alice like CloudAPI's GetAccount after
// verifying the signature with imagegw's CloudAPI verifier, and notes the
// algorithm.
func verifyingServer(t *testing.T, pub ssh.PublicKey, alg *string) *httptest.Server {
	t.Helper()
	ver := &httpsig.Verifier{Keys: oneKey{pub}}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, err := ver.Verify(r)
		if err != nil {
			w.WriteHeader(http.StatusUnauthorized)
			_, _ = w.Write([]byte(`{"code":"InvalidCredentials","message":"` + strings.ReplaceAll(err.Error(), `"`, `'`) + `"}`))
			return
		}
		*alg = id.Algorithm
		_, _ = w.Write([]byte(`{"id":"6b4a2e48-8f4c-4c8a-9a34-0f3c2f1e0b11","login":"alice"}`))
	}))
	t.Cleanup(srv.Close)
	return srv
}

// oneKey is a httpsig.KeyStore holding alice's one key.
type oneKey struct{ pub ssh.PublicKey }

func (k oneKey) LookupKey(_ context.Context, login, fp string) (ssh.PublicKey, error) {
	if login == "alice" && fp == httpsig.Fingerprint(k.pub) {
		return k.pub, nil
	}
	return nil, httpsig.ErrKeyNotFound
}

func pemEncode(typ string, b []byte) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: b})
}

func pkcs8PEM(t *testing.T, k any) []byte {
	b, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	return pemEncode("PRIVATE KEY", b)
}

// nativePEM is PKCS#1 for RSA, SEC 1 for ECDSA (what openssl writes).
func nativePEM(t *testing.T, k any) []byte {
	switch v := k.(type) {
	case *rsa.PrivateKey:
		return pemEncode("RSA PRIVATE KEY", x509.MarshalPKCS1PrivateKey(v))
	case *ecdsa.PrivateKey:
		b, err := x509.MarshalECPrivateKey(v)
		if err != nil {
			t.Fatal(err)
		}
		return pemEncode("EC PRIVATE KEY", b)
	}
	t.Fatalf("no native PEM for %T", k)
	return nil
}

// TestPackagesAsProfiles checks the package → profile mapping a user sees:
// memory MB, storage GB and cpu as properties with units, swap and lwps as
// native fields, the UUID as native id, one profile per name.
func TestPackagesAsProfiles(t *testing.T) {
	clearTritonEnv(t)
	k := newKey(t, t.TempDir(), "ed25519")
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte(`[
 {"id":"5f3b1d7e-0000-4000-8000-000000000001","name":"g4-highcpu-1G","memory":1024,"disk":25600,"swap":4096,"lwps":4000,"vcpus":0,"version":"1.0.3","group":"Compute"},
 {"id":"5f3b1d7e-0000-4000-8000-000000000002","name":"g4-highcpu-1G","memory":1024,"disk":25600,"swap":4096,"lwps":4000,"vcpus":0,"version":"1.0.10"},
 {"id":"5f3b1d7e-0000-4000-8000-000000000003","name":"b1-bhyve-2G","memory":2048,"disk":51200,"swap":8192,"lwps":4000,"vcpus":2,"version":"1.0.0","brand":"bhyve","flexible_disk":true}]`))
	}))
	defer srv.Close()
	p, err := triton.Open(context.Background(), model.ProviderConfig{Name: "tr", Driver: "triton", Settings: map[string]any{
		"url": srv.URL, "account": "alice", "key_file": k.file}}, drivers.Env{})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	d, _ := p.Connect(context.Background(), model.Credentials{})
	hps, err := d.ListHardwareProfiles(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(hps) != 2 {
		t.Fatalf("profiles = %+v; want one per package name", hps)
	}
	for _, tc := range []struct {
		hp                      model.HardwareProfile
		id, cpu, mem, disk      string
		nativeID, swap, lwps, b string
	}{
		{hps[0], "g4-highcpu-1G", "", "1024", "25", "5f3b1d7e-0000-4000-8000-000000000002", "4096", "4000", ""},
		{hps[1], "b1-bhyve-2G", "2", "2048", "50", "5f3b1d7e-0000-4000-8000-000000000003", "8192", "4000", "bhyve"},
	} {
		if tc.hp.ID != tc.id || tc.hp.Name != tc.id {
			t.Errorf("profile %+v; want id and name %s", tc.hp, tc.id)
		}
		props := map[string]model.Property{}
		for _, pr := range tc.hp.Properties {
			props[pr.Name] = pr
		}
		if c, ok := props[model.PropCPU]; (tc.cpu == "") == ok || ok && (c.Value != tc.cpu || c.Unit != model.UnitCount) {
			t.Errorf("%s cpu = %+v, want %q (none when vcpus is 0)", tc.id, c, tc.cpu)
		}
		if m := props[model.PropMemory]; m.Value != tc.mem || m.Unit != model.UnitMB || m.Kind != model.Fixed {
			t.Errorf("%s memory = %+v, want fixed %s MB", tc.id, m, tc.mem)
		}
		if s := props[model.PropStorage]; s.Value != tc.disk || s.Unit != model.UnitGB {
			t.Errorf("%s storage = %+v, want %s GB", tc.id, s, tc.disk)
		}
		n := tc.hp.Native
		if n["id"] != tc.nativeID || n["swap"] != tc.swap || n["lwps"] != tc.lwps || n["brand"] != tc.b {
			t.Errorf("%s native = %v", tc.id, n)
		}
	}
	if hps[1].Native["flexible_disk"] != "true" {
		t.Errorf("bhyve native = %v, want flexible_disk", hps[1].Native)
	}
}

// TestImageMapping checks the CloudAPI image → model mapping a user sees,
// for images a real Triton cloud has and imagegw's mock does not: failed
// ones with an error, non-string tags, shared and public ones, requirements.
func TestImageMapping(t *testing.T) {
	clearTritonEnv(t)
	k := newKey(t, t.TempDir(), "ed25519")
	var gotQuery string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		gotQuery = r.URL.RawQuery
		_, _ = w.Write([]byte(`[
 {"id":"2b683a82-a066-11e3-97ab-2faa44701c5a","name":"base-64","version":"13.4.0","os":"smartos","type":"zone-dataset",
  "requirements":{"min_memory":256},"published_at":"2014-02-28T10:50:36Z","owner":"930896af-bf8c-48d4-885c-6573a94b1853",
  "public":true,"state":"active","tags":{"role":"os","default":true,"weight":3},
  "files":[{"compression":"gzip","sha1":"c3b1e8e6","size":124876532}]},
 {"id":"3b683a82-a066-11e3-97ab-2faa44701c5a","name":"mine","version":"1.0.0","os":"linux","type":"zvol",
  "requirements":{"arch":"x86_64"},"owner":"6b4a2e48-8f4c-4c8a-9a34-0f3c2f1e0b11","public":false,"state":"failed",
  "acl":["11111111-2222-4333-8444-555555555555"],"error":{"code":"PrepareImageDidNotRun","message":"prepare-image did not run"}},
 {"id":"4b683a82-a066-11e3-97ab-2faa44701c5a","name":"new","version":"1.0.0","os":"linux","type":"lx-dataset","public":false,"state":"creating"}]`))
	}))
	defer srv.Close()
	p, err := triton.Open(context.Background(), model.ProviderConfig{Name: "tr", Driver: "triton", Settings: map[string]any{
		"url": srv.URL, "account": "alice", "key_file": k.file}}, drivers.Env{})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	d, _ := p.Connect(context.Background(), model.Credentials{})
	imgs, err := d.ListImages(context.Background(), model.ImageQuery{Name: "base-64", State: model.ImageAvailable})
	if err != nil {
		t.Fatal(err)
	}
	if gotQuery != "name=base-64&state=active" {
		t.Errorf("query %q; want name and state pushed down", gotQuery)
	}
	if len(imgs) != 3 {
		t.Fatalf("images = %+v", imgs)
	}
	for _, tc := range []struct {
		got                           model.Image
		state, reason, vis, root, arc string
	}{
		{imgs[0], model.ImageAvailable, "", model.VisibilityPublic, model.RootTransient, ""},
		{imgs[1], model.ImageFailed, "PrepareImageDidNotRun: prepare-image did not run", model.VisibilityShared, model.RootPersistent, "x86_64"},
		{imgs[2], model.ImagePending, "", model.VisibilityPrivate, model.RootTransient, ""},
	} {
		g := tc.got
		if g.State != tc.state || g.StateReason != tc.reason || g.Visibility != tc.vis || g.RootType != tc.root || g.Architecture != tc.arc {
			t.Errorf("%s: state %s (%q), visibility %s, root %s, arch %q; want %s (%q), %s, %s, %q",
				g.Name, g.State, g.StateReason, g.Visibility, g.RootType, g.Architecture, tc.state, tc.reason, tc.vis, tc.root, tc.arc)
		}
	}
	base := imgs[0]
	if base.Tags["role"] != "os" || base.Tags["default"] != "true" || base.Tags["weight"] != "3" {
		t.Errorf("tags = %v; want every JSON type as a string", base.Tags)
	}
	if base.SizeBytes != 124876532 || base.DiskFormat != "zfs.gz" || base.Native["sha1"] != "c3b1e8e6" || base.Native["requirements.min_memory"] != "256" {
		t.Errorf("base-64 = %+v", base)
	}
	if base.OS != "smartos" || base.Version != "13.4.0" || base.Type != "zone-dataset" || base.Created.IsZero() {
		t.Errorf("base-64 os/version/type/created = %q %q %q %v", base.OS, base.Version, base.Type, base.Created)
	}
	if imgs[1].Native["acl"] != "11111111-2222-4333-8444-555555555555" {
		t.Errorf("acl = %q", imgs[1].Native["acl"])
	}
}

// TestListPushDown checks the ListImages query CloudAPI receives for each
// model query: what it filters natively is pushed down, the rest is left
// to the gateway.
func TestListPushDown(t *testing.T) {
	clearTritonEnv(t)
	k := newKey(t, t.TempDir(), "ed25519")
	var got []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/alice" {
			_, _ = w.Write([]byte(`{"id":"6b4a2e48-8f4c-4c8a-9a34-0f3c2f1e0b11","login":"alice"}`))
			return
		}
		got = append(got, r.URL.RawQuery)
		_, _ = w.Write([]byte(`[]`))
	}))
	defer srv.Close()
	p, err := triton.Open(context.Background(), model.ProviderConfig{Name: "tr", Driver: "triton", Settings: map[string]any{
		"url": srv.URL, "account": "alice", "key_file": k.file}}, drivers.Env{})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	d, _ := p.Connect(context.Background(), model.Credentials{})
	for _, tc := range []struct {
		name string
		q    model.ImageQuery
		want string
	}{
		{"nothing: every state", model.ImageQuery{}, "state=all"},
		{"name", model.ImageQuery{Name: "base-64"}, "name=base-64&state=all"},
		{"name pattern as a substring", model.ImageQuery{NamePattern: "ubuntu-*-lts"}, "name=~ubuntu-&state=all"},
		{"pattern without a wildcard", model.ImageQuery{NamePattern: "exact"}, "name=exact&state=all"},
		{"os, version, type", model.ImageQuery{OS: "SmartOS", Version: "24.4.1", Type: "zone-dataset"}, "os=smartos&state=all&type=zone-dataset&version=24.4.1"},
		{"owner self is the account's UUID", model.ImageQuery{OwnerID: "self"}, "owner=6b4a2e48-8f4c-4c8a-9a34-0f3c2f1e0b11&state=all"},
		{"another owner", model.ImageQuery{OwnerID: "930896af-bf8c-48d4-885c-6573a94b1853"}, "owner=930896af-bf8c-48d4-885c-6573a94b1853&state=all"},
		{"one state", model.ImageQuery{State: "PENDING"}, "state=creating"},
		{"one of states", model.ImageQuery{States: []string{"failed"}}, "state=failed"},
		{"two states: all", model.ImageQuery{States: []string{"AVAILABLE", "FAILED"}}, "state=all"},
		{"search and tags stay in the gateway", model.ImageQuery{Search: "base", Tags: map[string]string{"role": "os"}}, "state=all"},
	} {
		got = nil
		if _, err := d.ListImages(context.Background(), tc.q); err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if len(got) != 1 || got[0] != tc.want {
			t.Errorf("%s: CloudAPI got %q, want %q", tc.name, got, tc.want)
		}
	}
}
