package metrics

import (
	"context"
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/imagegw/imagegw/drivers"
	"github.com/imagegw/imagegw/model"
)

// plain has only the required methods; full adds every capability.
type plain struct{}

func (plain) ListImages(context.Context, model.ImageQuery) ([]model.Image, error) {
	return []model.Image{{ID: "i1"}}, nil
}
func (plain) GetImage(_ context.Context, id string) (model.Image, error) {
	return model.Image{}, model.Errorf(model.NotFound, "image %s not found", id)
}
func (plain) CreateImage(context.Context, model.CreateImage) (model.Image, error) {
	return model.Image{}, context.DeadlineExceeded
}
func (plain) DeleteImage(context.Context, string) error { return errRaw }
func (plain) ListHardwareProfiles(context.Context) ([]model.HardwareProfile, error) {
	return nil, nil
}

type rawErr struct{}

func (rawErr) Error() string { return "raw SDK failure" }

var errRaw error = rawErr{}

type full struct{ plain }

func (full) ListImagesPage(context.Context, model.ImageQuery, string) ([]model.Image, string, error) {
	return []model.Image{{ID: "i1"}}, "", nil
}

func (full) UpdateImage(context.Context, string, model.ImageUpdate) (model.Image, error) {
	return model.Image{}, nil
}
func (full) CloneImage(context.Context, model.CloneImage) (model.Image, error) {
	return model.Image{}, nil
}
func (full) CopyImage(context.Context, model.CopyImage) (model.Image, error) {
	return model.Image{}, nil
}
func (full) ExportImage(context.Context, string, model.ExportRequest) (model.ExportResult, error) {
	return model.ExportResult{}, nil
}
func (full) ListRealms(context.Context) ([]model.Realm, error)       { return nil, nil }
func (full) GetRealm(context.Context, string) (model.Realm, error)   { return model.Realm{}, nil }
func (full) ListInstances(context.Context) ([]model.Instance, error) { return nil, nil }
func (full) GetInstance(context.Context, string) (model.Instance, error) {
	return model.Instance{}, nil
}
func (full) CheckCredentials(context.Context) error { return nil }
func (full) Features() model.Features               { return model.Features{OwnerFilter: true} }

// cloneOnly and realmsAndChecker are two of the mixed combinations.
type cloneOnly struct{ plain }

func (cloneOnly) CloneImage(context.Context, model.CloneImage) (model.Image, error) {
	return model.Image{}, nil
}

type realmsAndChecker struct{ plain }

func (realmsAndChecker) ListRealms(context.Context) ([]model.Realm, error) { return nil, nil }
func (realmsAndChecker) GetRealm(context.Context, string) (model.Realm, error) {
	return model.Realm{}, nil
}
func (realmsAndChecker) CheckCredentials(context.Context) error { return nil }

// capsOf lists the optional interfaces d has, as the gateway asserts them.
func capsOf(d drivers.Driver) []string {
	var out []string
	check := func(name string, ok bool) {
		if ok {
			out = append(out, name)
		}
	}
	_, ok := d.(drivers.ImagePager)
	check("ImagePager", ok)
	_, ok = d.(drivers.ImageUpdater)
	check("ImageUpdater", ok)
	_, ok = d.(drivers.ImageCloner)
	check("ImageCloner", ok)
	_, ok = d.(drivers.ImageCopier)
	check("ImageCopier", ok)
	_, ok = d.(drivers.ImageExporter)
	check("ImageExporter", ok)
	_, ok = d.(drivers.RealmLister)
	check("RealmLister", ok)
	_, ok = d.(drivers.InstanceLister)
	check("InstanceLister", ok)
	_, ok = d.(drivers.CredentialChecker)
	check("CredentialChecker", ok)
	return out
}

// TestWrapperKeepsCapabilities: the wrapped driver offers exactly what the
// driver does, and the same features.
func TestWrapperKeepsCapabilities(t *testing.T) {
	m := New(prometheus.NewRegistry(), Options{})
	for _, d := range []drivers.Driver{plain{}, full{}, cloneOnly{}, realmsAndChecker{}} {
		w := m.WrapDriver("x", "p", d)
		if got, want := capsOf(w), capsOf(d); !slices.Equal(got, want) {
			t.Errorf("%T: wrapped has %v, want %v", d, got, want)
		}
		var want model.Features
		if f, ok := d.(drivers.FeatureReporter); ok {
			want = f.Features()
		}
		if got := w.(drivers.FeatureReporter).Features(); got != want {
			t.Errorf("%T: features %+v, want %+v", d, got, want)
		}
	}
	if d := (*Metrics)(nil).WrapDriver("x", "p", plain{}); d != (plain{}) {
		t.Errorf("nil Metrics wrapped the driver: %T", d)
	}
}

// TestWrapperKnowsEveryCapability fails when package drivers grows an
// optional interface that driver_gen.go does not preserve: rerun
// `go generate ./metrics` after adding it to gendriver's list.
func TestWrapperKnowsEveryCapability(t *testing.T) {
	files, err := filepath.Glob("../drivers/*.go")
	if err != nil {
		t.Fatal(err)
	}
	var ifaces []string
	fset := token.NewFileSet()
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		af, err := parser.ParseFile(fset, f, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(af, func(n ast.Node) bool {
			ts, ok := n.(*ast.TypeSpec)
			if !ok {
				return true
			}
			if _, ok := ts.Type.(*ast.InterfaceType); ok && ts.Name.IsExported() {
				ifaces = append(ifaces, ts.Name.Name)
			}
			return false
		})
	}
	// Driver is wrapped by base; Provider and Shared are not a driver's
	// capabilities (Shared is what the gateway gives a provider); Wrapper
	// is base's own Unwrap; CreateFinder is found through Unwrap with
	// drivers.As (the gateway calls it only to reconcile lost creates).
	known := append(slices.Clone(capabilityNames), "Driver", "Provider", "FeatureReporter", "Shared", "Wrapper", "CreateFinder")
	for _, name := range ifaces {
		if !slices.Contains(known, name) {
			t.Errorf("drivers.%s is not preserved by WrapDriver: add it to metrics/internal/gendriver and run go generate ./metrics", name)
		}
	}
}

// TestCloudCallMetrics: each call is counted by operation and result
// code; errors without a code count as Internal, as the gateway sees them.
func TestCloudCallMetrics(t *testing.T) {
	reg := prometheus.NewRegistry()
	m := New(reg, Options{Build: Build{Version: "1.2.3", Revision: "abc", GoVersion: "go1"}})
	d := m.WrapDriver("mock", "p1", full{})
	ctx := context.Background()
	_, _ = d.ListImages(ctx, model.ImageQuery{})
	_, _ = d.ListImages(ctx, model.ImageQuery{})
	_, _ = d.GetImage(ctx, "nope")
	_, _ = d.CreateImage(ctx, model.CreateImage{})
	_ = d.DeleteImage(ctx, "x")
	_, _ = d.(drivers.ImageCloner).CloneImage(ctx, model.CloneImage{})
	_, _, _ = d.(drivers.ImagePager).ListImagesPage(ctx, model.ImageQuery{}, "")
	_ = d.(drivers.CredentialChecker).CheckCredentials(ctx)
	m.CatalogEvent("p1", CatalogHit)
	m.CatalogEvent("p1", CatalogStale)
	m.CatalogEvent("p1", CatalogHit)
	tests := []struct {
		c      prometheus.Collector
		labels []string
		want   float64
	}{
		{m.calls, []string{"mock", "p1", "list_images", "OK"}, 2},
		{m.calls, []string{"mock", "p1", "get_image", "NotFound"}, 1},
		{m.calls, []string{"mock", "p1", "create_image", "DeadlineExceeded"}, 1},
		{m.calls, []string{"mock", "p1", "delete_image", "Internal"}, 1},
		{m.calls, []string{"mock", "p1", "clone_image", "OK"}, 1},
		{m.calls, []string{"mock", "p1", "check_credentials", "OK"}, 1},
		{m.calls, []string{"mock", "p1", "list_images_page", "OK"}, 1},
		{m.catalog, []string{"p1", "hit"}, 2},
		{m.catalog, []string{"p1", "stale"}, 1},
	}
	for _, tc := range tests {
		got := testutil.ToFloat64(tc.c.(interface {
			WithLabelValues(...string) prometheus.Counter
		}).WithLabelValues(tc.labels...))
		if got != tc.want {
			t.Errorf("%v = %v, want %v", tc.labels, got, tc.want)
		}
	}
	if n := testutil.CollectAndCount(m.callDur); n != 7 {
		t.Errorf("%d duration series, want 7 (one per operation)", n)
	}
	if err := testutil.GatherAndCompare(reg, strings.NewReader(`
# HELP imagegw_build_info The running imagegw's version, revision and Go version; always 1.
# TYPE imagegw_build_info gauge
imagegw_build_info{goversion="go1",revision="abc",version="1.2.3"} 1
`), "imagegw_build_info"); err != nil {
		t.Error(err)
	}
}
