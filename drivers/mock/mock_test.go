package mock_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/imagegw/imagegw/drivers"
	"github.com/imagegw/imagegw/drivers/drivertest"
	"github.com/imagegw/imagegw/drivers/mock"
	"github.com/imagegw/imagegw/model"
	"github.com/imagegw/imagegw/store"
)

func openStore(t *testing.T, dir string) store.Store {
	t.Helper()
	st, err := store.Open(context.Background(), filepath.Join(dir, "imagegw.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

func openProvider(t *testing.T, st store.Store, settings map[string]any) drivers.Provider {
	t.Helper()
	p, err := mock.Open(context.Background(), model.ProviderConfig{Name: "mock", Driver: "mock", Settings: settings}, drivers.Env{Store: st})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

type harness struct {
	p drivers.Provider
}

func (h harness) Driver(ctx context.Context) (drivers.Driver, error) {
	return h.p.Connect(ctx, model.Credentials{User: mock.User, Password: mock.Password})
}
func (h harness) BadCredentialsDriver(ctx context.Context) (drivers.Driver, error) {
	return h.p.Connect(ctx, model.Credentials{User: mock.User, Password: "wrong"})
}
func (h harness) ImageableInstance(context.Context) (string, error) { return "inst1", nil }
func (h harness) UnknownImageID() string                            { return "img999999" }
func (h harness) UnknownInstanceID() string                         { return "inst999" }
func (h harness) Close()                                            {}

func TestConformance(t *testing.T) {
	drivertest.RunConformanceTests(t, func(ctx context.Context, t *testing.T) (drivertest.Harness, error) {
		st := openStore(t, t.TempDir())
		return harness{p: openProvider(t, st, map[string]any{"create_delay": "50ms", "page_size": 1})}, nil
	}, drivertest.Options{CreateTimeout: 10 * time.Second, PollInterval: 20 * time.Millisecond, MinPages: 3})
}

func connect(t *testing.T, p drivers.Provider) drivers.Driver {
	t.Helper()
	d, err := p.Connect(context.Background(), model.Credentials{User: mock.User, Password: mock.Password})
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// TestDataset checks the upstream mock dataset the spec lists.
func TestDataset(t *testing.T) {
	ctx := context.Background()
	d := connect(t, openProvider(t, openStore(t, t.TempDir()), nil))
	imgs, err := d.ListImages(ctx, model.ImageQuery{})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string][3]string{ // arch, owner, description
		"img1": {"x86_64", "fedoraproject", "Fedora 10"},
		"img2": {"i386", "fedoraproject", "Fedora 10"},
		"img3": {"i386", "mockuser", "JBoss"},
	}
	if len(imgs) != len(want) {
		t.Fatalf("got %d images, want %d", len(imgs), len(want))
	}
	for _, img := range imgs {
		w, ok := want[img.ID]
		if !ok || img.Architecture != w[0] || img.OwnerID != w[1] || img.Description != w[2] || img.State != model.ImageAvailable {
			t.Errorf("image %+v does not match the dataset %v", img, w)
		}
		if got := img.Created.Format(time.UnixDate); got != "Thu Oct 25 14:27:53 CEST 2012" {
			t.Errorf("%s created %q", img.ID, got)
		}
	}
	self, err := d.ListImages(ctx, model.ImageQuery{OwnerID: "self"})
	if err != nil || len(self) != 1 || self[0].ID != "img3" {
		t.Errorf("owner self = %v, %v; want img3 only", self, err)
	}
	hps, _ := d.ListHardwareProfiles(ctx)
	if len(hps) != 4 {
		t.Errorf("got %d profiles, want 4", len(hps))
	}
}

func TestCreateStates(t *testing.T) {
	tests := []struct {
		name      string
		settings  map[string]any
		instance  string
		wantCode  model.Code
		wantFinal string
	}{
		{"zero delay is available at once", map[string]any{"create_delay": "0s"}, "inst1", model.OK, model.ImageAvailable},
		{"inst3 refuses imaging", nil, "inst3", model.FailedPrecondition, ""},
		{"unknown instance", nil, "nope", model.NotFound, ""},
		{"fault injection fails the image", map[string]any{"create_delay": "0s", "fail_instances": []string{"inst2"}}, "inst2", model.OK, model.ImageFailed},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			d := connect(t, openProvider(t, openStore(t, t.TempDir()), tc.settings))
			img, err := d.CreateImage(ctx, model.CreateImage{InstanceID: tc.instance, Name: "n"})
			if got := model.CodeOf(err); got != tc.wantCode {
				t.Fatalf("code %v (%v), want %v", got, err, tc.wantCode)
			}
			if err != nil {
				return
			}
			if img.State != model.ImagePending || img.ID != "img4" || img.OwnerID != mock.User {
				t.Errorf("new image = %+v; want img4, PENDING, owned by mockuser", img)
			}
			got, err := d.GetImage(ctx, img.ID)
			if err != nil || got.State != tc.wantFinal {
				t.Errorf("then %+v, %v; want state %s", got, err, tc.wantFinal)
			}
		})
	}
}

// TestPersistence checks that creates and deletes survive reopening the
// store, and that image ids are never reused.
func TestPersistence(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	st, err := store.Open(ctx, filepath.Join(dir, "imagegw.db"))
	if err != nil {
		t.Fatal(err)
	}
	d := connect(t, openProvider(t, st, map[string]any{"create_delay": "0s"}))
	a, err := d.CreateImage(ctx, model.CreateImage{InstanceID: "inst1", Name: "a"})
	if err != nil {
		t.Fatal(err)
	}
	if err := d.DeleteImage(ctx, "img1"); err != nil {
		t.Fatal(err)
	}
	if err := d.DeleteImage(ctx, a.ID); err != nil {
		t.Fatal(err)
	}
	st.Close()

	d = connect(t, openProvider(t, openStore(t, dir), nil))
	if _, err := d.GetImage(ctx, "img1"); !model.IsNotFound(err) {
		t.Errorf("img1 after delete and restart: %v, want NotFound", err)
	}
	b, err := d.CreateImage(ctx, model.CreateImage{InstanceID: "inst1"})
	if err != nil {
		t.Fatal(err)
	}
	if b.ID != "img5" || b.Name != "img5" {
		t.Errorf("second image = %s named %s; want img5 (ids are never reused) named after its id", b.ID, b.Name)
	}
}

func TestSyntheticImages(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	for _, n := range []int{50, 20} { // grow, then shrink
		st, err := store.Open(ctx, filepath.Join(dir, "imagegw.db"))
		if err != nil {
			t.Fatal(err)
		}
		d := connect(t, openProvider(t, st, map[string]any{"synthetic_images": n}))
		imgs, err := d.ListImages(ctx, model.ImageQuery{})
		st.Close()
		if err != nil || len(imgs) != 3+n {
			t.Fatalf("synthetic_images %d: got %d images (%v), want %d", n, len(imgs), err, 3+n)
		}
	}
}

func TestRealmFaults(t *testing.T) {
	d := connect(t, openProvider(t, openStore(t, t.TempDir()), nil)).(drivers.RealmLister)
	for id, want := range map[string]model.Code{"500": model.Internal, "501": model.Unimplemented, "502": model.Unavailable, "504": model.DeadlineExceeded, "us": model.OK} {
		if _, err := d.GetRealm(context.Background(), id); model.CodeOf(err) != want {
			t.Errorf("realm %s: %v, want %v", id, err, want)
		}
	}
}

func TestSettingsAreStrict(t *testing.T) {
	_, err := mock.Open(context.Background(), model.ProviderConfig{Name: "m", Driver: "mock", Settings: map[string]any{"bogus": 1}}, drivers.Env{Store: openStore(t, t.TempDir())})
	if model.CodeOf(err) != model.InvalidArgument {
		t.Errorf("unknown key: %v, want InvalidArgument", err)
	}
}

// TestFindCreated: the image a create made is found by the create's token
// after a restart (the gateway reconciles creates at its start), and no
// longer once it is deleted.
func TestFindCreated(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	st, err := store.Open(ctx, filepath.Join(dir, "imagegw.db"))
	if err != nil {
		t.Fatal(err)
	}
	d := connect(t, openProvider(t, st, map[string]any{"create_delay": "0s"}))
	img, err := d.CreateImage(ctx, model.CreateImage{InstanceID: "inst1", Name: "a", Token: "job-1"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := d.CreateImage(ctx, model.CreateImage{InstanceID: "inst1", Name: "b"}); err != nil { // no token
		t.Fatal(err)
	}
	st.Close()

	d = connect(t, openProvider(t, openStore(t, dir), nil))
	f := d.(drivers.CreateFinder)
	got, err := f.FindCreated(ctx, "job-1")
	if err != nil || got.ID != img.ID || got.Name != "a" || got.State != model.ImageAvailable {
		t.Fatalf("FindCreated(job-1) after restart = %+v, %v; want %s, AVAILABLE", got, err, img.ID)
	}
	if _, err := f.FindCreated(ctx, ""); !model.IsNotFound(err) {
		t.Errorf("FindCreated(\"\") = %v, want NotFound (a create without token is not findable)", err)
	}
	if err := d.DeleteImage(ctx, img.ID); err != nil {
		t.Fatal(err)
	}
	if got, err := f.FindCreated(ctx, "job-1"); !model.IsNotFound(err) {
		t.Errorf("FindCreated(job-1) after delete = %+v, %v; want NotFound", got, err)
	}
}
