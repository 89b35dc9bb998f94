package triton_test

import (
	"context"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/imagegw/imagegw/api/apitest"
	"github.com/imagegw/imagegw/gateway"
	"github.com/imagegw/imagegw/model"
)

// End to end: a gateway (the "front") with triton providers, over real
// HTTP through its native Deltacloud front, talking CloudAPI to the second
// imagegw of backend_test.go, as curl would use it.

type httpResp = apitest.Response

func call(t *testing.T, method, rawURL, user, pass string) httpResp {
	return apitest.Call(t, method, rawURL, user, pass, nil)
}

// frontServer starts the front gateway with one triton provider per
// name → cloud datacenter.
func frontServer(t *testing.T, s *setup, names map[string]string) *apitest.Server {
	t.Helper()
	cfg, err := gateway.ParseConfig(strings.NewReader("job_poll_interval: 50ms\n" + s.providersYAML(names)))
	if err != nil {
		t.Fatal(err)
	}
	return apitest.NewServer(t, cfg)
}

type imageJSON struct {
	ID          string `json:"id"`
	Name        string `json:"name"`
	Description string `json:"description"`
	OwnerID     string `json:"owner_id"`
	State       string `json:"state"`
}

type imageList struct {
	Images []struct {
		Image imageJSON `json:"image"`
	} `json:"images"`
}

type oneImage struct {
	Image imageJSON `json:"image"`
}

// Mock images and profiles as the cloud's CloudAPI front names them.
var (
	img1     = gateway.SchemeUUID.ID("mock", "mock", gateway.KindImages, "img1")
	unknown  = "00000000-0000-4000-8000-000000000001"
	inst1    = mockInstance("inst1")
	waitJobs = 30 * time.Second
)

func TestEndToEnd(t *testing.T) {
	s := newSetup(t)
	srv := frontServer(t, s, map[string]string{"dc-mock": "mock"})
	base := srv.URL + "/api;driver=triton;provider=dc-mock"
	get := func(path string) httpResp { return call(t, "GET", base+path, "alice", s.good) }
	ctx := context.Background()

	// The driver and its provider, without the CloudAPI URL.
	r := call(t, "GET", srv.URL+"/api/drivers/triton?format=json", "", "")
	r.Want(t, "GET /api/drivers/triton", 200)
	if !strings.Contains(string(r.Body), `"dc-mock"`) || strings.Contains(string(r.Body), s.cloud.urls["mock"]) {
		t.Errorf("driver triton = %s; want provider dc-mock and no CloudAPI URL", r.Body)
	}

	// The entry point offers what the driver can do.
	r = get("?format=json")
	r.Want(t, "entry point", 200)
	for _, want := range []string{"images", "hardware_profiles", "realms", "instances"} {
		if !strings.Contains(string(r.Body), `"`+want+`"`) {
			t.Errorf("entry point = %s; want %s", r.Body, want)
		}
	}

	// List: the mock's images under their CloudAPI UUIDs.
	r = get("/images?format=json")
	r.Want(t, "list images", 200)
	var list imageList
	r.Decode(t, &list)
	names := map[string]string{}
	for _, it := range list.Images {
		names[it.Image.ID] = it.Image.Name
	}
	if names[img1] != "img1" || len(list.Images) < 3 {
		t.Errorf("listed %+v; want img1 as %s among the mock's images", list.Images, img1)
	}
	r = get("/images?name=img1&format=json")
	r.Want(t, "list by name", 200)
	r.Decode(t, &list)
	if len(list.Images) != 1 || list.Images[0].Image.ID != img1 {
		t.Errorf("name=img1 listed %+v", list.Images)
	}

	// Get; an unknown UUID and a non-UUID are 404.
	r = get("/images/" + img1 + "?format=json")
	r.Want(t, "get img1", 200)
	var one oneImage
	r.Decode(t, &one)
	if one.Image.Name != "img1" || one.Image.State != "AVAILABLE" || one.Image.Description != "Fedora 10" {
		t.Errorf("img1 = %+v", one.Image)
	}
	get("/images/"+unknown).Want(t, "unknown image", 404)
	get("/images/img1").Want(t, "non-UUID image id", 404)

	// Packages as hardware profiles.
	r = get("/hardware_profiles/m1-small?format=json")
	r.Want(t, "profile m1-small", 200)
	for _, want := range []string{`"m1-small"`, `"1740"`, `"160"`} {
		if !strings.Contains(string(r.Body), want) {
			t.Errorf("m1-small = %s; want %s (name, memory MB, storage GB)", r.Body, want)
		}
	}
	get("/hardware_profiles?format=json").Want(t, "profiles", 200)

	// Datacenters as realms.
	r = get("/realms?format=json")
	r.Want(t, "realms", 200)
	if !strings.Contains(string(r.Body), `"mock"`) || !strings.Contains(string(r.Body), `"test1"`) {
		t.Errorf("realms = %s; want the cloud's datacenters mock and test1", r.Body)
	}

	// Machines as instances, under their CloudAPI UUIDs.
	r = get("/instances/" + inst1 + "?format=json")
	r.Want(t, "instance inst1", 200)
	if !strings.Contains(string(r.Body), `"MockUserInstance"`) || !strings.Contains(string(r.Body), `"RUNNING"`) {
		t.Errorf("inst1 = %s; want MockUserInstance RUNNING", r.Body)
	}
	get("/instances/"+unknown).Want(t, "unknown instance", 404)

	// Create from a machine → 201 PENDING → the job → AVAILABLE.
	r = call(t, "POST", base+"/images?format=json&"+url.Values{"instance_id": {inst1}, "name": {"e2e-image"}, "description": {"made over two gateways"}}.Encode(), "alice", s.good)
	r.Want(t, "create image", 201)
	r.Decode(t, &one)
	if one.Image.State != "PENDING" || one.Image.Name != "e2e-image" || !strings.HasSuffix(r.Header.Get("Location"), "/images/"+one.Image.ID) {
		t.Errorf("created %+v, Location %q", one.Image, r.Header.Get("Location"))
	}
	newID := one.Image.ID
	jobID := r.Header.Get("X-Job-Id")
	wctx, cancel := context.WithTimeout(ctx, waitJobs)
	defer cancel()
	if job, err := srv.Gateway.Jobs().Wait(wctx, jobID); err != nil || job.State != model.JobSucceeded {
		t.Fatalf("job %s = %+v, %v; want succeeded", jobID, job, err)
	}
	r = get("/images?owner_id=self&format=json")
	r.Want(t, "own images", 200)
	r.Decode(t, &list)
	// alice acts as the mock's mockuser, who also owns img3.
	found := false
	for _, it := range list.Images {
		found = found || it.Image.ID == newID && it.Image.State == "AVAILABLE"
		if it.Image.OwnerID != s.accountID {
			t.Errorf("owner_id=self listed %+v, not owned by alice (%s)", it.Image, s.accountID)
		}
	}
	if !found {
		t.Errorf("own images = %+v; want %s AVAILABLE", list.Images, newID)
	}
	call(t, "POST", base+"/images?instance_id="+unknown, "alice", s.good).Want(t, "create from unknown machine", 404)

	// Update and clone (the native front has no routes for them: through
	// the gateway's session, then seen over HTTP).
	sess, err := srv.Gateway.Open(ctx, gateway.Target{Driver: "triton", Provider: "dc-mock"}, model.Credentials{User: "alice", Password: s.good})
	if err != nil {
		t.Fatal(err)
	}
	name, desc := "e2e-renamed", "renamed natively"
	if _, err := sess.UpdateImage(ctx, newID, model.ImageUpdate{Name: &name, Description: &desc, Tags: map[string]string{"role": "web"}}); err != nil {
		t.Fatalf("update: %v", err)
	}
	r = get("/images/" + newID + "?format=json")
	r.Want(t, "get updated", 200)
	r.Decode(t, &one)
	if one.Image.Name != name || one.Image.Description != desc {
		t.Errorf("updated image = %+v", one.Image)
	}
	clone, job, err := sess.CloneImage(ctx, model.CloneImage{SourceImageID: img1, Name: "img1-clone"}, gateway.JobMeta{})
	if err != nil {
		t.Fatalf("clone: %v", err)
	}
	if job.ID != "" {
		if job, err = srv.Gateway.Jobs().Wait(wctx, job.ID); err != nil || job.State != model.JobSucceeded {
			t.Fatalf("clone job = %+v, %v", job, err)
		}
	}
	r = get("/images/" + clone.ID + "?format=json")
	r.Want(t, "get clone", 200)
	r.Decode(t, &one)
	if one.Image.Name != "img1-clone" || one.Image.OwnerID != s.accountID || clone.ID == img1 {
		t.Errorf("clone = %+v; want a new image img1-clone owned by alice", one.Image)
	}

	// Delete → 204, then 404.
	for _, id := range []string{newID, clone.ID} {
		call(t, "DELETE", base+"/images/"+id, "alice", s.good).Want(t, "delete "+id, 204)
		get("/images/"+id).Want(t, "get deleted "+id, 404)
	}
	call(t, "DELETE", base+"/images/"+newID, "alice", s.good).Want(t, "delete deleted", 404)
}

// TestEndToEndWrongKey: a key the cloud does not know for the account, a
// key name the provider does not have, and no credentials at all (no
// server-side account) are all 401.
func TestEndToEndWrongKey(t *testing.T) {
	s := newSetup(t)
	srv := frontServer(t, s, map[string]string{"dc-mock": "mock"})
	base := srv.URL + "/api;driver=triton;provider=dc-mock"
	for _, tc := range []struct{ what, user, pass, path string }{
		{"key unknown to the cloud", "alice", s.bad, "/images"},
		{"key unknown to the cloud, one image", "alice", s.bad, "/images/" + img1},
		{"key unknown to the cloud, force_auth", "alice", s.bad, "?force_auth=1"},
		{"no such key name", "alice", "not-a-key-name", "/images"},
		{"another account's key name", "bob", s.good, "/hardware_profiles"},
		{"no credentials", "", "", "/images"},
	} {
		r := call(t, "GET", base+tc.path, tc.user, tc.pass)
		r.Want(t, tc.what, 401)
		if r.Header.Get("WWW-Authenticate") == "" {
			t.Errorf("%s: 401 without WWW-Authenticate", tc.what)
		}
	}
}
