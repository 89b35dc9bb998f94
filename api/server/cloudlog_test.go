package server_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/imagegw/imagegw/api/apitest"
	"github.com/imagegw/imagegw/drivers"
	"github.com/imagegw/imagegw/gateway"
	"github.com/imagegw/imagegw/model"
)

// failing is a test-only driver whose cloud is down: listing images fails
// Unavailable, getting one times out, both with a raw cause.
type failing struct{}

func (failing) Connect(context.Context, model.Credentials) (drivers.Driver, error) {
	return failing{}, nil
}
func (failing) Close() error { return nil }
func (failing) ListImages(context.Context, model.ImageQuery) ([]model.Image, error) {
	return nil, model.Wrap(model.Unavailable, errors.New("dial tcp 10.0.0.1:443: connect: connection refused"), "cloud unreachable")
}
func (failing) GetImage(context.Context, string) (model.Image, error) {
	return model.Image{}, model.Wrap(model.DeadlineExceeded, context.DeadlineExceeded, "the cloud did not answer in time")
}
func (failing) CreateImage(context.Context, model.CreateImage) (model.Image, error) {
	return model.Image{}, model.Errorf(model.NotFound, "no")
}
func (failing) DeleteImage(context.Context, string) error { return model.Errorf(model.NotFound, "no") }
func (failing) ListHardwareProfiles(context.Context) ([]model.HardwareProfile, error) {
	return nil, nil
}

func init() {
	drivers.Register(drivers.Registration{ID: "failing", Name: "Failing", Anonymous: true, // no server-side credentials
		Open: func(context.Context, model.ProviderConfig, drivers.Env) (drivers.Provider, error) {
			return failing{}, nil
		}})
}

// syncBuffer is a bytes.Buffer safe for the server's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestCloudErrorsAreLogged: a 502 or 504 leaves a warn line with the
// request id, the failed cloud call and the cloud's raw cause, which the
// client's body does not show.
func TestCloudErrorsAreLogged(t *testing.T) {
	var logs syncBuffer
	log := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelWarn}))
	cfg, _ := gateway.ParseConfig(strings.NewReader("providers:\n  - {name: down, driver: failing}\n"))
	s := apitest.NewServerLogged(t, cfg, log)
	tests := []struct {
		path, operation, code, cause string
		status                       int
	}{
		{"/api;driver=failing/images", "ListImages", "Unavailable", "connection refused", 502},
		{"/api;driver=failing/images/img1", "GetImage", "DeadlineExceeded", "context deadline exceeded", 504},
	}
	for _, tc := range tests {
		res, err := http.Get(s.URL + tc.path)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != tc.status {
			t.Errorf("%s: status %d, want %d", tc.path, res.StatusCode, tc.status)
			continue
		}
		id := res.Header.Get("Request-Id")
		var line string
		for _, l := range strings.Split(logs.String(), "\n") {
			if strings.Contains(l, "request_id="+id) && strings.Contains(l, `msg="cloud error"`) {
				line = l
			}
		}
		for _, want := range []string{"level=WARN", "driver=failing", "provider=down", "operation=" + tc.operation, "code=" + tc.code, tc.cause} {
			if !strings.Contains(line, want) {
				t.Errorf("%s: log line %q lacks %q\nlogs:\n%s", tc.path, line, want, logs.String())
			}
		}
	}
}
