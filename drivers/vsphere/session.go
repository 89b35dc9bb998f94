package vsphere

import (
	"context"
	"net/url"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/vmware/govmomi/fault"
	"github.com/vmware/govmomi/property"
	vsession "github.com/vmware/govmomi/session"
	"github.com/vmware/govmomi/session/keepalive"
	"github.com/vmware/govmomi/view"
	"github.com/vmware/govmomi/vim25"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/soap"
	"github.com/vmware/govmomi/vim25/types"

	"github.com/imagegw/imagegw/model"
)

// session is one vCenter login for one set of credentials. It logs in on
// first use, keeps itself alive while idle, and logs in again when vCenter
// says the session is gone.
type session struct {
	p          *provider
	user, pass string
	lastUsed   time.Time // guarded by p.mu

	mu sync.Mutex
	st *state // nil until logged in, and after the session was lost
}

// state is what one login knows: the client and the inventory objects
// resolved once per login. Container views belong to the login that made
// them, so a new login makes a new state.
type state struct {
	c         *vim25.Client
	keepalive *keepalive.HandlerSOAP
	dc        datacenter   // the provider's datacenter
	dcs       []datacenter // every datacenter, for realms
	vmView    *view.ContainerView
	hostView  *view.ContainerView
}

// datacenter is the little the driver needs to know about one.
type datacenter struct {
	ref        types.ManagedObjectReference
	name       string
	vmFolder   types.ManagedObjectReference
	hostFolder types.ManagedObjectReference
}

func newSession(p *provider, user, pass string) *session {
	return &session{p: p, user: user, pass: pass}
}

// do runs fn with a logged-in state. If vCenter answers NotAuthenticated
// (the session expired or was terminated), it logs in again and runs fn
// once more. Errors come back mapped to model codes.
func (s *session) do(ctx context.Context, fn func(ctx context.Context, st *state) error) error {
	st, err := s.login(ctx)
	if err != nil {
		return mapErr(err)
	}
	err = fn(ctx, st)
	if st.lost(err) {
		s.p.log.InfoContext(ctx, "vsphere: session lost, logging in again", "provider", s.p.name, "user", s.user, "cause", err)
		s.forget(st)
		if st, err = s.login(ctx); err != nil {
			return mapErr(err)
		}
		err = fn(ctx, st)
	}
	return mapErr(err)
}

// login returns the current state, logging in if there is none.
func (s *session) login(ctx context.Context) (*state, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.st != nil {
		return s.st, nil
	}
	st, err := s.newState(ctx)
	if err != nil {
		return nil, err
	}
	s.st = st
	return st, nil
}

// forget drops st if it is still the current state, so the next call logs
// in again. Its keep-alive stops.
func (s *session) forget(st *state) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.st == st {
		s.st = nil
		st.keepalive.Stop()
	}
}

func (s *session) newState(ctx context.Context) (*state, error) {
	set := s.p.settings
	u := *s.p.url
	sc := soap.NewClient(&u, set.Insecure)
	if set.CAFile != "" {
		if err := sc.SetRootCAs(set.CAFile); err != nil {
			return nil, model.Wrap(model.InvalidArgument, err, "provider %s: ca_file", s.p.name)
		}
	}
	if set.Thumbprint != "" {
		sc.SetThumbprint(u.Host, strings.ToUpper(strings.TrimSpace(set.Thumbprint)))
	}
	c, err := vim25.NewClient(ctx, sc)
	if err != nil {
		return nil, err
	}
	ka := keepalive.NewHandlerSOAP(c.RoundTripper, keepAliveInterval, nil)
	c.RoundTripper = ka
	if err := vsession.NewManager(c).Login(ctx, url.UserPassword(s.user, s.pass)); err != nil {
		return nil, err
	}
	st := &state{c: c, keepalive: ka}
	if err := st.resolve(ctx, s.p.settings.Datacenter); err != nil {
		_ = vsession.NewManager(c).Logout(ctx)
		ka.Stop()
		return nil, err
	}
	return st, nil
}

// resolve finds the datacenters (one retrieval), picks the provider's, and
// makes the container views the driver reads through.
func (st *state) resolve(ctx context.Context, want string) error {
	m := view.NewManager(st.c)
	dcView, err := m.CreateContainerView(ctx, st.c.ServiceContent.RootFolder, []string{"Datacenter"}, true)
	if err != nil {
		return err
	}
	var dcs []mo.Datacenter
	err = dcView.Retrieve(ctx, []string{"Datacenter"}, []string{"name", "vmFolder", "hostFolder"}, &dcs)
	_ = dcView.Destroy(ctx)
	if err != nil {
		return err
	}
	names := make([]string, 0, len(dcs))
	for _, d := range dcs {
		dc := datacenter{ref: d.Self, name: d.Name, vmFolder: d.VmFolder, hostFolder: d.HostFolder}
		st.dcs = append(st.dcs, dc)
		names = append(names, d.Name)
		if d.Name == want || (want == "" && len(dcs) == 1) {
			st.dc = dc
		}
	}
	sort.Slice(st.dcs, func(i, j int) bool { return st.dcs[i].name < st.dcs[j].name })
	sort.Strings(names)
	if st.dc.name == "" {
		if want == "" {
			return model.Errorf(model.Unavailable, "vCenter has %d datacenters (%s): set the provider's datacenter", len(dcs), strings.Join(names, ", "))
		}
		return model.Errorf(model.Unavailable, "vCenter has no datacenter %q (it has: %s)", want, strings.Join(names, ", "))
	}
	if st.vmView, err = m.CreateContainerView(ctx, st.dc.vmFolder, []string{"VirtualMachine"}, true); err != nil {
		return err
	}
	st.hostView, err = m.CreateContainerView(ctx, st.dc.hostFolder, []string{"HostSystem"}, true)
	return err
}

// lost reports whether err says the login behind st is gone: vCenter
// answers NotAuthenticated, or no longer knows one of the login's container
// views (they die with their session).
func (st *state) lost(err error) bool {
	if err == nil || !isFault(err) {
		return false
	}
	if fault.Is(err, &types.NotAuthenticated{}) {
		return true
	}
	var nf *types.ManagedObjectNotFound
	if _, ok := fault.As(err, &nf); ok && nf != nil {
		return nf.Obj == st.vmView.Reference() || nf.Obj == st.hostView.Reference()
	}
	return false
}

// datacenter returns the datacenter named name.
func (st *state) datacenter(name string) (datacenter, bool) {
	for _, d := range st.dcs {
		if d.name == name {
			return d, true
		}
	}
	return datacenter{}, false
}

// collector is the session's property collector.
func (st *state) collector() *property.Collector { return property.DefaultCollector(st.c) }

// close logs the session out.
func (s *session) close() {
	s.mu.Lock()
	st := s.st
	s.st = nil
	s.mu.Unlock()
	if st == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_ = vsession.NewManager(st.c).Logout(ctx) // also stops the keep-alive
	st.keepalive.Stop()
}
