// Package triton holds end-to-end tests of the CloudAPI front with the real
// Triton clients: the `triton` CLI (npm triton@7.17.0) and the `smartdc`
// sdc-* commands (npm smartdc@9.0.1), installed by the tests into
// test/triton/.npm (never committed).
//
// Outside CI a missing node, npm or ssh-keygen skips the tests; under
// CI=true it fails them.
package triton

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/imagegw/imagegw/accounts"
	_ "github.com/imagegw/imagegw/api/cloudapi"
	"github.com/imagegw/imagegw/api/server"
	_ "github.com/imagegw/imagegw/drivers/mock"
	"github.com/imagegw/imagegw/gateway"
	"github.com/imagegw/imagegw/model"
	"github.com/imagegw/imagegw/store"
)

const (
	tritonVersion  = "7.17.0"
	smartdcVersion = "9.0.1"
)

// need finds a tool or skips (fails under CI=true).
func need(t testing.TB, tool, how string) string {
	t.Helper()
	p, err := exec.LookPath(tool)
	if err == nil {
		return p
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("%s is required for the Triton CLI tests (CI=true): %s", tool, how)
	}
	t.Skipf("%s not found (%s); skipping the Triton CLI tests", tool, how)
	return ""
}

var installOnce sync.Once
var installErr error

// clients installs triton and smartdc once into test/triton/.npm and
// returns that prefix.
func clients(t testing.TB) string {
	t.Helper()
	need(t, "node", "install Node.js >= 18 (Debian: apt-get install nodejs)")
	need(t, "npm", "install npm (Debian: apt-get install npm)")
	need(t, "ssh-keygen", "install OpenSSH (Debian: apt-get install openssh-client)")
	prefix, err := filepath.Abs(".npm")
	if err != nil {
		t.Fatal(err)
	}
	installOnce.Do(func() {
		if installed(prefix, "triton", tritonVersion) && installed(prefix, "smartdc", smartdcVersion) {
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, "npm", "install", "--prefix", prefix, "--no-audit", "--no-fund",
			"--no-save", "triton@"+tritonVersion, "smartdc@"+smartdcVersion)
		out, err := cmd.CombinedOutput()
		if err != nil {
			installErr = fmt.Errorf("npm install triton@%s smartdc@%s: %v\n%s", tritonVersion, smartdcVersion, err, out)
		}
	})
	if installErr != nil {
		t.Fatal(installErr)
	}
	return prefix
}

func installed(prefix, pkg, version string) bool {
	b, err := os.ReadFile(filepath.Join(prefix, "node_modules", pkg, "package.json"))
	if err != nil {
		return false
	}
	var p struct{ Version string }
	return json.Unmarshal(b, &p) == nil && p.Version == version
}

// keypair makes an SSH key with ssh-keygen in home/.ssh and returns its
// public-key path and MD5 fingerprint ("MD5:aa:bb:..." as ssh-keygen
// prints it, the form TRITON_KEY_ID takes).
func keypair(t testing.TB, home, typ, name string) (pub, fp string) {
	t.Helper()
	dir := filepath.Join(home, ".ssh")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	priv := filepath.Join(dir, name)
	args := []string{"-q", "-t", typ, "-N", "", "-C", name, "-f", priv}
	if typ == "rsa" {
		args = append(args, "-b", "2048")
	}
	if out, err := exec.Command("ssh-keygen", args...).CombinedOutput(); err != nil {
		t.Fatalf("ssh-keygen: %v\n%s", err, out)
	}
	out, err := exec.Command("ssh-keygen", "-l", "-E", "md5", "-f", priv+".pub").Output()
	if err != nil {
		t.Fatal(err)
	}
	f := strings.Fields(string(out))
	if len(f) < 2 {
		t.Fatalf("ssh-keygen -l: %q", out)
	}
	return priv + ".pub", f[1]
}

// gw is an in-process gateway serving two datacenters (mock and test1) on
// two loopback ports, as `triton image copy` needs.
type gw struct {
	urls    map[string]string // datacenter → URL
	store   store.Store
	gateway *gateway.Gateway
	export  string
	dataDir string
}

func startGateway(t testing.TB) *gw {
	t.Helper()
	var lns []net.Listener
	for i := 0; i < 2; i++ {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		lns = append(lns, ln)
	}
	g := &gw{urls: map[string]string{"mock": "http://" + lns[0].Addr().String(), "test1": "http://" + lns[1].Addr().String()},
		export: t.TempDir(), dataDir: t.TempDir()}
	cfg, err := gateway.ParseConfig(strings.NewReader(fmt.Sprintf(`
mock_create_delay: 1s
job_poll_interval: 100ms
export_dir: %s
providers:
  - {name: mock, driver: mock}
  - {name: test1, driver: mock}
cloudapi:
  datacenters: {mock: %q, test1: %q}
`, g.export, g.urls["mock"], g.urls["test1"])))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	g.store, err = store.Open(ctx, filepath.Join(g.dataDir, "imagegw.db"))
	if err != nil {
		t.Fatal(err)
	}
	g.gateway, err = gateway.New(ctx, cfg, gateway.Options{Store: g.store, DataDir: g.dataDir})
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: server.New(g.gateway, server.Options{}), ReadHeaderTimeout: 10 * time.Second}
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
		g.gateway.Close()
		g.store.Close()
	})
	return g
}

// addAccount registers login with the public key at pub, on the mock.
func (g *gw) addAccount(t testing.TB, login, pub string) {
	t.Helper()
	b, err := os.ReadFile(pub)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	s := accounts.New(g.store, g.gateway.Secrets())
	if _, err := s.Add(ctx, accounts.Account{Login: login, Email: login + "@example.com", Driver: "mock",
		Credentials: map[string]model.Credentials{"mock": {User: "mockuser", Password: "mockpassword"}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.AddKey(ctx, login, "", b); err != nil {
		t.Fatal(err)
	}
}

// cli runs the Triton clients as one account.
type cli struct {
	t      testing.TB
	prefix string
	env    []string
}

// newCLI returns the environment of docs/api/cloudapi.md for login with
// the key of fingerprint fp, against url.
func newCLI(t testing.TB, prefix, home, url, login, fp string) *cli {
	env := []string{"HOME=" + home, "PATH=" + os.Getenv("PATH"),
		"TRITON_URL=" + url, "TRITON_ACCOUNT=" + login, "TRITON_KEY_ID=" + fp,
		"SDC_URL=" + url, "SDC_ACCOUNT=" + login, "SDC_KEY_ID=" + fp,
		"NO_PROXY=127.0.0.1,localhost", "no_proxy=127.0.0.1,localhost"}
	return &cli{t: t, prefix: prefix, env: env}
}

// with returns a copy with more environment.
func (c *cli) with(kv ...string) *cli {
	n := *c
	n.env = append(append([]string(nil), c.env...), kv...)
	return &n
}

type result struct {
	stdout, stderr string
	code           int
}

func (r result) String() string {
	return fmt.Sprintf("exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
}

// run runs a client: "triton ..." or "sdc-... ...".
func (c *cli) run(args ...string) result {
	c.t.Helper()
	var bin string
	switch {
	case args[0] == "triton":
		bin = filepath.Join(c.prefix, "node_modules", "triton", "bin", "triton")
	case strings.HasPrefix(args[0], "sdc-"):
		bin = filepath.Join(c.prefix, "node_modules", "smartdc", "bin", args[0])
	default:
		c.t.Fatalf("unknown client %s", args[0])
	}
	return c.runNode(nil, bin, args[1:]...)
}

// runNode runs a client script under node with extra node options.
func (c *cli) runNode(nodeOpts []string, bin string, args ...string) result {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "node", append(append(nodeOpts, bin), args...)...)
	cmd.Env = c.env
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	r := result{stdout: out.String(), stderr: errb.String()}
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		r.code = ee.ExitCode()
	case err != nil:
		c.t.Fatalf("running %s %v: %v", bin, args, err)
	}
	return r
}

// ok runs a client and fails the test unless it exits 0.
func (c *cli) ok(args ...string) result {
	c.t.Helper()
	r := c.run(args...)
	if r.code != 0 {
		c.t.Fatalf("%s: %s", strings.Join(args, " "), r)
	}
	return r
}

var uuidRE = regexp.MustCompile(`[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}`)

// waitPing polls /--ping until the server answers.
func waitPing(t testing.TB, url string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		res, err := http.Get(url + "/--ping")
		if err == nil {
			res.Body.Close()
			if res.StatusCode == 200 {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s/--ping did not answer: %v", url, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
