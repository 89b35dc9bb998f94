package triton_test

import (
	"context"
	"testing"
	"time"

	"github.com/imagegw/imagegw/drivers"
	"github.com/imagegw/imagegw/drivers/drivertest"
	"github.com/imagegw/imagegw/model"
)

type harness struct {
	s    *setup
	prov drivers.Provider
}

func (h *harness) Driver(ctx context.Context) (drivers.Driver, error) {
	return h.prov.Connect(ctx, model.Credentials{User: "alice", Password: h.s.good})
}

// BadCredentialsDriver names a key the provider has but the cloud does not
// know for alice: CloudAPI answers 401 InvalidCredentials.
func (h *harness) BadCredentialsDriver(ctx context.Context) (drivers.Driver, error) {
	return h.prov.Connect(ctx, model.Credentials{User: "alice", Password: h.s.bad})
}

func (h *harness) ImageableInstance(context.Context) (string, error) {
	return mockInstance("inst1"), nil
}

func (h *harness) UnknownImageID() string    { return "00000000-0000-4000-8000-000000000001" }
func (h *harness) UnknownInstanceID() string { return "00000000-0000-4000-8000-000000000002" }
func (h *harness) Close()                    {}

// TestConformance runs drivertest against a second imagegw serving CloudAPI
// over its mock cloud, with a fresh account and key for each subtest.
func TestConformance(t *testing.T) {
	drivertest.RunConformanceTests(t, func(_ context.Context, t *testing.T) (drivertest.Harness, error) {
		s := newSetup(t)
		return &harness{s: s, prov: s.open(t, "mock")}, nil
	}, drivertest.Options{CreateTimeout: 30 * time.Second, PollInterval: 50 * time.Millisecond})
}
