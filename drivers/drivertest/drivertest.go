// Package drivertest is the conformance suite every imagegw driver runs from
// its own tests, after Go CDK's blob/drivertest: a driver supplies a Harness
// that connects it to a real (or simulated) cloud, and RunConformanceTests
// checks the behaviour every front relies on.
package drivertest

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/imagegw/imagegw/drivers"
	"github.com/imagegw/imagegw/model"
)

// Harness connects the suite to one driver against a live cloud.
type Harness interface {
	// Driver returns a driver acting with valid credentials.
	Driver(ctx context.Context) (drivers.Driver, error)
	// BadCredentialsDriver returns a driver acting with credentials the cloud
	// rejects, or nil if the cloud cannot reject credentials.
	BadCredentialsDriver(ctx context.Context) (drivers.Driver, error)
	// ImageableInstance returns the id of an instance an image can be made
	// from now; it may create one. Each call may return a fresh instance.
	ImageableInstance(ctx context.Context) (string, error)
	// UnknownImageID returns a well-formed id that names no image.
	UnknownImageID() string
	// UnknownInstanceID returns a well-formed id that names no instance.
	UnknownInstanceID() string
	// Close releases what the harness made.
	Close()
}

// HarnessMaker makes a fresh Harness for one subtest.
type HarnessMaker func(ctx context.Context, t *testing.T) (Harness, error)

// Options tune the suite for a driver.
type Options struct {
	// CreateTimeout bounds the wait for a created image to become
	// available; default 2 minutes.
	CreateTimeout time.Duration
	// PollInterval between GetImage calls while waiting; default 200 ms.
	PollInterval time.Duration
	// MinPages, for a driver with drivers.ImagePager, is how many pages the
	// harness's catalog spans at least (set the harness's page size so
	// that it is more than two); 0 checks paging without a minimum.
	MinPages int
}

// RunConformanceTests runs the suite.
func RunConformanceTests(t *testing.T, newHarness HarnessMaker, opts Options) {
	if opts.CreateTimeout == 0 {
		opts.CreateTimeout = 2 * time.Minute
	}
	if opts.PollInterval == 0 {
		opts.PollInterval = 200 * time.Millisecond
	}
	tests := []struct {
		name string
		fn   func(*testing.T, Harness, drivers.Driver, Options)
	}{
		{"ListImages", testListImages},
		{"GetImage", testGetImage},
		{"ListImagesFilter", testListImagesFilter},
		{"GetUnknownImage", testGetUnknownImage},
		{"DeleteUnknownImage", testDeleteUnknownImage},
		{"CreateFromUnknownInstance", testCreateFromUnknownInstance},
		{"CreateGetDelete", testCreateGetDelete},
		{"HardwareProfiles", testHardwareProfiles},
		{"Capabilities", testCapabilities},
		{"BadCredentials", testBadCredentials},
		{"Concurrent", testConcurrent},
		{"Paging", testPaging},
	}
	pager := false // the driver has an ImagePager: Paging applies
	for _, tc := range tests {
		if tc.name == "Paging" && !pager {
			continue // a driver without ImagePager has no paging to check
		}
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			h, err := newHarness(ctx, t)
			if err != nil {
				t.Fatalf("making harness: %v", err)
			}
			defer h.Close()
			d, err := h.Driver(ctx)
			if err != nil {
				t.Fatalf("connecting driver: %v", err)
			}
			if _, ok := d.(drivers.ImagePager); ok {
				pager = true
			}
			tc.fn(t, h, d, opts)
		})
	}
}

func wantCode(t *testing.T, what string, err error, want model.Code) {
	t.Helper()
	if got := model.CodeOf(err); got != want {
		t.Errorf("%s: got error %v (code %v), want code %v", what, err, got, want)
	}
}

func testListImages(t *testing.T, _ Harness, d drivers.Driver, _ Options) {
	imgs, err := d.ListImages(context.Background(), model.ImageQuery{})
	if err != nil {
		t.Fatalf("ListImages: %v", err)
	}
	seen := map[string]bool{}
	for _, img := range imgs {
		if img.ID == "" {
			t.Errorf("image with empty id: %+v", img)
		}
		if seen[img.ID] {
			t.Errorf("image %s listed twice", img.ID)
		}
		seen[img.ID] = true
		if img.State == "" {
			t.Errorf("image %s has no state", img.ID)
		}
	}
	if imgs == nil {
		t.Errorf("ListImages returned nil; want an empty, non-nil slice when there are none")
	}
}

func testGetImage(t *testing.T, _ Harness, d drivers.Driver, _ Options) {
	ctx := context.Background()
	imgs, err := d.ListImages(ctx, model.ImageQuery{})
	if err != nil {
		t.Fatalf("ListImages: %v", err)
	}
	if len(imgs) == 0 {
		t.Skip("the cloud has no images to get")
	}
	for _, want := range imgs[:min(3, len(imgs))] {
		got, err := d.GetImage(ctx, want.ID)
		if err != nil {
			t.Errorf("GetImage(%s): %v", want.ID, err)
			continue
		}
		if got.ID != want.ID || got.Name != want.Name || got.OwnerID != want.OwnerID {
			t.Errorf("GetImage(%s) = %+v; listed as %+v", want.ID, got, want)
		}
	}
}

func testListImagesFilter(t *testing.T, _ Harness, d drivers.Driver, _ Options) {
	ctx := context.Background()
	imgs, err := d.ListImages(ctx, model.ImageQuery{})
	if err != nil {
		t.Fatalf("ListImages: %v", err)
	}
	if len(imgs) == 0 {
		t.Skip("the cloud has no images to filter")
	}
	target := imgs[0]
	got, err := d.ListImages(ctx, model.ImageQuery{IDs: []string{target.ID}})
	if err != nil {
		t.Fatalf("ListImages(ids): %v", err)
	}
	found := false
	for _, img := range got {
		if img.ID == target.ID {
			found = true
		}
	}
	if !found {
		t.Errorf("ListImages with IDs [%s] did not return it (got %d images)", target.ID, len(got))
	}
}

func testGetUnknownImage(t *testing.T, h Harness, d drivers.Driver, _ Options) {
	_, err := d.GetImage(context.Background(), h.UnknownImageID())
	wantCode(t, "GetImage(unknown)", err, model.NotFound)
}

func testDeleteUnknownImage(t *testing.T, h Harness, d drivers.Driver, _ Options) {
	err := d.DeleteImage(context.Background(), h.UnknownImageID())
	wantCode(t, "DeleteImage(unknown)", err, model.NotFound)
}

func testCreateFromUnknownInstance(t *testing.T, h Harness, d drivers.Driver, _ Options) {
	_, err := d.CreateImage(context.Background(), model.CreateImage{InstanceID: h.UnknownInstanceID(), Name: "drivertest-unknown"})
	wantCode(t, "CreateImage(unknown instance)", err, model.NotFound)
}

// WaitForImage polls GetImage until the image leaves the pending states or
// the timeout passes, and returns its last state.
func WaitForImage(ctx context.Context, d drivers.Driver, id string, timeout, every time.Duration) (model.Image, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	for {
		img, err := d.GetImage(ctx, id)
		if err != nil {
			return img, err
		}
		if img.Terminal() {
			return img, nil
		}
		select {
		case <-ctx.Done():
			return img, fmt.Errorf("image %s still %s after %v", id, img.State, timeout)
		case <-time.After(every):
		}
	}
}

func testCreateGetDelete(t *testing.T, h Harness, d drivers.Driver, opts Options) {
	ctx := context.Background()
	inst, err := h.ImageableInstance(ctx)
	if err != nil {
		t.Fatalf("ImageableInstance: %v", err)
	}
	name := fmt.Sprintf("drivertest-%d", time.Now().UnixNano())
	token := "drivertest-token-" + name
	img, err := d.CreateImage(ctx, model.CreateImage{InstanceID: inst, Name: name, Description: "made by drivertest", Token: token})
	if err != nil {
		t.Fatalf("CreateImage(%s): %v", inst, err)
	}
	if img.ID == "" {
		t.Fatalf("CreateImage returned an image without id: %+v", img)
	}
	deleted := false
	defer func() {
		if !deleted {
			_ = d.DeleteImage(ctx, img.ID)
		}
	}()
	if img.State != model.ImagePending && img.State != model.ImageAvailable {
		t.Errorf("new image state = %q, want %s or %s", img.State, model.ImagePending, model.ImageAvailable)
	}
	final, err := WaitForImage(ctx, d, img.ID, opts.CreateTimeout, opts.PollInterval)
	if err != nil {
		t.Fatalf("waiting for image %s: %v", img.ID, err)
	}
	if final.State != model.ImageAvailable {
		t.Fatalf("image %s ended %s (%s), want %s", img.ID, final.State, final.StateReason, model.ImageAvailable)
	}
	if final.Name != name {
		t.Errorf("image name = %q, want %q", final.Name, name)
	}
	if f, ok := d.(drivers.CreateFinder); ok { // the create's token finds its image, another finds none
		if got, err := f.FindCreated(ctx, token); err != nil || got.ID != img.ID {
			t.Errorf("FindCreated(the create's token) = %+v, %v; want image %s", got, err, img.ID)
		}
		_, err := f.FindCreated(ctx, token+"-other")
		wantCode(t, "FindCreated(another token)", err, model.NotFound)
	}
	listed, err := d.ListImages(ctx, model.ImageQuery{})
	if err != nil {
		t.Fatalf("ListImages: %v", err)
	}
	found := false
	for _, l := range listed {
		found = found || l.ID == img.ID
	}
	if !found {
		t.Errorf("created image %s is not listed", img.ID)
	}
	if err := d.DeleteImage(ctx, img.ID); err != nil {
		t.Fatalf("DeleteImage(%s): %v", img.ID, err)
	}
	deleted = true
	if got, err := d.GetImage(ctx, img.ID); err == nil && got.State != model.ImageDeleted {
		t.Errorf("GetImage after delete = %+v, want NotFound", got)
	} else if err != nil {
		wantCode(t, "GetImage(deleted)", err, model.NotFound)
	}
	wantCode(t, "DeleteImage(deleted)", d.DeleteImage(ctx, img.ID), model.NotFound)
}

func testHardwareProfiles(t *testing.T, _ Harness, d drivers.Driver, _ Options) {
	hps, err := d.ListHardwareProfiles(context.Background())
	if err != nil {
		t.Fatalf("ListHardwareProfiles: %v", err)
	}
	if len(hps) == 0 {
		t.Fatalf("no hardware profiles")
	}
	seen := map[string]bool{}
	for _, hp := range hps {
		if hp.ID == "" || seen[hp.ID] {
			t.Errorf("profile id %q empty or repeated", hp.ID)
		}
		seen[hp.ID] = true
		for _, p := range hp.Properties {
			switch p.Kind {
			case model.Fixed:
			case model.Range:
				if p.First == "" || p.Last == "" || !p.Contains(p.Value) {
					t.Errorf("profile %s: range property %s = %+v is malformed", hp.ID, p.Name, p)
				}
			case model.Enum:
				if len(p.Values) == 0 || !p.Contains(p.Value) {
					t.Errorf("profile %s: enum property %s = %+v is malformed", hp.ID, p.Name, p)
				}
			default:
				t.Errorf("profile %s: property %s has kind %q", hp.ID, p.Name, p.Kind)
			}
			switch p.Name {
			case model.PropCPU, model.PropMemory, model.PropStorage, model.PropArchitecture:
			default:
				t.Errorf("profile %s: unknown property name %q (put native details in Native)", hp.ID, p.Name)
			}
		}
	}
}

// testCapabilities checks that optional capabilities either work on unknown
// ids (NotFound) or are absent; a capability must not panic or answer with
// an unclassified error.
func testCapabilities(t *testing.T, h Harness, d drivers.Driver, _ Options) {
	ctx := context.Background()
	unknown := h.UnknownImageID()
	if u, ok := d.(drivers.ImageUpdater); ok {
		name := "x"
		_, err := u.UpdateImage(ctx, unknown, model.ImageUpdate{Name: &name})
		wantCode(t, "UpdateImage(unknown)", err, model.NotFound)
	}
	if c, ok := d.(drivers.ImageCloner); ok {
		_, err := c.CloneImage(ctx, model.CloneImage{SourceImageID: unknown, Name: "drivertest-clone"})
		wantCode(t, "CloneImage(unknown)", err, model.NotFound)
	}
	if r, ok := d.(drivers.RealmLister); ok {
		realms, err := r.ListRealms(ctx)
		if err != nil {
			t.Errorf("ListRealms: %v", err)
		}
		for _, realm := range realms[:min(2, len(realms))] {
			got, err := r.GetRealm(ctx, realm.ID)
			if err != nil || got.ID != realm.ID {
				t.Errorf("GetRealm(%s) = %+v, %v", realm.ID, got, err)
			}
		}
		_, err = r.GetRealm(ctx, "drivertest-no-such-realm")
		wantCode(t, "GetRealm(unknown)", err, model.NotFound)
	}
	if il, ok := d.(drivers.InstanceLister); ok {
		insts, err := il.ListInstances(ctx)
		if err != nil {
			t.Errorf("ListInstances: %v", err)
		}
		for _, in := range insts[:min(2, len(insts))] {
			got, err := il.GetInstance(ctx, in.ID)
			if err != nil || got.ID != in.ID {
				t.Errorf("GetInstance(%s) = %+v, %v", in.ID, got, err)
			}
		}
		_, err = il.GetInstance(ctx, h.UnknownInstanceID())
		wantCode(t, "GetInstance(unknown)", err, model.NotFound)
	}
}

func testBadCredentials(t *testing.T, h Harness, _ drivers.Driver, _ Options) {
	ctx := context.Background()
	bad, err := h.BadCredentialsDriver(ctx)
	if err != nil {
		wantCode(t, "connecting with bad credentials", err, model.Unauthenticated)
		return
	}
	if bad == nil {
		t.Skip("this cloud cannot reject credentials")
	}
	_, err = bad.ListImages(ctx, model.ImageQuery{})
	wantCode(t, "ListImages with bad credentials", err, model.Unauthenticated)
	_, err = bad.GetImage(ctx, h.UnknownImageID())
	if c := model.CodeOf(err); c != model.Unauthenticated {
		t.Errorf("GetImage with bad credentials: code %v (%v), want Unauthenticated", c, err)
	}
}

func testConcurrent(t *testing.T, _ Harness, d drivers.Driver, _ Options) {
	ctx := context.Background()
	const workers = 8
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			imgs, err := d.ListImages(ctx, model.ImageQuery{})
			if err != nil {
				errs <- err
				return
			}
			if len(imgs) > 0 {
				if _, err := d.GetImage(ctx, imgs[0].ID); err != nil {
					errs <- err
					return
				}
			}
			if _, err := d.ListHardwareProfiles(ctx); err != nil {
				errs <- err
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("concurrent use: %v", err)
	}
}

// testPaging walks a pager's pages: together they hold what ListImages
// lists, each image once, and the walk ends.
func testPaging(t *testing.T, h Harness, d drivers.Driver, opts Options) {
	pg := d.(drivers.ImagePager) // RunConformanceTests runs this only for pagers
	ctx := context.Background()
	all, err := d.ListImages(ctx, model.ImageQuery{})
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	token, pages := "", 0
	for {
		page, next, err := pg.ListImagesPage(ctx, model.ImageQuery{}, token)
		if err != nil {
			t.Fatalf("page %d (token %q): %v", pages+1, token, err)
		}
		pages++
		for _, img := range page {
			if seen[img.ID] {
				t.Fatalf("image %s on two pages", img.ID)
			}
			seen[img.ID] = true
		}
		if next == "" {
			break
		}
		if next == token || pages > 100000 {
			t.Fatalf("paging does not advance: token %q after %d pages", next, pages)
		}
		token = next
	}
	if pages < opts.MinPages {
		t.Errorf("%d pages; the harness should span at least %d", pages, opts.MinPages)
	}
	for _, img := range all {
		if !seen[img.ID] {
			t.Errorf("ListImages lists %s, no page does", img.ID)
		}
	}
	if len(seen) != len(all) {
		t.Errorf("pages hold %d images, ListImages %d", len(seen), len(all))
	}
}
