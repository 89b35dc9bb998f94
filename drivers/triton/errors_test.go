package triton_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/imagegw/imagegw/drivers"
	"github.com/imagegw/imagegw/drivers/triton"
	"github.com/imagegw/imagegw/model"
)

// TestErrorMapping checks the one mapping from CloudAPI's error answers to
// model codes, as every front then shows them: a server answers each
// request with the case's status, envelope and headers.
func TestErrorMapping(t *testing.T) {
	clearTritonEnv(t)
	k := newKey(t, t.TempDir(), "ed25519")
	for _, tc := range []struct {
		name       string
		status     int
		body       string
		header     map[string]string
		want       model.Code
		retryAfter time.Duration
		inMessage  string
	}{
		{"ResourceNotFound", 404, `{"code":"ResourceNotFound","message":"image x not found"}`, nil, model.NotFound, 0, "ResourceNotFound: image x not found"},
		{"InvalidCredentials", 401, `{"code":"InvalidCredentials","message":"bad signature"}`, nil, model.Unauthenticated, 0, "InvalidCredentials"},
		{"NotAuthorized", 403, `{"code":"NotAuthorized","message":"not yours"}`, nil, model.PermissionDenied, 0, "not yours"},
		{"RequestThrottled with Retry-After", 429, `{"code":"RequestThrottled","message":"slow down"}`, map[string]string{"Retry-After": "7"}, model.ResourceExhausted, 7 * time.Second, "RequestThrottled"},
		{"RequestThrottled without Retry-After", 429, `{"code":"RequestThrottled","message":"slow down"}`, nil, model.ResourceExhausted, 2 * time.Second, "slow down"},
		{"InvalidArgument", 409, `{"code":"InvalidArgument","message":"state x is not valid"}`, nil, model.InvalidArgument, 0, "state x"},
		{"MissingParameter", 409, `{"code":"MissingParameter","message":"name is a required argument"}`, nil, model.InvalidArgument, 0, "MissingParameter"},
		{"ImageUuidAlreadyExists", 409, `{"code":"ImageUuidAlreadyExists","message":"exists"}`, nil, model.AlreadyExists, 0, "exists"},
		{"NotImplemented", 501, `{"code":"NotImplemented","message":"no export"}`, nil, model.Unimplemented, 0, "no export"},
		{"ServiceUnavailable", 503, `{"code":"ServiceUnavailable","message":"down"}`, map[string]string{"Retry-After": "3"}, model.Unavailable, 3 * time.Second, "down"},
		{"InternalError", 500, `{"code":"InternalError","message":"oops"}`, nil, model.Unavailable, 2 * time.Second, "oops"},
		{"unknown code, 404", 404, `{"code":"SomethingNew","message":"gone"}`, nil, model.NotFound, 0, "SomethingNew"},
		{"unknown code, 400", 400, `{"code":"SomethingNew","message":"bad"}`, nil, model.InvalidArgument, 0, "bad"},
		{"not JSON, 502", 502, `<html>bad gateway</html>`, nil, model.Unavailable, 2 * time.Second, "HTTP 502"},
		{"not JSON, 429", 429, `too many`, map[string]string{"Retry-After": "5"}, model.ResourceExhausted, 5 * time.Second, "HTTP 429"},
		{"request id kept", 404, `{"code":"ResourceNotFound","message":"nope"}`, map[string]string{"Request-Id": "req-42"}, model.NotFound, 0, "request id req-42"},
		{"2xx but not JSON", 200, `not json`, nil, model.Unavailable, 0, "unexpected answer"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				for k, v := range tc.header {
					w.Header().Set(k, v)
				}
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(tc.status)
				_, _ = w.Write([]byte(tc.body))
			}))
			defer srv.Close()
			p, err := triton.Open(context.Background(), model.ProviderConfig{Name: "tr", Driver: "triton", Settings: map[string]any{
				"url": srv.URL, "account": "alice", "key_file": k.file}}, drivers.Env{})
			if err != nil {
				t.Fatal(err)
			}
			defer p.Close()
			d, _ := p.Connect(context.Background(), model.Credentials{})
			_, err = d.ListImages(context.Background(), model.ImageQuery{})
			if got := model.CodeOf(err); got != tc.want {
				t.Fatalf("code %v (%v), want %v", got, err, tc.want)
			}
			if got := model.RetryAfterOf(err); got != tc.retryAfter {
				t.Errorf("RetryAfter = %v, want %v", got, tc.retryAfter)
			}
			if !strings.Contains(model.MessageOf(err), tc.inMessage) || !strings.HasPrefix(model.MessageOf(err), "triton: listing images") {
				t.Errorf("message %q; want it to say what failed and %q", model.MessageOf(err), tc.inMessage)
			}
		})
	}
}

// TestUnreachable: a CloudAPI that does not answer is Unavailable, and a
// canceled context is Canceled, not a cloud error.
func TestUnreachable(t *testing.T) {
	clearTritonEnv(t)
	k := newKey(t, t.TempDir(), "ed25519")
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close()
	p, err := triton.Open(context.Background(), model.ProviderConfig{Name: "tr", Driver: "triton", Settings: map[string]any{
		"url": url, "account": "alice", "key_file": k.file}}, drivers.Env{})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	d, _ := p.Connect(context.Background(), model.Credentials{})
	if _, err := d.ListImages(context.Background(), model.ImageQuery{}); model.CodeOf(err) != model.Unavailable {
		t.Errorf("unreachable: %v (code %v), want Unavailable", err, model.CodeOf(err))
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := d.ListHardwareProfiles(ctx); model.CodeOf(err) != model.Canceled {
		t.Errorf("canceled: %v (code %v), want Canceled", err, model.CodeOf(err))
	}
}
