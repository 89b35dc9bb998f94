package cloudapi

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/imagegw/imagegw/api/cloudapi/apiversion"
	"github.com/imagegw/imagegw/api/cloudapi/httpsig"
	"github.com/imagegw/imagegw/model"
)

func TestErrorMapping(t *testing.T) {
	throttled := model.Errorf(model.ResourceExhausted, "slow down")
	throttled.RetryAfter = 3 * time.Second
	injected := model.Errorf(model.Unavailable, "bad gateway")
	injected.InjectedStatus = 502
	for _, tc := range []struct {
		err    error
		status int
		code   string
	}{
		{model.Errorf(model.NotFound, "x"), 404, "ResourceNotFound"},
		{model.Errorf(model.InvalidArgument, "x"), 409, "InvalidArgument"},
		{model.Errorf(model.FailedPrecondition, "x"), 409, "InvalidArgument"},
		{model.Errorf(model.AlreadyExists, "x"), 409, "InvalidArgument"},
		{model.Errorf(model.Unauthenticated, "x"), 500, "InternalError"},
		{model.Errorf(model.PermissionDenied, "x"), 403, "NotAuthorized"},
		{model.Errorf(model.Unimplemented, "x"), 501, "NotImplemented"},
		{throttled, 429, "RequestThrottled"},
		{model.Errorf(model.Unavailable, "x"), 503, "ServiceUnavailable"},
		{fmt.Errorf("wrapped: %w", model.Errorf(model.DeadlineExceeded, "x")), 503, "ServiceUnavailable"},
		{context.DeadlineExceeded, 503, "ServiceUnavailable"},
		{errors.New("raw"), 500, "InternalError"},
		{injected, 502, "ServiceUnavailable"},
		{&httpsig.Error{Code: httpsig.CodeInvalidHeader, Message: "x"}, 400, "InvalidHeader"},
		{&httpsig.Error{Code: httpsig.CodeInvalidCredentials, Message: "x"}, 401, "InvalidCredentials"},
		{&apiversion.Error{Message: "x"}, 400, "InvalidVersion"},
		{&http.MaxBytesError{Limit: MaxBody}, 413, "RequestTooLarge"},
	} {
		got := toAPIError(tc.err)
		if got.Status != tc.status || got.Code != tc.code {
			t.Errorf("%v: %d %s, want %d %s", tc.err, got.Status, got.Code, tc.status, tc.code)
		}
	}
	if got := toAPIError(errors.New("secret dsn=postgres://u:p@h")); got.Message != "internal error" {
		t.Errorf("a raw error leaked: %q", got.Message)
	}
	if got := toAPIError(throttled); got.RetryAfter != 3*time.Second {
		t.Errorf("RetryAfter %v", got.RetryAfter)
	}
}

func TestWildcard(t *testing.T) {
	for _, tc := range []struct {
		pattern, s string
		want       bool
	}{
		{"m1-*", "m1-large", true}, {"m1-*", "m1-", true}, {"m1-*", "m2-large", false},
		{"*large", "m1-xlarge", true}, {"*", "", true}, {"m1-small", "m1-small", true},
		{"m1-small", "m1-smallx", false}, {"m*-*e", "m1-large", true}, {"m*-*e", "m1-larg", false},
		{"a*a", "a", false}, {"a*a", "aa", true}, {"[ab]*", "[ab]x", true}, {"?", "x", false},
	} {
		if got := model.MatchPattern(tc.pattern, tc.s); got != tc.want {
			t.Errorf("MatchPattern(%q, %q) = %v", tc.pattern, tc.s, got)
		}
	}
}

func TestCloudState(t *testing.T) {
	for in, want := range map[string]string{
		"AVAILABLE": "active", "available": "active", "PENDING": "creating", "QUEUED": "creating", "SAVING": "creating",
		"FAILED": "failed", "DISABLED": "disabled", "DEPRECATED": "disabled", "UNAVAILABLE": "disabled",
		"DEREGISTERED": "unactivated", "": "unactivated",
	} {
		if got := cloudState(in); got != want {
			t.Errorf("cloudState(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestCheckMantaPath(t *testing.T) {
	for p, ok := range map[string]bool{
		"/alice/stor/x": true, "/alice/stor/dir/": true, "/alice/x": true,
		"/alice/": false, "/alice": false, "alice/stor/x": false, "/bob/stor/x": false, "/alicex/stor": false,
		"/alice/../bob/x": false, "/alice/./x": false, "/alice/stor/..": false, "/alice/a\\b": false,
	} {
		if err := checkMantaPath(p, "alice"); (err == nil) != ok {
			t.Errorf("checkMantaPath(%q) = %v", p, err)
		}
	}
}

func TestOwns(t *testing.T) {
	for p, want := range map[string]bool{
		"/--ping": true, "/alice/images": true, "/alice;driver=ec2/images": true, "/my": true,
		"/api": false, "/api/images": false, "/v1/images": false, "/v2/imagetypes": false, "/": false,
		"/metrics": false, "/healthz": false, "/readyz": false, "/version": false, "/version/images": false,
		"/metricsman/images": true,
	} {
		if Owns(p) != want {
			t.Errorf("Owns(%q) = %v", p, !want)
		}
	}
}
