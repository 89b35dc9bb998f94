package triton_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/imagegw/imagegw/gateway"
	"github.com/imagegw/imagegw/model"
)

// TestEndToEndCopyAcrossDatacenters copies img1 from the cloud's mock
// datacenter into test1 with ImportImageFromDatacenter, through two triton
// providers of the front gateway, and follows the copy job.
func TestEndToEndCopyAcrossDatacenters(t *testing.T) {
	s := newSetup(t)
	srv := frontServer(t, s, map[string]string{"dc-mock": "mock", "dc-test1": "test1"})
	ctx := context.Background()
	creds := model.Credentials{User: "alice", Password: s.good}
	sess, err := srv.Gateway.Open(ctx, gateway.Target{Driver: "triton", Provider: "dc-test1"}, creds)
	if err != nil {
		t.Fatal(err)
	}
	img, job, err := sess.CopyImage(ctx, "dc-mock", img1, "img1-in-test1", "", gateway.JobMeta{})
	if err != nil {
		t.Fatalf("copy: %v", err)
	}
	wctx, cancel := context.WithTimeout(ctx, waitJobs)
	defer cancel()
	if job, err = srv.Gateway.Jobs().Wait(wctx, job.ID); err != nil || job.State != model.JobSucceeded {
		t.Fatalf("copy job = %+v, %v", job, err)
	}
	test1 := srv.URL + "/api;driver=triton;provider=dc-test1"
	r := call(t, "GET", test1+"/images/"+img.ID+"?format=json", "alice", s.good)
	r.Want(t, "the copy in test1", 200)
	var one oneImage
	r.Decode(t, &one)
	if one.Image.Name != "img1-in-test1" || one.Image.State != "AVAILABLE" {
		t.Errorf("copy = %+v", one.Image)
	}
	call(t, "GET", srv.URL+"/api;driver=triton;provider=dc-mock/images/"+img.ID, "alice", s.good).Want(t, "the copy in mock", 404)

	// An unknown source image is 404, not a failed job.
	if _, _, err := sess.CopyImage(ctx, "dc-mock", unknown, "", "", gateway.JobMeta{}); model.CodeOf(err) != model.NotFound {
		t.Errorf("copy of an unknown image: %v (code %v), want NotFound", err, model.CodeOf(err))
	}
}

// TestExport exports img3 (alice's: her cloud identity owns it; only an
// owner may export) to the cloud's Manta stand-in (its export_dir): the
// manifest and image file land under the path given.
func TestExport(t *testing.T) {
	s := newSetup(t)
	srv := frontServer(t, s, map[string]string{"dc-mock": "mock"})
	ctx := context.Background()
	sess, err := srv.Gateway.Open(ctx, gateway.Target{Driver: "triton", Provider: "dc-mock"}, model.Credentials{User: "alice", Password: s.good})
	if err != nil {
		t.Fatal(err)
	}
	img3 := gateway.SchemeUUID.ID("mock", "mock", gateway.KindImages, "img3")
	res, err := sess.ExportImage(ctx, img3, model.ExportRequest{Path: "/alice/stor/exports/img3"})
	if err != nil {
		t.Fatalf("export: %v", err)
	}
	if !strings.HasSuffix(res.ManifestPath, ".imgmanifest") || !strings.HasPrefix(res.ImagePath, "/alice/stor/exports/img3") {
		t.Errorf("export = %+v", res)
	}
	for _, p := range []string{res.ImagePath, res.ManifestPath} {
		if _, err := os.Stat(filepath.Join(s.cloud.dir, "export", filepath.FromSlash(p))); err != nil {
			t.Errorf("exported file %s: %v", p, err)
		}
	}
	if _, err := sess.ExportImage(ctx, unknown, model.ExportRequest{Path: "/alice/stor/x"}); model.CodeOf(err) != model.NotFound {
		t.Errorf("export of an unknown image: %v, want NotFound", err)
	}
	if _, err := sess.ExportImage(ctx, img3, model.ExportRequest{Path: "/bob/stor/x"}); model.CodeOf(err) != model.InvalidArgument {
		t.Errorf("export outside the account's Manta: %v, want InvalidArgument", err)
	}
	if _, err := sess.ExportImage(ctx, img1, model.ExportRequest{Path: "/alice/stor/x"}); model.CodeOf(err) != model.PermissionDenied {
		t.Errorf("export of a public image alice does not own: %v, want PermissionDenied", err)
	}
}
