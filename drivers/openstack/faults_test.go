package openstack

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"testing"
	"time"

	th "github.com/gophercloud/gophercloud/v2/testhelper"

	"github.com/imagegw/imagegw/model"
)

// faultServer is gophercloud's testhelper server playing Keystone (a token
// whose catalog points back at it) and answering image and flavor requests
// with status and headers. The real stack cannot be made to throttle or
// fail, so only these faults use a fake.
func faultServer(t *testing.T, status int, header http.Header) *Driver {
	t.Helper()
	fs := th.SetupHTTP()
	t.Cleanup(fs.Teardown)
	base := fs.Server.URL
	fs.Mux.HandleFunc("/v3/auth/tokens", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("X-Subject-Token", "fault-token")
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusCreated)
		fmt.Fprintf(w, `{"token": {"expires_at": "2099-01-01T00:00:00.000000Z", "project": {"id": "p1", "name": "demo", "domain": {"id": "default", "name": "Default"}},
		 "catalog": [
		  {"type": "image", "name": "glance", "endpoints": [{"interface": "public", "region": "RegionOne", "region_id": "RegionOne", "url": "%[1]s/image"}]},
		  {"type": "compute", "name": "nova", "endpoints": [{"interface": "public", "region": "RegionOne", "region_id": "RegionOne", "url": "%[1]s/compute/v2.1"}]}]}}`, base)
	})
	// gophercloud discovers the services' versions before using them.
	fs.Mux.HandleFunc("/image/", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"versions": [{"id": "v2.16", "status": "CURRENT", "links": [{"rel": "self", "href": "%s/image/v2/"}]}]}`, base)
	})
	fs.Mux.HandleFunc("/compute/", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"versions": [{"id": "v2.1", "status": "CURRENT", "version": "2.93", "min_version": "2.1", "links": [{"rel": "self", "href": "%s/compute/v2.1/"}]}]}`, base)
	})
	fail := func(w http.ResponseWriter, _ *http.Request) {
		for k, vs := range header {
			w.Header()[k] = vs
		}
		w.WriteHeader(status)
		fmt.Fprintf(w, `{"message": "fault %d"}`, status)
	}
	fs.Mux.HandleFunc("/image/v2/images", fail)
	fs.Mux.HandleFunc("/image/v2/images/", fail)
	fs.Mux.HandleFunc("/compute/v2.1/flavors/detail", fail)
	p := openStack(t, map[string]any{"auth_url": base + "/v3", "region": "RegionOne", "timeout": "2s"})
	return connect(t, p, model.Credentials{User: "demo+demo", Password: "x"})
}

func TestFaults(t *testing.T) {
	tests := []struct {
		name      string
		status    int
		header    http.Header
		want      model.Code
		wantRetry time.Duration
	}{
		{"503 unavailable", http.StatusServiceUnavailable, nil, model.Unavailable, 0},
		{"503 with Retry-After", http.StatusServiceUnavailable, http.Header{"Retry-After": {"7"}}, model.Unavailable, 7 * time.Second},
		{"500", http.StatusInternalServerError, nil, model.Unavailable, 0},
		{"502", http.StatusBadGateway, nil, model.Unavailable, 0},
		{"504", http.StatusGatewayTimeout, nil, model.DeadlineExceeded, 0},
		{"429 throttled", http.StatusTooManyRequests, http.Header{"Retry-After": {"30"}}, model.ResourceExhausted, 30 * time.Second},
		{"413 over limit", http.StatusRequestEntityTooLarge, http.Header{"Retry-After": {"5"}}, model.ResourceExhausted, 5 * time.Second},
		{"403", http.StatusForbidden, nil, model.PermissionDenied, 0},
		{"409", http.StatusConflict, nil, model.FailedPrecondition, 0},
		{"400", http.StatusBadRequest, nil, model.InvalidArgument, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d := faultServer(t, tc.status, tc.header)
			ctx := context.Background()
			_, err := d.ListImages(ctx, model.ImageQuery{})
			if got := model.CodeOf(err); got != tc.want {
				t.Fatalf("ListImages: %v (code %v), want %v", err, got, tc.want)
			}
			if got := model.RetryAfterOf(err); got != tc.wantRetry {
				t.Errorf("RetryAfter = %v, want %v", got, tc.wantRetry)
			}
			var me *model.Error
			if !errors.As(err, &me) || me.Err == nil {
				t.Errorf("error %v does not keep the raw cause", err)
			}
			_, err = d.GetImage(ctx, "8b6c1e2e-0000-4000-8000-000000000000")
			if got := model.CodeOf(err); got != tc.want {
				t.Errorf("GetImage: %v (code %v), want %v", err, got, tc.want)
			}
			_, err = d.ListHardwareProfiles(ctx)
			if got := model.CodeOf(err); got != tc.want {
				t.Errorf("ListHardwareProfiles: %v (code %v), want %v", err, got, tc.want)
			}
		})
	}
}

func TestTimeoutIsDeadlineExceeded(t *testing.T) {
	fs := th.SetupHTTP()
	defer fs.Teardown()
	release := make(chan struct{})
	defer close(release)
	fs.Mux.HandleFunc("/v3/auth/tokens", func(http.ResponseWriter, *http.Request) { <-release })
	p := openStack(t, map[string]any{"auth_url": fs.Server.URL + "/v3", "timeout": "200ms"})
	d := connect(t, p, model.Credentials{User: "demo+demo", Password: "x"})
	_, err := d.ListImages(context.Background(), model.ImageQuery{})
	if got := model.CodeOf(err); got != model.DeadlineExceeded {
		t.Fatalf("ListImages against a silent Keystone: %v (code %v), want DeadlineExceeded", err, got)
	}
}
