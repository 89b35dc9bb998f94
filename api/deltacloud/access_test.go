package deltacloud_test

import (
	"encoding/json"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/imagegw/imagegw/gateway"
)

// TestAnonymousRequests: without credentials the gateway acts with a
// provider's server-side credentials only where the provider says
// anonymous: true; elsewhere the answer is 401 with WWW-Authenticate, and
// only the entry point (what the driver can do) is shown.
func TestAnonymousRequests(t *testing.T) {
	s := newServer(t, `
providers:
  - {name: mock, driver: mock}
  - {name: locked, driver: mock, anonymous: false}
  - {name: open, driver: mock, anonymous: true}
`)
	for _, tc := range []struct {
		path   string
		auth   bool
		status int
	}{
		{"/api;provider=locked/images", false, http.StatusUnauthorized},
		{"/api;provider=locked/images/img1", false, http.StatusUnauthorized},
		{"/api;provider=locked/hardware_profiles", false, http.StatusUnauthorized},
		{"/api;provider=locked/images", true, http.StatusOK},
		{"/api;provider=locked", false, http.StatusOK},
		{"/api;provider=locked?force_auth=1", false, http.StatusUnauthorized},
		{"/api;provider=locked?force_auth=1", true, http.StatusOK},
		{"/api;provider=open/hardware_profiles", false, http.StatusOK},
		{"/api/hardware_profiles", false, http.StatusOK}, // the mock lends nothing: anonymous by default
	} {
		r := do(t, s, req{path: tc.path, auth: tc.auth})
		if r.status != tc.status {
			t.Errorf("GET %s (auth %v): %d, want %d; %.300s", tc.path, tc.auth, r.status, tc.status, r.body)
			continue
		}
		if tc.status == http.StatusUnauthorized {
			if got := r.header.Get("WWW-Authenticate"); !strings.HasPrefix(got, "Basic ") {
				t.Errorf("GET %s: WWW-Authenticate %q, want Basic", tc.path, got)
			}
			if !strings.Contains(r.body, "credentials required") {
				t.Errorf("GET %s: body %s, want it to say credentials are required", tc.path, r.body)
			}
		}
	}
	r := do(t, s, req{method: "POST", path: "/api;provider=locked/images", body: "instance_id=inst1",
		headers: map[string]string{"Content-Type": "application/x-www-form-urlencoded"}})
	if r.status != http.StatusUnauthorized {
		t.Errorf("anonymous create on locked: %d, want 401", r.status)
	}
}

// TestJobsAreTheCallers: /api/jobs needs credentials and shows a caller
// only the jobs its credentials started on the selected provider, a page
// at a time; another caller's job is 404 like a job that does not exist.
func TestJobsAreTheCallers(t *testing.T) {
	s := newServer(t, "mock_create_delay: 1h\nproviders:\n  - {name: mock, driver: mock}\n  - {name: other, driver: mock}\n")
	var ids []string
	for range 3 {
		r := do(t, s, req{method: "POST", path: "/api/images?instance_id=inst1", auth: true})
		if r.status != http.StatusCreated {
			t.Fatalf("create: %d %s", r.status, r.body)
		}
		ids = append(ids, r.header.Get("X-Job-Id"))
	}
	list := func(path string, hdr map[string]string, auth bool) (resp, []string) {
		t.Helper()
		r := do(t, s, req{path: path, headers: hdr, auth: auth})
		var l struct {
			Jobs []struct {
				Job struct{ ID string }
			}
		}
		if r.status == http.StatusOK {
			if err := json.Unmarshal([]byte(r.body), &l); err != nil {
				t.Fatalf("%s: %v %s", path, err, r.body)
			}
		}
		var out []string
		for _, j := range l.Jobs {
			out = append(out, j.Job.ID)
		}
		return r, out
	}
	if r, _ := list("/api/jobs?format=json", nil, false); r.status != http.StatusUnauthorized || r.header.Get("WWW-Authenticate") == "" {
		t.Errorf("anonymous /api/jobs: %d %v, want 401 with WWW-Authenticate", r.status, r.header)
	}
	if r := do(t, s, req{path: "/api/jobs/" + ids[0]}); r.status != http.StatusUnauthorized {
		t.Errorf("anonymous /api/jobs/<id>: %d, want 401", r.status)
	}
	_, all := list("/api/jobs?format=json", nil, true)
	if strings.Join(all, ",") != strings.Join(ids, ",") {
		t.Errorf("the owner's jobs: %v, want %v", all, ids)
	}
	r, page := list("/api/jobs?format=json&limit=2", nil, true)
	next := regexp.MustCompile(`<([^>]+)>; rel="next"`).FindStringSubmatch(r.header.Get("Link"))
	if len(page) != 2 || next == nil {
		t.Fatalf("first page of 2: %v, Link %q", page, r.header.Get("Link"))
	}
	_, rest := list(strings.TrimPrefix(next[1], s.URL), nil, true)
	if strings.Join(append(page, rest...), ",") != strings.Join(ids, ",") {
		t.Errorf("pages %v + %v, want %v", page, rest, ids)
	}
	if r, _ := list("/api/jobs?limit=0", nil, true); r.status != http.StatusBadRequest {
		t.Errorf("limit=0: %d, want 400", r.status)
	}
	others := []struct {
		name, path string
		hdr        map[string]string
	}{
		{"wrong password", "/api/jobs", map[string]string{"Authorization": "Basic bW9ja3VzZXI6bm9wZQ=="}},
		{"same credentials, another provider", "/api;provider=other/jobs", nil},
	}
	for _, o := range others {
		auth := o.hdr == nil
		if _, got := list(o.path+"?format=json", o.hdr, auth); len(got) != 0 {
			t.Errorf("%s lists %v, want none", o.name, got)
		}
		if r := do(t, s, req{path: o.path + "/" + ids[0], headers: o.hdr, auth: auth}); r.status != http.StatusNotFound {
			t.Errorf("%s gets the owner's job: %d, want 404", o.name, r.status)
		}
	}
	if r := do(t, s, req{path: "/api/jobs/" + ids[0], auth: true}); r.status != http.StatusOK {
		t.Errorf("the owner gets the job: %d %s", r.status, r.body)
	}
}

// TestPublicURL: with public_url set, every link and Location comes from
// it, whatever Host or (trusted) X-Forwarded-* headers say; without it,
// from the request.
func TestPublicURL(t *testing.T) {
	evil := map[string]string{"X-Forwarded-Proto": "http", "X-Forwarded-Host": "evil.example"}
	s := newServer(t, "public_url: https://images.example.com/gw/\ntrusted_proxies: [127.0.0.1]\n")
	for _, tc := range []req{
		{path: "/api", headers: evil},
		{path: "/api/images?format=json", headers: evil, auth: true},
		{path: "/api;driver=mock/hardware_profiles", headers: map[string]string{"Host": "evil.example"}},
	} {
		hr, _ := http.NewRequest("GET", s.URL+tc.path, nil)
		for k, v := range tc.headers {
			hr.Header.Set(k, v)
		}
		if h := tc.headers["Host"]; h != "" {
			hr.Host = h
		}
		if tc.auth {
			hr.SetBasicAuth("mockuser", "mockpassword")
		}
		res, err := http.DefaultClient.Do(hr)
		if err != nil {
			t.Fatal(err)
		}
		b := new(strings.Builder)
		_, _ = io.Copy(b, res.Body)
		res.Body.Close()
		if strings.Contains(b.String(), "evil.example") || !strings.Contains(b.String(), "https://images.example.com/gw/api") {
			t.Errorf("GET %s: links not from public_url:\n%.600s", tc.path, b)
		}
	}
	r := do(t, s, req{method: "POST", path: "/api/images?instance_id=inst1", auth: true, headers: evil})
	if loc := r.header.Get("Location"); !strings.HasPrefix(loc, "https://images.example.com/gw/api/images/") {
		t.Errorf("Location %q, want it under public_url", loc)
	}
	for _, bad := range []string{"ftp://x", "images.example.com", "https://x/?q=1", "https://u:p@x"} {
		cfg, err := gateway.ParseConfig(strings.NewReader("public_url: " + bad + "\n"))
		if err == nil {
			err = cfg.Validate()
		}
		if err == nil || !strings.Contains(err.Error(), "public_url") {
			t.Errorf("public_url %q: %v, want an error", bad, err)
		}
	}
}

// TestMatrixPathsDecodeIDs: an id in a path with matrix parameters is
// decoded like one without.
func TestMatrixPathsDecodeIDs(t *testing.T) {
	s := newServer(t, "")
	for _, path := range []string{"/api/images/img%31", "/api;driver=mock/images/img%31", "/api;driver=mock;provider=mock/images/img1", "/api;driver=mock/hardware_profiles/m1%2Dsmall"} {
		if r := do(t, s, req{path: path, auth: true}); r.status != http.StatusOK {
			t.Errorf("GET %s: %d, want 200; %.200s", path, r.status, r.body)
		}
	}
}

// TestBrowserRequestsMustBeSameOrigin: a browser carries the gateway's
// Basic credentials to any form another site makes it submit; unsafe
// methods from another site are 403 and change nothing, the gateway's own
// pages and non-browser clients work, and an HTML create answers 303 to
// the new image's page (a reload does not create twice).
func TestBrowserRequestsMustBeSameOrigin(t *testing.T) {
	s := newServer(t, "")
	form := map[string]string{"Content-Type": "application/x-www-form-urlencoded"}
	with := func(h map[string]string) map[string]string {
		out := map[string]string{"Content-Type": "application/x-www-form-urlencoded"}
		for k, v := range h {
			out[k] = v
		}
		return out
	}
	mk := func() string {
		t.Helper()
		r := do(t, s, req{method: "POST", path: "/api/images", body: "instance_id=inst1", headers: form, auth: true})
		if r.status != http.StatusCreated {
			t.Fatalf("create: %d %s", r.status, r.body)
		}
		loc := r.header.Get("Location")
		return loc[strings.LastIndex(loc, "/")+1:]
	}
	id := mk()
	for _, tc := range []struct {
		name   string
		method string
		path   string
		body   string
		hdr    map[string]string
		status int
	}{
		{"cross-site delete", "DELETE", "/api/images/" + id, "", map[string]string{"Origin": "http://evil.example", "Sec-Fetch-Site": "cross-site"}, 403},
		{"same-site form delete", "POST", "/api/images/" + id, "_method=delete", with(map[string]string{"Sec-Fetch-Site": "same-site"}), 403},
		{"foreign Origin create", "POST", "/api/images", "instance_id=inst1", with(map[string]string{"Origin": "http://evil.example"}), 403},
		{"null Origin create", "POST", "/api/images", "instance_id=inst1", with(map[string]string{"Origin": "null"}), 403},
		{"cross-site GET", "GET", "/api/images/" + id, "", map[string]string{"Sec-Fetch-Site": "cross-site"}, 200},
		{"own Origin create", "POST", "/api/images", "instance_id=inst1", with(map[string]string{"Origin": s.URL}), 201},
		{"user-typed (none) create", "POST", "/api/images", "instance_id=inst1", with(map[string]string{"Sec-Fetch-Site": "none"}), 201},
		{"non-browser create", "POST", "/api/images", "instance_id=inst1", form, 201},
		{"same-origin form delete", "POST", "/api/images/" + id, "_method=delete", with(map[string]string{"Sec-Fetch-Site": "same-origin", "Origin": s.URL}), 204},
	} {
		r := do(t, s, req{method: tc.method, path: tc.path, body: tc.body, headers: tc.hdr, auth: true})
		if r.status != tc.status {
			t.Errorf("%s: %d, want %d; %.300s", tc.name, r.status, tc.status, r.body)
		}
		if tc.status == 403 && !strings.Contains(r.body, "cross-site request refused") {
			t.Errorf("%s: body %s, want it to say why", tc.name, r.body)
		}
		if tc.name == "same-site form delete" {
			if g := do(t, s, req{path: "/api/images/" + id, auth: true}); g.status != 200 {
				t.Errorf("the image is gone after refused deletes: %d", g.status)
			}
		}
	}

	// the browser's own form: 303 to the new image's page
	r := do(t, s, req{method: "POST", path: "/api/images", body: "instance_id=inst1&name=browsed", auth: true,
		headers: with(map[string]string{"Accept": firefox, "Sec-Fetch-Site": "same-origin", "Origin": s.URL})})
	loc := r.header.Get("Location")
	if r.status != http.StatusSeeOther || !strings.HasPrefix(loc, s.URL+"/api/images/") {
		t.Fatalf("HTML create: %d Location %q, want 303 to the image", r.status, loc)
	}
	if g := do(t, s, req{path: strings.TrimPrefix(loc, s.URL), auth: true, headers: map[string]string{"Accept": firefox}}); g.status != 200 || !strings.Contains(g.body, "browsed") {
		t.Errorf("the image page: %d %.300s", g.status, g.body)
	}
}
