// Package triton is the imagegw driver for Triton clouds (Triton DataCenter
// and the public and private clouds that run it), on CloudAPI through
// github.com/joyent/triton-go.
//
// A provider is one datacenter's CloudAPI endpoint:
//
//	providers:
//	  - name: us-east-1
//	    driver: triton
//	    url: https://us-east-1.api.example.com
//	    account: ops                      # server-side identity (optional)
//	    key_id: "MD5:aa:bb:..."           # with key_file, or an SSH agent
//	    key_file: /etc/imagegw/ops.pem
//	    keys:                             # keys clients may name (optional)
//	      - {account: alice, name: 3d1f0c..., key_file: /etc/imagegw/alice.pem}
//
// Clients authenticate with HTTP Basic credentials ACCOUNT:KEYNAME: the user
// is a Triton account and the password names one of the keys the operator
// registered for that account under keys; the gateway signs the CloudAPI
// requests with that key. Without credentials the provider's server-side
// account and key are used, if it has them.
//
// Every CloudAPI error is mapped once, in errors.go, to a model code; the
// CloudAPI code and request id stay in the message.
package triton

import (
	"context"
	"crypto/subtle"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/joyent/triton-go/authentication"
	"github.com/joyent/triton-go/client"

	"github.com/imagegw/imagegw/drivers"
	"github.com/imagegw/imagegw/model"
)

// DriverID is the id clients select the driver by.
const DriverID = "triton"

func init() {
	drivers.Register(drivers.Registration{ID: DriverID, Name: "Triton", Open: Open})
}

// Settings are a provider's keys in the configuration file.
type Settings struct {
	// URL is the CloudAPI endpoint, for example
	// https://us-east-1.api.example.com. Default: $TRITON_URL (or
	// $SDC_URL). Required.
	URL string `yaml:"url"`
	// Account is the Triton account used for requests without
	// credentials. Default: $TRITON_ACCOUNT (or $SDC_ACCOUNT).
	Account string `yaml:"account"`
	// KeyID is the fingerprint of the account's key: "MD5:aa:bb:..",
	// "aa:bb:.." or "SHA256:...". Default, without KeyFile: $TRITON_KEY_ID
	// (or $SDC_KEY_ID).
	KeyID string `yaml:"key_id"`
	// KeyFile is the private key (PEM or OpenSSH format, unencrypted) that
	// signs for Account. Without it the key is taken from the SSH agent.
	KeyFile string `yaml:"key_file"`
	// SSHAgentSocket is the SSH agent's socket, used when KeyFile is empty.
	// Default: $SSH_AUTH_SOCK.
	SSHAgentSocket string `yaml:"ssh_agent_socket"`
	// InsecureSkipTLSVerify turns off TLS certificate checks, for test
	// endpoints only.
	InsecureSkipTLSVerify bool `yaml:"insecure_skip_tls_verify"`
	// Datacenter is this endpoint's datacenter name, as ListDatacenters
	// names it; used as the source of copies into other providers. Default:
	// found by matching URL in the destination's datacenter list.
	Datacenter string `yaml:"datacenter"`
	// Keys are the keys clients may name in their Basic password.
	Keys []KeySettings `yaml:"keys"`
	// Timeout bounds one HTTP request to CloudAPI (default 60s).
	Timeout time.Duration `yaml:"timeout"`
}

// KeySettings is one key a client may name: Basic user Account, password
// Name.
type KeySettings struct {
	// Account is the Triton account the key belongs to (the Basic user).
	Account string `yaml:"account"`
	// Name is what the Basic password must be. It is a shared secret
	// between the operator and the client: make it long and random.
	Name string `yaml:"name"`
	// KeyID, KeyFile and SSHAgentSocket are as in Settings; KeyID is
	// required with the agent and checked against KeyFile when given.
	KeyID          string `yaml:"key_id"`
	KeyFile        string `yaml:"key_file"`
	SSHAgentSocket string `yaml:"ssh_agent_socket"`
}

// tritonEnv reads TRITON_<name>, else SDC_<name>, as the triton CLI does.
func tritonEnv(name string) string {
	if v, ok := os.LookupEnv("TRITON_" + name); ok {
		return v
	}
	return os.Getenv("SDC_" + name)
}

// check applies the environment defaults and validates s.
func (s *Settings) check(name string) error {
	bad := func(format string, args ...any) error {
		return model.Errorf(model.InvalidArgument, "provider %s (driver triton): "+format, append([]any{name}, args...)...)
	}
	if s.URL == "" {
		s.URL = tritonEnv("URL")
	}
	if s.Account == "" {
		s.Account = tritonEnv("ACCOUNT")
	}
	if s.KeyID == "" && s.KeyFile == "" && s.Account != "" {
		// only for the agent: a key file names its own key, and
		// TRITON_KEY_ID may be the operator's own key for the CLI
		s.KeyID = tritonEnv("KEY_ID")
	}
	if s.URL == "" {
		return bad("url is required (or set TRITON_URL)")
	}
	u, err := url.Parse(s.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return bad("url %q is not an http(s) URL", s.URL)
	}
	s.URL = strings.TrimRight(s.URL, "/")
	if s.Account == "" && (s.KeyID != "" || s.KeyFile != "") {
		return bad("key_id and key_file need an account")
	}
	if s.Account != "" && s.KeyID == "" && s.KeyFile == "" {
		return bad("account %s needs key_id (with key_file or an SSH agent) or key_file", s.Account)
	}
	if s.Timeout < 0 {
		return bad("timeout must not be negative")
	}
	if s.Timeout == 0 {
		s.Timeout = 60 * time.Second
	}
	seen := map[string]bool{}
	for i, k := range s.Keys {
		switch {
		case k.Account == "" || k.Name == "":
			return bad("keys[%d]: account and name are required", i)
		case k.KeyID == "" && k.KeyFile == "":
			return bad("keys[%d] (account %s): key_id (with key_file or an SSH agent) or key_file is required", i, k.Account)
		case seen[k.Account+"\x00"+k.Name]:
			return bad("keys[%d]: account %s has two keys with the same name", i, k.Account)
		}
		seen[k.Account+"\x00"+k.Name] = true
	}
	return nil
}

// Provider is one configured CloudAPI endpoint with its signers.
type Provider struct {
	name     string
	settings Settings
	base     url.URL
	hc       *http.Client // shared by every call, with the recording transport
	log      *slog.Logger
	server   *keySigner   // nil without server-side credentials
	keys     []*keySigner // clients' keys, in configuration order
}

// Open opens a Triton provider from its configuration. It reads the key
// files (and fails on a key that does not match its key_id) but does not
// call CloudAPI or the SSH agent.
func Open(_ context.Context, cfg model.ProviderConfig, env drivers.Env) (drivers.Provider, error) {
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
	u, _ := url.Parse(s.URL)
	p := &Provider{name: cfg.Name, settings: s, base: *u, log: log.With("driver", DriverID, "provider", cfg.Name)}
	bad := func(err error) error {
		return model.Wrap(model.InvalidArgument, err, "provider %s (driver triton): %v", cfg.Name, err)
	}
	if s.Account != "" {
		ks, err := newKeySigner(s.Account, "", s.KeyID, s.KeyFile, s.SSHAgentSocket)
		if err != nil {
			return nil, bad(err)
		}
		p.server = ks
	}
	for i, k := range s.Keys {
		ks, err := newKeySigner(k.Account, k.Name, k.KeyID, k.KeyFile, k.SSHAgentSocket)
		if err != nil {
			return nil, bad(wrapf(err, "keys[%d]", i))
		}
		p.keys = append(p.keys, ks)
	}
	tr := &http.Transport{
		Proxy:               http.ProxyFromEnvironment,
		DialContext:         (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		TLSHandshakeTimeout: 10 * time.Second,
		MaxIdleConnsPerHost: 32,
		IdleConnTimeout:     90 * time.Second,
	}
	if s.InsecureSkipTLSVerify {
		tr.TLSClientConfig = insecureTLS()
	}
	p.hc = &http.Client{
		Transport: recordingTransport{base: tr},
		Timeout:   s.Timeout,
		// CloudAPI answers GetDatacenter with a redirect the driver reads
		// itself, as triton-go does.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	return p, nil
}

// Connect returns a driver acting with creds: Basic user = Triton account,
// password = the name of a key registered for it under keys. Empty creds
// mean the provider's server-side account. It does not call CloudAPI;
// unknown credentials make every call model.Unauthenticated.
func (p *Provider) Connect(_ context.Context, creds model.Credentials) (drivers.Driver, error) {
	if creds.Empty() {
		if p.server == nil {
			return &Driver{p: p, noKey: "triton: send Basic ACCOUNT:KEYNAME (a key registered for the account in the provider's keys); provider " + p.name + " has no server-side account"}, nil
		}
		return &Driver{p: p, key: p.server}, nil
	}
	if ks := p.lookup(creds); ks != nil {
		return &Driver{p: p, key: ks}, nil
	}
	return &Driver{p: p, noKey: "triton: no key of that name is registered for account " + creds.User + " in provider " + p.name}, nil
}

// lookup finds the key creds name, comparing names in constant time.
func (p *Provider) lookup(creds model.Credentials) *keySigner {
	var found *keySigner
	for _, ks := range p.keys {
		if ks.account == creds.User && subtle.ConstantTimeCompare([]byte(ks.name), []byte(creds.Password)) == 1 {
			found = ks
		}
	}
	return found
}

// Close drops idle connections.
func (p *Provider) Close() error {
	p.hc.CloseIdleConnections()
	return nil
}

// Driver is a Triton provider bound to one account and key.
type Driver struct {
	p     *Provider
	key   *keySigner // nil: noKey says why
	noKey string
}

var (
	_ drivers.Driver            = (*Driver)(nil)
	_ drivers.ImageUpdater      = (*Driver)(nil)
	_ drivers.ImageCloner       = (*Driver)(nil)
	_ drivers.ImageCopier       = (*Driver)(nil)
	_ drivers.ImageExporter     = (*Driver)(nil)
	_ drivers.RealmLister       = (*Driver)(nil)
	_ drivers.InstanceLister    = (*Driver)(nil)
	_ drivers.CredentialChecker = (*Driver)(nil)
	_ drivers.FeatureReporter   = (*Driver)(nil)
	_ drivers.CreateFinder      = (*Driver)(nil)
)

// Features reports that CloudAPI filters images by owner and keeps the name
// and description given at creation.
func (d *Driver) Features() model.Features {
	return model.Features{OwnerFilter: true, CreateName: true, CreateDescription: true}
}

// client returns a triton-go client for one call. A client.Client is not
// safe for concurrent use (every request resets its RequestHeader field),
// so each call gets its own; they share the provider's HTTP client.
func (d *Driver) client() *client.Client {
	return &client.Client{
		HTTPClient:  d.p.hc,
		Authorizers: []authentication.Signer{d.key},
		TritonURL:   d.p.base,
		AccountName: d.key.account,
	}
}

// do runs fn with a fresh client and maps its error once; what says what
// the driver was doing ("listing images").
func (d *Driver) do(ctx context.Context, what string, fn func(context.Context, *client.Client) error) error {
	if d.key == nil {
		return model.Errorf(model.Unauthenticated, "%s", d.noKey)
	}
	rec := &record{}
	err := mapError(fn(context.WithValue(ctx, recordKey{}, rec), d.client()), what, rec)
	if c := model.CodeOf(err); c == model.Unavailable || c == model.DeadlineExceeded {
		d.p.log.WarnContext(ctx, "triton: CloudAPI call failed", "what", what, "account", d.key.account, "status", rec.status, "err", err)
	}
	return err
}

// CheckCredentials makes one cheap call (GetAccount) and returns nil or the
// mapped error (model.Unauthenticated for a rejected key).
func (d *Driver) CheckCredentials(ctx context.Context) error {
	_, err := d.accountID(ctx)
	return err
}
