package cloudapi_test

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ed25519"
	"crypto/md5"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
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

const (
	img1UUID  = "1d7d3268-b4b6-5b27-af09-69ee5896f88d"
	inst1UUID = "c9e8aefe-3fa6-5f5f-b513-824b401ed2f4"
	inst3UUID = "e0eeebfc-0082-565e-94e5-9ada1695ed31"
	m1Large   = "98843242-b641-5c67-bdcf-73e998e5d0f5"
)

// client signs requests as one account.
type client struct {
	t      testing.TB
	base   string
	login  string
	keyID  string
	signer crypto.Signer
	alg    string
	form   httpsig.Form
	skew   time.Duration
	accept string
}

type env struct {
	srv    *apitest.Server
	alice  *client
	bob    *client
	export string
}

func newKey(t testing.TB) (ed25519.PrivateKey, []byte) {
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	pub, _ := ssh.NewPublicKey(priv.Public())
	return priv, ssh.MarshalAuthorizedKey(pub)
}

func setup(t testing.TB, extra string) *env {
	t.Helper()
	exportDir := t.TempDir()
	cfg, err := gateway.ParseConfig(strings.NewReader(`
mock_create_delay: 300ms
job_poll_interval: 50ms
export_dir: ` + exportDir + `
providers:
  - {name: mock, driver: mock}
  - {name: test1, driver: mock}
cloudapi:
  datacenters: {mock: "http://dc-mock.example:8080", test1: "http://dc-test1.example:8080"}
` + extra))
	if err != nil {
		t.Fatal(err)
	}
	srv := apitest.NewServer(t, cfg)
	accts := accounts.New(srv.Store, srv.Gateway.Secrets())
	e := &env{srv: srv, export: exportDir}
	mk := func(login string) *client {
		priv, pub := newKey(t)
		ctx := context.Background()
		if _, err := accts.Add(ctx, accounts.Account{Login: login, Email: login + "@example.com", Driver: "mock",
			Credentials: map[string]model.Credentials{"mock": {User: "mockuser", Password: "mockpassword"}}}); err != nil {
			t.Fatal(err)
		}
		k, err := accts.AddKey(ctx, login, "", pub)
		if err != nil {
			t.Fatal(err)
		}
		return &client{t: t, base: srv.URL, login: login, keyID: "/" + login + "/keys/" + k.Fingerprint,
			signer: priv, alg: "ed25519-sha512", form: httpsig.FormRequestTarget, accept: "~9||~8"}
	}
	e.alice, e.bob = mk("alice"), mk("bob")
	return e
}

// noRedirect shows 302 answers as they are.
var noRedirect = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

type resp struct {
	*http.Response
	body []byte
}

func (r resp) json(t testing.TB, v any) {
	t.Helper()
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("body %q: %v", r.body, err)
	}
}

func (r resp) code(t testing.TB) string {
	t.Helper()
	var e struct{ Code, Message string }
	r.json(t, &e)
	return e.Code
}

func (c *client) do(method, path string, body any, hdr ...string) resp {
	c.t.Helper()
	var rd io.Reader
	ct := ""
	switch b := body.(type) {
	case nil:
	case string:
		rd, ct = strings.NewReader(b), "application/x-www-form-urlencoded"
	case []byte:
		rd, ct = bytes.NewReader(b), "application/json"
	default:
		j, _ := json.Marshal(b)
		rd, ct = bytes.NewReader(j), "application/json"
	}
	req, err := http.NewRequest(method, c.base+path, rd)
	if err != nil {
		c.t.Fatal(err)
	}
	if ct != "" {
		req.Header.Set("Content-Type", ct)
	}
	if c.accept != "" {
		req.Header.Set("Accept-Version", c.accept)
	}
	req.Header.Set("Date", time.Now().Add(c.skew).UTC().Format(http.TimeFormat))
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	if c.signer != nil {
		if err := httpsig.Sign(req, c.keyID, c.alg, c.signer, c.form); err != nil {
			c.t.Fatal(err)
		}
	}
	res, err := noRedirect.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if bytes.Contains(b, []byte("null")) {
		c.t.Errorf("%s %s: null in the body: %s", method, path, b)
	}
	return resp{res, b}
}

func want(t testing.TB, r resp, status int, code string) {
	t.Helper()
	if r.StatusCode != status {
		t.Fatalf("%s %s: status %d, want %d; body %s", r.Request.Method, r.Request.URL, r.StatusCode, status, r.body)
	}
	if code != "" {
		if got := r.code(t); got != code {
			t.Fatalf("%s %s: code %s, want %s; body %s", r.Request.Method, r.Request.URL, got, code, r.body)
		}
	}
}

func TestPingAndHeaders(t *testing.T) {
	e := setup(t, "")
	anon := &client{t: t, base: e.srv.URL}
	r := anon.do("GET", "/--ping", nil)
	want(t, r, 200, "")
	if string(r.body) != `{"ping":"pong","cloudapi":{"versions":["7.0.0","7.1.0","7.2.0","7.3.0","8.0.0","9.0.0"]}}` {
		t.Errorf("ping body %s", r.body)
	}
	// every answer, errors included, carries the common headers
	for _, r := range []resp{r, e.alice.do("GET", "/alice/images", nil), anon.do("GET", "/alice/images", nil),
		e.alice.do("GET", "/alice/images/"+img1UUID, nil, "Accept-Version", "~10")} {
		h := r.Header
		for k, v := range map[string]string{
			"Api-Version": "9.0.0", "Access-Control-Allow-Origin": "*", "Content-Type": "application/json",
			"Access-Control-Allow-Headers":  "Accept, Accept-Version, Content-Length, Content-MD5, Content-Type, Date, Api-Version, Response-Time",
			"Access-Control-Expose-Headers": "Api-Version, Request-Id, Response-Time",
			"Access-Control-Allow-Methods":  "GET, HEAD",
		} {
			if h.Get(k) != v && !(k == "Access-Control-Allow-Methods" && strings.Contains(r.Request.URL.Path, "images")) {
				t.Errorf("%s: %s = %q, want %q", r.Request.URL.Path, k, h.Get(k), v)
			}
		}
		for _, k := range []string{"Date", "Server", "Request-Id", "Response-Time", "Triton-Datacenter-Name"} {
			if h.Get(k) == "" {
				t.Errorf("%s: no %s header", r.Request.URL.Path, k)
			}
		}
		sum := md5.Sum(r.body)
		if h.Get("Content-MD5") != base64.StdEncoding.EncodeToString(sum[:]) || h.Get("Content-Length") != strconv.Itoa(len(r.body)) {
			t.Errorf("%s: Content-MD5 %s / Content-Length %s do not match the body", r.Request.URL.Path, h.Get("Content-MD5"), h.Get("Content-Length"))
		}
	}
	r = e.alice.do("GET", "/alice/images", nil)
	if r.Header.Get("Access-Control-Allow-Methods") != "GET, HEAD, POST" {
		t.Errorf("images methods %q", r.Header.Get("Access-Control-Allow-Methods"))
	}
	r = e.alice.do("HEAD", "/alice/images/"+img1UUID, nil)
	want(t, r, 200, "")
	if len(r.body) != 0 || r.Header.Get("Content-Length") == "0" {
		t.Errorf("HEAD: body %q, Content-Length %s", r.body, r.Header.Get("Content-Length"))
	}
	r = e.alice.do("PUT", "/alice/images", nil)
	want(t, r, 405, "BadMethod")
	if r.Header.Get("Allow") != "GET, HEAD, POST" {
		t.Errorf("Allow = %q", r.Header.Get("Allow"))
	}
}

func TestAuth(t *testing.T) {
	e := setup(t, "")
	a := e.alice
	want(t, a.do("GET", "/alice/images", nil), 200, "")
	want(t, a.do("GET", "/my/images", nil), 200, "")
	want(t, a.do("GET", "/bob/images", nil), 403, "NotAuthorized")
	want(t, a.do("GET", "/nobody/images", nil), 403, "NotAuthorized")

	skewed := *a
	skewed.skew = 301 * time.Second
	want(t, skewed.do("GET", "/alice/images", nil), 401, "InvalidCredentials")
	skewed.skew = -299 * time.Second
	want(t, skewed.do("GET", "/alice/images", nil), 200, "")

	stranger := *a
	stranger.signer, _ = newKey(t)
	want(t, stranger.do("GET", "/alice/images", nil), 401, "InvalidCredentials")

	// bob's key named as alice's: the keyId says alice, the key is bob's
	impostor := *e.bob
	impostor.keyID = a.keyID
	want(t, impostor.do("GET", "/alice/images", nil), 401, "InvalidCredentials")

	anon := &client{t: t, base: e.srv.URL}
	want(t, anon.do("GET", "/alice/images", nil), 401, "InvalidCredentials")
	want(t, anon.do("GET", "/alice/images", nil, "Authorization", `Signature keyId="x"`), 400, "InvalidHeader")

	for _, form := range []httpsig.Form{httpsig.FormDate, httpsig.FormLegacy, httpsig.FormNoHeaders} {
		old := *a
		old.form, old.accept = form, "~7||~8"
		want(t, old.do("GET", "/alice/packages", nil, "Api-Version", "~7||~8"), 200, "")
	}
	want(t, a.do("GET", "/alice/images", nil, "Accept-Version", "~10"), 400, "InvalidVersion")
	want(t, a.do("GET", "/alice/images", nil, "Accept-Version", "~7.2"), 200, "")
}

func TestListImages(t *testing.T) {
	e := setup(t, "")
	a := e.alice
	r := a.do("GET", "/alice/images", nil)
	want(t, r, 200, "")
	var imgs []map[string]any
	r.json(t, &imgs)
	if len(imgs) != 3 {
		t.Fatalf("%d images", len(imgs))
	}
	got, _ := json.Marshal(imgs[0])
	wantImg := `{"description":"Fedora 10","id":"1d7d3268-b4b6-5b27-af09-69ee5896f88d","name":"img1","os":"linux","owner":"9617ce81-af52-5ae4-93e2-5132bb6969a7","public":true,"published_at":"2012-10-25T12:27:53Z","requirements":{},"state":"active","type":"zvol","version":"1.0.0"}`
	if string(got) != wantImg {
		t.Errorf("img1 =\n%s\nwant\n%s", got, wantImg)
	}
	if !strings.HasPrefix(string(r.body), `[{"id":"1d7d3268-b4b6-5b27-af09-69ee5896f88d","name":"img1","version":"1.0.0","os":"linux","requirements":{},"type":"zvol"`) {
		t.Errorf("field order: %s", r.body[:120])
	}
	// img3 is owned by mockuser: the account's own cloud identity
	var alice struct{ ID string }
	a.do("GET", "/alice", nil).json(t, &alice)
	if imgs[2]["owner"] != alice.ID {
		t.Errorf("img3 owner %v, want alice's id %s", imgs[2]["owner"], alice.ID)
	}

	for _, tc := range []struct {
		query string
		n     int
	}{
		{"name=img1", 1}, {"name=~img", 3}, {"name=~mg2", 1}, {"name=nothing", 0}, {"os=linux", 3},
		{"os=windows", 0}, {"public=true", 3}, {"public=false", 0}, {"state=all", 3}, {"state=creating", 0},
		{"owner=9617ce81-af52-5ae4-93e2-5132bb6969a7", 2}, {"type=zvol", 3}, {"type=docker", 0},
		{"version=~1.0", 3}, {"version=2.0.0", 0}, {"unknown=1", 3},
	} {
		r := a.do("GET", "/alice/images?"+tc.query, nil)
		want(t, r, 200, "")
		var l []map[string]any
		r.json(t, &l)
		if len(l) != tc.n {
			t.Errorf("?%s: %d images, want %d", tc.query, len(l), tc.n)
		}
		if tc.n == 0 && string(r.body) != "[]" {
			t.Errorf("?%s: empty list is %q, want []", tc.query, r.body)
		}
	}
	want(t, a.do("GET", "/alice/images?public=maybe", nil), 409, "InvalidArgument")
	want(t, a.do("GET", "/alice/images?state=bogus", nil), 409, "InvalidArgument")
}

// TestListImagesByTag: tag.KEY=VALUE selects the images whose tag has that
// value (as upstream CloudAPI; the triton driver finds the image of a
// create by its imagegw_job tag so), strings, numbers and booleans alike.
func TestListImagesByTag(t *testing.T) {
	e := setup(t, "")
	a := e.alice
	r := a.do("POST", "/alice/images", map[string]any{"machine": inst1UUID, "name": "tagged", "version": "1.0.0",
		"tags": map[string]any{"role": "web", "n": 3, "on": true}})
	want(t, r, 201, "")
	var created map[string]any
	r.json(t, &created)
	for _, tc := range []struct {
		query string
		n     int
	}{
		{"tag.role=web", 1}, {"tag.role=db", 0}, {"tag.n=3", 1}, {"tag.on=true", 1}, {"tag.on=false", 0},
		{"tag.role=web&tag.n=3", 1}, {"tag.role=web&tag.n=4", 0}, {"tag.other=web", 0},
	} {
		r := a.do("GET", "/alice/images?state=all&"+tc.query, nil)
		want(t, r, 200, "")
		var l []map[string]any
		r.json(t, &l)
		if len(l) != tc.n || tc.n == 1 && l[0]["id"] != created["id"] {
			t.Errorf("?%s: %d images %v, want %d (the tagged one)", tc.query, len(l), l, tc.n)
		}
	}
	want(t, a.do("GET", "/alice/images?tag.=x", nil), 409, "InvalidArgument")
}

func TestGetImage(t *testing.T) {
	e := setup(t, "")
	a := e.alice
	r := a.do("GET", "/alice/images/"+img1UUID, nil)
	want(t, r, 200, "")
	var img map[string]any
	r.json(t, &img)
	if img["name"] != "img1" || img["id"] != img1UUID {
		t.Errorf("got %v", img)
	}
	want(t, a.do("GET", "/alice/images/img1", nil), 404, "ResourceNotFound")
	want(t, a.do("GET", "/alice/images/00000000-0000-0000-0000-000000000000", nil), 404, "ResourceNotFound")
	// the same image in another provider has another UUID
	r = a.do("GET", "/alice;provider=test1/images?name=img1", nil)
	var l []map[string]any
	r.json(t, &l)
	if len(l) != 1 || l[0]["id"] == img1UUID || r.Header.Get("Triton-Datacenter-Name") != "test1" {
		t.Errorf("test1's img1: %v (datacenter %s)", l, r.Header.Get("Triton-Datacenter-Name"))
	}
	r = a.do("GET", "/alice/images/"+l[0]["id"].(string), nil, "X-Deltacloud-Provider", "test1")
	want(t, r, 200, "")
	want(t, a.do("GET", "/alice/images/"+l[0]["id"].(string), nil), 404, "ResourceNotFound")
	want(t, a.do("GET", "/alice;driver=nope/images", nil), 409, "InvalidArgument")
}

func waitState(t *testing.T, c *client, id, state string) map[string]any {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		r := c.do("GET", "/"+c.login+"/images/"+id, nil)
		want(t, r, 200, "")
		var img map[string]any
		r.json(t, &img)
		if img["state"] == state {
			return img
		}
		if time.Now().After(deadline) {
			t.Fatalf("image %s still %v", id, img["state"])
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestImageLifecycle(t *testing.T) {
	e := setup(t, "")
	a := e.alice
	for _, tc := range []struct {
		body any
		msg  string
	}{
		{map[string]any{}, "machine is a required argument"},
		{map[string]any{"machine": inst1UUID}, "name is a required argument"},
		{map[string]any{"machine": inst1UUID, "name": "x"}, "version is a required argument"},
	} {
		r := a.do("POST", "/alice/images", tc.body)
		want(t, r, 409, "MissingParameter")
		if !strings.Contains(string(r.body), tc.msg) {
			t.Errorf("body %s lacks %q", r.body, tc.msg)
		}
	}
	r := a.do("POST", "/alice/images", map[string]any{"machine": "00000000-0000-0000-0000-000000000000", "name": "x", "version": "1"})
	want(t, r, 404, "ResourceNotFound")
	want(t, a.do("POST", "/alice/images", map[string]any{"machine": inst3UUID, "name": "x", "version": "1"}), 409, "InvalidArgument")
	want(t, a.do("POST", "/alice/images", map[string]any{"machine": "inst1", "name": strings.Repeat("n", 513), "version": "1"}), 422, "ValidationFailed")
	want(t, a.do("POST", "/alice/images?action=frob", map[string]any{}), 409, "InvalidArgument")

	r = a.do("POST", "/alice/images", map[string]any{"machine": inst1UUID, "name": "myimg", "version": "2.0.0",
		"homepage": "https://example.com", "tags": map[string]any{"role": "web"}})
	want(t, r, 201, "")
	var created map[string]any
	r.json(t, &created)
	id := created["id"].(string)
	if r.Header.Get("Location") != "/alice/images/"+id || r.Header.Get("x-joyent-jobid") == "" {
		t.Errorf("Location %q, jobid %q", r.Header.Get("Location"), r.Header.Get("x-joyent-jobid"))
	}
	if created["state"] != "creating" || created["public"] != false || created["version"] != "2.0.0" {
		t.Errorf("partial image %v", created)
	}
	job, err := e.srv.Gateway.Jobs().Get(context.Background(), r.Header.Get("x-joyent-jobid"))
	if err != nil || job.Kind != model.JobCreateImage || job.Caller == "" || strings.Contains(job.Caller, "alice") {
		t.Fatalf("job %+v, %v", job, err)
	}
	// creating images are listed with state=creating or all, not by default
	img := waitState(t, a, id, "active")
	if img["version"] != "2.0.0" || img["homepage"] != "https://example.com" || img["owner"] != created["owner"] {
		t.Errorf("active image %v", img)
	}
	if tags, _ := img["tags"].(map[string]any); tags["role"] != "web" {
		t.Errorf("tags %v", img["tags"])
	}

	// actions
	want(t, a.do("POST", "/alice/images/"+id, map[string]any{}), 409, "MissingParameter")
	r = a.do("POST", "/alice/images/"+id+"?action=frob", map[string]any{})
	want(t, r, 409, "InvalidArgument")
	if !strings.Contains(string(r.body), "action frob is not a valid argument") {
		t.Errorf("body %s", r.body)
	}
	r = a.do("POST", "/alice/images/"+id+"?action=update", map[string]any{"name": "renamed", "version": "2.0.1", "description": "d", "ignored": 1})
	want(t, r, 200, "")
	r.json(t, &img)
	if img["name"] != "renamed" || img["version"] != "2.0.1" || img["description"] != "d" {
		t.Errorf("updated %v", img)
	}
	want(t, a.do("POST", "/alice/images/"+id+"?action=update", map[string]any{"acl": []string{"x"}}), 501, "NotImplemented")
	// form bodies work too
	want(t, a.do("POST", "/alice/images/"+id, "action=update&homepage=https://h"), 200, "")

	r = a.do("POST", "/alice/images/"+id+"?action=clone", nil)
	want(t, r, 200, "")
	var clone map[string]any
	r.json(t, &clone)
	if clone["id"] == id || clone["name"] != "renamed" || clone["owner"] != created["owner"] || string(mustJSON(clone["acl"])) != "[]" {
		t.Errorf("clone %v", clone)
	}

	// export: manta_path from the body (triton) or the query (smartdc)
	want(t, a.do("POST", "/alice/images/"+id+"?action=export", nil), 409, "MissingParameter")
	for _, bad := range []string{"/bob/stor/x", "alice/stor/x", "/alice/../bob/x", "/alice/./x"} {
		want(t, a.do("POST", "/alice/images/"+id, map[string]any{"action": "export", "manta_path": bad}), 409, "InvalidArgument")
	}
	r = a.do("POST", "/alice/images/"+id, map[string]any{"action": "export", "manta_path": "/alice/stor/x"})
	want(t, r, 200, "")
	var ex map[string]string
	r.json(t, &ex)
	if ex["image_path"] != "/alice/stor/x.raw" || ex["manifest_path"] != "/alice/stor/x.imgmanifest" {
		t.Errorf("export %v", ex)
	}
	manifest, err := os.ReadFile(filepath.Join(e.export, "alice/stor/x.imgmanifest"))
	if err != nil || !strings.Contains(string(manifest), `"renamed"`) {
		t.Errorf("manifest %s, %v", manifest, err)
	}
	r = a.do("POST", "/alice/images/"+id+"?action=export&manta_path=/alice/stor/dir/", nil)
	want(t, r, 200, "")
	r.json(t, &ex)
	if ex["image_path"] != "/alice/stor/dir/renamed-2.0.1.raw" {
		t.Errorf("export to a directory %v", ex)
	}

	// delete
	r = a.do("DELETE", "/alice/images/"+id, nil)
	want(t, r, 204, "")
	if len(r.body) != 0 {
		t.Errorf("204 with body %q", r.body)
	}
	want(t, a.do("GET", "/alice/images/"+id, nil), 404, "ResourceNotFound")
	want(t, a.do("DELETE", "/alice/images/"+id, nil), 404, "ResourceNotFound")
}

func mustJSON(v any) []byte { b, _ := json.Marshal(v); return b }

func TestImportFromDatacenter(t *testing.T) {
	e := setup(t, "")
	a := e.alice
	want(t, a.do("POST", "/alice/images?action=import-from-datacenter", nil), 409, "MissingParameter")
	want(t, a.do("POST", "/alice/images?action=import-from-datacenter&datacenter=mock", nil), 409, "MissingParameter")
	want(t, a.do("POST", "/alice/images?action=import-from-datacenter&datacenter=mock&id=img1", nil), 409, "InvalidArgument")
	want(t, a.do("POST", "/alice/images?action=import-from-datacenter&datacenter=nowhere&id="+img1UUID, nil), 404, "ResourceNotFound")
	r := a.do("POST", "/alice/images?action=import-from-datacenter&datacenter=mock&id="+img1UUID, nil, "X-Deltacloud-Provider", "test1")
	want(t, r, 200, "")
	var img map[string]any
	r.json(t, &img)
	if img["state"] != "creating" || img["name"] != "img1" || img["id"] == img1UUID {
		t.Errorf("imported %v", img)
	}
	r = a.do("GET", "/alice/datacenters", nil)
	want(t, r, 200, "")
	if string(r.body) != `{"mock":"http://dc-mock.example:8080","test1":"http://dc-test1.example:8080"}` {
		t.Errorf("datacenters %s", r.body)
	}
	r = a.do("GET", "/alice/datacenters/test1", nil)
	want(t, r, 302, "ResourceMoved")
	if r.Header.Get("Location") != "http://dc-test1.example:8080" {
		t.Errorf("Location %s", r.Header.Get("Location"))
	}
	want(t, a.do("GET", "/alice/datacenters/nowhere", nil), 404, "ResourceNotFound")
}

func TestPackages(t *testing.T) {
	e := setup(t, "")
	a := e.alice
	r := a.do("GET", "/alice/packages", nil)
	want(t, r, 200, "")
	var pkgs []map[string]any
	r.json(t, &pkgs)
	if len(pkgs) != 4 {
		t.Fatalf("%d packages", len(pkgs))
	}
	r = a.do("GET", "/alice/packages/m1-large", nil)
	want(t, r, 200, "")
	if string(r.body) != `{"id":"98843242-b641-5c67-bdcf-73e998e5d0f5","name":"m1-large","memory":10240,"disk":870400,"swap":0,"vcpus":1,"version":"1.0.0","default":false}` {
		t.Errorf("m1-large %s", r.body)
	}
	want(t, a.do("GET", "/alice/packages/"+m1Large, nil), 200, "")
	r = a.do("GET", "/alice/packages/nope", nil)
	want(t, r, 404, "ResourceNotFound")
	if !strings.Contains(string(r.body), `"nope not found"`) {
		t.Errorf("body %s", r.body)
	}
	for _, tc := range []struct {
		q     string
		names string
	}{
		{"name=m1-*", "m1-small,m1-large,m1-xlarge"}, {"name=*large", "m1-large,m1-xlarge"},
		{"memory=1740", "m1-small"}, {"vcpus=4", "m1-xlarge"}, {"disk=0", "opaque"}, {"name=x*", ""},
		{"name=*-*&vcpus=1", "m1-small,m1-large"}, {"version=1.*", "m1-small,m1-large,m1-xlarge,opaque"},
	} {
		r := a.do("GET", "/alice/packages?"+tc.q, nil)
		want(t, r, 200, "")
		var l []struct{ Name string }
		r.json(t, &l)
		var names []string
		for _, p := range l {
			names = append(names, p.Name)
		}
		if strings.Join(names, ",") != tc.names {
			t.Errorf("?%s = %v, want %s", tc.q, names, tc.names)
		}
	}
	want(t, a.do("GET", "/alice/packages?memory=lots", nil), 409, "InvalidArgument")
}

func TestBodies(t *testing.T) {
	e := setup(t, "")
	a := e.alice
	path := "/alice/images/" + img1UUID + "?action=update"
	want(t, a.do("POST", path, []byte("{not json")), 400, "InvalidContent")
	want(t, a.do("POST", path, []byte(`{"version":"1"}`), "Content-MD5", "AAAAAAAAAAAAAAAAAAAAAA=="), 400, "BadDigest")
	want(t, a.do("POST", path, []byte(`{"version":"1"}`), "Content-Type", "text/xml"), 415, "UnsupportedMediaType")
	// A body of the wrong shape, or JSON under another media type, says what
	// was expected.
	for _, tc := range []struct {
		body        string
		ctype       string
		status      int
		code, inMsg string
	}{
		{`[{"version":"1"}]`, "application/json", 400, "InvalidContent", "must be a JSON object of inputs, such as {\\\"name\\\": \\\"my-image\\\"}, not an array"},
		{`"1"`, "application/json", 400, "InvalidContent", "not a string"},
		{`3`, "", 400, "InvalidContent", "not a number"},
		{`{"version":"1"}`, "application/x-www-form-urlencoded", 415, "UnsupportedMediaType", "looks like JSON but Content-Type is application/x-www-form-urlencoded"},
		{`{"version":"1"}`, "text/plain", 415, "UnsupportedMediaType", "send Content-Type: application/json"},
	} {
		var r resp
		if tc.ctype == "" {
			r = a.do("POST", path, []byte(tc.body))
		} else {
			r = a.do("POST", path, []byte(tc.body), "Content-Type", tc.ctype)
		}
		want(t, r, tc.status, tc.code)
		if !strings.Contains(string(r.body), tc.inMsg) {
			t.Errorf("%s as %q: %s, want %q", tc.body, tc.ctype, r.body, tc.inMsg)
		}
	}
	big := map[string]any{"description": strings.Repeat("x", 100001)}
	want(t, a.do("POST", path, big), 413, "RequestTooLarge")
	want(t, a.do("GET", "/alice/nothing/here", nil), 404, "ResourceNotFound")
}

// TestParameterMessages checks each MissingParameter and InvalidArgument
// message of the spec.
func TestParameterMessages(t *testing.T) {
	e := setup(t, "")
	a := e.alice
	img := "/alice/images/" + img1UUID
	for _, tc := range []struct {
		method, path string
		body         any
		status       int
		code, msg    string
	}{
		{"POST", "/alice/images", map[string]any{}, 409, "MissingParameter", "machine is a required argument"},
		{"POST", "/alice/images", map[string]any{"machine": "inst1"}, 409, "MissingParameter", "name is a required argument"},
		{"POST", "/alice/images", map[string]any{"machine": "inst1", "name": "n"}, 409, "MissingParameter", "version is a required argument"},
		{"POST", "/alice/images?action=bar", nil, 409, "InvalidArgument", "action bar is not a valid argument"},
		{"POST", "/alice/images?action=import-from-datacenter", nil, 409, "MissingParameter", "datacenter is a required argument"},
		{"POST", "/alice/images?action=import-from-datacenter&datacenter=mock", nil, 409, "MissingParameter", "id is a required argument"},
		{"POST", "/alice/images?action=import-from-datacenter&datacenter=mock&id=img1", nil, 409, "InvalidArgument", "id img1 is not a UUID"},
		{"POST", img, nil, 409, "MissingParameter", "action is a required argument"},
		{"POST", img, map[string]any{"action": "foo"}, 409, "InvalidArgument", "action foo is not a valid argument"},
		{"POST", img + "?action=export", nil, 409, "MissingParameter", "manta_path is a required argument"},
		{"POST", img + "?action=export&manta_path=/bob/x", nil, 409, "InvalidArgument", "manta_path /bob/x must be an absolute path under /alice/"},
		{"GET", "/alice/images?public=yes", nil, 409, "InvalidArgument", "public must be true or false, not yes"},
		{"GET", "/alice/packages?vcpus=many", nil, 409, "InvalidArgument", "vcpus must be a number, not many"},
		{"GET", "/alice/packages/m9-huge", nil, 404, "ResourceNotFound", "m9-huge not found"},
	} {
		r := a.do(tc.method, tc.path, tc.body)
		want(t, r, tc.status, tc.code)
		var env struct{ Message string }
		r.json(t, &env)
		if env.Message != tc.msg {
			t.Errorf("%s %s: message %q, want %q", tc.method, tc.path, env.Message, tc.msg)
		}
	}
}

// TestExportStaysInExportDir: image names become file names; they must not
// lead out of the export directory.
func TestExportStaysInExportDir(t *testing.T) {
	e := setup(t, "")
	a := e.alice
	// img3 is alice's (owned by her cloud identity): only an owner exports
	img := "/alice/images/" + gateway.SchemeUUID.ID("mock", "mock", gateway.KindImages, "img3")
	want(t, a.do("POST", img+"?action=update", map[string]any{"name": "../../../escape", "version": "../v"}), 200, "")
	r := a.do("POST", img+"?action=export", map[string]any{"manta_path": "/alice/stor/"})
	want(t, r, 200, "")
	var ex map[string]string
	r.json(t, &ex)
	if ex["image_path"] != "/alice/stor/.._.._.._escape-.._v.raw" {
		t.Errorf("export %v", ex)
	}
	if _, err := os.Stat(filepath.Join(e.export, "alice", "stor", ".._.._.._escape-.._v.imgmanifest")); err != nil {
		t.Error(err)
	}
	if _, err := os.Stat(filepath.Join(filepath.Dir(e.export), "escape-.._v.raw")); err == nil {
		t.Error("the export left its directory")
	}
}

// TestAccountDefaultProvider: an account bound to a provider is served from
// it unless the request selects another.
func TestAccountDefaultProvider(t *testing.T) {
	e := setup(t, "")
	priv, pub := newKey(t)
	ctx := context.Background()
	accts := accounts.New(e.srv.Store, e.srv.Gateway.Secrets())
	if _, err := accts.Add(ctx, accounts.Account{Login: "carol", Driver: "mock", Provider: "test1",
		Credentials: map[string]model.Credentials{"mock": {User: "mockuser", Password: "mockpassword"}}}); err != nil {
		t.Fatal(err)
	}
	k, err := accts.AddKey(ctx, "carol", "", pub)
	if err != nil {
		t.Fatal(err)
	}
	c := &client{t: t, base: e.srv.URL, login: "carol", keyID: "/carol/keys/" + k.Fingerprint,
		signer: priv, alg: "ed25519-sha512", accept: "~9"}
	for _, tc := range []struct {
		path, hdr, dc string
	}{
		{"/carol/images", "", "test1"},
		{"/my/images", "", "test1"},
		{"/carol;provider=mock/images", "", "mock"},
		{"/carol/images", "mock", "mock"},
	} {
		var r resp
		if tc.hdr != "" {
			r = c.do("GET", tc.path, nil, "X-Deltacloud-Provider", tc.hdr)
		} else {
			r = c.do("GET", tc.path, nil)
		}
		want(t, r, 200, "")
		if got := r.Header.Get("Triton-Datacenter-Name"); got != tc.dc {
			t.Errorf("%s (header %q): datacenter %s, want %s", tc.path, tc.hdr, got, tc.dc)
		}
	}
	// the datacenters of the selected driver
	r := c.do("GET", "/carol/datacenters", nil)
	want(t, r, 200, "")
	if !strings.Contains(string(r.body), `"test1"`) {
		t.Errorf("datacenters %s", r.body)
	}
}
