package server_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/imagegw/imagegw/accounts"
	"github.com/imagegw/imagegw/api"
	"github.com/imagegw/imagegw/api/apitest"
	"github.com/imagegw/imagegw/api/server"
	"github.com/imagegw/imagegw/gateway"
	"github.com/imagegw/imagegw/store"

	_ "github.com/imagegw/imagegw/api/cloudapi" // the front that would take /metrics for a login
)

func get(t *testing.T, method, url string) (int, http.Header, string) {
	t.Helper()
	req, _ := http.NewRequest(method, url, nil)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, res.Header, string(b)
}

// TestOpsRoutes: the server's own routes answer, and no front takes them
// (CloudAPI used to answer 401 InvalidCredentials for them as logins).
func TestOpsRoutes(t *testing.T) {
	s := apitest.NewServer(t, gateway.Config{})
	tests := []struct {
		method, path string
		status       int
		ctype        string
		want         []string
	}{
		{"GET", "/healthz", 200, "application/json", []string{`"status": "ok"`}},
		{"GET", "/readyz", 200, "application/json", []string{`"status": "ready"`, `"store": "ok"`, `"providers": "ok: mock"`}},
		{"GET", "/version", 200, "application/json", []string{`"version": "` + api.Version + `"`, `"revision": "`, `"go_version": "go`}},
		{"GET", "/metrics", 200, "text/plain", []string{"imagegw_build_info{", `version="` + api.Version + `"`, "go_goroutines", "# TYPE imagegw_http_request_duration_seconds histogram"}},
		{"HEAD", "/healthz", 200, "application/json", nil},
		{"POST", "/healthz", 405, "application/json", []string{`"code": "MethodNotAllowed"`}},
		{"DELETE", "/metrics", 405, "application/json", []string{"DELETE"}},
		{"GET", "/version;driver=mock", 200, "application/json", []string{api.Version}},
	}
	for _, tc := range tests {
		t.Run(tc.method+" "+tc.path, func(t *testing.T) {
			st, h, body := get(t, tc.method, s.URL+tc.path)
			if st != tc.status || !strings.HasPrefix(h.Get("Content-Type"), tc.ctype) {
				t.Fatalf("%d %s, want %d %s:\n%.400s", st, h.Get("Content-Type"), tc.status, tc.ctype, body)
			}
			for _, w := range tc.want {
				if !strings.Contains(body, w) {
					t.Errorf("body lacks %q:\n%.2000s", w, body)
				}
			}
			if st == 405 && h.Get("Allow") != "GET, HEAD" {
				t.Errorf("Allow %q", h.Get("Allow"))
			}
		})
	}
}

// TestRequestMetrics: requests are counted by front, route template,
// method and status; jobs by kind and state; cloud calls by driver,
// provider, operation and code.
func TestRequestMetrics(t *testing.T) {
	s := apitest.NewServer(t, gateway.Config{})
	get(t, "GET", s.URL+"/api/images/img1")                   // 401: no credentials
	get(t, "GET", s.URL+"/api;driver=mock/hardware_profiles") // 200
	get(t, "GET", s.URL+"/nobody/images")                     // CloudAPI, 401
	get(t, "GET", s.URL+"/api/nothing/here")                  // native 404
	get(t, "GET", s.URL+"/api/")                              // the entry point
	res := apitest.Call(t, "POST", s.URL+"/api/images", "mockuser", "mockpassword", map[string][]string{"instance_id": {"inst1"}})
	res.Want(t, "create", 201)
	_, _, body := get(t, "GET", s.URL+"/metrics")
	for _, w := range []string{
		`imagegw_http_requests_total{front="deltacloud",method="GET",route="/api/images/{id}",status="401"} 1`,
		`imagegw_http_requests_total{front="deltacloud",method="GET",route="/api/hardware_profiles",status="200"} 1`,
		`imagegw_http_requests_total{front="cloudapi",method="GET",route="/{login}/images",status="401"} 1`,
		`imagegw_http_requests_total{front="deltacloud",method="GET",route="unmatched",status="404"} 1`,
		`imagegw_http_requests_total{front="deltacloud",method="GET",route="/api/",status="200"} 1`,
		`imagegw_http_requests_total{front="deltacloud",method="POST",route="/api/images",status="201"} 1`,
		`imagegw_http_request_duration_seconds_count{front="deltacloud",method="POST",route="/api/images"} 1`,
		`imagegw_jobs{kind="create_image",state="running"} 1`,
		`imagegw_cloud_calls_total{code="OK",driver="mock",operation="create_image",provider="mock"} 1`,
		`imagegw_cloud_calls_total{code="OK",driver="mock",operation="list_hardware_profiles",provider="mock"} `,
		`imagegw_cloud_call_duration_seconds_count{driver="mock",operation="create_image",provider="mock"} 1`,
	} {
		if !strings.Contains(body, w) {
			t.Errorf("metrics lack %s", w)
		}
	}
}

// TestCatalogMetrics: the catalog's misses and hits are counted per
// provider, and the second list costs no cloud listing.
func TestCatalogMetrics(t *testing.T) {
	s := apitest.NewServer(t, gateway.Config{})
	for range 2 {
		apitest.Call(t, "GET", s.URL+"/api/images?format=json", "mockuser", "mockpassword", nil).Want(t, "list", 200)
	}
	_, _, body := get(t, "GET", s.URL+"/metrics")
	for _, w := range []string{
		`imagegw_catalog_events_total{event="miss",provider="mock"} 1`,
		`imagegw_catalog_events_total{event="hit",provider="mock"} 1`,
		`imagegw_cloud_calls_total{code="OK",driver="mock",operation="list_images_page",provider="mock"} 1`,
	} {
		if !strings.Contains(body, w) {
			t.Errorf("metrics lack %s", w)
		}
	}
}

// failingStore refuses writes once broken is set.
type failingStore struct {
	store.Store
	broken atomic.Bool
}

func (f *failingStore) Update(ctx context.Context, fn func(store.Tx) error) error {
	if f.broken.Load() {
		return errors.New("disk I/O error")
	}
	return f.Store.Update(ctx, fn)
}

// TestReadyzStore: /readyz is 503 while the store refuses writes.
func TestReadyzStore(t *testing.T) {
	dir := t.TempDir()
	st, err := store.Open(context.Background(), filepath.Join(dir, "imagegw.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	fs := &failingStore{Store: st}
	gw, err := gateway.New(context.Background(), gateway.Config{}, gateway.Options{Store: fs, DataDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer gw.Close()
	hs := httptest.NewServer(server.New(gw, server.Options{Logger: slog.New(slog.DiscardHandler)}))
	defer hs.Close()
	if st, _, body := get(t, "GET", hs.URL+"/readyz"); st != 200 {
		t.Fatalf("healthy store: %d %s", st, body)
	}
	fs.broken.Store(true)
	st2, _, body := get(t, "GET", hs.URL+"/readyz")
	var got struct {
		Status string
		Checks map[string]string
	}
	if err := json.Unmarshal([]byte(body), &got); err != nil {
		t.Fatal(err, body)
	}
	if st2 != 503 || got.Status != "not ready" || !strings.Contains(got.Checks["store"], "disk I/O error") || !strings.HasPrefix(got.Checks["providers"], "ok") {
		t.Errorf("broken store: %d %+v", st2, got)
	}
	if st, _, _ := get(t, "GET", hs.URL+"/healthz"); st != 200 {
		t.Errorf("healthz with a broken store: %d, want 200 (the process answers)", st)
	}
}

// TestReservedLogins: no CloudAPI account can be named after a server
// route, which it could never reach.
func TestReservedLogins(t *testing.T) {
	for _, seg := range server.ReservedSegments() {
		if err := accounts.ValidLogin(seg); err == nil || !strings.Contains(err.Error(), "reserved") {
			t.Errorf("login %q: %v, want reserved", seg, err)
		}
	}
}
