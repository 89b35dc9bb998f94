package vsphere_test

import (
	"context"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/vmware/govmomi/simulator"

	"github.com/imagegw/imagegw/api/apitest"
	"github.com/imagegw/imagegw/drivers"
	"github.com/imagegw/imagegw/drivers/drivertest"
	"github.com/imagegw/imagegw/gateway"
	"github.com/imagegw/imagegw/model"
	"github.com/imagegw/imagegw/store"
)

// End to end: the whole gateway over real HTTP (the native Deltacloud
// front) with vsphere providers on the simulator, as curl would use it.

// httpResp is an answer of the gateway under test.
type httpResp = apitest.Response

// call sends one request without a body.
func call(t testing.TB, method, rawURL, user, pass string) httpResp {
	return apitest.Call(t, method, rawURL, user, pass, nil)
}

func e2eServer(t testing.TB, s *sim) *apitest.Server {
	t.Helper()
	return e2eServerCfg(t, `
job_poll_interval: 50ms
providers:
  - {name: lab, driver: vsphere, url: "`+s.url+`", datacenter: DC0}
  - {name: lab-dc1, driver: vsphere, url: "`+s.url+`", datacenter: DC1}
`)
}

func e2eServerCfg(t testing.TB, yaml string) *apitest.Server {
	t.Helper()
	cfg, err := gateway.ParseConfig(strings.NewReader(yaml))
	if err != nil {
		t.Fatal(err)
	}
	return apitest.NewServer(t, cfg)
}

type imageJSON struct {
	ID          string `json:"id"`
	Name        string `json:"name"`
	Description string `json:"description"`
	State       string `json:"state"`
	RootType    string `json:"root_type"`
}

type imageList struct {
	Images []struct {
		Image imageJSON `json:"image"`
	} `json:"images"`
}

type oneImage struct {
	Image imageJSON `json:"image"`
}

func TestEndToEnd(t *testing.T) {
	s, err := newSim(simSpec{datacenters: 2, machines: 2, templates: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer s.close()
	s.powerOn(t, "DC0_C0_RP0_VM1")
	srv := e2eServer(t, s)
	lab := srv.URL + "/api;driver=vsphere;provider=lab"
	do := func(method, path string) httpResp { return call(t, method, lab+path, simUser, simPass) }
	ctx := context.Background()

	// The driver and its providers, without the vCenter URL.
	r := call(t, "GET", srv.URL+"/api/drivers?format=json", "", "")
	r.Want(t, "GET /api/drivers", 200)
	if !strings.Contains(string(r.Body), `"vsphere"`) || !strings.Contains(string(r.Body), `"vSphere"`) ||
		!strings.Contains(string(r.Body), `"lab-dc1"`) || strings.Contains(string(r.Body), s.url) {
		t.Errorf("drivers = %s; want vsphere (vSphere) with lab and lab-dc1 and no URL", r.Body)
	}

	// List and get the template.
	r = do("GET", "/images?format=json")
	r.Want(t, "list images", 200)
	var list imageList
	r.Decode(t, &list)
	if len(list.Images) != 1 || list.Images[0].Image.Name != "DC0_H0_VM0" || list.Images[0].Image.State != "AVAILABLE" {
		t.Fatalf("images = %+v; want the template DC0_H0_VM0", list.Images)
	}
	tmpl := list.Images[0].Image
	r = do("GET", "/images/"+tmpl.ID+"?format=json")
	r.Want(t, "get image", 200)
	var one oneImage
	r.Decode(t, &one)
	if one.Image != tmpl || tmpl.RootType != "persistent" {
		t.Errorf("got %+v, listed %+v", one.Image, tmpl)
	}
	do("GET", "/images/"+uuid.NewString()).Want(t, "unknown image", 404)
	do("GET", "/images/vm-42").Want(t, "malformed image id", 404)

	// Profiles: the default one, limits from the hosts.
	r = call(t, "GET", lab+"/hardware_profiles/default?format=json", simUser, simPass)
	r.Want(t, "profile default", 200)
	if !strings.Contains(string(r.Body), `"x86_64"`) || !strings.Contains(string(r.Body), `"512"`) {
		t.Errorf("profile = %s", r.Body)
	}
	// without credentials only an anonymous: true provider answers
	call(t, "GET", lab+"/hardware_profiles?format=json", "", "").Want(t, "profiles without credentials", 401)

	// Realms are datacenters.
	r = do("GET", "/realms?format=json")
	r.Want(t, "realms", 200)
	if !strings.Contains(string(r.Body), `"DC0"`) || !strings.Contains(string(r.Body), `"DC1"`) {
		t.Errorf("realms = %s", r.Body)
	}

	// Create from a VM → 201 PENDING, followed by the gateway's job to
	// AVAILABLE; the VM stays.
	vm0 := s.instanceID(t, "DC0_C0_RP0_VM0")
	r = do("GET", "/instances/"+vm0+"?format=json")
	r.Want(t, "get instance", 200)
	if !strings.Contains(string(r.Body), "create_image") {
		t.Errorf("instance %s has no create_image action: %s", vm0, r.Body)
	}
	r = do("POST", "/images?format=json&"+url.Values{"instance_id": {vm0}, "name": {"e2e-golden"}, "description": {"made over HTTP"}}.Encode())
	r.Want(t, "create image", 201)
	r.Decode(t, &one)
	if one.Image.State != "PENDING" || one.Image.Name != "e2e-golden" || !strings.HasSuffix(r.Header.Get("Location"), "/images/"+one.Image.ID) {
		t.Errorf("created %+v, Location %q", one.Image, r.Header.Get("Location"))
	}
	newID := one.Image.ID
	job := waitJob(t, srv, r.Header.Get("X-Job-Id"))
	if job.State != model.JobSucceeded {
		t.Fatalf("create job = %+v", job)
	}
	r = do("GET", "/images/"+newID+"?format=json")
	r.Want(t, "get new image", 200)
	r.Decode(t, &one)
	if one.Image.State != "AVAILABLE" || one.Image.Description != "made over HTTP" {
		t.Errorf("new image = %+v", one.Image)
	}
	do("GET", "/instances/"+vm0).Want(t, "the source VM after the clone", 200)

	// mark_as_template on a running VM → 409; unknown instance → 404.
	vm1 := s.instanceID(t, "DC0_C0_RP0_VM1")
	do("POST", "/images?instance_id="+vm1+"&mark_as_template=true").Want(t, "mark a running VM", 409)
	do("POST", "/images?instance_id="+uuid.NewString()).Want(t, "create from unknown instance", 404)

	// Copy the new template into DC1 (the gateway's copy, as the CloudAPI
	// front's import uses it), then read it over HTTP there.
	sess, err := srv.Gateway.Open(ctx, gateway.Target{Driver: "vsphere", Provider: "lab-dc1"}, model.Credentials{User: simUser, Password: simPass})
	if err != nil {
		t.Fatal(err)
	}
	cp, cjob, err := sess.CopyImage(ctx, "lab", newID, "e2e-golden-dc1", "", gateway.JobMeta{})
	if err != nil {
		t.Fatal(err)
	}
	if cjob = waitJob(t, srv, cjob.ID); cjob.State != model.JobSucceeded {
		t.Fatalf("copy job = %+v", cjob)
	}
	r = call(t, "GET", srv.URL+"/api;driver=vsphere;provider=lab-dc1/images/"+cp.ID+"?format=json", simUser, simPass)
	r.Want(t, "get the copy in DC1", 200)
	r.Decode(t, &one)
	if one.Image.Name != "e2e-golden-dc1" || one.Image.State != "AVAILABLE" || one.Image.Description != "made over HTTP" {
		t.Errorf("copy = %+v", one.Image)
	}

	// Delete → 204, then 404; deleting a VM that is not a template → 409.
	do("DELETE", "/images/"+newID).Want(t, "delete image", 204)
	do("GET", "/images/"+newID).Want(t, "get deleted image", 404)
	do("DELETE", "/images/"+newID).Want(t, "delete deleted image", 404)
	do("DELETE", "/images/"+vm0).Want(t, "delete a VM", 409)

	// A clone vCenter refuses ends FAILED with the fault's message, and the
	// job says why.
	const msg = "insufficient disk space on datastore LocalDS_0"
	s.model.Service.AddFaultRule(&simulator.FaultInjectionRule{
		MethodName: "CloneVM_Task", ObjectType: "*", ObjectName: "*", Probability: 1, Enabled: true, MaxCount: 1,
		FaultType: simulator.FaultTypeInsufficientResourcesFault, Message: msg,
	})
	r = do("POST", "/images?format=json&instance_id="+vm0+"&name=doomed")
	s.model.Service.ClearFaultRules()
	r.Want(t, "create a doomed image", 201)
	r.Decode(t, &one)
	if job := waitJob(t, srv, r.Header.Get("X-Job-Id")); job.State != model.JobFailed || !strings.Contains(job.Error, msg) {
		t.Errorf("doomed job = %+v; want failed with %q", job, msg)
	}
	r = do("GET", "/images/"+one.Image.ID+"?format=json")
	r.Want(t, "get the failed image", 200)
	if !strings.Contains(string(r.Body), "FAILED") {
		t.Errorf("failed image = %s", r.Body)
	}
	if _, ok := s.byName(t, "doomed"); ok {
		t.Error("the failed clone left a VM behind")
	}

	// Wrong or missing credentials → 401 with a challenge.
	for _, path := range []string{"/images", "/images/" + tmpl.ID, "/instances", "/realms", "?force_auth=1"} {
		r := call(t, "GET", lab+path, simUser, "wrong")
		r.Want(t, "wrong credentials on "+path, 401)
		if r.Header.Get("WWW-Authenticate") == "" {
			t.Errorf("%s: 401 without WWW-Authenticate", path)
		}
	}
	call(t, "GET", lab+"/images", "", "").Want(t, "no credentials", 401)
}

func waitJob(t testing.TB, srv *apitest.Server, id string) model.Job {
	t.Helper()
	if id == "" {
		t.Fatal("no job id")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	job, err := srv.Gateway.Jobs().Wait(ctx, id)
	if err != nil {
		t.Fatalf("waiting for job %s: %v", id, err)
	}
	return job
}

// TestPendingSurvivesReopen: a clone's record lives in the gateway's store,
// so a provider opened again (a restarted gateway) still follows it.
func TestPendingSurvivesReopen(t *testing.T) {
	ctx := context.Background()
	st, err := store.Open(ctx, filepath.Join(t.TempDir(), "imagegw.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	reg, _ := drivers.Lookup("vsphere")
	cfg := model.ProviderConfig{Name: "lab", Driver: "vsphere", Settings: scale.settings(nil)}
	creds := model.Credentials{User: simUser, Password: simPass}
	p1, err := reg.Open(ctx, cfg, drivers.Env{Store: st})
	if err != nil {
		t.Fatal(err)
	}
	d1, _ := p1.Connect(ctx, creds)
	img, err := d1.CreateImage(ctx, model.CreateImage{InstanceID: scale.instanceID(t, "vm-004"), Name: "survivor"})
	if err != nil {
		t.Fatal(err)
	}
	p1.Close()

	p2, err := reg.Open(ctx, cfg, drivers.Env{Store: st})
	if err != nil {
		t.Fatal(err)
	}
	defer p2.Close()
	d2, _ := p2.Connect(ctx, creds)
	t.Cleanup(func() { _ = d2.DeleteImage(context.Background(), img.ID) })
	got, err := d2.GetImage(ctx, img.ID)
	if err != nil || (got.State != model.ImagePending && got.State != model.ImageAvailable) {
		t.Fatalf("after reopening: %+v, %v", got, err)
	}
	final, err := drivertest.WaitForImage(ctx, d2, img.ID, 30*time.Second, 50*time.Millisecond)
	if err != nil || final.State != model.ImageAvailable || final.Name != "survivor" {
		t.Fatalf("final = %+v, %v", final, err)
	}
}

// TestGatewayListRoundTrips: a cold list of 500 templates through the
// whole gateway costs vCenter one round trip; a second list within the
// catalog's TTL costs none.
func TestGatewayListRoundTrips(t *testing.T) {
	srv := e2eServerCfg(t, `providers: [{name: lab, driver: vsphere, url: "`+scale.url+`", datacenter: DC0}]`)
	list := srv.URL + "/api;driver=vsphere;provider=lab/images?format=json"
	// the login happens with the first request (the profiles)
	call(t, "GET", srv.URL+"/api;driver=vsphere;provider=lab/hardware_profiles?format=json", simUser, simPass).Want(t, "profiles", 200)
	for i, want := range []int64{1, 0} {
		before := scale.trips.Load()
		r := call(t, "GET", list, simUser, simPass)
		r.Want(t, "list", 200)
		var l imageList
		r.Decode(t, &l)
		if n := scale.trips.Load() - before; n != want || len(l.Images) < scaleTemplates {
			t.Errorf("list %d of %d images through the gateway took %d round trips, want %d", i+1, len(l.Images), n, want)
		}
	}
}
