package deltacloud_test

import (
	"net/http"
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
