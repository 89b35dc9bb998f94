// Package vsphere is imagegw's driver for VMware vSphere (vCenter), built on
// govmomi.
//
// Images are VM templates, read with one PropertyCollector retrieval over a
// container view; an image is made from a VM by cloning it to a template
// (CloneVM_Task) or, with the mark_as_template option, by marking a
// powered-off VM as a template. Image and instance ids are the VMs' instance
// UUIDs (config.instanceUuid): unlike a managed object id, an instance UUID
// can be chosen before the clone task has made the VM, so CreateImage can
// return the new image's id at once while the task runs.
//
// A provider keeps one vSphere session per set of credentials, kept alive
// while idle and logged in again when vCenter answers NotAuthenticated.
package vsphere

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/imagegw/imagegw/drivers"
	"github.com/imagegw/imagegw/model"
)

// DriverID is the id clients select the driver by.
const DriverID = "vsphere"

func init() {
	drivers.Register(drivers.Registration{ID: DriverID, Name: "vSphere", Open: Open})
}

// Settings are a vsphere provider's keys in the configuration file:
//
//	providers:
//	  - name: lab
//	    driver: vsphere
//	    url: https://vc.example.com/sdk       # required
//	    datacenter: DC0                       # optional when vCenter has one
//	    username: svc-imagegw@vsphere.local   # optional server-side credentials
//	    password: secret
//	    ca_file: /etc/imagegw/vc-ca.pem       # or thumbprint, or insecure: true
//	    task_timeout: 2m
//	    profiles: [{id: small, cpu: 1, memory: 2048, architecture: x86_64}]
type Settings struct {
	URL        string `yaml:"url"`
	Datacenter string `yaml:"datacenter"`
	Username   string `yaml:"username"`
	Password   string `yaml:"password"`
	// Insecure turns TLS verification off; for labs only.
	Insecure bool `yaml:"insecure"`
	// CAFile is a PEM file of CA certificates vCenter's certificate must
	// chain to, instead of the system pool.
	CAFile string `yaml:"ca_file"`
	// Thumbprint is vCenter's certificate SHA-1 (or SHA-256) thumbprint
	// in hex with colons, pinned instead of checking the chain.
	Thumbprint string `yaml:"thumbprint"`
	// Profiles override the default hardware profile.
	Profiles []ProfileConfig `yaml:"profiles"`
	// TaskTimeout bounds the wait for tasks a request waits for (delete,
	// update, mark as template); default 2 minutes.
	TaskTimeout time.Duration `yaml:"task_timeout"`
}

const (
	defaultTaskTimeout = 2 * time.Minute
	keepAliveInterval  = 5 * time.Minute
	// sessionIdle is how long a session no request used is kept (alive)
	// before it is logged out, so that every user who ever called does not
	// hold a vCenter session for the gateway's lifetime.
	sessionIdle = time.Hour
)

// provider is one configured vSphere endpoint and datacenter.
type provider struct {
	name     string
	settings Settings
	url      *url.URL
	profiles []model.HardwareProfile // from the configuration, or nil
	pending  pendingStore
	log      *slog.Logger

	mu        sync.Mutex
	sessions  map[string]*session // by user and password hash
	closed    bool
	idle      time.Duration // sessionIdle; shorter in tests
	lastSweep time.Time
}

// Open opens a vsphere provider from its configuration.
func Open(ctx context.Context, cfg model.ProviderConfig, env drivers.Env) (drivers.Provider, error) {
	s, err := decodeSettings(cfg)
	if err != nil {
		return nil, err
	}
	u, _ := url.Parse(s.URL) // checked in decodeSettings
	p := &provider{
		name:     cfg.Name,
		settings: s,
		url:      u,
		sessions: map[string]*session{},
		idle:     sessionIdle,
		log:      env.Logger,
	}
	if p.log == nil {
		p.log = slog.New(slog.DiscardHandler)
	}
	if len(s.Profiles) > 0 {
		if p.profiles, err = buildProfiles(s.Profiles); err != nil {
			return nil, model.Errorf(model.InvalidArgument, "provider %s (driver vsphere): %v", cfg.Name, err)
		}
	}
	if env.Store != nil {
		p.pending = storePending{st: env.Store, prefix: cfg.Name + "/"}
	} else {
		p.pending = newMemPending()
	}
	return p, nil
}

func decodeSettings(cfg model.ProviderConfig) (Settings, error) {
	var s Settings
	if err := drivers.DecodeSettings(cfg, &s); err != nil {
		return s, err
	}
	bad := func(format string, args ...any) (Settings, error) {
		return s, model.Errorf(model.InvalidArgument, "provider %s (driver vsphere): "+format, append([]any{cfg.Name}, args...)...)
	}
	if s.URL == "" {
		return bad("url is required (for example https://vcenter.example.com/sdk)")
	}
	u, err := url.Parse(s.URL)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return bad("url %q is not an http(s) URL", s.URL)
	}
	if u.User != nil {
		return bad("url must not carry credentials; use username and password")
	}
	if u.Path == "" || u.Path == "/" {
		u.Path = "/sdk"
		s.URL = u.String()
	}
	if (s.Username == "") != (s.Password == "") {
		return bad("username and password go together")
	}
	if s.Insecure && (s.CAFile != "" || s.Thumbprint != "") {
		return bad("insecure cannot be combined with ca_file or thumbprint")
	}
	if s.CAFile != "" {
		if _, err := os.Stat(s.CAFile); err != nil {
			return bad("ca_file: %v", err)
		}
	}
	if s.TaskTimeout < 0 {
		return bad("task_timeout must be positive")
	}
	if s.TaskTimeout == 0 {
		s.TaskTimeout = defaultTaskTimeout
	}
	return s, nil
}

// Connect returns a driver acting with creds, or with the provider's
// server-side credentials when creds are empty. It does not call vCenter:
// the session logs in on first use.
func (p *provider) Connect(_ context.Context, creds model.Credentials) (drivers.Driver, error) {
	user, pass := creds.User, creds.Password
	if creds.Empty() {
		user, pass = p.settings.Username, p.settings.Password
	}
	if user == "" && pass == "" {
		return &driver{p: p}, nil // every cloud call answers Unauthenticated
	}
	s, err := p.session(user, pass)
	if err != nil {
		return nil, err
	}
	return &driver{p: p, s: s}, nil
}

// session returns the provider's session for the credentials, making it.
func (p *provider) session(user, pass string) (*session, error) {
	sum := sha256.Sum256([]byte(pass))
	key := user + "\x00" + hex.EncodeToString(sum[:])
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return nil, model.Errorf(model.Unavailable, "vsphere provider %s is closed", p.name)
	}
	now := time.Now()
	p.sweep(now)
	s, ok := p.sessions[key]
	if !ok {
		s = newSession(p, user, pass)
		p.sessions[key] = s
	}
	s.lastUsed = now
	return s, nil
}

// sweep logs out sessions no request has used for p.idle, at most once a
// minute (or once per idle period, if shorter). The caller holds p.mu; a
// session handed to a request was used just now, so it is never swept
// under that request.
func (p *provider) sweep(now time.Time) {
	if now.Sub(p.lastSweep) < min(time.Minute, p.idle) {
		return
	}
	p.lastSweep = now
	for k, s := range p.sessions {
		if now.Sub(s.lastUsed) > p.idle {
			p.log.Info("vsphere: logging out an idle session", "provider", p.name, "user", s.user)
			delete(p.sessions, k)
			go s.close()
		}
	}
}

// Close logs every session out.
func (p *provider) Close() error {
	p.mu.Lock()
	sessions := p.sessions
	p.sessions = map[string]*session{}
	p.closed = true
	p.mu.Unlock()
	for _, s := range sessions {
		s.close()
	}
	return nil
}

// sameEndpoint reports whether another provider's settings name the same
// vCenter as p.
func (p *provider) sameEndpoint(other Settings) bool {
	u, err := url.Parse(other.URL)
	return err == nil && strings.EqualFold(u.Host, p.url.Host) && u.Path == p.url.Path
}

func (p *provider) String() string { return fmt.Sprintf("vsphere provider %s", p.name) }
