package ec2_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/imagegw/imagegw/drivers"
	"github.com/imagegw/imagegw/model"
)

// The tests in this file run against moto_server: the behaviour a user of
// the gateway sees from the driver on an EC2 API.

// countImages counts with the SDK directly what a DescribeImages returns.
func countImages(t *testing.T, c *ec2.Client, in *ec2.DescribeImagesInput) (int, map[string]bool) {
	t.Helper()
	out, err := c.DescribeImages(context.Background(), in)
	if err != nil {
		t.Fatalf("DescribeImages: %v", err)
	}
	ids := map[string]bool{}
	for _, im := range out.Images {
		ids[aws.ToString(im.ImageId)] = true
	}
	return len(ids), ids
}

func TestListImagesPushesDownFilters(t *testing.T) {
	s := needMoto(t)
	ctx := context.Background()
	prov := openProvider(t, s, "us-east-1", map[string]any{"owners": []any{canonical}})
	d, err := prov.Connect(ctx, model.Credentials{User: testKey, Password: testSecret})
	if err != nil {
		t.Fatal(err)
	}
	raw := rawClient(s, "us-east-1")
	nAmazon, _ := countImages(t, raw, &ec2.DescribeImagesInput{Owners: []string{"amazon"}})
	if nAmazon < 1000 {
		t.Fatalf("moto seeded %d AMIs for owner amazon; want its catalog of over 1,000", nAmazon)
	}
	nArm, armIDs := countImages(t, raw, &ec2.DescribeImagesInput{Owners: []string{"amazon"},
		Filters: []types.Filter{{Name: aws.String("architecture"), Values: []string{"arm64"}}}})
	nCanonical, _ := countImages(t, raw, &ec2.DescribeImagesInput{Owners: []string{canonical}})

	tests := []struct {
		name  string
		q     model.ImageQuery
		want  int
		check func(model.Image) bool
	}{
		{"default: own images plus configured owners", model.ImageQuery{}, nCanonical, func(i model.Image) bool { return i.OwnerID == canonical }},
		{"owner amazon", model.ImageQuery{OwnerID: "amazon"}, nAmazon, func(i model.Image) bool { return i.OwnerID == "amazon" && model.ImageQuery{OwnerID: "amazon"}.Match(i) }},
		{"owner amazon, arm64", model.ImageQuery{OwnerID: "amazon", Architecture: "arm64"}, nArm, func(i model.Image) bool { return i.Architecture == "arm64" && armIDs[i.ID] }},
		{"owner self", model.ImageQuery{OwnerID: "self"}, 0, nil},
		{"owner unknown account", model.ImageQuery{OwnerID: "000000000000"}, 0, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			imgs, err := d.ListImages(ctx, tc.q)
			if err != nil {
				t.Fatalf("ListImages(%+v): %v", tc.q, err)
			}
			if len(imgs) != tc.want {
				t.Errorf("ListImages(%+v) = %d images, want %d", tc.q, len(imgs), tc.want)
			}
			for _, img := range imgs {
				if tc.check != nil && !tc.check(img) {
					t.Errorf("ListImages(%+v) returned %s (owner %s, %s)", tc.q, img.ID, img.OwnerID, img.Architecture)
					break
				}
			}
		})
	}

	// A name filter and an id list select one image.
	imgs, err := d.ListImages(ctx, model.ImageQuery{OwnerID: "amazon", Architecture: "arm64"})
	if err != nil || len(imgs) == 0 {
		t.Fatalf("no arm64 image: %v", err)
	}
	target := imgs[0]
	byName, err := d.ListImages(ctx, model.ImageQuery{OwnerID: "amazon", Name: target.Name})
	if err != nil || len(byName) == 0 || byName[0].Name != target.Name {
		t.Errorf("ListImages(name %q) = %v, %v", target.Name, byName, err)
	}
	byID, err := d.ListImages(ctx, model.ImageQuery{IDs: []string{target.ID}})
	if err != nil || len(byID) != 1 || byID[0].ID != target.ID {
		t.Errorf("ListImages(ids [%s]) = %v, %v", target.ID, byID, err)
	}
	// Unknown ids are left out of a list, not an error.
	byID, err = d.ListImages(ctx, model.ImageQuery{IDs: []string{"ami-0123456789abcdef0", target.ID, "bogus"}})
	if err != nil || len(byID) != 1 || byID[0].ID != target.ID {
		t.Errorf("ListImages(ids with unknown ones) = %d images, %v; want only %s", len(byID), err, target.ID)
	}
	pending, err := d.ListImages(ctx, model.ImageQuery{OwnerID: "amazon", State: "PENDING"})
	if err != nil || len(pending) != 0 {
		t.Errorf("ListImages(state PENDING) = %d images, %v; moto's seeds are all available", len(pending), err)
	}
}

func TestImageMapping(t *testing.T) {
	s := needMoto(t)
	ctx := context.Background()
	d := connect(t, s, "us-east-1", nil)
	imgs, err := d.ListImages(ctx, model.ImageQuery{OwnerID: "amazon", Architecture: "arm64"})
	if err != nil || len(imgs) == 0 {
		t.Fatalf("ListImages arm64: %d, %v", len(imgs), err)
	}
	img, err := d.GetImage(ctx, imgs[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	if img.State != model.ImageAvailable || img.RootType != model.RootPersistent || img.Architecture != "arm64" ||
		img.OwnerID == "" || img.Name == "" || img.Visibility != model.VisibilityPublic || img.Native["virtualization_type"] == "" {
		t.Errorf("image %s mapped as %+v", img.ID, img)
	}
	if len(img.HardwareProfiles) == 0 {
		t.Fatalf("image %s lists no hardware profiles", img.ID)
	}
	hps, err := d.ListHardwareProfiles(ctx)
	if err != nil {
		t.Fatal(err)
	}
	byID := map[string]model.HardwareProfile{}
	for _, hp := range hps {
		byID[hp.ID] = hp
	}
	fits := map[string]bool{}
	for _, id := range img.HardwareProfiles {
		fits[id] = true
		p, ok := byID[id].Property(model.PropArchitecture)
		if !ok || !p.Contains("arm64") {
			t.Errorf("arm64 image %s lists profile %s of architecture %v", img.ID, id, p.Values)
		}
	}
	for _, id := range []string{"t4g.micro", "m6g.large"} {
		if !fits[id] {
			t.Errorf("arm64 image does not list %s", id)
		}
	}
	if fits["t2.micro"] {
		t.Errorf("arm64 image lists the x86_64-only t2.micro")
	}
}

func TestHardwareProfiles(t *testing.T) {
	s := needMoto(t)
	d := connect(t, s, "us-east-1", nil)
	hps, err := d.ListHardwareProfiles(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(hps) < 500 {
		t.Errorf("%d profiles; moto knows over 1,000 instance types", len(hps))
	}
	byID := map[string]model.HardwareProfile{}
	for i, hp := range hps {
		byID[hp.ID] = hp
		if i > 0 && hps[i-1].ID >= hp.ID {
			t.Errorf("profiles not sorted by id: %s before %s", hps[i-1].ID, hp.ID)
		}
	}
	type want struct {
		cpu, mem, storage string // "" means absent
		archs             []string
		native            map[string]string
	}
	tests := map[string]want{
		"t2.micro":    {cpu: "1", mem: "1024", archs: []string{"i386", "x86_64"}, native: map[string]string{"instance_storage": "ebs-only", "burstable": "true"}},
		"m5d.large":   {cpu: "2", mem: "8192", storage: "75", archs: []string{"x86_64"}, native: map[string]string{"instance_storage": "1 x 75 GB ssd"}},
		"t4g.micro":   {cpu: "2", mem: "1024", archs: []string{"arm64"}},
		"g4dn.xlarge": {cpu: "4", mem: "16384", storage: "125", archs: []string{"x86_64"}, native: map[string]string{"gpu_count": "1", "gpu": "1 x NVIDIA T4 (16384 MiB)"}},
	}
	for id, w := range tests {
		hp, ok := byID[id]
		if !ok {
			t.Errorf("no profile %s", id)
			continue
		}
		check := func(name, want string) {
			p, ok := hp.Property(name)
			switch {
			case want == "" && ok:
				t.Errorf("%s: %s = %+v, want none", id, name, p)
			case want != "" && (!ok || p.Kind != model.Fixed || p.Value != want):
				t.Errorf("%s: %s = %+v, want fixed %s", id, name, p, want)
			}
		}
		check(model.PropCPU, w.cpu)
		check(model.PropMemory, w.mem)
		check(model.PropStorage, w.storage)
		arch, _ := hp.Property(model.PropArchitecture)
		if arch.Kind != model.Enum || strings.Join(arch.Values, ",") != strings.Join(w.archs, ",") {
			t.Errorf("%s: architecture = %+v, want enum %v", id, arch, w.archs)
		}
		for k, v := range w.native {
			if hp.Native[k] != v {
				t.Errorf("%s: native %s = %q, want %q", id, k, hp.Native[k], v)
			}
		}
		if hp.Native["network_performance"] == "" {
			t.Errorf("%s: no network_performance", id)
		}
	}
}

func TestCreateImageFromInstance(t *testing.T) {
	s := needMoto(t)
	ctx := context.Background()
	d := connect(t, s, "us-east-1", map[string]any{"delete_snapshots": true})
	raw := rawClient(s, "us-east-1")
	inst, err := runInstance(ctx, raw)
	if err != nil {
		t.Fatal(err)
	}

	// Without a name, EC2's required name is made from the instance and the time.
	before := time.Now().UTC().Add(-time.Second)
	img, err := d.CreateImage(ctx, model.CreateImage{InstanceID: inst, Description: "nightly"})
	if err != nil {
		t.Fatal(err)
	}
	if img.State != model.ImagePending || img.ID == "" || img.RootType != model.RootPersistent || img.Architecture != "x86_64" || img.OwnerID == "" {
		t.Errorf("new image = %+v, want PENDING, persistent, x86_64, with owner", img)
	}
	prefix := inst + "-"
	stamp, err := time.Parse("20060102T150405Z", strings.TrimPrefix(img.Name, prefix))
	if !strings.HasPrefix(img.Name, prefix) || err != nil || stamp.Before(before.Truncate(time.Second)) {
		t.Errorf("default name %q, want %s<UTC timestamp>", img.Name, prefix)
	}
	got, err := d.GetImage(ctx, img.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Name != img.Name || got.Description != "nightly" || got.Native["source_instance_id"] != inst {
		t.Errorf("GetImage = %+v", got)
	}
	// The image is owned by the caller: owner_id=self lists it.
	mine, err := d.ListImages(ctx, model.ImageQuery{OwnerID: "self"})
	if err != nil || len(mine) != 1 || mine[0].ID != img.ID {
		t.Errorf("ListImages(self) = %v, %v; want the new image", mine, err)
	}

	// A bad option is InvalidArgument. (moto accepts taken names, so
	// InvalidAMIName.Duplicate → AlreadyExists is covered by the error table.)
	_, err = d.CreateImage(ctx, model.CreateImage{InstanceID: inst, Options: map[string]string{"no_reboot": "perhaps"}})
	if c := model.CodeOf(err); c != model.InvalidArgument {
		t.Errorf("no_reboot=perhaps: %v (code %v), want InvalidArgument", err, c)
	}

	// A terminated instance cannot be imaged.
	if _, err := raw.TerminateInstances(ctx, &ec2.TerminateInstancesInput{InstanceIds: []string{inst}}); err != nil {
		t.Fatal(err)
	}
	_, err = d.CreateImage(ctx, model.CreateImage{InstanceID: inst})
	if c := model.CodeOf(err); c != model.FailedPrecondition || !strings.Contains(err.Error(), "terminated") {
		t.Errorf("terminated instance: %v (code %v), want FailedPrecondition naming the state", err, c)
	}

	// delete_snapshots removes the image's EBS snapshots with it.
	var snaps []string
	for _, dev := range strings.Split(got.Native["block_devices"], ",") {
		if i := strings.Index(dev, "=snap-"); i >= 0 {
			snaps = append(snaps, strings.SplitN(dev[i+1:], ":", 2)[0])
		}
	}
	if len(snaps) == 0 {
		t.Fatalf("image %s shows no EBS snapshot: %q", img.ID, got.Native["block_devices"])
	}
	if err := d.DeleteImage(ctx, img.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := d.GetImage(ctx, img.ID); !model.IsNotFound(err) {
		t.Errorf("GetImage after delete: %v, want NotFound", err)
	}
	_, err = raw.DescribeSnapshots(ctx, &ec2.DescribeSnapshotsInput{SnapshotIds: snaps})
	if err == nil || !strings.Contains(err.Error(), "InvalidSnapshot.NotFound") {
		t.Errorf("snapshots %v after delete with delete_snapshots: %v, want InvalidSnapshot.NotFound", snaps, err)
	}
}

func TestUpdateImageTags(t *testing.T) {
	s := needMoto(t)
	ctx := context.Background()
	d := connect(t, s, "us-east-1", nil)
	inst, err := runInstance(ctx, rawClient(s, "us-east-1"))
	if err != nil {
		t.Fatal(err)
	}
	img, err := d.CreateImage(ctx, model.CreateImage{InstanceID: inst, Name: "tagged"})
	if err != nil {
		t.Fatal(err)
	}
	up := d.(drivers.ImageUpdater)
	got, err := up.UpdateImage(ctx, img.ID, model.ImageUpdate{Tags: map[string]string{"env": "prod", "team": "imaging"}})
	if err != nil {
		t.Fatal(err)
	}
	if got.Tags["env"] != "prod" || got.Tags["team"] != "imaging" {
		t.Errorf("tags after update = %v", got.Tags)
	}
	got, err = up.UpdateImage(ctx, img.ID, model.ImageUpdate{Tags: map[string]string{"env": ""}})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := got.Tags["env"]; ok || got.Tags["team"] != "imaging" {
		t.Errorf("tags after removing env = %v", got.Tags)
	}
	same := "tagged"
	if _, err := up.UpdateImage(ctx, img.ID, model.ImageUpdate{Name: &same}); err != nil {
		t.Errorf("update with the unchanged name: %v", err)
	}
	other := "renamed"
	_, err = up.UpdateImage(ctx, img.ID, model.ImageUpdate{Name: &other})
	if c := model.CodeOf(err); c != model.InvalidArgument {
		t.Errorf("rename: %v (code %v), want InvalidArgument", err, c)
	}
}

func TestCopyAndCloneImage(t *testing.T) {
	s := needMoto(t)
	ctx := context.Background()
	east := connect(t, s, "us-east-1", nil)
	west := connect(t, s, "us-west-2", nil)
	src, err := east.ListImages(ctx, model.ImageQuery{OwnerID: canonical})
	if err != nil || len(src) == 0 {
		t.Fatalf("no source image in us-east-1: %v", err)
	}
	eastCfg := model.ProviderConfig{Name: "moto-us-east-1", Driver: "ec2", Settings: map[string]any{"region": "us-east-1", "endpoint": s.URL}}

	cp, err := west.(drivers.ImageCopier).CopyImage(ctx, model.CopyImage{SourceProvider: eastCfg, SourceImageID: src[0].ID, Name: "copied", Description: "from east"})
	if err != nil {
		t.Fatal(err)
	}
	if cp.State != model.ImagePending || cp.ID == src[0].ID || cp.Architecture != src[0].Architecture {
		t.Errorf("copy = %+v", cp)
	}
	got, err := west.GetImage(ctx, cp.ID)
	if err != nil || got.Name != "copied" || got.Description != "from east" {
		t.Errorf("copy in us-west-2 = %+v, %v", got, err)
	}
	if _, err := east.GetImage(ctx, cp.ID); !model.IsNotFound(err) {
		t.Errorf("copy visible in us-east-1: %v", err)
	}
	// Without a name, a copy into another region keeps the source's.
	cp2, err := west.(drivers.ImageCopier).CopyImage(ctx, model.CopyImage{SourceProvider: eastCfg, SourceImageID: src[0].ID})
	if err != nil || cp2.Name != src[0].Name {
		t.Errorf("unnamed copy = %+v, %v; want the source's name %q", cp2, err, src[0].Name)
	}

	tests := []struct {
		name string
		req  model.CopyImage
		want model.Code
	}{
		{"unknown source image", model.CopyImage{SourceProvider: eastCfg, SourceImageID: "ami-0123456789abcdef0"}, model.NotFound},
		{"source at another endpoint", model.CopyImage{SourceProvider: model.ProviderConfig{Name: "aws", Driver: "ec2", Settings: map[string]any{"region": "us-east-1"}}, SourceImageID: src[0].ID}, model.InvalidArgument},
		{"source of another driver", model.CopyImage{SourceProvider: model.ProviderConfig{Name: "os", Driver: "openstack"}, SourceImageID: src[0].ID}, model.InvalidArgument},
	}
	for _, tc := range tests {
		_, err := west.(drivers.ImageCopier).CopyImage(ctx, tc.req)
		if c := model.CodeOf(err); c != tc.want {
			t.Errorf("%s: %v (code %v), want %v", tc.name, err, c, tc.want)
		}
	}

	cl, err := east.(drivers.ImageCloner).CloneImage(ctx, model.CloneImage{SourceImageID: src[0].ID})
	if err != nil {
		t.Fatal(err)
	}
	got, err = east.GetImage(ctx, cl.ID)
	if err != nil || !strings.HasPrefix(got.Name, src[0].Name+"-copy-") || got.OwnerID == src[0].OwnerID {
		t.Errorf("clone = %+v, %v; want a name from the source's and the caller as owner", got, err)
	}
}

func TestRealmsAndInstances(t *testing.T) {
	s := needMoto(t)
	ctx := context.Background()
	d := connect(t, s, "us-east-1", nil)
	realms, err := d.(drivers.RealmLister).ListRealms(ctx)
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]bool{}
	for _, r := range realms {
		names[r.ID] = r.State == "AVAILABLE"
	}
	if !names["us-east-1a"] || !names["us-east-1b"] {
		t.Errorf("realms = %+v, want us-east-1a and us-east-1b AVAILABLE", realms)
	}
	inst, err := runInstance(ctx, rawClient(s, "us-east-1"))
	if err != nil {
		t.Fatal(err)
	}
	il := d.(drivers.InstanceLister)
	all, err := il.ListInstances(ctx)
	if err != nil || len(all) != 1 {
		t.Fatalf("ListInstances = %+v, %v; want the one instance", all, err)
	}
	got := all[0]
	if got.ID != inst || got.Name != "imagegw-test" || got.ProfileID != "t2.micro" || got.State != "RUNNING" ||
		!got.CanCreateImage || !names[got.RealmID] || got.ImageID == "" || got.OwnerID == "" || len(got.PrivateAddresses) == 0 {
		t.Errorf("instance = %+v", got)
	}
	one, err := il.GetInstance(ctx, inst)
	if err != nil || one.ID != inst {
		t.Errorf("GetInstance = %+v, %v", one, err)
	}
	for _, id := range []string{"i-0123456789abcdef0", "not-an-id"} {
		if _, err := il.GetInstance(ctx, id); !model.IsNotFound(err) {
			t.Errorf("GetInstance(%s): %v, want NotFound", id, err)
		}
	}
}

func TestCredentials(t *testing.T) {
	s := needMoto(t)
	auth := needMotoAuth(t)
	ctx := context.Background()

	bad, err := openProvider(t, auth, "us-east-1", nil).Connect(ctx, model.Credentials{User: "AKIDNOSUCHKEY", Password: "wrong"})
	if err != nil {
		t.Fatal(err)
	}
	err = bad.(drivers.CredentialChecker).CheckCredentials(ctx)
	if c := model.CodeOf(err); c != model.Unauthenticated || !strings.Contains(err.Error(), "AuthFailure") || !strings.Contains(err.Error(), "request id") {
		t.Errorf("CheckCredentials with a rejected key: %v (code %v), want Unauthenticated with AuthFailure and the request id", err, c)
	}
	if _, err := bad.ListHardwareProfiles(ctx); model.CodeOf(err) != model.Unauthenticated {
		t.Errorf("ListHardwareProfiles with a rejected key: %v", err)
	}

	// A user without a password is refused at once.
	if _, err := openProvider(t, s, "us-east-1", nil).Connect(ctx, model.Credentials{User: testKey}); model.CodeOf(err) != model.Unauthenticated {
		t.Errorf("Connect without a secret: %v, want Unauthenticated", err)
	}

	// Without client credentials and without server-side ones, the SDK's
	// default chain finds nothing here (TestMain empties it).
	anon, err := openProvider(t, s, "us-east-1", nil).Connect(ctx, model.Credentials{})
	if err != nil {
		t.Fatal(err)
	}
	_, err = anon.ListImages(ctx, model.ImageQuery{})
	if c := model.CodeOf(err); c != model.Unauthenticated {
		t.Errorf("ListImages without any credentials: %v (code %v), want Unauthenticated", err, c)
	}

	// Server-side credentials serve clients that send none.
	prov := openProvider(t, s, "us-east-1", map[string]any{"access_key_id": testKey, "secret_access_key": testSecret})
	anon, err = prov.Connect(ctx, model.Credentials{})
	if err != nil {
		t.Fatal(err)
	}
	if err := anon.(drivers.CredentialChecker).CheckCredentials(ctx); err != nil {
		t.Errorf("CheckCredentials with server-side credentials: %v", err)
	}
}

// TestProfilesWithoutCredentials: instance types are a part shared by every
// caller of a provider. Once the gateway's catalog holds them, a client
// without credentials (and no server-side ones) sees them; without a
// catalog (catalog_ttl: 0) the driver keeps nothing and such a client gets
// 401 every time.
func TestProfilesWithoutCredentials(t *testing.T) {
	s := needMoto(t)
	tests := []struct {
		name     string
		shared   drivers.Shared
		warmAnon model.Code // for the anonymous client once another filled the part
	}{
		{"catalog holds the instance types", newCatalogParts(), model.OK},
		{"no catalog", drivers.NoShared{}, model.Unauthenticated},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			prov := openProviderEnv(t, s, "us-east-1", map[string]any{"instance_types": []any{"t3.*"}}, drivers.Env{Shared: tc.shared})
			anon, _ := prov.Connect(ctx, model.Credentials{})
			if _, err := anon.ListHardwareProfiles(ctx); model.CodeOf(err) != model.Unauthenticated {
				t.Fatalf("profiles without credentials, cold: %v, want Unauthenticated", err)
			}
			d, _ := prov.Connect(ctx, model.Credentials{User: testKey, Password: testSecret})
			want, err := d.ListHardwareProfiles(ctx)
			if err != nil {
				t.Fatal(err)
			}
			got, err := anon.ListHardwareProfiles(ctx)
			if c := model.CodeOf(err); c != tc.warmAnon {
				t.Fatalf("profiles without credentials after a signed-in list: %v (code %v), want %v", err, c, tc.warmAnon)
			}
			if err == nil && len(got) != len(want) {
				t.Errorf("profiles without credentials: %d, want %d", len(got), len(want))
			}
		})
	}
}

func TestOpenRejectsBadSettings(t *testing.T) {
	reg, _ := drivers.Lookup("ec2")
	tests := []struct {
		name     string
		settings map[string]any
		want     string
	}{
		{"no region", map[string]any{}, "region is required"},
		{"unknown key", map[string]any{"region": "us-east-1", "regoin": "x"}, "regoin"},
		{"bad endpoint", map[string]any{"region": "us-east-1", "endpoint": "localhost:5000"}, "not an http(s) URL"},
		{"key without secret", map[string]any{"region": "us-east-1", "access_key_id": "AKID"}, "go together"},
		{"negative ttl", map[string]any{"region": "us-east-1", "profile_ttl": "-1m"}, "negative"},
		{"bad ttl", map[string]any{"region": "us-east-1", "profile_ttl": "soon"}, "soon"},
		{"bad instance type pattern", map[string]any{"region": "us-east-1", "instance_types": []any{"t3.["}}, "bad pattern"},
		{"owners not a list", map[string]any{"region": "us-east-1", "owners": "amazon"}, "cannot unmarshal"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p, err := reg.Open(context.Background(), model.ProviderConfig{Name: "p", Driver: "ec2", Settings: tc.settings}, drivers.Env{})
			if err == nil {
				p.Close()
				t.Fatalf("Open accepted %v", tc.settings)
			}
			if model.CodeOf(err) != model.InvalidArgument || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Open(%v) = %v, want InvalidArgument mentioning %q", tc.settings, err, tc.want)
			}
		})
	}
}

// TestOpenAcceptsDeprecatedProfileTTL: profile_ttl is ignored now (the
// catalog_ttl of the provider applies) but an existing configuration that
// sets it still opens.
func TestOpenAcceptsDeprecatedProfileTTL(t *testing.T) {
	reg, _ := drivers.Lookup("ec2")
	p, err := reg.Open(context.Background(), model.ProviderConfig{Name: "p", Driver: "ec2",
		Settings: map[string]any{"region": "us-east-1", "profile_ttl": "1h"}}, drivers.Env{})
	if err != nil {
		t.Fatalf("Open with profile_ttl: %v", err)
	}
	p.Close()
}

func TestInstanceTypesLimitProfiles(t *testing.T) {
	s := needMoto(t)
	ctx := context.Background()
	d := connect(t, s, "us-east-1", map[string]any{"instance_types": []any{"t3.*", "m6g.large"}})
	hps, err := d.ListHardwareProfiles(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, hp := range hps {
		ids = append(ids, hp.ID)
	}
	want := "m6g.large,t3.2xlarge,t3.large,t3.medium,t3.micro,t3.nano,t3.small,t3.xlarge"
	if strings.Join(ids, ",") != want {
		t.Errorf("profiles = %v, want %s", ids, want)
	}
	imgs, err := d.ListImages(ctx, model.ImageQuery{OwnerID: "amazon", Architecture: "arm64"})
	if err != nil || len(imgs) == 0 {
		t.Fatalf("ListImages: %d, %v", len(imgs), err)
	}
	if got := strings.Join(imgs[0].HardwareProfiles, ","); got != "m6g.large" {
		t.Errorf("arm64 image fits %q, want m6g.large only", got)
	}
}
