package deltacloud_test

import (
	"encoding/json"
	"net/http"
	"regexp"
	"strings"
	"testing"
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
