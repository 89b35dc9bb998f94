package vsphere_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"sort"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vmware/govmomi/find"
	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/property"
	"github.com/vmware/govmomi/session"
	"github.com/vmware/govmomi/simulator"
	"github.com/vmware/govmomi/view"
	"github.com/vmware/govmomi/vim25"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/soap"
	"github.com/vmware/govmomi/vim25/types"

	"github.com/imagegw/imagegw/drivers"
	_ "github.com/imagegw/imagegw/drivers/vsphere"
	"github.com/imagegw/imagegw/model"
)

// The simulator's credentials: it rejects any others.
const (
	simUser = "admin@vsphere.local"
	simPass = "s3cret!"
)

// Scale inventory: built once in TestMain and shared by the tests that do
// not need a fresh vCenter.
const (
	scaleVMs       = 1000
	scaleTemplates = 500
)

// scale is the 1,000-VM vCenter, built once per package in TestMain.
var scale *sim

func TestMain(m *testing.M) {
	flag.Parse()
	// Clones take a moment, so that a new image is observably PENDING;
	// LockHandoff 0 lets the property collector read while a task waits.
	simulator.TaskDelay.MethodDelay = map[string]int{"CloneVm": 300, "LockHandoff": 0}
	start := time.Now()
	var err error
	scale, err = newSim(simSpec{datacenters: 1, machines: 1, extraVMs: scaleVMs - 2, extraTemplates: scaleTemplates})
	if err != nil {
		fmt.Fprintln(os.Stderr, "building the scale inventory:", err)
		os.Exit(1)
	}
	{
		fmt.Fprintf(os.Stderr, "scale inventory (%d VMs, %d templates) built in %v\n", scaleVMs, scaleTemplates, time.Since(start).Round(time.Millisecond))
	}
	code := m.Run()
	scale.close()
	os.Exit(code)
}

// simSpec shapes a simulated vCenter: per datacenter one standalone host
// and one cluster (one host), each with machines VMs; the first templates
// VMs of each datacenter's standalone host are made templates.
type simSpec struct {
	datacenters int
	machines    int
	templates   int
	tls         bool
	// extraVMs more VMs are made in DC0 (model.Create makes VMs one after
	// the other, about 30 ms each; these are made concurrently): the first
	// extraTemplates are templates named tmpl-NNN, the others vm-NNN.
	extraVMs, extraTemplates int
}

// sim is a govmomi simulator (a real vSphere API server, in process)
// behind a loopback front that counts round trips.
type sim struct {
	model   *simulator.Model
	server  *simulator.Server
	front   *httptest.Server
	url     string // what providers are configured with
	trips   atomic.Int64
	logins  atomic.Int64
	logouts atomic.Int64
}

func newSim(spec simSpec) (*sim, error) {
	m := simulator.VPX()
	m.Datacenter = spec.datacenters
	m.Host, m.Cluster, m.ClusterHost = 1, 1, 1
	m.Machine = spec.machines
	m.Autostart = false
	if err := m.Create(); err != nil {
		return nil, err
	}
	m.Service.Listen = &url.URL{User: url.UserPassword(simUser, simPass)}
	if spec.tls {
		m.Service.TLS = new(tls.Config)
	}
	s := &sim{model: m, server: m.Service.NewServer()}
	if spec.tls {
		s.url = s.server.URL.Scheme + "://" + s.server.URL.Host + s.server.URL.Path
	} else {
		h := s.server.Config.Handler
		s.front = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			s.trips.Add(1)
			body, _ := io.ReadAll(r.Body)
			if bytes.Contains(body, []byte("<Login ")) || bytes.Contains(body, []byte(":Login>")) || bytes.Contains(body, []byte("<Login>")) {
				s.logins.Add(1)
			}
			if bytes.Contains(body, []byte("<Logout")) {
				s.logouts.Add(1)
			}
			r.Body = io.NopCloser(bytes.NewReader(body))
			h.ServeHTTP(w, r)
		}))
		s.url = s.front.URL + "/sdk"
	}
	if spec.templates > 0 {
		if err := s.makeTemplates(spec.templates); err != nil {
			s.close()
			return nil, err
		}
	}
	if spec.extraVMs > 0 {
		if err := s.addVMs(spec.extraVMs, spec.extraTemplates); err != nil {
			s.close()
			return nil, err
		}
	}
	return s, nil
}

// addVMs makes n small VMs in DC0's standalone host, the first templates of
// them templates. It starts every CreateVM task at once and waits for the
// inventory to fill up rather than for each task (model.Create makes VMs
// one at a time, waiting for each, which takes half a minute for 1,000).
func (s *sim) addVMs(n, templates int) error {
	ctx := context.Background()
	c, err := s.client(ctx)
	if err != nil {
		return err
	}
	defer session.NewManager(c).Logout(ctx)
	finder := find.NewFinder(c)
	dc, err := finder.Datacenter(ctx, "DC0")
	if err != nil {
		return err
	}
	finder.SetDatacenter(dc)
	folders, err := dc.Folders(ctx)
	if err != nil {
		return err
	}
	pool, err := finder.ResourcePool(ctx, "DC0_H0/Resources")
	if err != nil {
		return err
	}
	before, err := s.vms(ctx, c)
	if err != nil {
		return err
	}
	guests := []string{"ubuntu64Guest", "rhel7_64Guest", "windows9_64Guest", "otherGuest"}
	for i := range n {
		name := fmt.Sprintf("vm-%03d", i-templates)
		if i < templates {
			name = fmt.Sprintf("tmpl-%03d", i)
		}
		spec := types.VirtualMachineConfigSpec{
			Name: name, GuestId: guests[i%len(guests)], NumCPUs: 1 + int32(i%2), MemoryMB: 512,
			Annotation: "scale inventory " + name,
			Files:      &types.VirtualMachineFileInfo{VmPathName: "[LocalDS_0]"},
		}
		if _, err := folders.VmFolder.CreateVM(ctx, spec, pool, nil); err != nil {
			return fmt.Errorf("creating %s: %w", name, err)
		}
	}
	var all []mo.VirtualMachine
	for deadline := time.Now().Add(5 * time.Minute); ; {
		if all, err = s.vms(ctx, c); err != nil {
			return err
		}
		if len(all) >= len(before)+n {
			break
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("only %d of %d VMs were made", len(all)-len(before), n)
		}
		time.Sleep(100 * time.Millisecond)
	}
	for _, vm := range all {
		if strings.HasPrefix(vm.Name, "tmpl-") {
			if err := object.NewVirtualMachine(c, vm.Self).MarkAsTemplate(ctx); err != nil {
				return fmt.Errorf("marking %s: %w", vm.Name, err)
			}
		}
	}
	return nil
}

func (s *sim) close() {
	if s.front != nil {
		s.front.Close()
	}
	s.server.Close()
	s.model.Remove()
}

// client returns a govmomi client logged in to the simulator, for test
// setup and for checking what the driver did (its round trips are not
// counted).
func (s *sim) client(ctx context.Context) (*vim25.Client, error) {
	u := *s.server.URL
	u.User = nil
	return login(ctx, &u)
}

// frontClient is client through the counting front.
func (s *sim) frontClient(ctx context.Context) (*vim25.Client, error) {
	u, err := url.Parse(s.url)
	if err != nil {
		return nil, err
	}
	return login(ctx, u)
}

func login(ctx context.Context, u *url.URL) (*vim25.Client, error) {
	sc := soap.NewClient(u, true)
	c, err := vim25.NewClient(ctx, sc)
	if err != nil {
		return nil, err
	}
	return c, session.NewManager(c).Login(ctx, url.UserPassword(simUser, simPass))
}

// vms returns every VM of the vCenter with a few properties.
func (s *sim) vms(ctx context.Context, c *vim25.Client) ([]mo.VirtualMachine, error) {
	v, err := view.NewManager(c).CreateContainerView(ctx, c.ServiceContent.RootFolder, []string{"VirtualMachine"}, true)
	if err != nil {
		return nil, err
	}
	defer v.Destroy(ctx)
	var vms []mo.VirtualMachine
	err = v.Retrieve(ctx, []string{"VirtualMachine"}, []string{"name", "config.template", "config.instanceUuid", "runtime.powerState", "parent"}, &vms)
	sort.Slice(vms, func(i, j int) bool { return vms[i].Name < vms[j].Name })
	return vms, err
}

// makeTemplates marks the first n VMs of each datacenter's standalone host
// (DCn_H0_VMi) as templates.
func (s *sim) makeTemplates(n int) error {
	ctx := context.Background()
	c, err := s.client(ctx)
	if err != nil {
		return err
	}
	defer session.NewManager(c).Logout(ctx)
	vms, err := s.vms(ctx, c)
	if err != nil {
		return err
	}
	per := map[string]int{}
	for _, vm := range vms {
		dc, _, _ := strings.Cut(vm.Name, "_")
		if !strings.Contains(vm.Name, "_H0_VM") || per[dc] >= n {
			continue
		}
		per[dc]++
		if err := object.NewVirtualMachine(c, vm.Self).MarkAsTemplate(ctx); err != nil {
			return fmt.Errorf("marking %s: %w", vm.Name, err)
		}
	}
	return nil
}

// byName finds a VM by name.
func (s *sim) byName(t testing.TB, name string) (mo.VirtualMachine, bool) {
	t.Helper()
	ctx := context.Background()
	c, err := s.client(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer session.NewManager(c).Logout(ctx)
	vms, err := s.vms(ctx, c)
	if err != nil {
		t.Fatal(err)
	}
	for _, vm := range vms {
		if vm.Name == name {
			return vm, true
		}
	}
	return mo.VirtualMachine{}, false
}

// count returns how many VMs and templates the vCenter has.
func (s *sim) count(t testing.TB) (vms, templates int) {
	t.Helper()
	ctx := context.Background()
	c, err := s.client(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer session.NewManager(c).Logout(ctx)
	all, err := s.vms(ctx, c)
	if err != nil {
		t.Fatal(err)
	}
	for _, vm := range all {
		if vm.Config != nil && vm.Config.Template {
			templates++
		}
	}
	return len(all), templates
}

// instanceID returns the instance UUID of the VM named name.
func (s *sim) instanceID(t testing.TB, name string) string {
	t.Helper()
	vm, ok := s.byName(t, name)
	if !ok || vm.Config == nil {
		t.Fatalf("no VM %s in the simulator", name)
	}
	return strings.ToLower(vm.Config.InstanceUuid)
}

// settings returns provider settings for the simulator.
func (s *sim) settings(extra map[string]any) map[string]any {
	m := map[string]any{"url": s.url, "datacenter": "DC0"}
	for k, v := range extra {
		m[k] = v
	}
	return m
}

// open opens a provider on the simulator, closed when the test ends.
func (s *sim) open(t testing.TB, name string, extra map[string]any) drivers.Provider {
	t.Helper()
	reg, ok := drivers.Lookup("vsphere")
	if !ok {
		t.Fatal("driver vsphere is not registered")
	}
	p, err := reg.Open(context.Background(), model.ProviderConfig{Name: name, Driver: "vsphere", Settings: s.settings(extra)}, drivers.Env{})
	if err != nil {
		t.Fatalf("opening provider: %v", err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

// connect opens a provider and connects with the simulator's credentials.
func (s *sim) connect(t testing.TB, extra map[string]any) drivers.Driver {
	t.Helper()
	d, err := s.open(t, "lab", extra).Connect(context.Background(), model.Credentials{User: simUser, Password: simPass})
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	return d
}

// terminateSessions ends every session but the caller's, as an expiry or
// an administrator would.
func (s *sim) terminateSessions(t testing.TB) {
	t.Helper()
	ctx := context.Background()
	c, err := s.client(ctx)
	if err != nil {
		t.Fatal(err)
	}
	sm := session.NewManager(c)
	defer sm.Logout(ctx)
	var m mo.SessionManager
	if err := property.DefaultCollector(c).RetrieveOne(ctx, *c.ServiceContent.SessionManager, []string{"sessionList", "currentSession"}, &m); err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, us := range m.SessionList {
		if m.CurrentSession == nil || us.Key != m.CurrentSession.Key {
			keys = append(keys, us.Key)
		}
	}
	if len(keys) == 0 {
		t.Fatal("no session to terminate")
	}
	if err := sm.TerminateSession(ctx, keys); err != nil {
		t.Fatal(err)
	}
}

// powerOn powers a VM on.
func (s *sim) powerOn(t testing.TB, name string) {
	t.Helper()
	ctx := context.Background()
	c, err := s.client(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer session.NewManager(c).Logout(ctx)
	vm, ok := s.byName(t, name)
	if !ok {
		t.Fatalf("no VM %s", name)
	}
	task, err := object.NewVirtualMachine(c, vm.Self).PowerOn(ctx)
	if err == nil {
		err = task.Wait(ctx)
	}
	if err != nil {
		t.Fatalf("powering on %s: %v", name, err)
	}
}

// wantCode fails unless err has the code.
func wantCode(t testing.TB, what string, err error, want model.Code) {
	t.Helper()
	if got := model.CodeOf(err); got != want {
		t.Errorf("%s: got %v (code %v), want code %v", what, err, got, want)
	}
}

// largestHost returns the cores and memory (MB) of the host with most cores.
func (s *sim) largestHost(t testing.TB) (int, int64) {
	t.Helper()
	ctx := context.Background()
	c, err := s.client(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer session.NewManager(c).Logout(ctx)
	v, err := view.NewManager(c).CreateContainerView(ctx, c.ServiceContent.RootFolder, []string{"HostSystem"}, true)
	if err != nil {
		t.Fatal(err)
	}
	defer v.Destroy(ctx)
	var hosts []mo.HostSystem
	if err := v.Retrieve(ctx, []string{"HostSystem"}, []string{"summary.hardware"}, &hosts); err != nil {
		t.Fatal(err)
	}
	var cores int16
	var mem int64
	for _, h := range hosts {
		if hw := h.Summary.Hardware; hw.NumCpuCores > cores || (hw.NumCpuCores == cores && hw.MemorySize > mem) {
			cores, mem = hw.NumCpuCores, hw.MemorySize
		}
	}
	return int(cores), mem / (1024 * 1024)
}
