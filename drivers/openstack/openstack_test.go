package openstack

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/imagegw/imagegw/drivers"
	"github.com/imagegw/imagegw/drivers/drivertest"
	"github.com/imagegw/imagegw/model"
)

func openStack(t testing.TB, settings map[string]any) *Provider {
	t.Helper()
	p, err := Open(context.Background(), model.ProviderConfig{Name: "regionone", Driver: DriverID, Settings: settings}, drivers.Env{})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { _ = p.Close() })
	return p.(*Provider)
}

func connect(t testing.TB, p *Provider, creds model.Credentials) *Driver {
	t.Helper()
	d, err := p.Connect(context.Background(), creds)
	if err != nil {
		t.Fatalf("Connect: %v", err)
	}
	return d.(*Driver)
}

type harness struct {
	t      *testing.T
	env    map[string]string
	p      *Provider
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

func (h *harness) Driver(ctx context.Context) (drivers.Driver, error) {
	return h.p.Connect(ctx, demoCreds(h.env))
}

func (h *harness) BadCredentialsDriver(ctx context.Context) (drivers.Driver, error) {
	return h.p.Connect(ctx, model.Credentials{User: "demo+demo", Password: "wrong-password"})
}

// ImageableInstance returns a fresh seeded server and starts the compute
// stand-in for it (see computeStandIn), so that the image drivertest makes
// becomes active as it would with a compute host.
func (h *harness) ImageableInstance(ctx context.Context) (string, error) {
	id := freshServer(ctx, h.t, connect(h.t, h.p, demoCreds(h.env)))
	h.wg.Add(1)
	go func() {
		defer h.wg.Done()
		if err := computeStandIn(h.ctx, h.env, id); err != nil && h.ctx.Err() == nil {
			h.t.Errorf("compute stand-in for %s: %v", id, err)
		}
	}()
	return id, nil
}

func (h *harness) UnknownImageID() string    { return uuid.NewString() }
func (h *harness) UnknownInstanceID() string { return uuid.NewString() }

func (h *harness) Close() {
	h.cancel()
	h.wg.Wait()
}

func TestConformance(t *testing.T) {
	env := needStack(t)
	settings := stackSettings(env)
	settings["page_size"] = 10 // the stack's 30 images span more than two pages
	p := openStack(t, settings)
	drivertest.RunConformanceTests(t, func(ctx context.Context, t *testing.T) (drivertest.Harness, error) {
		hctx, cancel := context.WithCancel(context.Background())
		return &harness{t: t, env: env, p: p, ctx: hctx, cancel: cancel}, nil
	}, drivertest.Options{CreateTimeout: time.Minute, MinPages: 3})
}

// TestCreateImageWithoutCompute pins down what nova-api really does here:
// createImage makes a queued Glance image named as asked, with the server's
// uuid and the description as properties, and leaves the server in
// task_state image_snapshot_pending, so a second createImage is a 409.
func TestCreateImageWithoutCompute(t *testing.T) {
	env := needStack(t)
	ctx := context.Background()
	d := connect(t, openStack(t, stackSettings(env)), demoCreds(env))
	server := freshServer(ctx, t, d)
	img, err := d.CreateImage(ctx, model.CreateImage{InstanceID: server, Name: "no-compute", Description: "queued forever"})
	if err != nil {
		t.Fatalf("CreateImage: %v", err)
	}
	t.Cleanup(func() { _ = d.DeleteImage(ctx, img.ID) })
	if img.State != model.ImagePending || img.Native["status"] != "queued" {
		t.Errorf("new image state %s (glance %s), want PENDING (queued)", img.State, img.Native["status"])
	}
	if img.Name != "no-compute" || img.Description != "queued forever" || img.OwnerID != env["IMAGEGW_OS_DEMO_PROJECT_ID"] {
		t.Errorf("image = name %q, description %q, owner %q", img.Name, img.Description, img.OwnerID)
	}
	if img.Tags["instance_uuid"] != server {
		t.Errorf("image property instance_uuid = %q, want %s", img.Tags["instance_uuid"], server)
	}
	in, err := d.GetInstance(ctx, server)
	if err != nil {
		t.Fatalf("GetInstance: %v", err)
	}
	if in.Native["task_state"] != "image_snapshot_pending" || in.CanCreateImage {
		t.Errorf("server after createImage: task_state %q, CanCreateImage %v", in.Native["task_state"], in.CanCreateImage)
	}
	_, err = d.CreateImage(ctx, model.CreateImage{InstanceID: server, Name: "again"})
	if model.CodeOf(err) != model.FailedPrecondition {
		t.Errorf("second createImage: %v (code %v), want FailedPrecondition", err, model.CodeOf(err))
	}
	time.Sleep(2 * time.Second)
	again, err := d.GetImage(ctx, img.ID)
	if err != nil || again.State != model.ImagePending {
		t.Errorf("image after 2s: %+v, %v; want still PENDING with no compute host", again.State, err)
	}
}

func TestListImagesPagesAndFilters(t *testing.T) {
	env := needStack(t)
	ctx := context.Background()
	d := connect(t, openStack(t, stackSettings(env)), demoCreds(env))
	all, err := d.ListImages(ctx, model.ImageQuery{})
	if err != nil {
		t.Fatalf("ListImages: %v", err)
	}
	if len(all) <= 25 { // Glance's default page is 25
		t.Fatalf("listed %d images, want more than one Glance page (the stack seeds 30)", len(all))
	}
	var base model.Image
	for _, img := range all {
		if img.Name == "debian-12-base" {
			base = img
		}
	}
	if base.ID == "" {
		t.Fatalf("seeded image debian-12-base not listed")
	}
	if base.Architecture != "x86_64" || base.OS != "linux" || base.State != model.ImageAvailable ||
		base.Visibility != model.VisibilityPublic || base.DiskFormat != "raw" || base.SizeBytes == 0 ||
		base.Native["checksum"] == "" || base.Native["min_disk"] != "1" || base.Tags["os_distro"] != "debian" {
		t.Errorf("debian-12-base mapped as %+v", base)
	}
	tests := []struct {
		name string
		q    model.ImageQuery
		want func(model.Image) bool
		min  int
	}{
		{"name", model.ImageQuery{Name: "seed-007"}, func(i model.Image) bool { return i.Name == "seed-007" }, 1},
		{"owner self", model.ImageQuery{OwnerID: "self"}, func(i model.Image) bool { return i.OwnerID == env["IMAGEGW_OS_DEMO_PROJECT_ID"] }, 28},
		{"available", model.ImageQuery{State: "available"}, func(i model.Image) bool { return i.State == model.ImageAvailable }, 30},
		{"one id", model.ImageQuery{IDs: []string{base.ID}}, func(i model.Image) bool { return i.ID == base.ID }, 1},
		{"arm", model.ImageQuery{Name: "cirros-arm"}, func(i model.Image) bool { return i.Architecture == "arm64" }, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := d.ListImages(ctx, tc.q)
			if err != nil {
				t.Fatalf("ListImages: %v", err)
			}
			if len(got) < tc.min {
				t.Errorf("got %d images, want at least %d", len(got), tc.min)
			}
			for _, img := range got {
				if !tc.want(img) {
					t.Errorf("image %s (%s) does not match %+v", img.ID, img.Name, tc.q)
				}
			}
		})
	}
}

func TestHardwareProfilesFromFlavors(t *testing.T) {
	env := needStack(t)
	d := connect(t, openStack(t, stackSettings(env)), demoCreds(env))
	hps, err := d.ListHardwareProfiles(context.Background())
	if err != nil {
		t.Fatalf("ListHardwareProfiles: %v", err)
	}
	byID := map[string]model.HardwareProfile{}
	for _, hp := range hps {
		byID[hp.ID] = hp
	}
	large, gpu := byID["4"], byID["gpu1"]
	if large.Name != "m1.large" {
		t.Fatalf("flavor 4 = %+v", large)
	}
	for _, c := range []struct{ prop, want string }{{model.PropCPU, "4"}, {model.PropMemory, "8192"}, {model.PropStorage, "80"}} {
		if p, _ := large.Property(c.prop); p.Value != c.want || p.Kind != model.Fixed {
			t.Errorf("m1.large %s = %+v, want fixed %s", c.prop, p, c.want)
		}
	}
	if large.Native["ephemeral_gb"] != "10" || large.Native["swap_mb"] != "1024" || large.Native["is_public"] != "true" {
		t.Errorf("m1.large native = %v", large.Native)
	}
	if gpu.Name != "g1.private" || gpu.Native["is_public"] != "false" || gpu.Native["extra_specs:resources:VGPU"] != "1" {
		t.Errorf("private flavor g1.private (shared with demo) = %+v", gpu)
	}
	if p, ok := gpu.Property(model.PropArchitecture); !ok || p.Value != "x86_64" {
		t.Errorf("g1.private architecture = %+v", p)
	}
}

func TestRealmsAndInstances(t *testing.T) {
	env := needStack(t)
	ctx := context.Background()
	d := connect(t, openStack(t, stackSettings(env)), demoCreds(env))
	realms, err := d.ListRealms(ctx)
	if err != nil || len(realms) != 1 || realms[0].ID != "nova" || realms[0].State != "AVAILABLE" {
		t.Errorf("ListRealms = %+v, %v; want the one zone nova, AVAILABLE", realms, err)
	}
	insts, err := d.ListInstances(ctx)
	if err != nil || len(insts) == 0 {
		t.Fatalf("ListInstances = %d, %v", len(insts), err)
	}
	in := insts[0]
	if in.ImageID == "" || in.ProfileID != "1" || in.RealmID != "nova" || in.OwnerID != env["IMAGEGW_OS_DEMO_PROJECT_ID"] ||
		(in.State != "RUNNING" && in.Native["task_state"] == "") {
		t.Errorf("seeded server mapped as %+v", in)
	}
}

func TestUpdateImage(t *testing.T) {
	env := needStack(t)
	ctx := context.Background()
	d := connect(t, openStack(t, stackSettings(env)), demoCreds(env))
	imgs, err := d.ListImages(ctx, model.ImageQuery{Name: "seed-003"})
	if err != nil || len(imgs) != 1 {
		t.Fatalf("ListImages(seed-003) = %d, %v", len(imgs), err)
	}
	id := imgs[0].ID
	name, desc := "seed-003-renamed", "renamed by the update test"
	got, err := d.UpdateImage(ctx, id, model.ImageUpdate{Name: &name, Description: &desc, Tags: map[string]string{"purpose": "test", "seed_index": ""}})
	if err != nil {
		t.Fatalf("UpdateImage: %v", err)
	}
	t.Cleanup(func() {
		back, empty := "seed-003", ""
		_, _ = d.UpdateImage(ctx, id, model.ImageUpdate{Name: &back, Description: &empty, Tags: map[string]string{"purpose": "", "seed_index": "3"}})
	})
	if got.Name != name || got.Description != desc || got.Tags["purpose"] != "test" {
		t.Errorf("updated image = %+v", got)
	}
	if _, ok := got.Tags["seed_index"]; ok {
		t.Errorf("property seed_index not removed: %v", got.Tags)
	}
	_, err = d.UpdateImage(ctx, id, model.ImageUpdate{Tags: map[string]string{"owner": "someone"}})
	if model.CodeOf(err) != model.InvalidArgument {
		t.Errorf("setting reserved property owner: %v, want InvalidArgument", err)
	}
}

// TestAuthentication covers every way a provider gets credentials.
func TestAuthentication(t *testing.T) {
	env := needStack(t)
	ctx := context.Background()
	base := stackSettings(env)
	with := func(kv ...string) map[string]any {
		m := map[string]any{}
		for k, v := range base {
			m[k] = v
		}
		for i := 0; i < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return m
	}
	tests := []struct {
		name     string
		settings map[string]any
		osEnv    map[string]string
		creds    model.Credentials
		want     model.Code
	}{
		{"basic user+project", base, nil, demoCreds(env), model.OK},
		{"basic user, project from config", with("project", "demo"), nil, model.Credentials{User: "demo", Password: env["IMAGEGW_OS_DEMO_PASSWORD"]}, model.OK},
		{"wrong password", base, nil, model.Credentials{User: "demo+demo", Password: "nope"}, model.Unauthenticated},
		{"unknown project", base, nil, model.Credentials{User: "demo+nosuch", Password: env["IMAGEGW_OS_DEMO_PASSWORD"]}, model.Unauthenticated},
		{"no credentials anywhere", base, nil, model.Credentials{}, model.Unauthenticated},
		{"server-side password", with("username", "demo", "password", env["IMAGEGW_OS_DEMO_PASSWORD"], "project", "demo"), nil, model.Credentials{}, model.OK},
		{"server-side application credential", with("application_credential_id", env["IMAGEGW_OS_APPCRED_ID"], "application_credential_secret", env["IMAGEGW_OS_APPCRED_SECRET"]), nil, model.Credentials{}, model.OK},
		{"bad application credential", with("application_credential_id", env["IMAGEGW_OS_APPCRED_ID"], "application_credential_secret", "wrong"), nil, model.Credentials{}, model.Unauthenticated},
		{"clouds.yaml", map[string]any{"cloud": "imagegw-demo"}, map[string]string{"OS_CLIENT_CONFIG_FILE": env["IMAGEGW_OS_CLOUDS_YAML"]}, model.Credentials{}, model.OK},
		{"OS_* variables", map[string]any{}, map[string]string{
			"OS_AUTH_URL": env["OS_AUTH_URL"], "OS_USERNAME": "demo", "OS_PASSWORD": env["IMAGEGW_OS_DEMO_PASSWORD"],
			"OS_PROJECT_NAME": "demo", "OS_USER_DOMAIN_NAME": "Default", "OS_DOMAIN_NAME": "Default", "OS_REGION_NAME": "RegionOne",
		}, model.Credentials{}, model.OK},
		{"OS_AUTH_URL only, Basic credentials", map[string]any{}, map[string]string{"OS_AUTH_URL": env["OS_AUTH_URL"]}, demoCreds(env), model.OK},
		{"internal interface", with("interface", "internal"), nil, demoCreds(env), model.OK},
		{"unknown region", with("region", "Atlantis"), nil, demoCreds(env), model.Unavailable},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for _, k := range []string{"OS_AUTH_URL", "OS_USERNAME", "OS_PASSWORD", "OS_PROJECT_NAME", "OS_CLOUD", "OS_REGION_NAME", "OS_INTERFACE"} {
				t.Setenv(k, "")
			}
			for k, v := range tc.osEnv {
				t.Setenv(k, v)
			}
			d := connect(t, openStack(t, tc.settings), tc.creds)
			_, err := d.ListImages(ctx, model.ImageQuery{Name: "debian-12-base"})
			if got := model.CodeOf(err); got != tc.want {
				t.Errorf("ListImages: %v (code %v), want %v", err, got, tc.want)
			}
		})
	}
}

// TestTokenReuseAndReauth checks that one provider authenticates once per
// credentials and gets a new token when a service rejects the old one.
func TestTokenReuseAndReauth(t *testing.T) {
	env := needStack(t)
	ctx := context.Background()
	p := openStack(t, stackSettings(env))
	d1, d2 := connect(t, p, demoCreds(env)), connect(t, p, demoCreds(env))
	if d1.sess != d2.sess {
		t.Fatalf("two connections with the same credentials got different sessions")
	}
	if _, err := d1.ListImages(ctx, model.ImageQuery{Name: "debian-12-base"}); err != nil {
		t.Fatalf("ListImages: %v", err)
	}
	c, err := d1.sess.get(ctx)
	if err != nil {
		t.Fatal(err)
	}
	old := c.provider.Token()
	// A token Keystone does not know, as an expired one would be: Glance's
	// keystonemiddleware rejects it with a 401 and gophercloud re-authenticates.
	// (A revoked token is no test: keystonemiddleware caches validations.)
	c.provider.SetToken("gAAAAABexpired")
	if _, err := d2.ListImages(ctx, model.ImageQuery{Name: "debian-12-base"}); err != nil {
		t.Fatalf("ListImages after the token was revoked: %v", err)
	}
	if c.provider.Token() == old {
		t.Errorf("token not renewed after a 401")
	}
}

func TestSettingsAreStrict(t *testing.T) {
	tests := []struct {
		name     string
		settings map[string]any
		want     string // part of the error; "" means valid
	}{
		{"minimal", map[string]any{"auth_url": "http://127.0.0.1:5000/v3"}, ""},
		{"full", map[string]any{"auth_url": "https://k:5000/v3", "region": "R", "domain": "D", "project": "p", "username": "u", "password": "p", "interface": "internal", "timeout": "5s"}, ""},
		{"unknown key", map[string]any{"auth_url": "http://k/v3", "endpoint": "x"}, "endpoint"},
		{"bad url", map[string]any{"auth_url": "ftp://k"}, "auth_url"},
		{"nothing", map[string]any{}, "auth_url"},
		{"bad interface", map[string]any{"auth_url": "http://k/v3", "interface": "private"}, "interface"},
		{"password alone", map[string]any{"auth_url": "http://k/v3", "password": "x"}, "go together"},
		{"half app cred", map[string]any{"auth_url": "http://k/v3", "application_credential_id": "x"}, "go together"},
		{"both kinds", map[string]any{"auth_url": "http://k/v3", "username": "u", "password": "p", "application_credential_id": "a", "application_credential_secret": "s"}, "not both"},
		{"bad timeout", map[string]any{"auth_url": "http://k/v3", "timeout": "soon"}, "timeout"},
		{"cloud and auth_url", map[string]any{"auth_url": "http://k/v3", "cloud": "c"}, "clouds.yaml"},
		{"missing cloud", map[string]any{"cloud": "no-such-cloud"}, "clouds.yaml"},
	}
	t.Setenv("OS_AUTH_URL", "")
	t.Setenv("OS_CLIENT_CONFIG_FILE", t.TempDir()+"/clouds.yaml")
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p, err := Open(context.Background(), model.ProviderConfig{Name: "x", Driver: DriverID, Settings: tc.settings}, drivers.Env{})
			if tc.want == "" {
				if err != nil {
					t.Fatalf("Open: %v", err)
				}
				_ = p.Close()
				return
			}
			if model.CodeOf(err) != model.InvalidArgument || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Open = %v, want InvalidArgument mentioning %q", err, tc.want)
			}
		})
	}
}

func TestRegistered(t *testing.T) {
	r, ok := drivers.Lookup("openstack")
	if !ok || r.Name != "OpenStack" {
		t.Fatalf("Lookup(openstack) = %+v, %v", r, ok)
	}
	d := connect(t, openStack(t, map[string]any{"auth_url": "http://127.0.0.1:1/v3"}), model.Credentials{User: "+p", Password: "x"})
	if _, err := d.ListImages(context.Background(), model.ImageQuery{}); model.CodeOf(err) != model.Unauthenticated {
		t.Errorf("Basic user without a name: %v, want Unauthenticated", err)
	}
	d = connect(t, openStack(t, map[string]any{"auth_url": "http://127.0.0.1:1/v3"}), model.Credentials{User: "u+p", Password: "x"})
	if _, err := d.ListImages(context.Background(), model.ImageQuery{}); model.CodeOf(err) != model.Unavailable {
		t.Errorf("Keystone unreachable: %v, want Unavailable", err)
	}
}

func ExampleOpen() {
	p, err := Open(context.Background(), model.ProviderConfig{
		Name: "regionone", Driver: "openstack",
		Settings: map[string]any{"auth_url": "http://127.0.0.1:5000/v3", "region": "RegionOne", "domain": "Default"},
	}, drivers.Env{})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer p.Close()
	// Clients send HTTP Basic "user+project:password"; the first call authenticates.
	d, _ := p.Connect(context.Background(), model.Credentials{User: "demo+demo", Password: "secret"})
	fmt.Printf("%T\n", d)
	// Output: *openstack.Driver
}
