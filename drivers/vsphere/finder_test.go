package vsphere_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strconv"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/property"
	"github.com/vmware/govmomi/session"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/types"

	"github.com/imagegw/imagegw/api/apitest"
	"github.com/imagegw/imagegw/drivers"
	"github.com/imagegw/imagegw/drivers/drivertest"
	"github.com/imagegw/imagegw/drivers/vsphere"
	"github.com/imagegw/imagegw/model"
)

// tokenOf reads the extraConfig TokenKey of the VM named name in the
// simulator, "" without one.
func (s *sim) tokenOf(t testing.TB, name string) string {
	t.Helper()
	vm, ok := s.byName(t, name)
	if !ok {
		t.Fatalf("no VM %s in the simulator", name)
	}
	ctx := context.Background()
	c, err := s.client(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer session.NewManager(c).Logout(ctx)
	var got mo.VirtualMachine
	if err := property.DefaultCollector(c).RetrieveOne(ctx, vm.Self, []string{"config.extraConfig"}, &got); err != nil {
		t.Fatal(err)
	}
	for _, o := range got.Config.ExtraConfig {
		if ov := o.GetOptionValue(); ov.Key == vsphere.TokenKey {
			v, _ := ov.Value.(string)
			return v
		}
	}
	return ""
}

// cloneOutOfBand clones the VM named from to name as vCenter itself would
// for someone not using the gateway, carrying extraConfig.
func (s *sim) cloneOutOfBand(t testing.TB, from, name string, template bool, extra map[string]string, instanceUUID ...string) {
	t.Helper()
	ctx := context.Background()
	c, err := s.client(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer session.NewManager(c).Logout(ctx)
	src, ok := s.byName(t, from)
	if !ok {
		t.Fatalf("no VM %s", from)
	}
	var vm mo.VirtualMachine
	if err := property.DefaultCollector(c).RetrieveOne(ctx, src.Self, []string{"parent", "resourcePool", "runtime.host"}, &vm); err != nil {
		t.Fatal(err)
	}
	pool := vm.ResourcePool
	if pool == nil { // a template has no pool: its host's
		var h mo.HostSystem
		if err := property.DefaultCollector(c).RetrieveOne(ctx, *vm.Runtime.Host, []string{"parent"}, &h); err != nil {
			t.Fatal(err)
		}
		var cr mo.ComputeResource
		if err := property.DefaultCollector(c).RetrieveOne(ctx, *h.Parent, []string{"resourcePool"}, &cr); err != nil {
			t.Fatal(err)
		}
		pool = cr.ResourcePool
	}
	spec := types.VirtualMachineCloneSpec{Location: types.VirtualMachineRelocateSpec{Pool: pool}, Template: template,
		Config: &types.VirtualMachineConfigSpec{}}
	if len(instanceUUID) > 0 {
		spec.Config.InstanceUuid = instanceUUID[0]
	}
	for k, v := range extra {
		spec.Config.ExtraConfig = append(spec.Config.ExtraConfig, &types.OptionValue{Key: k, Value: v})
	}
	task, err := object.NewVirtualMachine(c, src.Self).Clone(ctx, object.NewFolder(c, *vm.Parent), name, spec)
	if err != nil {
		t.Fatal(err)
	}
	if err := task.Wait(ctx); err != nil {
		t.Fatalf("cloning %s to %s: %v", from, name, err)
	}
}

// TestFindCreated: a create's token is kept with the template the clone
// makes (extraConfig imagegw.job) and finds the image again: while the
// clone runs, once it is a template, and for a VM marked as a template.
// What vCenter copies from the template to VMs deployed from it and to
// later clones does not confuse it.
func TestFindCreated(t *testing.T) {
	s, err := newSim(simSpec{datacenters: 1, machines: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer s.close()
	d := s.connect(t, nil)
	f := d.(drivers.CreateFinder)
	ctx := context.Background()
	token := uuid.NewString()

	img, err := d.CreateImage(ctx, model.CreateImage{InstanceID: s.instanceID(t, "DC0_H0_VM0"), Name: "found", Token: token})
	if err != nil {
		t.Fatal(err)
	}
	if got, err := f.FindCreated(ctx, token); err != nil || got.ID != img.ID || got.State != model.ImagePending {
		t.Errorf("FindCreated while the clone runs = %+v, %v; want %s PENDING", got, err, img.ID)
	}
	if _, err := drivertest.WaitForImage(ctx, d, img.ID, 30*time.Second, 50*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	if got := s.tokenOf(t, "found"); got != token {
		t.Errorf("template's extraConfig %s = %q, want %s", vsphere.TokenKey, got, token)
	}
	if got, err := f.FindCreated(ctx, token); err != nil || got.ID != img.ID || got.State != model.ImageAvailable || got.Name != "found" {
		t.Errorf("FindCreated once made = %+v, %v; want %s AVAILABLE", got, err, img.ID)
	}

	// A VM deployed from the template and a younger template cloned from
	// it outside the gateway carry the key too: the image is the oldest
	// template.
	s.cloneOutOfBand(t, "found", "deployed", false, map[string]string{vsphere.TokenKey: token})
	time.Sleep(1100 * time.Millisecond) // config.createDate has seconds
	s.cloneOutOfBand(t, "found", "copy-of-found", true, map[string]string{vsphere.TokenKey: token})
	if got, err := f.FindCreated(ctx, token); err != nil || got.ID != img.ID {
		t.Errorf("FindCreated with a deployed VM and a later copy carrying the token = %+v, %v; want %s", got, err, img.ID)
	}
	if _, err := f.FindCreated(ctx, uuid.NewString()); !model.IsNotFound(err) {
		t.Errorf("FindCreated(another token): %v, want NotFound", err)
	}
	// With the templates gone, the deployed VM is no image.
	for _, id := range []string{img.ID, s.instanceID(t, "copy-of-found")} {
		if err := d.DeleteImage(ctx, id); err != nil {
			t.Fatal(err)
		}
	}
	if got, err := f.FindCreated(ctx, token); !model.IsNotFound(err) {
		t.Errorf("FindCreated with only a deployed VM carrying the token = %+v, %v; want NotFound", got, err)
	}

	marked := s.instanceID(t, "DC0_C0_RP0_VM1")
	token2 := uuid.NewString()
	if _, err := d.CreateImage(ctx, model.CreateImage{InstanceID: marked, Name: "marked", Token: token2,
		Options: map[string]string{"mark_as_template": "true"}}); err != nil {
		t.Fatal(err)
	}
	if got, err := f.FindCreated(ctx, token2); err != nil || got.ID != marked {
		t.Errorf("FindCreated(a VM marked as template) = %+v, %v; want %s", got, err, marked)
	}
}

// lossyVC is a proxy in front of the simulator that passes CloneVM_Task
// on, so that vCenter clones, and then loses the answer: the client gets a
// 502, as from a load balancer whose upstream answered too late. It
// returns the SDK URL to configure.
func lossyVC(t *testing.T, s *sim) string {
	t.Helper()
	u, err := url.Parse(s.url)
	if err != nil {
		t.Fatal(err)
	}
	const lose = "X-Imagegw-Test-Lose-Answer"
	rp := &httputil.ReverseProxy{
		Rewrite: func(r *httputil.ProxyRequest) {
			r.SetURL(&url.URL{Scheme: u.Scheme, Host: u.Host})
			b, _ := io.ReadAll(r.In.Body)
			r.Out.Body = io.NopCloser(bytes.NewReader(b))
			if bytes.Contains(b, []byte("CloneVM_Task")) {
				r.Out.Header.Set(lose, "1")
			}
		},
		ModifyResponse: func(res *http.Response) error {
			if res.Request.Header.Get(lose) == "" || res.StatusCode != http.StatusOK {
				return nil
			}
			res.Body.Close()
			b := []byte("upstream answered too late")
			res.StatusCode, res.Status = http.StatusBadGateway, "502 Bad Gateway"
			res.Body, res.ContentLength = io.NopCloser(bytes.NewReader(b)), int64(len(b))
			res.Header = http.Header{"Content-Type": {"text/plain"}, "Content-Length": {strconv.Itoa(len(b))}}
			return nil
		},
	}
	front := httptest.NewServer(rp)
	t.Cleanup(front.Close)
	return front.URL + u.Path
}

// TestCreateOfLostAnswerGetsItsJob: through the gateway, a create whose
// CloneVM_Task answer was lost (the client is told it failed, 5xx) still
// ends with the template vCenter made followed by a job, found by the
// token, that succeeds; not with a failed job whose outcome is unknown.
func TestCreateOfLostAnswerGetsItsJob(t *testing.T) {
	s, err := newSim(simSpec{datacenters: 1, machines: 2})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.close) // after the gateway's cleanup, which logs out
	srv := e2eServerCfg(t, `
job_poll_interval: 50ms
providers:
  - {name: lab, driver: vsphere, url: "`+lossyVC(t, s)+`", datacenter: DC0}
`)
	api := srv.URL + "/api;driver=vsphere;provider=lab"
	r := apitest.Call(t, "POST", api+"/images?format=json", simUser, simPass,
		url.Values{"instance_id": {s.instanceID(t, "DC0_H0_VM0")}, "name": {"lost-answer"}})
	if r.Status < 500 {
		t.Fatalf("POST /images through the lossy proxy: %d %s; want a 5xx (the answer was lost)", r.Status, r.Body)
	}

	job := apitest.WaitForOnlyJob(t, api, simUser, simPass, 30*time.Second, 50*time.Millisecond)
	if job.State != model.JobSucceeded {
		t.Fatalf("job = %+v; want SUCCEEDED", job)
	}
	tmpl, ok := s.byName(t, "lost-answer")
	if !ok || !tmpl.Config.Template {
		t.Fatalf("vCenter made no template lost-answer")
	}
	if want := s.instanceID(t, "lost-answer"); job.Image.ID != want {
		t.Errorf("job = %+v; want it following image %s", job, want)
	}
	if got := s.tokenOf(t, "lost-answer"); got != job.ID {
		t.Errorf("template's %s = %q, want the job's id %s", vsphere.TokenKey, got, job.ID)
	}
}

// TestFindCreatedUnstartedClone: a gateway that stopped right after sending
// CloneVM_Task leaves a clone record without its task. The template vCenter
// made from it (with the record's instance UUID and the token) is the
// image FindCreated returns, and it stays: the record no longer reads as
// a clone that was never started (whose leftovers are destroyed).
func TestFindCreatedUnstartedClone(t *testing.T) {
	s, err := newSim(simSpec{datacenters: 1, machines: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer s.close()
	p := s.open(t, "lab", nil)
	d, err := p.Connect(context.Background(), model.Credentials{User: simUser, Password: simPass})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	id, token := uuid.NewString(), uuid.NewString()
	if err := vsphere.RecordUnstartedClone(p, id, "unstarted", s.instanceID(t, "DC0_H0_VM0"), token); err != nil {
		t.Fatal(err)
	}
	s.cloneOutOfBand(t, "DC0_H0_VM0", "unstarted", true, map[string]string{vsphere.TokenKey: token}, id)
	got, err := d.(drivers.CreateFinder).FindCreated(ctx, token)
	if err != nil || got.ID != id || got.State != model.ImageAvailable {
		t.Fatalf("FindCreated = %+v, %v; want %s AVAILABLE", got, err, id)
	}
	if got, err := d.GetImage(ctx, id); err != nil || got.State != model.ImageAvailable {
		t.Errorf("GetImage after FindCreated = %+v, %v; want AVAILABLE", got, err)
	}
	if _, ok := s.byName(t, "unstarted"); !ok {
		t.Errorf("the template is gone")
	}
}
