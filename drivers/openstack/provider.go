// Package openstack is imagegw's OpenStack driver, on gophercloud v2: images
// through Glance v2, images from servers through Nova's createImage
// (microversion 2.45+), hardware profiles from flavors, realms from
// availability zones and read-only instances from servers. Authentication is
// Keystone v3, with passwords or application credentials, and the tokens are
// reused across requests and renewed on a 401.
//
// A provider is configured with
//
//	{name: RegionOne, driver: openstack, auth_url: http://127.0.0.1:5000/v3,
//	 region: RegionOne, domain: Default}
//
// or from a clouds.yaml entry (cloud: mycloud) or, with neither auth_url nor
// cloud, from the gateway's OS_* environment variables. Clients of the
// native front give HTTP Basic credentials "user+project:password"; the auth
// URL always comes from the operator's configuration.
package openstack

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/gophercloud/gophercloud/v2"
	gopenstack "github.com/gophercloud/gophercloud/v2/openstack"
	"github.com/gophercloud/gophercloud/v2/openstack/config/clouds"
	"github.com/gophercloud/gophercloud/v2/openstack/identity/v3/tokens"

	"github.com/imagegw/imagegw/drivers"
	"github.com/imagegw/imagegw/model"
)

// DriverID is the id clients select the driver by.
const DriverID = "openstack"

func init() {
	drivers.Register(drivers.Registration{ID: DriverID, Name: "OpenStack", Open: Open})
}

// Settings are the provider keys the driver understands.
type Settings struct {
	// AuthURL is Keystone's v3 endpoint, e.g. http://127.0.0.1:5000/v3.
	AuthURL string `yaml:"auth_url"`
	// Region selects endpoints in the catalog; "" takes the first.
	Region string `yaml:"region"`
	// Domain is the user's and project's domain name; default "Default".
	Domain string `yaml:"domain"`
	// Project is the project (tenant) name used when a client's Basic user
	// has no "+project" part, and for the server-side credentials.
	Project string `yaml:"project"`
	// Username and Password are server-side credentials used when a client
	// sends none.
	Username string `yaml:"username"`
	Password string `yaml:"password"`
	// ApplicationCredentialID and ApplicationCredentialSecret are server-side
	// application credentials, an alternative to Username and Password.
	ApplicationCredentialID     string `yaml:"application_credential_id"`
	ApplicationCredentialSecret string `yaml:"application_credential_secret"`
	// Cloud names an entry of clouds.yaml (found as the openstack client
	// finds it: OS_CLIENT_CONFIG_FILE, ./, ~/.config/openstack, /etc/openstack).
	Cloud string `yaml:"cloud"`
	// Interface is the catalog interface: public (default), internal or admin.
	Interface string `yaml:"interface"`
	// Timeout bounds each HTTP request to the cloud; default 60s.
	Timeout string `yaml:"timeout"`
	// PageSize is how many images one Glance list request asks for (1 to
	// 1000, Glance's default api_limit_max; default 1000).
	PageSize int `yaml:"page_size"`
}

// Provider is one configured OpenStack cloud and region. It keeps one
// authenticated client per set of credentials, so tokens are reused across
// requests.
type Provider struct {
	name     string
	base     gophercloud.AuthOptions // server-side credentials and the auth URL
	hasCreds bool                    // base holds usable server-side credentials
	eo       gophercloud.EndpointOpts
	httpc    http.Client
	tr       *http.Transport

	pageSize int

	mu       sync.Mutex
	sessions map[[32]byte]*session
}

// maxSessions bounds the per-credential client cache.
const maxSessions = 256

// Open opens a provider from its configuration. It does not call the cloud.
func Open(_ context.Context, cfg model.ProviderConfig, _ drivers.Env) (drivers.Provider, error) {
	var s Settings
	if err := drivers.DecodeSettings(cfg, &s); err != nil {
		return nil, err
	}
	return newProvider(cfg.Name, s)
}

func bad(name, format string, args ...any) error {
	return model.Errorf(model.InvalidArgument, "provider %s (driver openstack): %s", name, fmt.Sprintf(format, args...))
}

func newProvider(name string, s Settings) (*Provider, error) {
	timeout := 60 * time.Second
	if s.Timeout != "" {
		d, err := time.ParseDuration(s.Timeout)
		if err != nil || d <= 0 {
			return nil, bad(name, "timeout %q is not a positive duration like 30s", s.Timeout)
		}
		timeout = d
	}
	if s.PageSize < 0 || s.PageSize > 1000 {
		return nil, bad(name, "page_size must be 1 to 1000, not %d", s.PageSize)
	}
	if s.PageSize == 0 {
		s.PageSize = 1000
	}
	switch s.Interface {
	case "", "public", "internal", "admin":
	default:
		return nil, bad(name, "interface %q must be public, internal or admin", s.Interface)
	}
	if (s.Username == "") != (s.Password == "") {
		return nil, bad(name, "username and password go together")
	}
	if (s.ApplicationCredentialID == "") != (s.ApplicationCredentialSecret == "") {
		return nil, bad(name, "application_credential_id and application_credential_secret go together")
	}
	if s.Username != "" && s.ApplicationCredentialID != "" {
		return nil, bad(name, "give either username/password or an application credential, not both")
	}

	var (
		ao        gophercloud.AuthOptions
		tlsConfig *tls.Config
		eo        = gophercloud.EndpointOpts{Region: s.Region, Availability: availability(s.Interface)}
	)
	switch {
	case s.Cloud != "":
		if s.AuthURL != "" || s.Username != "" || s.ApplicationCredentialID != "" {
			return nil, bad(name, "cloud %q comes from clouds.yaml: do not also set auth_url or credentials", s.Cloud)
		}
		opts := []clouds.ParseOption{clouds.WithCloudName(s.Cloud)}
		if s.Region != "" {
			opts = append(opts, clouds.WithRegion(s.Region))
		}
		if s.Interface != "" {
			opts = append(opts, clouds.WithEndpointType(s.Interface))
		}
		var err error
		ao, eo, tlsConfig, err = clouds.Parse(opts...)
		if err != nil {
			return nil, bad(name, "clouds.yaml: %v", err)
		}
	case s.AuthURL != "":
		u, err := url.Parse(s.AuthURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, bad(name, "auth_url %q is not an http(s) URL", s.AuthURL)
		}
		ao = gophercloud.AuthOptions{
			IdentityEndpoint:            s.AuthURL,
			Username:                    s.Username,
			Password:                    s.Password,
			ApplicationCredentialID:     s.ApplicationCredentialID,
			ApplicationCredentialSecret: s.ApplicationCredentialSecret,
		}
		if s.ApplicationCredentialID == "" {
			// Application credentials carry their own scope.
			ao.DomainName = domainOr(s.Domain)
			ao.TenantName = s.Project
		}
	default:
		if os.Getenv("OS_AUTH_URL") == "" {
			return nil, bad(name, "needs auth_url, cloud (a clouds.yaml entry), or OS_AUTH_URL in the gateway's environment")
		}
		if s.Username != "" || s.ApplicationCredentialID != "" {
			return nil, bad(name, "credentials without auth_url: set auth_url too")
		}
		var err error
		ao, err = gopenstack.AuthOptionsFromEnv()
		if err != nil {
			// Only the auth URL is required: clients may bring their own credentials.
			ao = gophercloud.AuthOptions{IdentityEndpoint: os.Getenv("OS_AUTH_URL"), DomainName: os.Getenv("OS_USER_DOMAIN_NAME")}
		}
		if eo.Region == "" {
			eo.Region = os.Getenv("OS_REGION_NAME")
		}
		if s.Interface == "" && os.Getenv("OS_INTERFACE") != "" {
			eo.Availability = availability(strings.TrimSuffix(os.Getenv("OS_INTERFACE"), "URL"))
		}
		if ao.DomainName == "" && ao.DomainID == "" {
			ao.DomainName = firstNonEmpty(os.Getenv("OS_USER_DOMAIN_NAME"), os.Getenv("OS_PROJECT_DOMAIN_NAME"), domainOr(s.Domain))
		}
		if ao.TenantName == "" && ao.TenantID == "" {
			ao.TenantName = s.Project
		}
	}
	if ao.IdentityEndpoint == "" {
		return nil, bad(name, "no auth URL")
	}
	ao.AllowReauth = true
	hasCreds := (ao.Username != "" || ao.UserID != "") && ao.Password != "" || ao.ApplicationCredentialID != "" || ao.ApplicationCredentialName != ""

	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = 32
	if tlsConfig != nil {
		tr.TLSClientConfig = tlsConfig
	}
	return &Provider{
		name:     name,
		base:     ao,
		hasCreds: hasCreds,
		eo:       eo,
		httpc:    http.Client{Transport: tr, Timeout: timeout},
		tr:       tr,
		sessions: map[[32]byte]*session{},
		pageSize: s.PageSize,
	}, nil
}

func availability(iface string) gophercloud.Availability {
	switch iface {
	case "internal":
		return gophercloud.AvailabilityInternal
	case "admin":
		return gophercloud.AvailabilityAdmin
	}
	return gophercloud.AvailabilityPublic
}

func domainOr(d string) string {
	if d == "" {
		return "Default"
	}
	return d
}

func firstNonEmpty(ss ...string) string {
	for _, s := range ss {
		if s != "" {
			return s
		}
	}
	return ""
}

// Connect returns a driver acting with creds: Basic "user+project" and
// password, or the provider's server-side credentials when creds are empty.
// It does not call the cloud; the first call authenticates.
func (p *Provider) Connect(_ context.Context, creds model.Credentials) (drivers.Driver, error) {
	ao := p.base
	if !creds.Empty() {
		user, project, _ := strings.Cut(creds.User, "+")
		if user == "" || creds.Password == "" {
			return &Driver{err: model.Errorf(model.Unauthenticated, "OpenStack credentials are user+project:password")}, nil
		}
		if project == "" {
			project = p.base.TenantName
		}
		domain := p.base.DomainName
		if domain == "" && p.base.DomainID == "" {
			domain = "Default"
		}
		ao = gophercloud.AuthOptions{
			IdentityEndpoint: p.base.IdentityEndpoint,
			Username:         user,
			Password:         creds.Password,
			DomainName:       domain,
			DomainID:         p.base.DomainID,
			TenantName:       project,
			AllowReauth:      true,
		}
		if project == "" {
			ao.TenantID = p.base.TenantID
		}
	} else if !p.hasCreds {
		return &Driver{err: model.Errorf(model.Unauthenticated, "provider %s needs credentials: HTTP Basic user+project:password", p.name)}, nil
	}
	return &Driver{sess: p.session(ao)}, nil
}

// session returns the cached session for ao, making one if needed.
func (p *Provider) session(ao gophercloud.AuthOptions) *session {
	key := sha256.Sum256([]byte(strings.Join([]string{
		ao.IdentityEndpoint, ao.Username, ao.UserID, ao.Password, ao.DomainName, ao.DomainID,
		ao.TenantName, ao.TenantID, ao.ApplicationCredentialID, ao.ApplicationCredentialName,
		ao.ApplicationCredentialSecret,
	}, "\x00")))
	p.mu.Lock()
	defer p.mu.Unlock()
	if s, ok := p.sessions[key]; ok {
		return s
	}
	if len(p.sessions) >= maxSessions {
		for k := range p.sessions { // drop one at random
			delete(p.sessions, k)
			break
		}
	}
	s := &session{ao: ao, eo: p.eo, httpc: p.httpc, pageSize: p.pageSize, drop: func() { p.forget(key) }}
	p.sessions[key] = s
	return s
}

func (p *Provider) forget(key [32]byte) {
	p.mu.Lock()
	delete(p.sessions, key)
	p.mu.Unlock()
}

// Close forgets the cached tokens and closes idle connections.
func (p *Provider) Close() error {
	p.mu.Lock()
	p.sessions = map[[32]byte]*session{}
	p.mu.Unlock()
	p.tr.CloseIdleConnections()
	return nil
}

// projectOf returns the id of the project the client's token is scoped to,
// or "" when it cannot tell.
func projectOf(pc *gophercloud.ProviderClient) string {
	var p *tokens.Project
	var err error
	switch r := pc.GetAuthResult().(type) {
	case tokens.CreateResult:
		p, err = r.ExtractProject()
	case *tokens.CreateResult:
		p, err = r.ExtractProject()
	}
	if err != nil || p == nil {
		return ""
	}
	return p.ID
}

// session is one authenticated set of clients, made on first use.
type session struct {
	ao       gophercloud.AuthOptions
	eo       gophercloud.EndpointOpts
	httpc    http.Client
	pageSize int
	drop     func()

	mu      sync.Mutex
	clients *clients
}

// clients are the service clients of one session.
type clients struct {
	provider *gophercloud.ProviderClient
	image    *gophercloud.ServiceClient
	compute  *gophercloud.ServiceClient // microversion 2.46: createImage returns the image id
	flavors  *gophercloud.ServiceClient // microversion 2.61: flavors carry extra_specs
	project  string                     // the token's project id
}

// Microversions the driver asks Nova for.
const (
	computeMicroversion = "2.46"
	flavorMicroversion  = "2.61"
)

func (s *session) get(ctx context.Context) (*clients, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.clients != nil {
		return s.clients, nil
	}
	pc, err := gopenstack.NewClient(s.ao.IdentityEndpoint)
	if err != nil {
		return nil, model.Wrap(model.InvalidArgument, err, "bad auth URL")
	}
	pc.HTTPClient = s.httpc
	pc.UserAgent.Prepend("imagegw")
	if err := gopenstack.Authenticate(ctx, pc, s.ao); err != nil {
		s.drop() // do not keep rejected credentials around
		return nil, mapError(err, "authenticating with Keystone")
	}
	c := &clients{provider: pc}
	if c.image, err = gopenstack.NewImageV2(pc, s.eo); err != nil {
		return nil, mapError(err, "finding the image service")
	}
	if c.compute, err = gopenstack.NewComputeV2(pc, s.eo); err != nil {
		return nil, mapError(err, "finding the compute service")
	}
	c.compute.Microversion = computeMicroversion
	fl := *c.compute
	fl.Microversion = flavorMicroversion
	c.flavors = &fl
	c.project = projectOf(pc)
	s.clients = c
	return c, nil
}
