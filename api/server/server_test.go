package server_test

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/imagegw/imagegw/api/apitest"
	"github.com/imagegw/imagegw/drivers"
	"github.com/imagegw/imagegw/gateway"
	"github.com/imagegw/imagegw/model"
)

// panicky is a test-only driver whose image listing panics: a fault no real
// cloud produces, for the recover middleware.
type panicky struct{}

func (panicky) Connect(context.Context, model.Credentials) (drivers.Driver, error) {
	return panicky{}, nil
}
func (panicky) Close() error { return nil }
func (panicky) ListImages(context.Context, model.ImageQuery) ([]model.Image, error) {
	panic("driver bug")
}
func (panicky) GetImage(context.Context, string) (model.Image, error) {
	return model.Image{}, model.Errorf(model.NotFound, "no")
}
func (panicky) CreateImage(context.Context, model.CreateImage) (model.Image, error) {
	return model.Image{}, model.Errorf(model.NotFound, "no")
}
func (panicky) DeleteImage(context.Context, string) error { return model.Errorf(model.NotFound, "no") }
func (panicky) ListHardwareProfiles(context.Context) ([]model.HardwareProfile, error) {
	return nil, nil
}

func init() {
	drivers.Register(drivers.Registration{ID: "panicky", Name: "Panicky", Anonymous: true, // no server-side credentials
		Open: func(context.Context, model.ProviderConfig, drivers.Env) (drivers.Provider, error) {
			return panicky{}, nil
		}})
}

func TestPanicBecomes500(t *testing.T) {
	cfg, _ := gateway.ParseConfig(strings.NewReader("providers:\n  - {name: p, driver: panicky}\n"))
	s := apitest.NewServer(t, cfg)
	res, err := http.Get(s.URL + "/api;driver=panicky/images")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	id := res.Header.Get("Request-Id")
	if res.StatusCode != 500 || id == "" || !strings.Contains(string(b), "<code>InternalError</code>") || !strings.Contains(string(b), id) {
		t.Errorf("panic answered %d, Request-Id %q:\n%s", res.StatusCode, id, b)
	}
	// The server still serves, and a driver without realms is 405 NotSupported.
	res, err = http.Get(s.URL + "/api;driver=panicky/realms")
	if err != nil {
		t.Fatal(err)
	}
	b, _ = io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 405 || !strings.Contains(string(b), "driver panicky does not support capability realms") || res.Header.Get("Allow") != "" || res.Header.Values("Allow") == nil {
		t.Errorf("missing capability: %d Allow %q\n%s", res.StatusCode, res.Header.Get("Allow"), b)
	}
	// The entry point does not link what the driver lacks (update is the
	// gateway's, for every driver).
	res, _ = http.Get(s.URL + "/api;driver=panicky")
	b, _ = io.ReadAll(res.Body)
	res.Body.Close()
	for _, lacks := range []string{`rel="realms"`, "owner_id", "clone_image", "copy_image", "export_image"} {
		if strings.Contains(string(b), lacks) {
			t.Errorf("entry point advertises %s, which panicky lacks:\n%s", lacks, b)
		}
	}
}

// sizeless is a test-only driver whose credentials may list images but not
// sizes, as an EC2 key without ec2:DescribeInstanceTypes.
type sizeless struct{ panicky }

func (sizeless) Connect(context.Context, model.Credentials) (drivers.Driver, error) {
	return sizeless{}, nil
}
func (sizeless) ListImages(context.Context, model.ImageQuery) ([]model.Image, error) {
	return []model.Image{{ID: "ami-1", Name: "one", State: model.ImageAvailable}}, nil
}
func (sizeless) ListHardwareProfiles(context.Context) ([]model.HardwareProfile, error) {
	return nil, model.Errorf(model.PermissionDenied, "UnauthorizedOperation: not allowed to describe instance types")
}

func init() {
	drivers.Register(drivers.Registration{ID: "sizeless", Name: "Sizeless", Anonymous: true, // no server-side credentials
		Open: func(context.Context, model.ProviderConfig, drivers.Env) (drivers.Provider, error) {
			return sizeless{}, nil
		}})
}

// TestImagesWithoutProfiles: images are listed even when their profiles
// cannot be, with an empty hardware_profiles element.
func TestImagesWithoutProfiles(t *testing.T) {
	cfg, _ := gateway.ParseConfig(strings.NewReader("providers:\n  - {name: s, driver: sizeless}\n"))
	s := apitest.NewServer(t, cfg)
	res, err := http.Get(s.URL + "/api;driver=sizeless/images")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 200 || !strings.Contains(string(b), `id="ami-1"`) || !strings.Contains(string(b), "<hardware_profiles/>") {
		t.Errorf("list: %d\n%s", res.StatusCode, b)
	}
	res, _ = http.Get(s.URL + "/api;driver=sizeless/hardware_profiles")
	res.Body.Close()
	if res.StatusCode != 403 {
		t.Errorf("profiles themselves: %d, want 403", res.StatusCode)
	}
}

// orphan is a test-only driver with one instance that has no source image,
// realm or profile, as a vSphere VM made from nothing.
type orphan struct{ panicky }

func (orphan) Connect(context.Context, model.Credentials) (drivers.Driver, error) {
	return orphan{}, nil
}
func (orphan) ListInstances(context.Context) ([]model.Instance, error) {
	return []model.Instance{{ID: "vm-1", Name: "bare", State: "STOPPED"}}, nil
}
func (orphan) GetInstance(context.Context, string) (model.Instance, error) {
	return model.Instance{ID: "vm-1", Name: "bare", State: "STOPPED"}, nil
}

func init() {
	drivers.Register(drivers.Registration{ID: "orphan", Name: "Orphan", Anonymous: true, // no server-side credentials
		Open: func(context.Context, model.ProviderConfig, drivers.Env) (drivers.Provider, error) {
			return orphan{}, nil
		}})
}

func TestInstanceWithoutReferences(t *testing.T) {
	cfg, _ := gateway.ParseConfig(strings.NewReader("providers:\n  - {name: o, driver: orphan}\n"))
	s := apitest.NewServer(t, cfg)
	for _, f := range []string{"xml", "json", "html"} {
		res, err := http.Get(s.URL + "/api;driver=orphan/instances/vm-1?format=" + f)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != 200 || strings.Contains(string(b), "/images/\"") || strings.Contains(string(b), "/images/<") ||
			strings.Contains(string(b), `"image"`) || strings.Contains(string(b), "<image") || strings.Contains(string(b), "realms/\"") {
			t.Errorf("%s: %d, links to nothing:\n%s", f, res.StatusCode, b)
		}
	}
}
