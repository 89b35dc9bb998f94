package openstack

import (
	"context"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/imagegw/imagegw/api/apitest"
	"github.com/imagegw/imagegw/gateway"
)

// End to end: the whole gateway over real HTTP (the native Deltacloud
// front) with an openstack provider on the Debian stack, as curl uses it.

// resp is an answer of the gateway under test.
type resp = apitest.Response

// call sends one request, with form as its body when not nil.
var call = apitest.Call

func e2eServer(t testing.TB, env map[string]string) *apitest.Server {
	t.Helper()
	cfg, err := gateway.ParseConfig(strings.NewReader(`
job_poll_interval: 100ms
providers:
  - {name: regionone, driver: openstack, auth_url: "` + env["IMAGEGW_OS_AUTH_URL"] + `", region: RegionOne, domain: Default}
`))
	if err != nil {
		t.Fatal(err)
	}
	return apitest.NewServer(t, cfg)
}

type imageJSON struct {
	ID           string `json:"id"`
	Name         string `json:"name"`
	Description  string `json:"description"`
	OwnerID      string `json:"owner_id"`
	Architecture string `json:"architecture"`
	State        string `json:"state"`
}

func TestEndToEnd(t *testing.T) {
	env := needStack(t)
	srv := e2eServer(t, env)
	api := srv.URL + "/api;driver=openstack;provider=regionone"
	user, pass := "demo+demo", env["IMAGEGW_OS_DEMO_PASSWORD"]
	get := func(path string) resp { return call(t, "GET", api+path, user, pass, nil) }

	// List across more than one Glance page (25 per page; 30 seeded).
	var list struct{ Images []struct{ Image imageJSON } }
	r := get("/images?format=json")
	r.Want(t, "GET /images", 200)
	r.Decode(t, &list)
	if len(list.Images) <= 25 {
		t.Fatalf("listed %d images, want more than one Glance page", len(list.Images))
	}
	var base imageJSON
	for _, i := range list.Images {
		if i.Image.Name == "debian-12-base" {
			base = i.Image
		}
	}
	if base.ID == "" || base.State != "AVAILABLE" || base.Architecture != "x86_64" {
		t.Fatalf("debian-12-base listed as %+v", base)
	}

	// Get one.
	var one struct{ Image imageJSON }
	r = get("/images/" + base.ID + "?format=json")
	r.Want(t, "GET /images/:id", 200)
	r.Decode(t, &one)
	if one.Image != base {
		t.Errorf("GET /images/%s = %+v, listed as %+v", base.ID, one.Image, base)
	}
	get("/images/00000000-0000-4000-8000-000000000000?format=json").Want(t, "GET unknown image", 404)

	// Filters pushed down to Glance.
	r = get("/images?format=json&name=seed-011")
	r.Want(t, "GET /images?name", 200)
	list.Images = nil
	r.Decode(t, &list)
	if len(list.Images) != 1 || list.Images[0].Image.Name != "seed-011" {
		t.Errorf("name filter: %+v", list.Images)
	}

	// Flavors as hardware profiles.
	var hps struct {
		HardwareProfiles []struct {
			HardwareProfile struct {
				ID         string
				Name       string
				Properties []struct{ Name, Kind, Unit, Value string }
			} `json:"hardware_profile"`
		} `json:"hardware_profiles"`
	}
	r = get("/hardware_profiles?format=json")
	r.Want(t, "GET /hardware_profiles", 200)
	r.Decode(t, &hps)
	found := false
	for _, h := range hps.HardwareProfiles {
		if h.HardwareProfile.ID != "4" {
			continue
		}
		found = true
		got := map[string]string{}
		for _, p := range h.HardwareProfile.Properties {
			got[p.Name] = p.Value + " " + p.Unit
		}
		if h.HardwareProfile.Name != "m1.large" || got["cpu"] != "4 count" || got["memory"] != "8192 MB" || got["storage"] != "80 GB" {
			t.Errorf("flavor m1.large as profile: %+v", h.HardwareProfile)
		}
	}
	if !found {
		t.Errorf("flavor 4 (m1.large) not among %d profiles", len(hps.HardwareProfiles))
	}

	// Realms and instances.
	r = get("/realms?format=json")
	r.Want(t, "GET /realms", 200)
	if !strings.Contains(string(r.Body), `"nova"`) {
		t.Errorf("realms: %s", r.Body)
	}
	get("/instances?format=json").Want(t, "GET /instances", 200)

	// Create from a seeded server: PENDING, then AVAILABLE once the compute
	// stand-in has uploaded the snapshot; the gateway's job follows it.
	ctx := context.Background()
	d := connect(t, openStack(t, stackSettings(env)), demoCreds(env))
	server := freshServer(ctx, t, d)
	r = call(t, "POST", api+"/images?format=json", user, pass, url.Values{
		"instance_id": {server}, "name": {"e2e-snapshot"}, "description": {"made through imagegw"}})
	r.Want(t, "POST /images", 201)
	var created struct{ Image imageJSON }
	r.Decode(t, &created)
	img := created.Image
	t.Cleanup(func() { _ = d.DeleteImage(ctx, img.ID) })
	if img.State != "PENDING" || img.Name != "e2e-snapshot" || img.Description != "made through imagegw" || img.OwnerID != env["IMAGEGW_OS_DEMO_PROJECT_ID"] {
		t.Errorf("created image %+v", img)
	}
	if loc := r.Header.Get("Location"); !strings.HasSuffix(loc, "/images/"+img.ID) {
		t.Errorf("Location %q", loc)
	}
	sctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	if err := computeStandIn(sctx, env, server); err != nil {
		t.Fatalf("compute stand-in: %v", err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		r = get("/images/" + img.ID + "?format=json")
		r.Want(t, "GET created image", 200)
		r.Decode(t, &one)
		if one.Image.State == "AVAILABLE" || time.Now().After(deadline) {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	if one.Image.State != "AVAILABLE" {
		t.Errorf("created image still %s", one.Image.State)
	}

	// A second createImage of the same server while it is imaging: 409.
	call(t, "POST", api+"/images?format=json", user, pass, url.Values{"instance_id": {server}}).Want(t, "POST /images again", 409)

	// Delete, then it is gone.
	call(t, "DELETE", api+"/images/"+img.ID, user, pass, nil).Want(t, "DELETE /images/:id", 204)
	get("/images/"+img.ID+"?format=json").Want(t, "GET deleted image", 404)
	call(t, "DELETE", api+"/images/"+img.ID, user, pass, nil).Want(t, "DELETE deleted image", 404)
	call(t, "POST", api+"/images?format=json", user, pass, url.Values{"instance_id": {"00000000-0000-4000-8000-000000000000"}}).Want(t, "POST unknown instance", 404)

	// Wrong password → 401 with a challenge; no credentials → 401.
	r = call(t, "GET", api+"/images?format=json", user, "wrong", nil)
	r.Want(t, "wrong password", 401)
	if r.Header.Get("WWW-Authenticate") == "" {
		t.Errorf("401 without WWW-Authenticate")
	}
	call(t, "GET", api+"/images?format=json", "", "", nil).Want(t, "no credentials", 401)
	call(t, "GET", api+"/images?format=json", "demo+nosuchproject", pass, nil).Want(t, "unknown project", 401)
}
