package triton_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/imagegw/imagegw/accounts"
	"github.com/imagegw/imagegw/drivers"
	"github.com/imagegw/imagegw/drivers/drivertest"
	"github.com/imagegw/imagegw/drivers/triton"
	"github.com/imagegw/imagegw/model"
)

// TestConformanceTwoHops runs drivertest through two CloudAPI hops: the
// driver under test talks to a gateway serving CloudAPI over its own
// triton provider, which talks to the cloud's CloudAPI over the mock. Ids
// pass through both (Triton UUIDs are native), so the suite's machine and
// unknown ids are the same as for one hop; it shows that imagegw's CloudAPI
// front renders what the triton driver reads, and back.
func TestConformanceTwoHops(t *testing.T) {
	s := newSetup(t)
	// The middle gateway: CloudAPI over a triton provider at the cloud.
	var line strings.Builder
	fmt.Fprintf(&line, "  - {name: tr-mock, driver: triton, url: %q, keys: %s}\n", s.cloud.urls["mock"], s.keys)
	mid := startCloud(t, line.String(), "tr-mock")
	carol := newKey(t, t.TempDir(), "rsa")
	ctx := context.Background()
	if _, err := mid.accts.Add(ctx, accounts.Account{Login: "carol", Email: "carol@example.com", Driver: "triton", Provider: "tr-mock",
		Credentials: map[string]model.Credentials{"triton": {User: "alice", Password: s.good}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := mid.accts.AddKey(ctx, "carol", "", carol.pub); err != nil {
		t.Fatal(err)
	}
	unknownKey := newKey(t, t.TempDir(), "ed25519")
	good, bad := secretName(t), secretName(t)
	p, err := triton.Open(ctx, model.ProviderConfig{Name: "outer", Driver: "triton", Settings: map[string]any{
		"url": mid.urls["tr-mock"],
		"keys": []any{
			map[string]any{"account": "carol", "name": good, "key_file": carol.file},
			map[string]any{"account": "carol", "name": bad, "key_file": unknownKey.file},
		}}}, drivers.Env{})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	h := &twoHops{prov: p, good: good, bad: bad}
	drivertest.RunConformanceTests(t, func(context.Context, *testing.T) (drivertest.Harness, error) { return h, nil },
		drivertest.Options{CreateTimeout: 30 * time.Second, PollInterval: 50 * time.Millisecond})

	// What survives both hops: the image UUID, name and description, and
	// the package's name and sizes.
	d, _ := h.Driver(ctx)
	img, err := d.GetImage(ctx, img1)
	if err != nil || img.Name != "img1" || img.Description != "Fedora 10" || img.State != model.ImageAvailable {
		t.Errorf("img1 through two hops = %+v, %v", img, err)
	}
	hps, err := d.ListHardwareProfiles(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var small model.HardwareProfile
	for _, hp := range hps {
		if hp.ID == "m1-small" {
			small = hp
		}
	}
	mem, _ := small.Property(model.PropMemory)
	disk, _ := small.Property(model.PropStorage)
	if mem.Value != "1740" || disk.Value != "160" || small.Native["swap"] != "0" {
		t.Errorf("m1-small through two hops = %+v", small)
	}
}

type twoHops struct {
	prov      drivers.Provider
	good, bad string
}

func (h *twoHops) Driver(ctx context.Context) (drivers.Driver, error) {
	return h.prov.Connect(ctx, model.Credentials{User: "carol", Password: h.good})
}
func (h *twoHops) BadCredentialsDriver(ctx context.Context) (drivers.Driver, error) {
	return h.prov.Connect(ctx, model.Credentials{User: "carol", Password: h.bad})
}
func (h *twoHops) ImageableInstance(context.Context) (string, error) { return inst1, nil }
func (h *twoHops) UnknownImageID() string                            { return unknown }
func (h *twoHops) UnknownInstanceID() string                         { return "00000000-0000-4000-8000-000000000002" }
func (h *twoHops) Close()                                            {}
