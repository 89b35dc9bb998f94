package triton_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/imagegw/imagegw/accounts"
	_ "github.com/imagegw/imagegw/api/cloudapi" // the CloudAPI front the driver talks to
	"github.com/imagegw/imagegw/api/server"
	"github.com/imagegw/imagegw/drivers"
	_ "github.com/imagegw/imagegw/drivers/mock"
	"github.com/imagegw/imagegw/drivers/triton"
	"github.com/imagegw/imagegw/gateway"
	"github.com/imagegw/imagegw/model"
	"github.com/imagegw/imagegw/store"
)

// The driver's tests run against a real CloudAPI implementation: a second
// imagegw (the "cloud") serving its CloudAPI front over its mock driver, in
// two datacenters (mock and test1) on two loopback ports, as
// test/triton does for the triton CLI.

// cloud is the second imagegw, the one the triton driver talks to.
type cloud struct {
	urls    map[string]string // datacenter → CloudAPI URL
	gateway *gateway.Gateway
	store   store.Store
	accts   *accounts.Store
	dir     string
}

// startCloud starts the CloudAPI imagegw with the given providers section
// (default: two mock datacenters) and stops it at the end of the test.
func startCloud(t testing.TB, providers string, dcs ...string) *cloud {
	t.Helper()
	if providers == "" {
		providers = "  - {name: mock, driver: mock}\n  - {name: test1, driver: mock}\n"
		dcs = []string{"mock", "test1"}
	}
	c := &cloud{urls: map[string]string{}, dir: t.TempDir()}
	var lns []net.Listener
	var dcLines []string
	for _, dc := range dcs {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		lns = append(lns, ln)
		c.urls[dc] = "http://" + ln.Addr().String()
		dcLines = append(dcLines, fmt.Sprintf("%s: %q", dc, c.urls[dc]))
	}
	cfg, err := gateway.ParseConfig(strings.NewReader(fmt.Sprintf(`
mock_create_delay: 300ms
job_poll_interval: 50ms
export_dir: %s
providers:
%scloudapi:
  datacenters: {%s}
`, filepath.Join(c.dir, "export"), providers, strings.Join(dcLines, ", "))))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if c.store, err = store.Open(ctx, filepath.Join(c.dir, "imagegw.db")); err != nil {
		t.Fatal(err)
	}
	if c.gateway, err = gateway.New(ctx, cfg, gateway.Options{Store: c.store, DataDir: c.dir}); err != nil {
		c.store.Close()
		t.Fatal(err)
	}
	c.accts = accounts.New(c.store, c.gateway.Secrets())
	srv := &http.Server{Handler: server.New(c.gateway, server.Options{}), ReadHeaderTimeout: 10 * time.Second}
	var wg sync.WaitGroup
	for _, ln := range lns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_ = srv.Serve(ln)
		}()
	}
	t.Cleanup(func() {
		_ = srv.Close()
		wg.Wait()
		c.gateway.Close()
		c.store.Close()
	})
	return c
}

// key is a fresh key pair written as a private key file.
type key struct {
	file string // private key, PEM
	fp   string // MD5 fingerprint, "aa:bb:..."
	pub  []byte // authorized_keys line
}

// newKey makes a key of type typ ("ed25519" or "rsa") in dir.
func newKey(t testing.TB, dir, typ string) key {
	t.Helper()
	var priv any
	var pemBlock *pem.Block
	switch typ {
	case "rsa":
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			t.Fatal(err)
		}
		priv = k
		pemBlock = &pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(k)}
	default:
		_, k, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		priv = k
		if pemBlock, err = ssh.MarshalPrivateKey(k, ""); err != nil {
			t.Fatal(err)
		}
	}
	s, err := ssh.NewSignerFromKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.CreateTemp(dir, typ+"-*.pem")
	if err != nil {
		t.Fatal(err)
	}
	if err := pem.Encode(f, pemBlock); err != nil {
		t.Fatal(err)
	}
	f.Close()
	return key{file: f.Name(), fp: ssh.FingerprintLegacyMD5(s.PublicKey()), pub: ssh.MarshalAuthorizedKey(s.PublicKey())}
}

// addAccount registers login in the cloud with k, acting on the mock with
// the mock's credentials, and returns the account's id.
func (c *cloud) addAccount(t testing.TB, login string, k key) string {
	t.Helper()
	ctx := context.Background()
	a, err := c.accts.Add(ctx, accounts.Account{Login: login, Email: login + "@example.com", Driver: "mock",
		Credentials: map[string]model.Credentials{"mock": {User: "mockuser", Password: "mockpassword"}}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.accts.AddKey(ctx, login, "", k.pub); err != nil {
		t.Fatal(err)
	}
	return a.ID
}

// secretName is a random key name, the Basic password that selects a key.
func secretName(t testing.TB) string {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

// setup is a cloud with account alice (key good) and the settings of a
// triton provider per datacenter, with alice's good key under name good and
// a key the cloud does not know under name bad.
type setup struct {
	cloud     *cloud
	accountID string
	good, bad string // Basic passwords
	keys      string // the YAML keys list
	goodKey   key
}

func newSetup(t testing.TB) *setup {
	t.Helper()
	clearTritonEnv(t)
	c := startCloud(t, "")
	dir := t.TempDir()
	good, bad := newKey(t, dir, "ed25519"), newKey(t, dir, "rsa")
	s := &setup{cloud: c, good: secretName(t), bad: secretName(t), goodKey: good}
	s.accountID = c.addAccount(t, "alice", good)
	s.keys = fmt.Sprintf("[{account: alice, name: %q, key_id: %q, key_file: %q}, {account: alice, name: %q, key_file: %q}]",
		s.good, "MD5:"+good.fp, good.file, s.bad, bad.file)
	return s
}

// providerConfig is the configuration of a triton provider at datacenter
// dc of the cloud, as the gateway's YAML would give it.
func (s *setup) providerConfig(t testing.TB, name, dc string) model.ProviderConfig {
	t.Helper()
	cfg, err := gateway.ParseConfig(strings.NewReader(s.providersYAML(map[string]string{name: dc})))
	if err != nil {
		t.Fatal(err)
	}
	for _, pc := range cfg.Providers {
		if pc.Name == name {
			return pc
		}
	}
	t.Fatalf("no provider %s in %+v", name, cfg.Providers)
	return model.ProviderConfig{}
}

// providersYAML is a providers section with one triton provider per
// name → datacenter.
func (s *setup) providersYAML(names map[string]string) string {
	var b strings.Builder
	b.WriteString("providers:\n")
	for name, dc := range names {
		fmt.Fprintf(&b, "  - {name: %s, driver: triton, url: %q, keys: %s}\n", name, s.cloud.urls[dc], s.keys)
	}
	return b.String()
}

// open opens a triton provider at datacenter dc.
func (s *setup) open(t testing.TB, dc string) drivers.Provider {
	t.Helper()
	p, err := triton.Open(context.Background(), s.providerConfig(t, "tr-"+dc, dc), drivers.Env{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

// mockInstance is the CloudAPI machine UUID of a mock instance.
func mockInstance(native string) string {
	return gateway.SchemeUUID.ID("mock", "mock", gateway.KindInstances, native)
}

// clearTritonEnv keeps the operator's TRITON_* and SSH agent out of tests.
func clearTritonEnv(t testing.TB) {
	for _, v := range []string{"TRITON_URL", "TRITON_ACCOUNT", "TRITON_KEY_ID", "SDC_URL", "SDC_ACCOUNT", "SDC_KEY_ID", "SSH_AUTH_SOCK"} {
		t.Setenv(v, "") // restored after the test
		os.Unsetenv(v)
	}
}
