package metrics

import (
	"context"
	"time"

	"github.com/imagegw/imagegw/drivers"
	"github.com/imagegw/imagegw/model"
)

//go:generate go run ./internal/gendriver -o driver_gen.go

// WrapDriver returns d with every call it makes to its cloud counted and
// timed as imagegw_cloud_calls_total and imagegw_cloud_call_duration_seconds,
// labelled with driver, provider, the operation (list_images,
// create_image, ...) and the call's model error code ("OK" on success).
//
// The wrapper has exactly the optional capabilities d has (ImageUpdater,
// RealmLister, ...), so that the gateway's type assertions, and so the
// capabilities fronts advertise, are unchanged; driver_gen.go holds one
// combination per set of capabilities. (It always has FeatureReporter,
// answering the zero Features for a driver without: the same as none.)
// A nil *Metrics returns d itself.
func (m *Metrics) WrapDriver(driver, provider string, d drivers.Driver) drivers.Driver {
	if m == nil || d == nil {
		return d
	}
	return wrap(&base{m: m, driver: driver, provider: provider, d: d})
}

// base instruments the required Driver methods; the capability types
// below add one optional interface each.
type base struct {
	m                *Metrics
	driver, provider string
	d                drivers.Driver
}

// Unwrap returns the driver being measured.
func (b *base) Unwrap() drivers.Driver { return b.d }

func (b *base) done(op string, start time.Time, err error) {
	code := model.CodeOf(err)
	if code == model.Unknown {
		code = model.Internal // as the gateway classifies it
	}
	b.m.ObserveCloudCall(b.driver, b.provider, op, code.String(), time.Since(start))
}

func (b *base) ListImages(ctx context.Context, q model.ImageQuery) ([]model.Image, error) {
	t := time.Now()
	out, err := b.d.ListImages(ctx, q)
	b.done("list_images", t, err)
	return out, err
}

func (b *base) GetImage(ctx context.Context, id string) (model.Image, error) {
	t := time.Now()
	out, err := b.d.GetImage(ctx, id)
	b.done("get_image", t, err)
	return out, err
}

func (b *base) CreateImage(ctx context.Context, req model.CreateImage) (model.Image, error) {
	t := time.Now()
	out, err := b.d.CreateImage(ctx, req)
	b.done("create_image", t, err)
	return out, err
}

func (b *base) DeleteImage(ctx context.Context, id string) error {
	t := time.Now()
	err := b.d.DeleteImage(ctx, id)
	b.done("delete_image", t, err)
	return err
}

func (b *base) ListHardwareProfiles(ctx context.Context) ([]model.HardwareProfile, error) {
	t := time.Now()
	out, err := b.d.ListHardwareProfiles(ctx)
	b.done("list_hardware_profiles", t, err)
	return out, err
}

type pager struct{ b *base }

func (w pager) ListImagesPage(ctx context.Context, q model.ImageQuery, token string) ([]model.Image, string, error) {
	t := time.Now()
	out, next, err := w.b.d.(drivers.ImagePager).ListImagesPage(ctx, q, token)
	w.b.done("list_images_page", t, err)
	return out, next, err
}

type updater struct{ b *base }

func (w updater) UpdateImage(ctx context.Context, id string, u model.ImageUpdate) (model.Image, error) {
	t := time.Now()
	out, err := w.b.d.(drivers.ImageUpdater).UpdateImage(ctx, id, u)
	w.b.done("update_image", t, err)
	return out, err
}

type cloner struct{ b *base }

func (w cloner) CloneImage(ctx context.Context, req model.CloneImage) (model.Image, error) {
	t := time.Now()
	out, err := w.b.d.(drivers.ImageCloner).CloneImage(ctx, req)
	w.b.done("clone_image", t, err)
	return out, err
}

type copier struct{ b *base }

func (w copier) CopyImage(ctx context.Context, req model.CopyImage) (model.Image, error) {
	t := time.Now()
	out, err := w.b.d.(drivers.ImageCopier).CopyImage(ctx, req)
	w.b.done("copy_image", t, err)
	return out, err
}

type exporter struct{ b *base }

func (w exporter) ExportImage(ctx context.Context, id string, dest model.ExportRequest) (model.ExportResult, error) {
	t := time.Now()
	out, err := w.b.d.(drivers.ImageExporter).ExportImage(ctx, id, dest)
	w.b.done("export_image", t, err)
	return out, err
}

type realmLister struct{ b *base }

func (w realmLister) ListRealms(ctx context.Context) ([]model.Realm, error) {
	t := time.Now()
	out, err := w.b.d.(drivers.RealmLister).ListRealms(ctx)
	w.b.done("list_realms", t, err)
	return out, err
}

func (w realmLister) GetRealm(ctx context.Context, id string) (model.Realm, error) {
	t := time.Now()
	out, err := w.b.d.(drivers.RealmLister).GetRealm(ctx, id)
	w.b.done("get_realm", t, err)
	return out, err
}

type instanceLister struct{ b *base }

func (w instanceLister) ListInstances(ctx context.Context) ([]model.Instance, error) {
	t := time.Now()
	out, err := w.b.d.(drivers.InstanceLister).ListInstances(ctx)
	w.b.done("list_instances", t, err)
	return out, err
}

func (w instanceLister) GetInstance(ctx context.Context, id string) (model.Instance, error) {
	t := time.Now()
	out, err := w.b.d.(drivers.InstanceLister).GetInstance(ctx, id)
	w.b.done("get_instance", t, err)
	return out, err
}

type credentialChecker struct{ b *base }

func (w credentialChecker) CheckCredentials(ctx context.Context) error {
	t := time.Now()
	err := w.b.d.(drivers.CredentialChecker).CheckCredentials(ctx)
	w.b.done("check_credentials", t, err)
	return err
}

// Features passes the driver's features through, or the zero Features
// (nothing advertised) when it reports none: base always has the method,
// which changes nothing the gateway shows. It calls no cloud.
func (b *base) Features() model.Features {
	if f, ok := b.d.(drivers.FeatureReporter); ok {
		return f.Features()
	}
	return model.Features{}
}
