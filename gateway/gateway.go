// Package gateway is imagegw's portable layer between the fronts and the
// drivers: it opens the configured providers, picks the driver and provider
// for each request, checks capabilities, makes sure every error carries a
// model code, and runs the durable jobs that follow long operations.
//
// It knows no front's wire format.
package gateway

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/imagegw/imagegw/drivers"
	"github.com/imagegw/imagegw/model"
	"github.com/imagegw/imagegw/secrets"
	"github.com/imagegw/imagegw/store"
)

// Gateway holds the open providers and the job runner.
type Gateway struct {
	merged    mergedCache // federated lists' merged order (federate.go)
	cfg       Config
	store     store.Store
	log       *slog.Logger
	dataDir   string
	providers map[string]*providerEntry // by provider name
	byDriver  map[string][]string       // driver id → provider names, config order
	driverIDs []string                  // enabled drivers, sorted
	defDriver string
	secrets   *secrets.Box
	jobs      *Jobs
	catalog   *catalog
	idMu      sync.Mutex
	ids       map[identityKey]string // recent identities (memory only)
	wrap      func(driver, provider string, d drivers.Driver) drivers.Driver
	replica   string     // this process, in job logs, leases and notifications
	coherence *coherence // nil unless the store is a store.Notifier

	closeOnce sync.Once
}

type providerEntry struct {
	cfg     model.ProviderConfig
	reg     drivers.Registration
	prov    drivers.Provider
	catalog catalogOptions
	// anonymous: requests without credentials act with the provider's
	// server-side credentials (the provider's `anonymous:` key).
	anonymous bool
}

// Options are the gateway's runtime dependencies.
type Options struct {
	Store   store.Store
	Logger  *slog.Logger // nil: discard
	DataDir string       // for the credential key and driver files
	// WrapDriver, when set, wraps each connected driver (metrics.WrapDriver
	// counts its cloud calls); it must keep the driver's capabilities.
	WrapDriver func(driver, provider string, d drivers.Driver) drivers.Driver
	// CatalogEvent, when set, is told each catalog event of a provider:
	// "hit" (a fresh answer), "miss" (an answer that waited for a cloud
	// listing), "stale" (an answer past its TTL) and "refresh" (a background
	// refill started); metrics.CatalogEvent counts them.
	CatalogEvent func(provider, event string)
}

// New opens every configured provider (plus the default mock provider
// "mock" unless one of that name is configured), resumes unfinished jobs and
// returns the gateway. Close it when done.
func New(ctx context.Context, cfg Config, opts Options) (*Gateway, error) {
	if opts.Store == nil {
		return nil, errors.New("gateway: a store is required")
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	g := &Gateway{cfg: cfg, store: opts.Store, log: opts.Logger, dataDir: opts.DataDir,
		providers: map[string]*providerEntry{}, byDriver: map[string][]string{}, ids: map[identityKey]string{},
		wrap: opts.WrapDriver, replica: replicaID()}
	var err error
	if g.secrets, err = secrets.Load(opts.DataDir); err != nil {
		return nil, err
	}
	provs := slices.Clone(cfg.Providers)
	if !slices.ContainsFunc(provs, func(p model.ProviderConfig) bool { return p.Name == "mock" }) {
		if reg, ok := drivers.Lookup("mock"); ok && reg.DefaultProvider != nil {
			provs = append([]model.ProviderConfig{*reg.DefaultProvider}, provs...) // the mock driver's default
		}
	}
	if err := g.migrateLegacy(ctx); err != nil {
		return nil, err
	}
	g.catalog = newCatalog(g, cfg.CatalogMaxImages)
	g.catalog.event = opts.CatalogEvent
	for _, pc := range provs {
		reg, _ := drivers.Lookup(pc.Driver)
		pc = g.withMockDefaults(pc)
		var copts catalogOptions
		if pc, copts, err = catalogSettings(pc); err != nil {
			g.closeProviders()
			return nil, err
		}
		var anon bool
		if pc, anon, err = accessSettings(pc, reg); err != nil {
			g.closeProviders()
			return nil, err
		}
		env := drivers.Env{Store: opts.Store, Logger: opts.Logger, DataDir: opts.DataDir,
			Shared: sharedParts{c: g.catalog, prov: pc.Name, opts: copts}}
		p, err := reg.Open(ctx, pc, env)
		if err != nil {
			g.closeProviders()
			return nil, fmt.Errorf("opening provider %s (driver %s): %w", pc.Name, pc.Driver, err)
		}
		g.providers[pc.Name] = &providerEntry{cfg: pc, reg: reg, prov: p, catalog: copts, anonymous: anon}
		if len(g.byDriver[pc.Driver]) == 0 {
			g.driverIDs = append(g.driverIDs, pc.Driver)
		}
		g.byDriver[pc.Driver] = append(g.byDriver[pc.Driver], pc.Name)
	}
	slices.Sort(g.driverIDs)
	g.defDriver = strings.ToLower(cfg.DefaultDriver)
	if g.defDriver == "" {
		g.defDriver = "mock"
		if len(g.byDriver["mock"]) == 0 && len(g.driverIDs) > 0 {
			g.defDriver = g.driverIDs[0]
		}
	}
	if len(g.byDriver[g.defDriver]) == 0 {
		g.closeProviders()
		return nil, fmt.Errorf("config: default_driver %q has no provider (enabled: %s)", g.defDriver, strings.Join(g.driverIDs, ", "))
	}
	if dp := strings.ToLower(cfg.DefaultProvider); dp != "" && !slices.Contains(g.byDriver[g.defDriver], dp) {
		g.closeProviders()
		return nil, fmt.Errorf("config: default_provider %q is not a provider of driver %s", dp, g.defDriver)
	}
	g.startCoherence(ctx)
	g.jobs = newJobs(g)
	if err := g.jobs.resume(ctx); err != nil {
		g.Close()
		return nil, err
	}
	g.jobs.startPruner()
	return g, nil
}

// withMockDefaults fills a mock provider's settings from the gateway-wide
// mock flags, unless the provider sets them itself.
func (g *Gateway) withMockDefaults(pc model.ProviderConfig) model.ProviderConfig {
	if pc.Driver != "mock" {
		return pc
	}
	s := map[string]any{}
	for k, v := range pc.Settings {
		s[k] = v
	}
	if _, ok := s["synthetic_images"]; !ok && g.cfg.MockImages > 0 {
		s["synthetic_images"] = g.cfg.MockImages
	}
	if _, ok := s["create_delay"]; !ok && g.cfg.MockCreateDelay != nil {
		s["create_delay"] = g.cfg.MockCreateDelay.String()
	}
	pc.Settings = s
	return pc
}

func (g *Gateway) closeProviders() {
	for _, p := range g.providers {
		_ = p.prov.Close()
	}
}

// Close stops the job runner (jobs resume at the next start) and closes the
// providers. It does not close the store.
func (g *Gateway) Close() error {
	g.closeOnce.Do(func() {
		if g.catalog != nil {
			g.catalog.cancel() // fills and refreshes in flight
		}
		if g.jobs != nil {
			g.jobs.close()
		}
		g.coherence.stop()
		g.closeProviders()
	})
	return nil
}

// Store returns the gateway's store.
func (g *Gateway) Store() store.Store { return g.store }

// Logger returns the gateway's logger.
func (g *Gateway) Logger() *slog.Logger { return g.log }

// Config returns the configuration the gateway runs with.
func (g *Gateway) Config() Config { return g.cfg }

// Secrets returns the box that seals stored credentials (the data
// directory's key).
func (g *Gateway) Secrets() *secrets.Box { return g.secrets }

// Jobs returns the job runner.
func (g *Gateway) Jobs() *Jobs { return g.jobs }

// Drivers describes the enabled drivers, sorted by id.
func (g *Gateway) Drivers() []model.DriverInfo {
	out := make([]model.DriverInfo, 0, len(g.driverIDs))
	for _, id := range g.driverIDs {
		reg, _ := drivers.Lookup(id)
		out = append(out, model.DriverInfo{ID: id, Name: reg.Name, Providers: slices.Clone(g.byDriver[id])})
	}
	return out
}

// Driver describes one enabled driver, or returns model.NotFound.
func (g *Gateway) Driver(id string) (model.DriverInfo, error) {
	for _, d := range g.Drivers() {
		if d.ID == strings.ToLower(id) {
			return d, nil
		}
	}
	return model.DriverInfo{}, model.Errorf(model.NotFound, "driver %s not found", id)
}

// ProviderConfig returns a configured provider's configuration, or
// model.NotFound.
func (g *Gateway) ProviderConfig(name string) (model.ProviderConfig, error) {
	p, ok := g.providers[strings.ToLower(name)]
	if !ok {
		return model.ProviderConfig{}, model.Errorf(model.NotFound, "provider %s not found", name)
	}
	return p.cfg, nil
}

// Selection is what a request asked for; empty fields mean "the default".
type Selection struct {
	Driver   string
	Provider string
}

// Target is a resolved selection: an enabled driver and one of its
// configured providers.
type Target struct {
	Driver   string
	Provider string
}

// Defaults returns the target used when a request selects nothing.
func (g *Gateway) Defaults() Target {
	t, _ := g.Resolve(Selection{})
	return t
}

// Resolve applies the defaults to sel and checks it. An unknown driver or a
// provider not configured for the driver is model.InvalidArgument, with
// the valid values in the message.
func (g *Gateway) Resolve(sel Selection) (Target, error) {
	drv := strings.ToLower(strings.TrimSpace(sel.Driver))
	if drv == "" {
		drv = g.defDriver
	}
	provs, ok := g.byDriver[drv]
	if !ok {
		return Target{}, model.Errorf(model.InvalidArgument, "unknown driver %q; valid drivers: %s", sel.Driver, strings.Join(g.driverIDs, ", "))
	}
	prov := strings.ToLower(strings.TrimSpace(sel.Provider))
	if prov == "" {
		prov = provs[0]
		if dp := strings.ToLower(g.cfg.DefaultProvider); dp != "" && slices.Contains(provs, dp) {
			prov = dp
		}
	}
	if !slices.Contains(provs, prov) {
		return Target{}, model.Errorf(model.InvalidArgument, "provider %q is not configured for driver %s; valid providers: %s", sel.Provider, drv, strings.Join(provs, ", "))
	}
	return Target{Driver: drv, Provider: prov}, nil
}

// Open connects to target's provider with creds (empty: the provider's
// server-side credentials, only where the provider is anonymous; else
// model.Unauthenticated "credentials required") and returns a session for
// one request or job.
func (g *Gateway) Open(ctx context.Context, t Target, creds model.Credentials) (*Session, error) {
	pe, ok := g.providers[t.Provider]
	if !ok || pe.cfg.Driver != t.Driver {
		return nil, model.Errorf(model.InvalidArgument, "provider %q is not configured for driver %s", t.Provider, t.Driver)
	}
	if err := g.checkAnonymous(pe, creds); err != nil {
		return nil, err
	}
	return g.open(ctx, t, pe, creds)
}

// openAs opens a session for the gateway's own work, with no anonymity
// check: a job following what an accepted request started, a reconciled
// create, the reference checks of an authenticated tenant's write (which
// act with the operator's credentials for the provider by design).
func (g *Gateway) openAs(ctx context.Context, t Target, creds model.Credentials) (*Session, error) {
	pe, ok := g.providers[t.Provider]
	if !ok || pe.cfg.Driver != t.Driver {
		return nil, model.Errorf(model.InvalidArgument, "provider %q is not configured for driver %s", t.Provider, t.Driver)
	}
	return g.open(ctx, t, pe, creds)
}

func (g *Gateway) open(ctx context.Context, t Target, pe *providerEntry, creds model.Credentials) (*Session, error) {
	d, err := pe.prov.Connect(ctx, creds)
	if err != nil {
		return nil, classify(err)
	}
	if g.wrap != nil {
		d = g.wrap(t.Driver, t.Provider, d)
	}
	return &Session{Target: t, g: g, pe: pe, d: d, creds: creds, identity: g.identity(t, creds)}, nil
}

// identity is the keyed hash of a target's credentials, remembered for the
// few thousand most recent so that a request does not compute an HMAC.
func (g *Gateway) identity(t Target, creds model.Credentials) string {
	k := identityKey{t, creds}
	g.idMu.Lock()
	id, ok := g.ids[k]
	g.idMu.Unlock()
	if ok {
		return id
	}
	id = g.secrets.Identity(t.Driver, t.Provider, creds.User, creds.Password)
	g.idMu.Lock()
	if len(g.ids) >= 4096 {
		clear(g.ids)
	}
	g.ids[k] = id
	g.idMu.Unlock()
	return id
}

type identityKey struct {
	t     Target
	creds model.Credentials
}

// catalogSettings takes the gateway's own keys (catalog_ttl,
// catalog_max_stale) out of a provider's settings, before the driver
// decodes the rest strictly.
func catalogSettings(pc model.ProviderConfig) (model.ProviderConfig, catalogOptions, error) {
	opts := catalogOptions{ttl: defaultCatalogTTL, maxStale: defaultCatalogMaxStale}
	rest := make(map[string]any, len(pc.Settings))
	for k, v := range pc.Settings {
		var dst *time.Duration
		switch k {
		case "catalog_ttl":
			dst = &opts.ttl
		case "catalog_max_stale":
			dst = &opts.maxStale
		default:
			rest[k] = v
			continue
		}
		d, err := settingDuration(v)
		if err != nil || d < 0 {
			return pc, opts, fmt.Errorf("config: provider %s: %s: want a duration such as 60s or 0, not %v", pc.Name, k, v)
		}
		*dst = d
	}
	pc.Settings = rest
	return pc, opts, nil
}

func settingDuration(v any) (time.Duration, error) {
	switch t := v.(type) {
	case string:
		return time.ParseDuration(t)
	case int:
		if t == 0 {
			return 0, nil
		}
	case time.Duration:
		return t, nil
	}
	return 0, fmt.Errorf("not a duration: %v", v)
}

// classify makes sure err carries a model code: errors without one become
// model.Internal (the cloud's raw text stays in the cause, not the message).
func classify(err error) error {
	switch model.CodeOf(err) {
	case model.OK:
		return nil
	case model.Unknown:
		return model.Wrap(model.Internal, err, "internal error")
	}
	return err
}

// pollDefault is the first wait between job polls.
const pollDefault = time.Second
