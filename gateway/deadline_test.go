package gateway_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/imagegw/imagegw/drivers"
	"github.com/imagegw/imagegw/gateway"
	"github.com/imagegw/imagegw/model"
)

// hanging is a test driver whose every call waits for its context, as a
// black-holed cloud does, and reports the context's error as drivers do.
// Calls the gateway makes outside any request (the catalog's fills, which
// have their own, longer bound) end when the test closes release.
type hanging struct{}

var release = make(chan struct{})

func (hanging) Connect(context.Context, model.Credentials) (drivers.Driver, error) {
	return hanging{}, nil
}
func (hanging) Close() error { return nil }
func wait(ctx context.Context) error {
	select {
	case <-ctx.Done():
		return model.Wrap(model.DeadlineExceeded, ctx.Err(), "the cloud did not answer in time")
	case <-release:
		return model.Errorf(model.Unavailable, "released")
	}
}
func (hanging) ListImages(ctx context.Context, _ model.ImageQuery) ([]model.Image, error) {
	return nil, wait(ctx)
}
func (hanging) GetImage(ctx context.Context, _ string) (model.Image, error) {
	return model.Image{}, wait(ctx)
}
func (hanging) CreateImage(ctx context.Context, _ model.CreateImage) (model.Image, error) {
	return model.Image{}, wait(ctx)
}
func (hanging) DeleteImage(ctx context.Context, _ string) error { return wait(ctx) }
func (hanging) ListHardwareProfiles(ctx context.Context) ([]model.HardwareProfile, error) {
	return nil, wait(ctx)
}

func init() {
	drivers.Register(drivers.Registration{ID: "hanging", Name: "Hanging", Anonymous: true, // no server-side credentials
		Open: func(context.Context, model.ProviderConfig, drivers.Env) (drivers.Provider, error) {
			return hanging{}, nil
		}})
}

// stuck is hanging whose GetImage waits for its context only.
type stuck struct{ hanging }

func (stuck) Connect(context.Context, model.Credentials) (drivers.Driver, error) { return stuck{}, nil }
func (stuck) GetImage(ctx context.Context, _ string) (model.Image, error) {
	<-ctx.Done()
	return model.Image{}, model.Wrap(model.DeadlineExceeded, ctx.Err(), "the cloud did not answer in time")
}

func init() {
	drivers.Register(drivers.Registration{ID: "stuck", Name: "Stuck", Anonymous: true,
		Open: func(context.Context, model.ProviderConfig, drivers.Env) (drivers.Provider, error) {
			return stuck{}, nil
		}})
}

func TestParseRequestTimeout(t *testing.T) {
	tests := []struct {
		name, yaml string
		want       time.Duration
		wantErr    string
	}{
		{"absent", "providers:\n  - {name: h, driver: hanging}\n", 0, ""},
		{"set", "providers:\n  - {name: h, driver: hanging, request_timeout: 45s}\n", 45 * time.Second, ""},
		{"not a duration", "providers:\n  - {name: h, driver: hanging, request_timeout: soon}\n", 0, "request_timeout"},
		{"a bare number", "providers:\n  - {name: h, driver: hanging, request_timeout: 30}\n", 0, "request_timeout"},
		{"negative", "providers:\n  - {name: h, driver: hanging, request_timeout: -1s}\n", 0, "request_timeout"},
	}
	for _, tc := range tests {
		cfg, err := gateway.ParseConfig(strings.NewReader(tc.yaml))
		if (err == nil) != (tc.wantErr == "") || (err != nil && !strings.Contains(err.Error(), tc.wantErr)) {
			t.Errorf("%s: err %v, want %q", tc.name, err, tc.wantErr)
			continue
		}
		if err != nil {
			continue
		}
		p := cfg.Providers[0]
		if p.RequestTimeout != tc.want {
			t.Errorf("%s: RequestTimeout %v, want %v", tc.name, p.RequestTimeout, tc.want)
		}
		if _, ok := p.Settings["request_timeout"]; ok {
			t.Errorf("%s: request_timeout reached the driver's settings", tc.name)
		}
	}
	// A driver's strict decoder never sees the key: the ec2-like mock opens.
	gw, st := open(t, parse(t, "providers:\n  - {name: m2, driver: mock, request_timeout: 5s}\n"), t.TempDir())
	gw.Close()
	st.Close()
}

// TestRequestTimeout: every session call into a cloud that never answers
// ends with DeadlineExceeded by the provider's request_timeout (+1 s).
func TestRequestTimeout(t *testing.T) {
	const timeout = 300 * time.Millisecond
	gw, st := open(t, parse(t, "providers:\n  - {name: h, driver: hanging, request_timeout: 300ms}\n"), t.TempDir())
	defer st.Close()
	defer gw.Close()
	defer close(release)
	ctx := context.Background()
	sess, err := gw.Open(ctx, gateway.Target{Driver: "hanging", Provider: "h"}, model.Credentials{})
	if err != nil {
		t.Fatal(err)
	}
	calls := []struct {
		name string
		call func() error
	}{
		{"ListImages", func() error { _, err := sess.ListImages(ctx, model.ImageQuery{}); return err }},
		{"GetImage", func() error { _, err := sess.GetImage(ctx, "i"); return err }},
		{"CreateImage", func() error {
			_, _, err := sess.CreateImage(ctx, model.CreateImage{InstanceID: "x"}, gateway.JobMeta{})
			return err
		}},
		{"DeleteImage", func() error { return sess.DeleteImage(ctx, "i") }},
		{"ListHardwareProfiles", func() error { _, err := sess.ListHardwareProfiles(ctx, ""); return err }},
		{"CheckCredentials", func() error { return sess.CheckCredentials(ctx) }},
	}
	for _, c := range calls {
		start := time.Now()
		err := c.call()
		took := time.Since(start)
		if model.CodeOf(err) != model.DeadlineExceeded {
			t.Errorf("%s: %v, want DeadlineExceeded", c.name, err)
		}
		if took > timeout+time.Second {
			t.Errorf("%s took %v, past request_timeout %v + 1s", c.name, took, timeout)
		}
	}
}

// TestRequestTimeoutIsPerRequest: the Session calls of one request (a
// context with a CallTrace, as every front's request has) into one
// provider share its request_timeout, counted from the first call: a
// request cannot stretch its cloud work to a timeout per call.
func TestRequestTimeoutIsPerRequest(t *testing.T) {
	const timeout = time.Second
	gw, st := open(t, parse(t, "providers:\n  - {name: h, driver: stuck, request_timeout: 1s}\n"), t.TempDir())
	defer st.Close()
	defer gw.Close()
	ctx, end := gateway.WithCallTrace(context.Background())
	defer end()
	sess, err := gw.Open(ctx, gateway.Target{Driver: "stuck", Provider: "h"}, model.Credentials{})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	_, err1 := sess.GetImage(ctx, "a")
	_, err2 := sess.GetImage(ctx, "b")
	took := time.Since(start)
	if model.CodeOf(err1) != model.DeadlineExceeded || model.CodeOf(err2) != model.DeadlineExceeded {
		t.Fatalf("errors %v, %v; want DeadlineExceeded twice", err1, err2)
	}
	if took > timeout*17/10 {
		t.Errorf("two calls of one request took %v: each had its own request_timeout (%v), not one for the request", took, timeout)
	}
	if c, ok := gateway.LastCall(ctx); !ok || c.Operation != "GetImage" || c.Provider != "h" {
		t.Errorf("LastCall = %+v, %v", c, ok)
	}
}
