package gateway

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/imagegw/imagegw/drivers"
	"github.com/imagegw/imagegw/drivers/mock"
	"github.com/imagegw/imagegw/model"
	"github.com/imagegw/imagegw/store"
)

// The "delayed" test driver is the mock with a fixed latency added to
// every call (setting delay): a double that only adds delay.
func init() {
	drivers.Register(drivers.Registration{ID: "delayed", Name: "Delayed mock",
		Open: func(ctx context.Context, cfg model.ProviderConfig, env drivers.Env) (drivers.Provider, error) {
			var delay time.Duration
			rest := map[string]any{}
			for k, v := range cfg.Settings {
				if k == "delay" {
					d, err := time.ParseDuration(fmt.Sprint(v))
					if err != nil {
						return nil, err
					}
					delay = d
					continue
				}
				rest[k] = v
			}
			cfg.Settings = rest
			p, err := mock.Open(ctx, cfg, env)
			if err != nil {
				return nil, err
			}
			return delayProvider{p.(*mock.Provider), delay}, nil
		}})
}

type delayProvider struct {
	*mock.Provider
	delay time.Duration
}

func (p delayProvider) Connect(ctx context.Context, creds model.Credentials) (drivers.Driver, error) {
	d, err := p.Provider.Connect(ctx, creds)
	return delayDriver{d, p.delay}, err
}

type delayDriver struct {
	drivers.Driver
	delay time.Duration
}

func (d delayDriver) wait(ctx context.Context) error {
	select {
	case <-time.After(d.delay):
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (d delayDriver) ListImages(ctx context.Context, q model.ImageQuery) ([]model.Image, error) {
	if err := d.wait(ctx); err != nil {
		return nil, err
	}
	return d.Driver.ListImages(ctx, q)
}

func (d delayDriver) GetImage(ctx context.Context, id string) (model.Image, error) {
	if err := d.wait(ctx); err != nil {
		return model.Image{}, err
	}
	return d.Driver.GetImage(ctx, id)
}

// delayedGateway opens a gateway over delayed mock providers named p<ms>
// (one per delay), with the catalog off so that every call pays its delay,
// and the request_timeout of the providers timeouts names.
func delayedGateway(t testing.TB, timeouts map[string]string, delays ...time.Duration) *Gateway {
	t.Helper()
	var b strings.Builder
	b.WriteString("providers:\n")
	for _, d := range delays {
		name := fmt.Sprintf("p%d", d.Milliseconds())
		extra := ""
		if to, ok := timeouts[name]; ok {
			extra = ", request_timeout: " + to
		}
		fmt.Fprintf(&b, "  - {name: %s, driver: delayed, delay: %s, catalog_ttl: 0%s}\n", name, d, extra)
	}
	cfg, err := ParseConfig(strings.NewReader(b.String()))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	st, err := store.Open(context.Background(), filepath.Join(dir, "imagegw.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	gw, err := New(context.Background(), cfg, Options{Store: st, DataDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { gw.Close() })
	return gw
}

// putType stores a type mapping img1 in every provider, with no
// reference check (the delays would only slow the test).
func putType(t testing.TB, gw *Gateway, name string, provs ...string) {
	t.Helper()
	pm := map[string]model.Mapping{}
	for _, p := range provs {
		pm[p] = model.Mapping{Image: "img1"}
	}
	err := gw.store.Update(context.Background(), func(tx store.Tx) error {
		b := fmt.Appendf(nil, `{"name":%q,"version":1,"providermap":%s}`, name, mustJSON(pm))
		return tx.Put("types", typeKey("t", ImageTypes, name, 1), b)
	})
	if err != nil {
		t.Fatal(err)
	}
}

func mustJSON(v map[string]model.Mapping) string {
	var parts []string
	for _, k := range sortedKeys(v) {
		b, _ := v[k].MarshalJSON()
		parts = append(parts, fmt.Sprintf("%q:%s", k, b))
	}
	return "{" + strings.Join(parts, ",") + "}"
}

func TestResolveAllTakesTheSlowestNotTheSum(t *testing.T) {
	delays := []time.Duration{50 * time.Millisecond, 100 * time.Millisecond, 150 * time.Millisecond, 300 * time.Millisecond, 5 * time.Second}
	gw := delayedGateway(t, map[string]string{"p5000": "400ms"}, delays...)
	putType(t, gw, "fedora", "p50", "p100", "p150", "p300", "p5000", "nosuch")
	start := time.Now()
	_, rs, err := gw.ResolveTypeAll(context.Background(), "t", ImageTypes, "fedora")
	took := time.Since(start)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, r := range rs {
		if r.Err != nil {
			got[r.Provider] = model.CodeOf(r.Err).String() + ": " + model.MessageOf(r.Err)
		} else {
			got[r.Provider] = r.Image.ID
		}
	}
	want := map[string]string{"p50": "img1", "p100": "img1", "p150": "img1", "p300": "img1",
		"p5000": "DeadlineExceeded: provider p5000 unavailable: no answer within 400ms", "nosuch": "InvalidArgument: unknown provider nosuch"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("resolutions\n got %v\nwant %v", got, want)
	}
	// the slowest answering provider bounds it (400ms deadline), not the sum (5.6s)
	if took < 400*time.Millisecond || took > 400*time.Millisecond+700*time.Millisecond {
		t.Errorf("resolve took %v; want about 400ms", took)
	}
}

func TestNameVersionOrdersSemantically(t *testing.T) {
	cases := []struct {
		names  []string // oldest first by creation
		newest string
	}{
		{[]string{"app-1.0.12", "app-1.0.10", "app-1.0.9"}, "app-1.0.12"},
		{[]string{"app-1.10", "app-1.9"}, "app-1.10"},
		{[]string{"ubuntu-22.04-amd64", "ubuntu-20.04-amd64"}, "ubuntu-22.04-amd64"},
		{[]string{"v2.0.0", "v1.99.99"}, "v2.0.0"},
		{[]string{"app-2.0", "app-2.0.0"}, "app-2.0.0"},   // equal versions: the newer creation wins
		{[]string{"app-1.2", "app-latest"}, "app-latest"}, // not every name has a version: creation time
	}
	for _, c := range cases {
		t.Run(strings.Join(c.names, ","), func(t *testing.T) {
			var imgs []model.Image
			base := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
			for i, n := range c.names {
				imgs = append(imgs, model.Image{ID: fmt.Sprintf("i%d", i), Name: n, State: model.ImageAvailable, Created: base.Add(time.Duration(i) * time.Hour)})
			}
			r := &model.Rule{Match: map[string]string{"name": "*"}, Pick: model.PickNewest}
			got := pickFrom(r, imgs, time.Now())
			if got.Name != c.newest {
				t.Errorf("picked %s, want %s", got.Name, c.newest)
			}
		})
	}
	if v := NameVersion("CentOS-7.09.2009-x86_64"); v != "v7.9.2009" {
		t.Errorf("NameVersion = %q", v)
	}
}

func TestRuleSkipsUnavailableImages(t *testing.T) {
	now := time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC)
	img := func(id, name, state, arch, owner string) model.Image {
		return model.Image{ID: id, Name: name, State: state, Architecture: arch, OwnerID: owner}
	}
	dep := img("dep", "app-9.0", model.ImageAvailable, "x86_64", "me")
	dep.Native = map[string]string{"deprecation_time": "2025-01-01T00:00:00Z"}
	later := img("later", "app-8.0", model.ImageAvailable, "x86_64", "me")
	later.Native = map[string]string{"deprecation_time": "2026-01-01T00:00:00Z"} // deprecated only later
	imgs := []model.Image{
		img("a", "app-1.0", model.ImageAvailable, "x86_64", "me"),
		img("p", "app-12.0", model.ImagePending, "x86_64", "me"),
		img("f", "app-11.0", model.ImageFailed, "x86_64", "me"),
		img("arm", "app-10.0", model.ImageAvailable, "arm64", "me"),
		img("other", "app-10.1", model.ImageAvailable, "x86_64", "you"),
		img("x", "ap-13.0", model.ImageAvailable, "x86_64", "me"),
		dep, later,
	}
	r := &model.Rule{Match: map[string]string{"name": "app-*", "architecture": "x86_64", "owner_id": "me"}, Pick: model.PickNewest}
	if got := pickFrom(r, imgs, now); got.ID != "later" {
		t.Errorf("picked %s, want later", got.ID)
	}
	if got := pickFrom(r, imgs[:1], now); got.ID != "a" {
		t.Errorf("picked %s, want a", got.ID)
	}
	if got := pickFrom(r, imgs[1:3], now); got.ID != "" {
		t.Errorf("picked %s from pending and failed images", got.ID)
	}
	ub := []model.Image{
		img("u1", "ubuntu/images/hvm-ssd/ubuntu-jammy-22.04-amd64-server-20240301", model.ImageAvailable, "x86_64", "canonical"),
		img("u2", "ubuntu/images/hvm-ssd/ubuntu-focal-20.04-amd64-server-20240301", model.ImageAvailable, "x86_64", "canonical"),
	}
	if got := pickFrom(&model.Rule{Match: map[string]string{"name": "ubuntu/*jammy*"}, Pick: model.PickNewest}, ub, now); got.ID != "u1" {
		t.Errorf("a * across / picked %q, want u1", got.ID)
	}
}

// BenchmarkResolveAll resolves one type over four providers delayed 25,
// 50, 75 and 100 ms; it reports the answer time over the largest delay
// (1 is ideal) next to the sum of the delays (2.5 times the largest).
func BenchmarkResolveAll(b *testing.B) {
	delays := []time.Duration{25 * time.Millisecond, 50 * time.Millisecond, 75 * time.Millisecond, 100 * time.Millisecond}
	gw := delayedGateway(b, nil, delays...)
	putType(b, gw, "fedora", "p25", "p50", "p75", "p100")
	var sum time.Duration
	for _, d := range delays {
		sum += d
	}
	b.ResetTimer()
	start := time.Now()
	for b.Loop() {
		_, rs, err := gw.ResolveTypeAll(context.Background(), "t", ImageTypes, "fedora")
		if err != nil || len(rs) != 4 || rs[0].Err != nil {
			b.Fatal(err, rs)
		}
	}
	per := time.Since(start) / time.Duration(b.N)
	b.ReportMetric(float64(per)/float64(100*time.Millisecond), "x_largest")
	b.ReportMetric(float64(sum)/float64(100*time.Millisecond), "x_largest_if_serial")
}
