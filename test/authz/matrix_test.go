// Package authz holds the authorization matrix: for every front and
// operation, what each kind of caller gets. docs/security.md promises
// exactly these answers; change both together.
package authz

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/imagegw/imagegw/accounts"
	"github.com/imagegw/imagegw/api/apitest"
	_ "github.com/imagegw/imagegw/api/cloudapi"
	"github.com/imagegw/imagegw/api/cloudapi/httpsig"
	"github.com/imagegw/imagegw/gateway"
	"github.com/imagegw/imagegw/model"
)

const config = `
mock_create_delay: 1h
providers:
  - {name: mock, driver: mock}
  - {name: locked, driver: mock, anonymous: false}
`

func newServer(t *testing.T) *apitest.Server {
	t.Helper()
	cfg, err := gateway.ParseConfig(strings.NewReader(config + "export_dir: " + t.TempDir() + "\n"))
	if err != nil {
		t.Fatal(err)
	}
	return apitest.NewServer(t, cfg)
}

var noRedirect = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

// send does one request and returns its status and body.
func send(t *testing.T, r *http.Request) (int, string) {
	t.Helper()
	res, err := noRedirect.Do(r)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

// TestNativeFrontMatrix: the native front passes credentials to the cloud.
// Without credentials a provider that is not anonymous answers 401 except
// the entry point and the driver list; wrong credentials get the cloud's
// answer (the mock's 401); jobs are their starter's only; a browser on
// another site changes nothing.
func TestNativeFrontMatrix(t *testing.T) {
	s := newServer(t)
	base := s.URL + "/api;provider=locked"
	type caller struct {
		name       string
		user, pass string
		hdr        map[string]string
	}
	anon := caller{name: "anonymous"}
	wrong := caller{name: "wrong credentials", user: "mockuser", pass: "wrong"}
	owner := caller{name: "owner", user: "mockuser", pass: "mockpassword"}
	browser := caller{name: "owner's browser on another site", user: "mockuser", pass: "mockpassword",
		hdr: map[string]string{"Origin": "http://evil.example", "Sec-Fetch-Site": "cross-site"}}
	callers := []caller{anon, wrong, owner, browser}

	do := func(c caller, method, path, body string) (int, string) {
		r, err := http.NewRequest(method, base+path, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		if body != "" {
			r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		}
		if c.user != "" {
			r.SetBasicAuth(c.user, c.pass)
		}
		for k, v := range c.hdr {
			r.Header.Set(k, v)
		}
		return send(t, r)
	}
	// the owner's image and job, for the member rows
	st, b := do(owner, "POST", "/images?format=json", "instance_id=inst1")
	if st != http.StatusCreated {
		t.Fatalf("owner's create: %d %s", st, b)
	}
	var created struct{ Image struct{ ID string } }
	_ = json.Unmarshal([]byte(b), &created)
	img := created.Image.ID
	jobs, err := s.Gateway.Jobs().List(context.Background())
	if err != nil || len(jobs) != 1 {
		t.Fatalf("jobs %v, %v", jobs, err)
	}
	job := jobs[0].ID

	for _, op := range []struct {
		name, method, path, body string
		want                     map[string]int // by caller name
	}{
		{"entry point", "GET", "", "", map[string]int{"anonymous": 200, "wrong credentials": 200, "owner": 200, "owner's browser on another site": 200}},
		{"entry point force_auth", "GET", "?force_auth=1", "", map[string]int{"anonymous": 401, "wrong credentials": 401, "owner": 200, "owner's browser on another site": 200}},
		{"drivers", "GET", "/drivers", "", map[string]int{"anonymous": 200, "wrong credentials": 200, "owner": 200, "owner's browser on another site": 200}},
		{"list images", "GET", "/images", "", map[string]int{"anonymous": 401, "wrong credentials": 401, "owner": 200, "owner's browser on another site": 200}},
		{"get image", "GET", "/images/" + img, "", map[string]int{"anonymous": 401, "wrong credentials": 401, "owner": 200, "owner's browser on another site": 200}},
		{"hardware profiles", "GET", "/hardware_profiles", "", map[string]int{"anonymous": 401, "wrong credentials": 200, "owner": 200, "owner's browser on another site": 200}},
		{"realms", "GET", "/realms", "", map[string]int{"anonymous": 401, "wrong credentials": 401, "owner": 200, "owner's browser on another site": 200}},
		{"instances", "GET", "/instances", "", map[string]int{"anonymous": 401, "wrong credentials": 401, "owner": 200, "owner's browser on another site": 200}},
		{"list jobs", "GET", "/jobs", "", map[string]int{"anonymous": 401, "wrong credentials": 200, "owner": 200, "owner's browser on another site": 200}},
		{"get job", "GET", "/jobs/" + job, "", map[string]int{"anonymous": 401, "wrong credentials": 404, "owner": 200, "owner's browser on another site": 200}},
		{"create image", "POST", "/images", "instance_id=inst1", map[string]int{"anonymous": 401, "wrong credentials": 401, "owner": 201, "owner's browser on another site": 403}},
		{"delete image (form)", "POST", "/images/" + img, "_method=delete", map[string]int{"anonymous": 401, "wrong credentials": 401, "owner's browser on another site": 403}},
		{"delete image", "DELETE", "/images/" + img, "", map[string]int{"anonymous": 401, "wrong credentials": 401, "owner's browser on another site": 403, "owner": 204}},
	} {
		for _, c := range callers {
			want, ok := op.want[c.name]
			if !ok {
				continue
			}
			if got, body := do(c, op.method, op.path, op.body); got != want {
				t.Errorf("%s by %s: %d, want %d; %.200s", op.name, c.name, got, want, body)
			}
		}
	}
}

// signer is a CloudAPI account's key.
type signer struct {
	login, keyID string
	key          ed25519.PrivateKey
}

func (s signer) do(t *testing.T, base, method, path string, body any) (int, string) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = strings.NewReader(string(b))
	}
	r, err := http.NewRequest(method, base+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if body != nil {
		r.Header.Set("Content-Type", "application/json")
	}
	r.Header.Set("Accept-Version", "~9")
	r.Header.Set("Date", time.Now().UTC().Format(http.TimeFormat))
	if s.key != nil {
		if err := httpsig.Sign(r, s.keyID, "ed25519-sha512", s.key, httpsig.FormRequestTarget); err != nil {
			t.Fatal(err)
		}
	}
	return send(t, r)
}

// TestCloudAPIMatrix: every CloudAPI route but /--ping needs a valid
// signature (401); a path under another login is 403; an account reads
// public images and its own, and only the owner changes, exports or
// deletes; another account's private image is 403 for every operation. No
// account is an administrator.
func TestCloudAPIMatrix(t *testing.T) {
	s := newServer(t)
	accts := accounts.New(s.Store, s.Gateway.Secrets())
	mk := func(login string, register bool) signer {
		_, priv, _ := ed25519.GenerateKey(rand.Reader)
		pub, _ := ssh.NewPublicKey(priv.Public())
		ctx := context.Background()
		if _, err := accts.Get(ctx, login); model.IsNotFound(err) {
			if _, err := accts.Add(ctx, accounts.Account{Login: login, Email: login + "@example.com", Driver: "mock",
				Credentials: map[string]model.Credentials{"mock": {User: "mockuser", Password: "mockpassword"}}}); err != nil {
				t.Fatal(err)
			}
		}
		if register {
			if _, err := accts.AddKey(ctx, login, "", ssh.MarshalAuthorizedKey(pub)); err != nil {
				t.Fatal(err)
			}
		}
		return signer{login: login, keyID: "/" + login + "/keys/" + ssh.FingerprintLegacyMD5(pub), key: priv}
	}
	alice, bob := mk("alice", true), mk("bob", true)
	stranger := mk("alice", false) // alice's login, a key she never registered
	anon := signer{login: "alice"}

	st, b := alice.do(t, s.URL, "POST", "/alice/images", map[string]any{"machine": "c9e8aefe-3fa6-5f5f-b513-824b401ed2f4", "name": "a", "version": "1"})
	if st != http.StatusCreated {
		t.Fatalf("alice's create: %d %s", st, b)
	}
	var created struct{ ID string }
	_ = json.Unmarshal([]byte(b), &created)
	priv := created.ID
	public := "1d7d3268-b4b6-5b27-af09-69ee5896f88d" // mock img1, public, owned by the cloud's "fedoraproject"

	type row struct {
		op, method, path string
		body             any
	}
	img := func(id string) []row {
		return []row{
			{"get", "GET", "/my/images/" + id, nil},
			{"update", "POST", "/my/images/" + id + "?action=update", map[string]any{"name": "x"}},
			{"clone", "POST", "/my/images/" + id + "?action=clone", nil},
			{"export", "POST", "/my/images/" + id + "?action=export", map[string]any{"manta_path": "/LOGIN/stor/x"}},
		}
	}
	check := func(who signer, r row, want int) {
		t.Helper()
		if m, ok := r.body.(map[string]any); ok {
			if p, ok := m["manta_path"].(string); ok {
				r.body = map[string]any{"manta_path": strings.Replace(p, "LOGIN", who.login, 1)}
			}
		}
		if got, body := who.do(t, s.URL, r.method, r.path, r.body); got != want {
			t.Errorf("%s %s %s by %s: %d, want %d; %.200s", r.op, r.method, r.path, who.keyID, got, want, body)
		}
	}
	// anyone, signed or not, for every route: /--ping only
	for _, who := range []signer{anon, stranger} {
		check(who, row{"ping", "GET", "/--ping", nil}, 200)
		for _, r := range append(img(priv), row{"list", "GET", "/my/images", nil}, row{"account", "GET", "/my", nil},
			row{"packages", "GET", "/my/packages", nil}, row{"machines", "GET", "/my/machines", nil},
			row{"create", "POST", "/my/images", map[string]any{"machine": "inst1", "name": "n", "version": "1"}},
			row{"delete", "DELETE", "/my/images/" + priv, nil}) {
			check(who, r, 401)
		}
	}
	// another login's path
	check(bob, row{"list", "GET", "/alice/images", nil}, 403)
	check(bob, row{"account", "GET", "/alice", nil}, 403)
	// another account's private image: 403 for everything, never listed
	for _, r := range append(img(priv), row{"delete", "DELETE", "/my/images/" + priv, nil}) {
		check(bob, r, 403)
	}
	// a public image of the cloud: read and clone, not change
	for _, r := range img(public) {
		want := map[string]int{"get": 200, "clone": 200, "update": 403, "export": 403}[r.op]
		check(bob, r, want)
	}
	check(bob, row{"delete", "DELETE", "/my/images/" + public, nil}, 403)
	_, list := bob.do(t, s.URL, "GET", "/my/images?state=all", nil)
	if strings.Contains(list, priv) || !strings.Contains(list, public) {
		t.Errorf("bob's list: alice's private image shown %v, the public image shown %v", strings.Contains(list, priv), strings.Contains(list, public))
	}
	// an account without cloud credentials for the driver: the gateway
	// lends it none on a provider that is not anonymous
	{
		_, cpriv, _ := ed25519.GenerateKey(rand.Reader)
		cpub, _ := ssh.NewPublicKey(cpriv.Public())
		if _, err := accts.Add(context.Background(), accounts.Account{Login: "carol", Email: "c@example.com", Driver: "mock"}); err != nil {
			t.Fatal(err)
		}
		if _, err := accts.AddKey(context.Background(), "carol", "", ssh.MarshalAuthorizedKey(cpub)); err != nil {
			t.Fatal(err)
		}
		carol := signer{login: "carol", keyID: "/carol/keys/" + ssh.FingerprintLegacyMD5(cpub), key: cpriv}
		check(carol, row{"list on a locked provider", "GET", "/my;provider=locked/images", nil}, 403)
		check(alice, row{"list on a locked provider", "GET", "/my;provider=locked/images", nil}, 200)
	}
	// the owner: everything
	for _, r := range append(img(priv), row{"delete", "DELETE", "/my/images/" + priv, nil}) {
		want := map[string]int{"get": 200, "update": 200, "clone": 200, "export": 200, "delete": 204}[r.op]
		check(alice, r, want)
	}
}
