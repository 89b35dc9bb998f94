package vsphere_test

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/property"
	"github.com/vmware/govmomi/simulator"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/soap"
	"github.com/vmware/govmomi/vim25/types"

	"github.com/imagegw/imagegw/drivers"
	"github.com/imagegw/imagegw/drivers/drivertest"
	"github.com/imagegw/imagegw/drivers/vsphere"
	"github.com/imagegw/imagegw/model"
)

// harness runs the conformance suite against a small vCenter (the suite
// lists a dozen times; at 1,000 VMs under -race that is a minute).
type harness struct {
	s *sim
	t *testing.T
	p drivers.Provider
}

func (h *harness) Driver(ctx context.Context) (drivers.Driver, error) {
	return h.p.Connect(ctx, model.Credentials{User: simUser, Password: simPass})
}

func (h *harness) BadCredentialsDriver(ctx context.Context) (drivers.Driver, error) {
	return h.p.Connect(ctx, model.Credentials{User: simUser, Password: "wrong"})
}

func (h *harness) ImageableInstance(context.Context) (string, error) {
	return h.s.instanceID(h.t, "DC0_C0_RP0_VM0"), nil
}

func (h *harness) UnknownImageID() string    { return uuid.NewString() }
func (h *harness) UnknownInstanceID() string { return uuid.NewString() }
func (h *harness) Close()                    { h.p.Close() }

func TestConformance(t *testing.T) {
	s, err := newSim(simSpec{datacenters: 1, machines: 4, templates: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer s.close()
	drivertest.RunConformanceTests(t, func(_ context.Context, t *testing.T) (drivertest.Harness, error) {
		return &harness{s: s, t: t, p: s.open(t, "lab", nil)}, nil
	}, drivertest.Options{CreateTimeout: 30 * time.Second, PollInterval: 50 * time.Millisecond})
}

func TestRegistered(t *testing.T) {
	reg, ok := drivers.Lookup("vsphere")
	if !ok || reg.Name != "vSphere" || reg.DefaultProvider != nil {
		t.Fatalf("registration = %+v, %v; want vsphere/vSphere without a default provider", reg, ok)
	}
}

func TestScaleInventory(t *testing.T) {
	d := scale.connect(t, nil)
	ctx := context.Background()
	if _, err := d.ListImages(ctx, model.ImageQuery{}); err != nil { // logs in
		t.Fatal(err)
	}
	before := scale.trips.Load()
	imgs, err := d.ListImages(ctx, model.ImageQuery{})
	if err != nil {
		t.Fatal(err)
	}
	trips := scale.trips.Load() - before
	templates := 0
	for _, img := range imgs {
		if img.State == model.ImageAvailable && strings.HasPrefix(img.Name, "tmpl-") {
			templates++
			if _, err := uuid.Parse(img.ID); err != nil {
				t.Errorf("image id %q is not an instance UUID", img.ID)
			}
			if img.Architecture == "" || img.Native["guest_id"] == "" || img.Native["cpu"] == "" || img.Native["memory_mb"] == "" ||
				img.Description != "scale inventory "+img.Name || fmt.Sprint(img.HardwareProfiles) != "[default]" {
				t.Errorf("image %s lacks guest, cpu or memory: %+v", img.ID, img)
			}
		}
	}
	if templates != scaleTemplates {
		t.Errorf("listed %d templates, want %d", templates, scaleTemplates)
	}
	if trips != 1 {
		t.Errorf("listing %d templates took %d round trips, want 1", templates, trips)
	}
	il := d.(drivers.InstanceLister)
	insts, err := il.ListInstances(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(insts) != scaleVMs-scaleTemplates {
		t.Errorf("listed %d instances, want %d", len(insts), scaleVMs-scaleTemplates)
	}
	for _, in := range insts[:3] {
		if in.State != "STOPPED" || in.RealmID != "DC0" || !in.CanCreateImage {
			t.Errorf("instance %+v: want STOPPED in DC0, imageable", in)
		}
	}
}

// TestCreateImage follows a clone from PENDING to AVAILABLE and checks the
// VM stays what it was.
func TestCreateImage(t *testing.T) {
	d := scale.connect(t, nil)
	ctx := context.Background()
	src := scale.instanceID(t, "vm-001")
	img, err := d.CreateImage(ctx, model.CreateImage{InstanceID: src, Name: "web-golden", Description: "the web tier"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = d.DeleteImage(context.Background(), img.ID) })
	if img.State != model.ImagePending || img.Name != "web-golden" {
		t.Fatalf("CreateImage = %+v, want PENDING web-golden", img)
	}
	got, err := d.GetImage(ctx, img.ID)
	if err != nil || got.State != model.ImagePending {
		t.Fatalf("GetImage right after create = %+v, %v; want PENDING", got, err)
	}
	final, err := drivertest.WaitForImage(ctx, d, img.ID, 30*time.Second, 50*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	if final.State != model.ImageAvailable || final.ID != img.ID || final.Name != "web-golden" || final.Description != "the web tier" {
		t.Errorf("final image = %+v; want AVAILABLE web-golden with its description", final)
	}
	vm, ok := scale.byName(t, "vm-001")
	if !ok || vm.Config.Template {
		t.Errorf("the source VM is gone or became a template: %+v", vm)
	}
	if tmpl, ok := scale.byName(t, "web-golden"); !ok || !tmpl.Config.Template {
		t.Errorf("no template web-golden in vCenter")
	}
	// Defaults: a name derived from the VM.
	img2, err := d.CreateImage(ctx, model.CreateImage{InstanceID: src})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = d.DeleteImage(context.Background(), img2.ID) })
	if !strings.HasPrefix(img2.Name, "vm-001-image-") {
		t.Errorf("default name = %q", img2.Name)
	}
	if _, err := drivertest.WaitForImage(ctx, d, img2.ID, 30*time.Second, 50*time.Millisecond); err != nil {
		t.Fatal(err)
	}
}

// TestCloneKeepsItsID: when the template vCenter made has another instance
// UUID than the one the clone asked for (vcsim before v0.50 ignores it;
// vCenter reassigns a conflicting one), the image keeps the id CreateImage
// returned: in GetImage, ListImages, UpdateImage and DeleteImage.
func TestCloneKeepsItsID(t *testing.T) {
	s, err := newSim(simSpec{datacenters: 1, machines: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer s.close()
	d := s.connect(t, nil)
	ctx := context.Background()
	img, err := d.CreateImage(ctx, model.CreateImage{InstanceID: s.instanceID(t, "DC0_C0_RP0_VM0"), Name: "renumbered", Description: "kept"})
	if err != nil {
		t.Fatal(err)
	}
	var vm mo.VirtualMachine
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		var ok bool
		if vm, ok = s.byName(t, "renumbered"); ok && vm.Config.Template {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the clone did not finish")
		}
	}
	// Give the template another instance UUID, the way an administrator
	// must: back to a VM, reconfigure, template again.
	c, err := s.client(ctx)
	if err != nil {
		t.Fatal(err)
	}
	src, _ := s.byName(t, "DC0_C0_RP0_VM0")
	var srcVM mo.VirtualMachine
	if err := property.DefaultCollector(c).RetrieveOne(ctx, src.Self, []string{"resourcePool", "runtime.host"}, &srcVM); err != nil {
		t.Fatal(err)
	}
	ovm := object.NewVirtualMachine(c, vm.Self)
	if err := ovm.MarkAsVirtualMachine(ctx, *object.NewResourcePool(c, *srcVM.ResourcePool), object.NewHostSystem(c, *srcVM.Runtime.Host)); err != nil {
		t.Fatal(err)
	}
	other := uuid.NewString()
	task, err := ovm.Reconfigure(ctx, types.VirtualMachineConfigSpec{InstanceUuid: other})
	if err == nil {
		err = task.Wait(ctx)
	}
	if err == nil {
		err = ovm.MarkAsTemplate(ctx)
	}
	if err != nil {
		t.Fatal(err)
	}

	got, err := drivertest.WaitForImage(ctx, d, img.ID, 20*time.Second, 20*time.Millisecond)
	if err != nil || got.ID != img.ID || got.State != model.ImageAvailable || got.Description != "kept" {
		t.Fatalf("GetImage = %+v, %v; want AVAILABLE with id %s", got, err, img.ID)
	}
	imgs, err := d.ListImages(ctx, model.ImageQuery{})
	if err != nil {
		t.Fatal(err)
	}
	listed := map[string]bool{}
	for _, i := range imgs {
		listed[i.ID] = true
	}
	if !listed[img.ID] || listed[other] || len(imgs) != 1 {
		t.Errorf("listed %v; want only %s", listed, img.ID)
	}
	name := "renamed"
	if up, err := d.(drivers.ImageUpdater).UpdateImage(ctx, img.ID, model.ImageUpdate{Name: &name}); err != nil || up.ID != img.ID || up.Name != name {
		t.Errorf("UpdateImage = %+v, %v", up, err)
	}
	if err := d.DeleteImage(ctx, img.ID); err != nil {
		t.Fatal(err)
	}
	if _, ok := s.byName(t, name); ok {
		t.Error("the template is still there")
	}
	_, err = d.GetImage(ctx, img.ID)
	wantCode(t, "GetImage(deleted)", err, model.NotFound)
}

func TestMarkAsTemplate(t *testing.T) {
	s, err := newSim(simSpec{datacenters: 1, machines: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer s.close()
	s.powerOn(t, "DC0_C0_RP0_VM0")
	d := s.connect(t, nil)
	ctx := context.Background()
	opts := map[string]string{"mark_as_template": "true"}

	_, err = d.CreateImage(ctx, model.CreateImage{InstanceID: s.instanceID(t, "DC0_C0_RP0_VM0"), Options: opts})
	wantCode(t, "mark a powered-on VM", err, model.FailedPrecondition)

	_, err = d.CreateImage(ctx, model.CreateImage{InstanceID: s.instanceID(t, "DC0_C0_RP0_VM1"), Options: map[string]string{"mark_as_template": "maybe"}})
	wantCode(t, "mark_as_template=maybe", err, model.InvalidArgument)

	id := s.instanceID(t, "DC0_C0_RP0_VM1")
	img, err := d.CreateImage(ctx, model.CreateImage{InstanceID: id, Name: "marked", Description: "was a VM", Options: opts})
	if err != nil {
		t.Fatal(err)
	}
	if img.ID != id || img.State != model.ImageAvailable || img.Name != "marked" || img.Description != "was a VM" {
		t.Errorf("marked image = %+v; want AVAILABLE with the VM's id, new name and description", img)
	}
	if vm, ok := s.byName(t, "marked"); !ok || !vm.Config.Template {
		t.Errorf("the VM was not marked as a template")
	}
	vms, _ := s.count(t)
	if vms != 4 {
		t.Errorf("vCenter has %d VMs after marking, want 4 (no clone)", vms)
	}
	_, err = d.(drivers.InstanceLister).GetInstance(ctx, id)
	wantCode(t, "GetInstance(now a template)", err, model.NotFound)
}

func TestDeleteImage(t *testing.T) {
	d := scale.connect(t, nil)
	ctx := context.Background()
	err := d.DeleteImage(ctx, scale.instanceID(t, "vm-002"))
	wantCode(t, "DeleteImage(a VM that is not a template)", err, model.FailedPrecondition)
	err = d.DeleteImage(ctx, "not-a-uuid")
	wantCode(t, "DeleteImage(malformed id)", err, model.NotFound)
	_, err = d.GetImage(ctx, scale.instanceID(t, "vm-002"))
	wantCode(t, "GetImage(a VM that is not a template)", err, model.NotFound)
}

func TestUpdateImage(t *testing.T) {
	d := scale.connect(t, nil)
	ctx := context.Background()
	src := scale.instanceID(t, "vm-003")
	img, err := d.CreateImage(ctx, model.CreateImage{InstanceID: src, Name: "to-rename"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = d.DeleteImage(context.Background(), img.ID) })
	u := d.(drivers.ImageUpdater)
	name, desc := "renamed", "now with notes"
	_, err = u.UpdateImage(ctx, img.ID, model.ImageUpdate{Name: &name})
	wantCode(t, "UpdateImage(pending)", err, model.FailedPrecondition)
	if _, err := drivertest.WaitForImage(ctx, d, img.ID, 30*time.Second, 50*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	got, err := u.UpdateImage(ctx, img.ID, model.ImageUpdate{Name: &name, Description: &desc})
	if err != nil {
		t.Fatal(err)
	}
	if got.Name != name || got.Description != desc {
		t.Errorf("updated image = %+v", got)
	}
	_, err = u.UpdateImage(ctx, img.ID, model.ImageUpdate{Tags: map[string]string{"a": "b"}})
	wantCode(t, "UpdateImage(tags)", err, model.InvalidArgument)
}

// TestCloneFails: a fault vCenter raises on the clone ends the image FAILED
// with the fault's message and leaves nothing behind.
func TestCloneFails(t *testing.T) {
	s, err := newSim(simSpec{datacenters: 1, machines: 2, templates: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer s.close()
	d := s.connect(t, nil)
	ctx := context.Background()
	vms0, templates0 := s.count(t)
	src := s.instanceID(t, "DC0_C0_RP0_VM0")

	t.Run("fault rule", func(t *testing.T) {
		const msg = "insufficient disk space on datastore LocalDS_0"
		s.model.Service.AddFaultRule(&simulator.FaultInjectionRule{
			MethodName: "CloneVM_Task", ObjectType: "VirtualMachine", ObjectName: "*",
			Probability: 1, Enabled: true, MaxCount: 1,
			FaultType: simulator.FaultTypeInsufficientResourcesFault, Message: msg,
		})
		defer s.model.Service.ClearFaultRules()
		img, err := d.CreateImage(ctx, model.CreateImage{InstanceID: src, Name: "doomed"})
		if err != nil {
			t.Fatal(err)
		}
		got, err := d.GetImage(ctx, img.ID)
		if err != nil || got.State != model.ImageFailed || got.StateReason != msg || !got.Terminal() {
			t.Fatalf("GetImage = %+v, %v; want FAILED with %q", got, err, msg)
		}
		if _, ok := s.byName(t, "doomed"); ok {
			t.Error("a VM doomed was left behind")
		}
		if err := d.DeleteImage(ctx, img.ID); err != nil {
			t.Errorf("deleting the failed image: %v", err)
		}
		_, err = d.GetImage(ctx, img.ID)
		wantCode(t, "GetImage(deleted failed image)", err, model.NotFound)
	})

	t.Run("task fault", func(t *testing.T) {
		// vCenter checks the name in the task: a taken name fails the task.
		img, err := d.CreateImage(ctx, model.CreateImage{InstanceID: src, Name: "DC0_H0_VM1"})
		if err != nil {
			t.Fatal(err)
		}
		if img.State != model.ImagePending {
			t.Fatalf("CreateImage = %+v, want PENDING", img)
		}
		final, err := drivertest.WaitForImage(ctx, d, img.ID, 30*time.Second, 50*time.Millisecond)
		if err != nil {
			t.Fatal(err)
		}
		if final.State != model.ImageFailed || !strings.Contains(final.StateReason, "DC0_H0_VM1") {
			t.Errorf("final = %+v; want FAILED naming the taken name", final)
		}
		imgs, err := d.ListImages(ctx, model.ImageQuery{})
		if err != nil {
			t.Fatal(err)
		}
		failed := 0
		for _, i := range imgs {
			if i.ID == img.ID && i.State == model.ImageFailed {
				failed++
			}
		}
		if failed != 1 {
			t.Errorf("the failed image is listed %d times, want once as FAILED", failed)
		}
		if err := d.DeleteImage(ctx, img.ID); err != nil {
			t.Errorf("deleting the failed image: %v", err)
		}
	})

	if vms, templates := s.count(t); vms != vms0 || templates != templates0 {
		t.Errorf("after failed clones vCenter has %d VMs, %d templates; want %d, %d", vms, templates, vms0, templates0)
	}
}

// TestFaultMapping checks each vSphere fault maps once to its code.
func TestFaultMapping(t *testing.T) {
	s, err := newSim(simSpec{datacenters: 1, machines: 1, templates: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer s.close()
	d := s.connect(t, nil)
	ctx := context.Background()
	if _, err := d.ListImages(ctx, model.ImageQuery{}); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		fault  simulator.FaultType
		custom types.BaseMethodFault
		want   model.Code
	}{
		{"NoPermission", simulator.FaultTypeNoPermission, nil, model.PermissionDenied},
		{"ManagedObjectNotFound", simulator.FaultTypeManagedObjectNotFound, nil, model.NotFound},
		{"InvalidState", simulator.FaultTypeInvalidState, nil, model.FailedPrecondition},
		{"InvalidPowerState", simulator.FaultTypeCustom, &types.InvalidPowerState{ExistingState: types.VirtualMachinePowerStatePoweredOn}, model.FailedPrecondition},
		{"InvalidLogin", simulator.FaultTypeCustom, &types.InvalidLogin{}, model.Unauthenticated},
		{"SystemError", simulator.FaultTypeGeneric, nil, model.Unavailable},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s.model.Service.AddFaultRule(&simulator.FaultInjectionRule{
				MethodName: "RetrievePropertiesEx", ObjectType: "*", ObjectName: "*",
				Probability: 1, Enabled: true, FaultType: tc.fault, Fault: tc.custom, Message: "injected " + tc.name,
			})
			defer s.model.Service.ClearFaultRules()
			_, err := d.ListImages(ctx, model.ImageQuery{})
			wantCode(t, "ListImages", err, tc.want)
			if model.MessageOf(err) == "" {
				t.Error("no message")
			}
		})
	}
	t.Run("task timeout", func(t *testing.T) {
		d := s.connect(t, map[string]any{"task_timeout": "1ns"})
		imgs, err := d.ListImages(ctx, model.ImageQuery{})
		if err != nil || len(imgs) == 0 {
			t.Fatalf("ListImages = %d, %v", len(imgs), err)
		}
		name := "slow"
		_, err = d.(drivers.ImageUpdater).UpdateImage(ctx, imgs[0].ID, model.ImageUpdate{Name: &name})
		wantCode(t, "UpdateImage with task_timeout 1ns", err, model.DeadlineExceeded)
	})
}

// TestSessions: one login per credentials, re-established when vCenter
// drops the session; wrong credentials are Unauthenticated.
func TestSessions(t *testing.T) {
	s, err := newSim(simSpec{datacenters: 1, machines: 1, templates: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer s.close()
	p := s.open(t, "lab", map[string]any{"username": simUser, "password": simPass})
	ctx := context.Background()
	list := func(creds model.Credentials) error {
		d, err := p.Connect(ctx, creds)
		if err != nil {
			return err
		}
		_, err = d.ListImages(ctx, model.ImageQuery{})
		return err
	}
	logins := s.logins.Load()
	for range 3 {
		if err := list(model.Credentials{}); err != nil { // server-side credentials
			t.Fatal(err)
		}
		if err := list(model.Credentials{User: simUser, Password: simPass}); err != nil {
			t.Fatal(err)
		}
	}
	if n := s.logins.Load() - logins; n != 1 {
		t.Errorf("%d logins for 6 requests with one set of credentials, want 1", n)
	}
	s.terminateSessions(t)
	if err := list(model.Credentials{}); err != nil {
		t.Fatalf("after the session was terminated: %v", err)
	}
	if n := s.logins.Load() - logins; n != 2 {
		t.Errorf("%d logins after the session was dropped, want 2", n)
	}
	wantCode(t, "wrong password", list(model.Credentials{User: simUser, Password: "nope"}), model.Unauthenticated)

	// vCenter answering NotAuthenticated once: log in again, retry, succeed.
	rule := &simulator.FaultInjectionRule{
		MethodName: "RetrievePropertiesEx", ObjectType: "*", ObjectName: "*", Probability: 1, Enabled: true,
		MaxCount: 1, FaultType: simulator.FaultTypeNotAuthenticated,
	}
	s.model.Service.AddFaultRule(rule)
	if err := list(model.Credentials{}); err != nil {
		t.Errorf("after one NotAuthenticated: %v", err)
	}
	if n := s.logins.Load() - logins; n != 4 { // the wrong password was one
		t.Errorf("%d logins after a NotAuthenticated, want 4", n)
	}
	// Always NotAuthenticated: one retry, then 401.
	s.model.Service.ClearFaultRules()
	s.model.Service.AddFaultRule(&simulator.FaultInjectionRule{
		MethodName: "RetrievePropertiesEx", ObjectType: "*", ObjectName: "*", Probability: 1, Enabled: true,
		FaultType: simulator.FaultTypeNotAuthenticated,
	})
	wantCode(t, "NotAuthenticated every time", list(model.Credentials{}), model.Unauthenticated)
	s.model.Service.ClearFaultRules()
	if err := p.Close(); err != nil {
		t.Error(err)
	}

	// Sessions no request used for the idle period are logged out.
	idle := s.open(t, "idle", nil)
	vsphere.SetSessionIdle(idle, 10*time.Millisecond)
	listWith := func(p drivers.Provider, user string) {
		d, err := p.Connect(ctx, model.Credentials{User: user, Password: simPass})
		if err == nil {
			_, err = d.ListImages(ctx, model.ImageQuery{})
		}
		wantCode(t, "list as "+user, err, model.OK)
	}
	logouts := s.logouts.Load()
	listWith(idle, simUser)
	time.Sleep(20 * time.Millisecond)
	listWith(idle, simUser) // used again: swept and logged in anew
	for deadline := time.Now().Add(5 * time.Second); s.logouts.Load() == logouts && time.Now().Before(deadline); {
		time.Sleep(10 * time.Millisecond)
	}
	if n := s.logouts.Load() - logouts; n != 1 {
		t.Errorf("%d logouts after a session sat idle, want 1", n)
	}

	// A provider without server-side credentials needs the client's.
	bare := s.open(t, "bare", nil)
	d, err := bare.Connect(ctx, model.Credentials{})
	if err != nil {
		t.Fatal(err)
	}
	_, err = d.ListImages(ctx, model.ImageQuery{})
	wantCode(t, "no credentials", err, model.Unauthenticated)
	hps, err := d.ListHardwareProfiles(ctx)
	if err != nil || len(hps) != 1 || hps[0].Native["limits_from"] != "builtin" {
		t.Errorf("profiles without credentials = %+v, %v; want the built-in default", hps, err)
	}
}

func TestTLS(t *testing.T) {
	s, err := newSim(simSpec{datacenters: 1, machines: 1, tls: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.close()
	ctx := context.Background()
	creds := model.Credentials{User: simUser, Password: simPass}
	tests := []struct {
		name  string
		extra map[string]any
		want  model.Code
	}{
		{"verified by default", nil, model.Unavailable},
		{"pinned thumbprint", map[string]any{"thumbprint": soap.ThumbprintSHA1(s.server.Certificate())}, model.OK},
		{"pinned SHA-256 thumbprint, lower case", map[string]any{"thumbprint": strings.ToLower(soap.ThumbprintSHA256(s.server.Certificate()))}, model.OK},
		{"wrong thumbprint", map[string]any{"thumbprint": strings.Repeat("AB:", 19) + "AB"}, model.Unavailable},
		{"insecure", map[string]any{"insecure": true}, model.OK},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d, err := s.open(t, "tls", tc.extra).Connect(ctx, creds)
			if err != nil {
				t.Fatal(err)
			}
			_, err = d.ListImages(ctx, model.ImageQuery{})
			wantCode(t, "ListImages", err, tc.want)
			if tc.want != model.OK && !strings.Contains(model.MessageOf(err), "TLS verification") {
				t.Errorf("message %q does not say TLS verification failed", model.MessageOf(err))
			}
		})
	}
	caFile, err := s.server.CertificateFile()
	if err != nil {
		t.Fatal(err)
	}
	d, err := s.open(t, "tls", map[string]any{"ca_file": caFile}).Connect(ctx, creds)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := d.ListImages(ctx, model.ImageQuery{}); err != nil {
		t.Errorf("with ca_file: %v", err)
	}
}

// TestCopyImage clones a template of DC0 into DC1 (two providers of one
// vCenter), and clones one within DC0.
func TestCopyImage(t *testing.T) {
	s, err := newSim(simSpec{datacenters: 2, machines: 2, templates: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer s.close()
	ctx := context.Background()
	creds := model.Credentials{User: simUser, Password: simPass}
	dc0, err := s.open(t, "lab-dc0", nil).Connect(ctx, creds)
	if err != nil {
		t.Fatal(err)
	}
	dc1, err := s.open(t, "lab-dc1", map[string]any{"datacenter": "DC1"}).Connect(ctx, creds)
	if err != nil {
		t.Fatal(err)
	}
	src, err := dc0.ListImages(ctx, model.ImageQuery{})
	if err != nil || len(src) != 1 {
		t.Fatalf("DC0 images = %+v, %v", src, err)
	}
	req := model.CopyImage{
		SourceProvider: model.ProviderConfig{Name: "lab-dc0", Driver: "vsphere", Settings: s.settings(nil)},
		SourceImageID:  src[0].ID,
	}
	img, err := dc1.(drivers.ImageCopier).CopyImage(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if img.State != model.ImagePending {
		t.Errorf("copy = %+v, want PENDING", img)
	}
	final, err := drivertest.WaitForImage(ctx, dc1, img.ID, 30*time.Second, 50*time.Millisecond)
	if err != nil || final.State != model.ImageAvailable || final.Name != src[0].Name || final.Native["datacenter"] != "DC1" {
		t.Fatalf("copied image = %+v, %v; want AVAILABLE %s in DC1", final, err, src[0].Name)
	}
	// (DC0's provider would find DC1's copy too: the simulator's FindByUuid
	// ignores its datacenter argument, which vCenter honours.)

	req.SourceImageID = uuid.NewString()
	_, err = dc1.(drivers.ImageCopier).CopyImage(ctx, req)
	wantCode(t, "CopyImage(unknown)", err, model.NotFound)

	other := req
	other.SourceProvider = model.ProviderConfig{Name: "elsewhere", Driver: "vsphere", Settings: map[string]any{"url": "https://vc2.example.com/sdk"}}
	other.SourceImageID = src[0].ID
	_, err = dc1.(drivers.ImageCopier).CopyImage(ctx, other)
	wantCode(t, "CopyImage(from another vCenter)", err, model.Unimplemented)

	cl, err := dc0.(drivers.ImageCloner).CloneImage(ctx, model.CloneImage{SourceImageID: src[0].ID, Name: "twin"})
	if err != nil {
		t.Fatal(err)
	}
	if final, err := drivertest.WaitForImage(ctx, dc0, cl.ID, 30*time.Second, 50*time.Millisecond); err != nil || final.State != model.ImageAvailable || final.Name != "twin" {
		t.Fatalf("cloned image = %+v, %v", final, err)
	}
	realms, err := dc0.(drivers.RealmLister).ListRealms(ctx)
	if err != nil || len(realms) != 2 || realms[0].ID != "DC0" || realms[1].ID != "DC1" {
		t.Errorf("realms = %+v, %v; want DC0, DC1", realms, err)
	}
}

func TestHardwareProfiles(t *testing.T) {
	ctx := context.Background()
	d := scale.connect(t, nil)
	hps, err := d.ListHardwareProfiles(ctx)
	if err != nil || len(hps) != 1 {
		t.Fatalf("profiles = %+v, %v", hps, err)
	}
	hp := hps[0]
	cpu, _ := hp.Property(model.PropCPU)
	mem, _ := hp.Property(model.PropMemory)
	arch, _ := hp.Property(model.PropArchitecture)
	cores, memMB := scale.largestHost(t)
	if hp.ID != "default" || cpu.Kind != model.Range || cpu.First != "1" || cpu.Last != strconv.Itoa(cores) ||
		mem.First != "512" || mem.Last != strconv.FormatInt(memMB, 10) || arch.Kind != model.Enum || len(arch.Values) != 2 || hp.Native["limits_from"] != "hosts" {
		t.Errorf("default profile = %+v", hp)
	}
	d = scale.connect(t, map[string]any{"profiles": []any{
		map[string]any{"id": "small", "cpu": 1, "memory": 2048, "architecture": "x86_64"},
		map[string]any{"id": "flex", "cpu": "1..8", "memory": []any{1024, 2048}, "storage": 40},
	}})
	hps, err = d.ListHardwareProfiles(ctx)
	if err != nil || len(hps) != 2 || hps[0].ID != "small" || hps[1].ID != "flex" {
		t.Fatalf("configured profiles = %+v, %v", hps, err)
	}
	if p, _ := hps[1].Property(model.PropCPU); p.Kind != model.Range || p.Last != "8" {
		t.Errorf("flex cpu = %+v", p)
	}
	if p, _ := hps[1].Property(model.PropMemory); p.Kind != model.Enum || p.Value != "1024" {
		t.Errorf("flex memory = %+v", p)
	}
	// Images name the profiles whose architecture allows theirs.
	imgs, err := d.ListImages(ctx, model.ImageQuery{})
	if err != nil {
		t.Fatal(err)
	}
	for _, img := range imgs {
		want := "[small flex]"
		if img.Architecture == "i386" {
			want = "[flex]"
		}
		if got := fmt.Sprint(img.HardwareProfiles); got != want {
			t.Errorf("image %s (%s) profiles %s, want %s", img.Name, img.Architecture, got, want)
			break
		}
	}
}

func TestOpenSettings(t *testing.T) {
	reg, _ := drivers.Lookup("vsphere")
	tests := []struct {
		name     string
		settings map[string]any
	}{
		{"no url", map[string]any{"datacenter": "DC0"}},
		{"unknown key", map[string]any{"url": "https://vc/sdk", "regoin": "x"}},
		{"not http", map[string]any{"url": "ftp://vc/sdk"}},
		{"credentials in url", map[string]any{"url": "https://u:p@vc/sdk"}},
		{"user without password", map[string]any{"url": "https://vc/sdk", "username": "u"}},
		{"insecure and thumbprint", map[string]any{"url": "https://vc/sdk", "insecure": true, "thumbprint": "AA"}},
		{"missing ca file", map[string]any{"url": "https://vc/sdk", "ca_file": "/nonexistent/ca.pem"}},
		{"negative timeout", map[string]any{"url": "https://vc/sdk", "task_timeout": "-1s"}},
		{"profile without id", map[string]any{"url": "https://vc/sdk", "profiles": []any{map[string]any{"cpu": 1}}}},
		{"profile bad range", map[string]any{"url": "https://vc/sdk", "profiles": []any{map[string]any{"id": "x", "cpu": "8..1"}}}},
		{"profile not numeric", map[string]any{"url": "https://vc/sdk", "profiles": []any{map[string]any{"id": "x", "memory": "lots"}}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := reg.Open(context.Background(), model.ProviderConfig{Name: "bad", Driver: "vsphere", Settings: tc.settings}, drivers.Env{})
			wantCode(t, "Open", err, model.InvalidArgument)
		})
	}
	p, err := reg.Open(context.Background(), model.ProviderConfig{Name: "ok", Driver: "vsphere", Settings: map[string]any{"url": "https://vc.example.com"}}, drivers.Env{})
	if err != nil {
		t.Fatalf("a url without path: %v", err)
	}
	p.Close()
}
