package coopr_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/imagegw/imagegw/api/apitest"
	_ "github.com/imagegw/imagegw/api/coopr"
	"github.com/imagegw/imagegw/gateway"
	"github.com/imagegw/imagegw/tenants"
)

// env is a running gateway with tenant "acme", whose users admin and
// alice have keys.
type env struct {
	t        testing.TB
	srv      *apitest.Server
	adminKey string
	aliceKey string
}

func newEnv(t testing.TB, cfgYAML string) *env {
	t.Helper()
	cfg, err := gateway.ParseConfig(strings.NewReader(cfgYAML))
	if err != nil {
		t.Fatal(err)
	}
	srv := apitest.NewServer(t, cfg)
	ts := tenants.New(srv.Store)
	ctx := context.Background()
	if _, err := ts.Add(ctx, "acme"); err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, srv: srv}
	if e.adminKey, err = ts.AddKey(ctx, "acme", "admin"); err != nil {
		t.Fatal(err)
	}
	if e.aliceKey, err = ts.AddKey(ctx, "acme", "alice"); err != nil {
		t.Fatal(err)
	}
	return e
}

// req sends a request as curl -d would: the body with a form content
// type, and the Coopr headers that are not empty.
func req(t testing.TB, method, url string, hdr map[string]string, body string) apitest.Response {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	r, err := http.NewRequest(method, url, rd)
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for k, v := range hdr {
		if v != "" {
			r.Header.Set(k, v)
		}
	}
	res, err := http.DefaultClient.Do(r)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return apitest.Response{Status: res.StatusCode, Header: res.Header, Body: b}
}

func (e *env) as(user, key string) map[string]string {
	return map[string]string{"Coopr-UserID": user, "Coopr-TenantID": "acme", "Coopr-ApiKey": key}
}

// admin sends a request as the tenant's admin.
func (e *env) admin(method, path, body string) apitest.Response {
	e.t.Helper()
	return req(e.t, method, e.srv.URL+path, e.as("admin", e.adminKey), body)
}

// want checks status and exact body (when body is not "*").
func want(t testing.TB, what string, r apitest.Response, status int, body string) {
	t.Helper()
	if r.Status != status || (body != "*" && string(r.Body) != body) {
		t.Fatalf("%s: %d %q; want %d %q", what, r.Status, r.Body, status, body)
	}
	ct := r.Header.Get("Content-Type")
	switch {
	case status >= 400 && ct != "text/plain; charset=utf-8":
		t.Errorf("%s: error Content-Type %q, want text/plain; charset=utf-8", what, ct)
	case status == 200 && len(r.Body) == 0 && r.Header.Get("Content-Length") != "0":
		t.Errorf("%s: empty 200 without Content-Length: 0", what)
	}
}

func TestUpstreamCurlExamples(t *testing.T) {
	e := newEnv(t, "")
	for _, kind := range []struct{ path, noun, ref, ref2 string }{
		{"/v2/imagetypes", "image type", `"image":"img1"`, `"image":"img2"`},
		{"/v2/hardwaretypes", "hardware type", `"flavor":"m1-small"`, `"flavor":"m1-large"`},
	} {
		t.Run(kind.path, func(t *testing.T) {
			want(t, "list empty", e.admin("GET", kind.path, ""), 200, "[]")
			post := `{"name":"small.example", "description":"Example 1 vCPU, 1 GB RAM, 30+ GB Disk", "providermap": {"mock": {` + kind.ref + `}}}`
			want(t, "POST", e.admin("POST", kind.path, post), 200, "")
			want(t, "GET", e.admin("GET", kind.path+"/small.example", ""), 200,
				`{"name":"small.example","description":"Example 1 vCPU, 1 GB RAM, 30+ GB Disk","version":1,"providermap":{"mock":{`+kind.ref+`}}}`)
			want(t, "duplicate POST", e.admin("POST", kind.path, post), 409, kind.noun+" small.example already exists")
			put := `{"name":"small.example", "description":"New Example 1 vCPU, 1 GB RAM, 30+ GB Disk", "providermap": {"mock": {` + kind.ref2 + `}}}`
			want(t, "PUT", e.admin("PUT", kind.path+"/small.example", put), 200, "")
			want(t, "GET after PUT", e.admin("GET", kind.path+"/small.example", ""), 200,
				`{"name":"small.example","description":"New Example 1 vCPU, 1 GB RAM, 30+ GB Disk","version":2,"providermap":{"mock":{`+kind.ref2+`}}}`)
			want(t, "list", e.admin("GET", kind.path, ""), 200,
				`[{"name":"small.example","description":"New Example 1 vCPU, 1 GB RAM, 30+ GB Disk","version":2,"providermap":{"mock":{`+kind.ref2+`}}}]`)
			want(t, "PUT mismatch", e.admin("PUT", kind.path+"/other", put), 400, "name in body (small.example) does not match name in path (other)")
			want(t, "DELETE", e.admin("DELETE", kind.path+"/small.example", ""), 200, "")
			want(t, "DELETE again", e.admin("DELETE", kind.path+"/small.example", ""), 404, kind.noun+" small.example not found")
			want(t, "list after delete", e.admin("GET", kind.path, ""), 200, "[]")
		})
	}
}

func TestUpstreamHandlerCases(t *testing.T) {
	e := newEnv(t, "")
	good := `{"name":"centos7","providermap":{"mock":{"image":"img1"}}}`
	long := strings.Repeat("a", 256)
	cases := []struct {
		what         string
		method, path string
		hdr          map[string]string
		body         string
		status       int
		wantBody     string
	}{
		{"non-admin POST", "POST", "/v2/imagetypes", e.as("alice", e.aliceKey), good, 403, "user unauthorized, must be admin"},
		{"non-admin PUT", "PUT", "/v2/imagetypes/centos7", e.as("alice", e.aliceKey), good, 403, "user unauthorized, must be admin"},
		{"non-admin DELETE", "DELETE", "/v2/hardwaretypes/small", e.as("alice", e.aliceKey), "", 403, "user unauthorized, must be admin"},
		{"non-admin may read", "GET", "/v2/imagetypes", e.as("alice", e.aliceKey), "", 200, "[]"},
		{"no user", "GET", "/v2/imagetypes", map[string]string{"Coopr-TenantID": "acme", "Coopr-ApiKey": e.adminKey}, "", 401, "missing Coopr-UserID header"},
		{"no tenant", "GET", "/v2/imagetypes", map[string]string{"Coopr-UserID": "admin", "Coopr-ApiKey": e.adminKey}, "", 401, "missing Coopr-TenantID header"},
		{"no key", "GET", "/v2/imagetypes", map[string]string{"Coopr-UserID": "admin", "Coopr-TenantID": "acme"}, "", 401, "invalid Coopr-ApiKey"},
		{"wrong key", "GET", "/v2/imagetypes", e.as("admin", "nope"), "", 401, "invalid Coopr-ApiKey"},
		{"another user's key", "POST", "/v2/imagetypes", e.as("admin", e.aliceKey), good, 401, "invalid Coopr-ApiKey"},
		{"unknown tenant", "GET", "/v2/imagetypes", map[string]string{"Coopr-UserID": "admin", "Coopr-TenantID": "nosuch", "Coopr-ApiKey": e.adminKey}, "", 404, "tenant does not exist"},
		{"name with a space", "POST", "/v2/imagetypes", e.as("admin", e.adminKey), `{"name":"bad name"}`, 400, "invalid input: name must be 1-255 characters of [A-Za-z0-9_.-]"},
		{"name of 256", "POST", "/v2/hardwaretypes", e.as("admin", e.adminKey), `{"name":"` + long + `"}`, 400, "invalid input: name must be 1-255 characters of [A-Za-z0-9_.-]"},
		{"no name", "POST", "/v2/imagetypes", e.as("admin", e.adminKey), `{"description":"x"}`, 400, "invalid input: name must be 1-255 characters of [A-Za-z0-9_.-]"},
		{"name of 255", "POST", "/v2/imagetypes", e.as("admin", e.adminKey), `{"name":"` + long[:255] + `"}`, 200, ""},
		{"empty body", "POST", "/v2/imagetypes", e.as("admin", e.adminKey), "", 400, "invalid input: empty body"},
		{"malformed", "POST", "/v2/imagetypes", e.as("admin", e.adminKey), `{"name":`, 400, "invalid input: malformed JSON"},
		{"mapping without image", "POST", "/v2/imagetypes", e.as("admin", e.adminKey), `{"name":"x","providermap":{"mock":{"flavor":"m1-small"}}}`, 400, "invalid input: provider mock: image is required"},
		{"PUT of a missing name", "PUT", "/v2/imagetypes/ghost", e.as("admin", e.adminKey), `{"name":"ghost"}`, 404, "image type ghost not found"},
		{"GET missing", "GET", "/v2/hardwaretypes/ghost", e.as("alice", e.aliceKey), "", 404, "hardware type ghost not found"},
		{"bad method", "PATCH", "/v2/imagetypes", e.as("admin", e.adminKey), "", 405, "method PATCH is not allowed on /v2/imagetypes"},
		{"unknown path", "GET", "/v2/flavors", e.as("admin", e.adminKey), "", 404, "no such path /v2/flavors"},
		{"too large", "POST", "/v2/imagetypes", e.as("admin", e.adminKey), `{"name":"x","description":"` + strings.Repeat("x", 1<<20) + `"}`, 413, "request body too large"},
	}
	for _, c := range cases {
		t.Run(c.what, func(t *testing.T) {
			r := req(t, c.method, e.srv.URL+c.path, c.hdr, c.body)
			want(t, c.what, r, c.status, c.wantBody)
			if c.status == 405 && r.Header.Get("Allow") != "GET, HEAD, POST" {
				t.Errorf("Allow = %q", r.Header.Get("Allow"))
			}
		})
	}
}

func TestMockReferenceChecks(t *testing.T) {
	e := newEnv(t, "")
	cases := []struct {
		what, kind, body string
		status           int
		wantBody         string
	}{
		{"known image", "imagetypes", `{"name":"a","providermap":{"mock":{"image":"img1"}}}`, 200, ""},
		{"unknown image", "imagetypes", `{"name":"b","providermap":{"mock":{"image":"nope"}}}`, 400, "invalid input: image nope not found in provider mock"},
		{"unknown provider", "imagetypes", `{"name":"c","providermap":{"nosuch":{"image":"x"}}}`, 400, "invalid input: unknown provider nosuch"},
		{"every problem at once", "imagetypes", `{"name":"d","providermap":{"nosuch":{"image":"x"},"mock":{"image":"nope"},"zzz":{"image":"y"}}}`, 400,
			"invalid input: image nope not found in provider mock; unknown provider nosuch; unknown provider zzz"},
		{"known flavor", "hardwaretypes", `{"name":"small","providermap":{"mock":{"flavor":"m1-small"}}}`, 200, ""},
		{"unknown flavor", "hardwaretypes", `{"name":"small2","providermap":{"mock":{"flavor":"m1.small"}}}`, 400, "invalid input: flavor m1.small not found in provider mock"},
		{"extra keys kept", "imagetypes", `{"name":"e","providermap":{"mock":{"image":"img2","user":"fedora"}}}`, 200, ""},
	}
	for _, c := range cases {
		t.Run(c.what, func(t *testing.T) {
			want(t, c.what, e.admin("POST", "/v2/"+c.kind, c.body), c.status, c.wantBody)
		})
	}
	want(t, "nothing stored on failure", e.admin("GET", "/v2/imagetypes/b", ""), 404, "image type b not found")
	want(t, "extra keys", e.admin("GET", "/v2/imagetypes/e", ""), 200, `{"name":"e","version":1,"providermap":{"mock":{"image":"img2","user":"fedora"}}}`)
}

func TestOperatorCredentialsRejected(t *testing.T) {
	e := newEnv(t, "image_types: {credentials: {mock: {user: mockuser, password: wrong}}}\n")
	want(t, "POST", e.admin("POST", "/v2/imagetypes", `{"name":"a","providermap":{"mock":{"image":"img1"}}}`), 503,
		"provider mock unavailable: Authentication failed")
	want(t, "nothing stored", e.admin("GET", "/v2/imagetypes/a", ""), 404, "image type a not found")
}

func TestVersions(t *testing.T) {
	e := newEnv(t, "")
	body := func(desc string) string {
		return `{"name":"centos7","description":"` + desc + `","version":7,"providermap":{"mock":{"image":"img1"}}}`
	}
	want(t, "POST", e.admin("POST", "/v2/imagetypes", body("one")), 200, "")
	want(t, "PUT 2", e.admin("PUT", "/v2/imagetypes/centos7", body("two")), 200, "")
	want(t, "PUT 3", e.admin("PUT", "/v2/imagetypes/centos7", body("three")), 200, "")
	v := func(desc string, n string) string {
		return `{"name":"centos7","description":"` + desc + `","version":` + n + `,"providermap":{"mock":{"image":"img1"}}}`
	}
	want(t, "latest", e.admin("GET", "/v2/imagetypes/centos7", ""), 200, v("three", "3"))
	want(t, "version 2", e.admin("GET", "/v2/imagetypes/centos7/2", ""), 200, v("two", "2"))
	want(t, "version 9", e.admin("GET", "/v2/imagetypes/centos7/9", ""), 404, "image type centos7 version 9 not found")
	want(t, "delete 2", e.admin("DELETE", "/v2/imagetypes/centos7/2", ""), 200, "")
	want(t, "version 2 gone", e.admin("GET", "/v2/imagetypes/centos7/2", ""), 404, "image type centos7 version 2 not found")
	want(t, "latest still 3", e.admin("GET", "/v2/imagetypes/centos7", ""), 200, v("three", "3"))
	want(t, "version 1 kept", e.admin("GET", "/v2/imagetypes/centos7/1", ""), 200, v("one", "1"))
	want(t, "delete 3", e.admin("DELETE", "/v2/imagetypes/centos7/3", ""), 200, "")
	want(t, "PUT after: max+1", e.admin("PUT", "/v2/imagetypes/centos7", body("again")), 200, "")
	want(t, "latest is 2", e.admin("GET", "/v2/imagetypes/centos7", ""), 200, v("again", "2"))
	want(t, "version 0", e.admin("GET", "/v2/imagetypes/centos7/0", ""), 404, "image type centos7 version 0 not found")
	want(t, "a version too large", e.admin("DELETE", "/v2/imagetypes/centos7/99999999999999999999", ""), 404, "image type centos7 version 99999999999999999999 not found")
	want(t, "another name sorting before it", e.admin("POST", "/v2/imagetypes", `{"name":"centos7.x"}`), 200, "")
	want(t, "listed by name", e.admin("GET", "/v2/imagetypes", ""), 200, "["+v("again", "2")+`,{"name":"centos7.x","version":1,"providermap":{}}]`)
	want(t, "delete all", e.admin("DELETE", "/v2/imagetypes/centos7", ""), 200, "")
	want(t, "none left", e.admin("GET", "/v2/imagetypes/centos7/1", ""), 404, "image type centos7 not found")
	want(t, "non-admin delete of a version", req(t, "DELETE", e.srv.URL+"/v2/imagetypes/centos7/1", e.as("alice", e.aliceKey), ""), 403, "user unauthorized, must be admin")
}

func TestResolveMock(t *testing.T) {
	e := newEnv(t, "")
	want(t, "POST", e.admin("POST", "/v2/imagetypes", `{"name":"fedora","providermap":{"mock":{"image":"img1"}}}`), 200, "")
	want(t, "POST hw", e.admin("POST", "/v2/hardwaretypes", `{"name":"small","providermap":{"mock":{"flavor":"m1-small"}}}`), 200, "")
	alice := e.as("alice", e.aliceKey)
	r := req(t, "GET", e.srv.URL+"/v2/imagetypes/fedora/resolve?provider=mock", alice, "")
	want(t, "resolve", r, 200, `{"name":"fedora","provider":"mock","driver":"mock","mapping":{"image":"img1"},"image":{"id":"img1","name":"img1","description":"Fedora 10","architecture":"x86_64","state":"available","owner_id":"fedoraproject","creation_time":"2012-10-25T12:27:53Z"}}`)
	if ct := r.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type %q", ct)
	}
	want(t, "resolve hw", req(t, "GET", e.srv.URL+"/v2/hardwaretypes/small/resolve?provider=mock", alice, ""), 200,
		`{"name":"small","provider":"mock","driver":"mock","mapping":{"flavor":"m1-small"},"hardware_profile":{"id":"m1-small","name":"m1-small"}}`)
	want(t, "resolve all", req(t, "GET", e.srv.URL+"/v2/imagetypes/fedora/resolve?provider=*", alice, ""), 200,
		`{"name":"fedora","providers":{"mock":{"provider":"mock","driver":"mock","mapping":{"image":"img1"},"image":{"id":"img1","name":"img1","description":"Fedora 10","architecture":"x86_64","state":"available","owner_id":"fedoraproject","creation_time":"2012-10-25T12:27:53Z"}}}}`)
	want(t, "no provider", req(t, "GET", e.srv.URL+"/v2/imagetypes/fedora/resolve", alice, ""), 400, "provider query parameter is required")
	want(t, "unknown provider", req(t, "GET", e.srv.URL+"/v2/imagetypes/fedora/resolve?provider=nosuch", alice, ""), 400, "unknown provider nosuch")
	want(t, "unknown type", req(t, "GET", e.srv.URL+"/v2/imagetypes/ghost/resolve?provider=mock", alice, ""), 404, "image type ghost not found")

	// deleted through the native front: the catalog knows at once
	d := apitest.Call(t, "DELETE", e.srv.URL+"/api/images/img1", "mockuser", "mockpassword", nil)
	if d.Status != 204 && d.Status != 200 {
		t.Fatalf("native delete: %d %s", d.Status, d.Body)
	}
	want(t, "resolve deleted", req(t, "GET", e.srv.URL+"/v2/imagetypes/fedora/resolve?provider=mock", alice, ""), 404, "image img1 not found in provider mock")
	r = req(t, "GET", e.srv.URL+"/v2/imagetypes/fedora/resolve?provider=*", alice, "")
	var all struct {
		Providers map[string]struct {
			Error *struct {
				Status  int
				Message string
			}
		}
	}
	if err := json.Unmarshal(r.Body, &all); err != nil || r.Status != 200 || all.Providers["mock"].Error == nil || all.Providers["mock"].Error.Status != 404 {
		t.Fatalf("resolve all after delete: %d %s", r.Status, r.Body)
	}
}
