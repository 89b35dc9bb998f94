// Package ec2 is the imagegw driver for Amazon EC2 and EC2-compatible clouds
// (moto, LocalStack, Eucalyptus), on github.com/aws/aws-sdk-go-v2.
//
// A provider is one region, optionally at a custom endpoint:
//
//	providers:
//	  - {name: us-east-1, driver: ec2, region: us-east-1}
//	  - {name: moto-east, driver: ec2, region: us-east-1, endpoint: http://127.0.0.1:5000}
//
// Clients authenticate with HTTP Basic credentials ACCESS_KEY_ID:SECRET_KEY,
// Deltacloud's convention. Without them the provider's server-side keys
// (access_key_id, secret_access_key) are used, else the SDK's default
// credential chain (environment, shared files, SSO, instance role).
//
// Every SDK error is mapped once, in this package, to a model code; the AWS
// error code and request id stay in the message.
package ec2

import (
	"container/list"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"path"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ec2"

	"github.com/imagegw/imagegw/drivers"
	"github.com/imagegw/imagegw/model"
)

// DriverID is the id clients select the driver by.
const DriverID = "ec2"

// NotFoundGrace is how long after CreateImage or CopyImage the job runner
// keeps polling an image that DescribeImages does not show. EC2 is
// eventually consistent: right after those calls DescribeImages may answer
// InvalidAMIID.NotFound for the new id, normally for seconds. The driver
// no longer blocks the request to wait it out (it did, for up to 20 s).
// Two minutes is twice the gateway's default: a wide margin over that lag,
// while an image that truly failed to register still fails its job within
// minutes.
const NotFoundGrace = 2 * time.Minute

func init() {
	drivers.Register(drivers.Registration{ID: DriverID, Name: "EC2", Open: Open, NotFoundGrace: NotFoundGrace})
}

// Settings are a provider's keys in the configuration file.
type Settings struct {
	// Region is the AWS region, for example us-east-1. Required.
	Region string `yaml:"region"`
	// Endpoint is the base URL of an EC2-compatible API (moto, LocalStack);
	// empty means real AWS.
	Endpoint string `yaml:"endpoint"`
	// Owners are the owner ids or aliases ("amazon", "aws-marketplace",
	// account ids) whose images are listed besides the caller's own when the
	// client gives no owner_id filter.
	Owners []string `yaml:"owners"`
	// InstanceTypes, if set, are glob patterns ("t3.*", "m7g.large") that
	// limit the instance types offered as hardware profiles, and so the
	// profiles each image lists. Default: every type of the region.
	InstanceTypes []string `yaml:"instance_types"`
	// AccessKeyID and SecretAccessKey are server-side credentials used when a
	// client sends none. Without them the SDK's default chain is used.
	AccessKeyID     string `yaml:"access_key_id"`
	SecretAccessKey string `yaml:"secret_access_key"`
	// ProfileTTL is deprecated and ignored: the region's instance types
	// are held by the gateway's catalog and kept fresh by the provider's
	// catalog_ttl. It is still accepted so that existing configuration
	// files keep working, and a warning is logged when it is set.
	ProfileTTL time.Duration `yaml:"profile_ttl"`
	// PageSize is the DescribeImages page size (5 to 1000; default 1000).
	PageSize int `yaml:"page_size"`
	// MaxAttempts bounds the SDK's retries, throttling included (default 5).
	MaxAttempts int `yaml:"max_attempts"`
	// MaxBackoff caps the wait between two attempts (default 5s).
	MaxBackoff time.Duration `yaml:"max_backoff"`
	// Timeout bounds one HTTP attempt (default 60s).
	Timeout time.Duration `yaml:"timeout"`
	// MaxClients bounds the cache of SDK clients, one per set of
	// credentials (default 256).
	MaxClients int `yaml:"max_clients"`
	// DeleteSnapshots makes image deletion also delete the image's EBS
	// snapshots (default false, as EC2 itself does).
	DeleteSnapshots bool `yaml:"delete_snapshots"`
}

// defaults and validation of Settings.
func (s *Settings) check(name string) error {
	bad := func(format string, args ...any) error {
		return model.Errorf(model.InvalidArgument, "provider %s (driver ec2): "+format, append([]any{name}, args...)...)
	}
	if s.Region == "" {
		return bad("region is required")
	}
	if s.Endpoint != "" {
		u, err := url.Parse(s.Endpoint)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return bad("endpoint %q is not an http(s) URL", s.Endpoint)
		}
	}
	if (s.AccessKeyID == "") != (s.SecretAccessKey == "") {
		return bad("access_key_id and secret_access_key go together")
	}
	for _, o := range s.Owners {
		if o == "" {
			return bad("owners has an empty entry")
		}
	}
	for _, pat := range s.InstanceTypes {
		if _, err := path.Match(pat, ""); err != nil || pat == "" {
			return bad("instance_types: bad pattern %q", pat)
		}
	}
	if s.PageSize != 0 && (s.PageSize < 5 || s.PageSize > pageSize) {
		return bad("page_size must be 5 to 1000, not %d", s.PageSize)
	}
	switch {
	case s.ProfileTTL < 0, s.MaxBackoff < 0, s.Timeout < 0, s.MaxAttempts < 0, s.MaxClients < 0:
		return bad("profile_ttl, max_backoff, timeout, max_attempts and max_clients must not be negative")
	}
	if s.MaxAttempts == 0 {
		s.MaxAttempts = 5
	}
	if s.MaxBackoff == 0 {
		s.MaxBackoff = 5 * time.Second
	}
	if s.Timeout == 0 {
		s.Timeout = 60 * time.Second
	}
	if s.MaxClients == 0 {
		s.MaxClients = 256
	}
	return nil
}

// Provider is one configured EC2 region. It keeps one SDK client per set of
// credentials, in a bounded cache; the region's instance types are a shared
// part the gateway's catalog holds (drivers.Env.Shared).
type Provider struct {
	name     string
	settings Settings
	base     aws.Config
	log      *slog.Logger
	idle     interface{ CloseIdleConnections() } // the HTTP client, if it can

	mu      sync.Mutex
	clients map[string]*list.Element // key: hash of the credentials
	lru     *list.List               // of *clientEntry, most recent first

	// shared holds the provider-wide parts (the instance types).
	shared drivers.Shared
}

type clientEntry struct {
	key    string
	client *ec2.Client
}

// Open opens an EC2 provider from its configuration. It reads the SDK's
// shared configuration but does not call AWS.
func Open(ctx context.Context, cfg model.ProviderConfig, env drivers.Env) (drivers.Provider, error) {
	var s Settings
	if err := drivers.DecodeSettings(cfg, &s); err != nil {
		return nil, err
	}
	if err := s.check(cfg.Name); err != nil {
		return nil, err
	}
	log := env.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if s.ProfileTTL != 0 {
		log.Warn("profile_ttl is deprecated and ignored: instance types are kept fresh by the provider's catalog_ttl",
			"driver", DriverID, "provider", cfg.Name)
	}
	// A BuildableClient, so that the SDK can still add a CA bundle
	// (AWS_CA_BUNDLE); frozen below so that Close can drop its connections.
	hc := awshttp.NewBuildableClient().
		WithTimeout(s.Timeout).
		WithDialerOptions(func(d *net.Dialer) { d.Timeout = 10 * time.Second }).
		WithTransportOptions(func(tr *http.Transport) { tr.MaxIdleConnsPerHost = 32 })
	opts := []func(*config.LoadOptions) error{
		config.WithRegion(s.Region),
		config.WithHTTPClient(hc),
		// A new retryer for every SDK client, that is for every set of
		// credentials: one tenant's failures cannot spend another's retry
		// quota or slow its client-side rate.
		config.WithRetryer(func() aws.Retryer { return newRetryer(s) }),
	}
	if s.AccessKeyID != "" {
		opts = append(opts, config.WithCredentialsProvider(
			credentials.NewStaticCredentialsProvider(s.AccessKeyID, s.SecretAccessKey, "")))
	}
	base, err := config.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return nil, model.Wrap(model.InvalidArgument, err, "provider %s (driver ec2): loading AWS configuration: %v", cfg.Name, err)
	}
	var idle interface{ CloseIdleConnections() }
	if b, ok := base.HTTPClient.(*awshttp.BuildableClient); ok {
		base.HTTPClient = b.Freeze()
	}
	if wrap := testTransport(cfg.Name); wrap != nil {
		if c, ok := base.HTTPClient.(*http.Client); ok {
			cp := *c
			if cp.Transport == nil {
				cp.Transport = http.DefaultTransport
			}
			cp.Transport = wrap(cp.Transport)
			base.HTTPClient = &cp
		}
	}
	if c, ok := base.HTTPClient.(interface{ CloseIdleConnections() }); ok {
		idle = c
	}
	return &Provider{
		name:     cfg.Name,
		settings: s,
		base:     base,
		log:      log.With("driver", DriverID, "provider", cfg.Name),
		idle:     idle,
		clients:  map[string]*list.Element{},
		lru:      list.New(),
		shared:   env.SharedParts(),
	}, nil
}

// Connect returns a driver acting with creds: Basic user = access key id,
// password = secret access key. Empty creds mean the provider's server-side
// credentials. It does not call AWS.
func (p *Provider) Connect(_ context.Context, creds model.Credentials) (drivers.Driver, error) {
	if !creds.Empty() && (creds.User == "" || creds.Password == "") {
		return nil, model.Errorf(model.Unauthenticated, "ec2 needs both an access key id (user) and a secret access key (password)")
	}
	return &Driver{p: p, client: p.client(creds), anonymous: creds.Empty()}, nil
}

// client returns the cached SDK client for creds, making it if needed. The
// cache key is a hash: secrets are neither kept as map keys nor logged.
func (p *Provider) client(creds model.Credentials) *ec2.Client {
	key := credKey(creds)
	p.mu.Lock()
	defer p.mu.Unlock()
	if el, ok := p.clients[key]; ok {
		p.lru.MoveToFront(el)
		return el.Value.(*clientEntry).client
	}
	cfg := p.base.Copy()
	if !creds.Empty() {
		cfg.Credentials = aws.NewCredentialsCache(credentials.NewStaticCredentialsProvider(creds.User, creds.Password, ""))
	}
	c := p.newClient(cfg)
	p.clients[key] = p.lru.PushFront(&clientEntry{key: key, client: c})
	for p.lru.Len() > p.settings.MaxClients {
		old := p.lru.Remove(p.lru.Back()).(*clientEntry)
		delete(p.clients, old.key)
	}
	return c
}

func (p *Provider) newClient(cfg aws.Config) *ec2.Client {
	return ec2.NewFromConfig(cfg, func(o *ec2.Options) {
		if p.settings.Endpoint != "" {
			o.BaseEndpoint = aws.String(p.settings.Endpoint)
		}
	})
}

// clientFor returns a client for another region of the same endpoint with
// the credentials of c, for copies between regions.
func (p *Provider) clientFor(c *ec2.Client, region string) *ec2.Client {
	return ec2.New(c.Options(), func(o *ec2.Options) { o.Region = region })
}

func credKey(c model.Credentials) string {
	if c.Empty() {
		return "-"
	}
	h := sha256.New()
	fmt.Fprintf(h, "%d:%s:%s", len(c.User), c.User, c.Password)
	return hex.EncodeToString(h.Sum(nil))
}

// Close drops the cached clients and idle connections.
func (p *Provider) Close() error {
	p.mu.Lock()
	p.clients = map[string]*list.Element{}
	p.lru.Init()
	p.mu.Unlock()
	if p.idle != nil {
		p.idle.CloseIdleConnections()
	}
	return nil
}

// Driver is an EC2 provider bound to one set of credentials.
type Driver struct {
	p      *Provider
	client *ec2.Client
	// anonymous is true when the client sent no credentials.
	anonymous bool
}

var (
	_ drivers.Driver            = (*Driver)(nil)
	_ drivers.ImageUpdater      = (*Driver)(nil)
	_ drivers.ImageCopier       = (*Driver)(nil)
	_ drivers.ImageCloner       = (*Driver)(nil)
	_ drivers.RealmLister       = (*Driver)(nil)
	_ drivers.InstanceLister    = (*Driver)(nil)
	_ drivers.CredentialChecker = (*Driver)(nil)
	_ drivers.FeatureReporter   = (*Driver)(nil)
	_ drivers.CreateFinder      = (*Driver)(nil)
)

// Features reports that EC2 filters images by owner natively and keeps the
// name and description given at creation.
func (d *Driver) Features() model.Features {
	return model.Features{OwnerFilter: true, CreateName: true, CreateDescription: true}
}

// CheckCredentials makes one cheap call (DescribeAvailabilityZones) and
// returns nil or the mapped error (model.Unauthenticated for rejected keys).
func (d *Driver) CheckCredentials(ctx context.Context) error {
	_, err := d.client.DescribeAvailabilityZones(ctx, &ec2.DescribeAvailabilityZonesInput{})
	return mapError(err, "checking credentials")
}

// testTransports maps a provider name to a wrapper of its HTTP transport,
// set by tests only (export_test.go) to count and inspect the requests a
// provider the gateway opens sends to EC2.
var testTransports sync.Map // string -> func(http.RoundTripper) http.RoundTripper

func testTransport(name string) func(http.RoundTripper) http.RoundTripper {
	if v, ok := testTransports.Load(name); ok {
		return v.(func(http.RoundTripper) http.RoundTripper)
	}
	return nil
}
