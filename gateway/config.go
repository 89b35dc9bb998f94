package gateway

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/imagegw/imagegw/drivers"
	"github.com/imagegw/imagegw/model"
)

// Config is the operator's configuration: the YAML file given to
// `imagegw serve --config`, with flags and environment on top.
//
//	default_driver: mock          # optional; default "mock"
//	default_provider: mock        # optional; default the driver's first provider
//	mock_create_delay: 2s         # optional; how long mock images stay PENDING
//	trusted_proxies: [127.0.0.1]  # optional; whose X-Forwarded-* headers count
//	providers:
//	  - {name: moto-east, driver: ec2, region: us-east-1, endpoint: http://127.0.0.1:5000}
//	  - {name: lab, driver: vsphere, url: https://vc/sdk, datacenter: DC0}
//
// Each provider's keys besides name and driver are the driver's own; the
// driver decodes them strictly when it opens the provider.
type Config struct {
	DefaultDriver   string                 `yaml:"default_driver"`
	DefaultProvider string                 `yaml:"default_provider"`
	TrustedProxies  []string               `yaml:"trusted_proxies"`
	Providers       []model.ProviderConfig `yaml:"-"`
	// MockImages seeds this many synthetic images into each mock provider,
	// for benchmarks (flag --mock-images).
	MockImages int `yaml:"mock_images"`
	// MockCreateDelay is how long a new mock image stays PENDING.
	MockCreateDelay *time.Duration `yaml:"mock_create_delay"`
	// JobPollInterval is the first wait between job polls (default 1s; it
	// backs off to 30s).
	JobPollInterval time.Duration `yaml:"job_poll_interval"`
	// JobRetention is how long finished jobs are kept (default 7 days);
	// older ones are pruned hourly.
	JobRetention time.Duration `yaml:"job_retention"`
	// ExportDir is where images are exported for drivers without a native
	// export; "" disables exports there.
	ExportDir string `yaml:"export_dir"`
	// ExportBaseURL is the public base URL of ExportDir, shown to clients.
	ExportBaseURL string `yaml:"export_base_url"`
	// CatalogMaxImages bounds the images the catalog holds across every
	// provider and caller (default 1,000,000); least recently used entries
	// are evicted whole past it.
	CatalogMaxImages int `yaml:"catalog_max_images"`
	// PublicURL, when set, is the gateway's own URL (scheme, host, optional
	// path prefix) every link and Location is built from; the request's
	// Host and X-Forwarded-* headers are then ignored.
	PublicURL string `yaml:"public_url"`
	// Sections are the top-level sections that belong to fronts (the
	// CloudAPI front's `cloudapi:`), kept raw for the front to decode with
	// DecodeSection. A section no front registered is an error.
	Sections map[string]yaml.Node `yaml:"-"`
}

var (
	sectionsMu sync.RWMutex
	sections   = map[string]func() any{}
)

// RegisterSection claims a top-level configuration key for a front; call
// it from the front's init function. newValue returns a pointer to the
// section's Go type, so that a typo in the section fails the configuration
// when it is loaded.
func RegisterSection(name string, newValue func() any) {
	sectionsMu.Lock()
	defer sectionsMu.Unlock()
	sections[name] = newValue
}

// DecodeSection decodes a front's section strictly into out (unknown keys
// are errors naming the key and its line); an absent section leaves out as
// it is.
func (c Config) DecodeSection(name string, out any) error {
	n, ok := c.Sections[name]
	if !ok {
		return nil
	}
	b, err := yaml.Marshal(&n)
	if err != nil {
		return fmt.Errorf("config: %s: %w", name, err)
	}
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(out); err != nil && !errors.Is(err, io.EOF) {
		return fmt.Errorf("config: %s (from line %d): %w", name, n.Line, err)
	}
	return nil
}

type rawConfig struct {
	Config    `yaml:",inline"`
	Providers []map[string]any     `yaml:"providers"`
	Sections  map[string]yaml.Node `yaml:",inline"`
}

// LoadConfig reads a configuration file. Unknown top-level keys, providers
// without name or driver, and repeated provider names are errors.
func LoadConfig(path string) (Config, error) {
	f, err := os.Open(path)
	if err != nil {
		return Config{}, fmt.Errorf("config: %w", err)
	}
	defer f.Close()
	return ParseConfig(f)
}

// ParseConfig parses configuration YAML.
func ParseConfig(r io.Reader) (Config, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return Config{}, fmt.Errorf("config: %w", err)
	}
	var raw rawConfig
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&raw); err != nil && !errors.Is(err, io.EOF) {
		return Config{}, fmt.Errorf("config: %w", err)
	}
	cfg := raw.Config
	cfg.Sections = raw.Sections
	if err := cfg.validateSections(); err != nil {
		return Config{}, err
	}
	seen := map[string]bool{}
	for i, p := range raw.Providers {
		name, _ := p["name"].(string)
		drv, _ := p["driver"].(string)
		if name == "" || drv == "" {
			return Config{}, fmt.Errorf("config: provider %d needs a name and a driver", i+1)
		}
		name, drv = strings.ToLower(name), strings.ToLower(drv)
		if seen[name] {
			return Config{}, fmt.Errorf("config: provider name %q is used twice; names are unique across drivers", name)
		}
		seen[name] = true
		settings := map[string]any{}
		for k, v := range p {
			if k != "name" && k != "driver" {
				settings[k] = v
			}
		}
		cfg.Providers = append(cfg.Providers, model.ProviderConfig{Name: name, Driver: drv, Settings: settings})
	}
	return cfg, nil
}

// Validate checks that every provider's driver is registered and that
// public_url is an http or https URL.
func (c Config) Validate() error {
	if err := c.validateSections(); err != nil {
		return err
	}
	if err := validatePublicURL(c.PublicURL); err != nil {
		return err
	}
	for _, p := range c.Providers {
		if _, ok := drivers.Lookup(p.Driver); !ok {
			return fmt.Errorf("config: provider %s: unknown driver %q (registered: %s)", p.Name, p.Driver, strings.Join(drivers.IDs(), ", "))
		}
	}
	return nil
}

// validateSections checks that a front claimed every extra top-level key.
func (c Config) validateSections() error {
	sectionsMu.RLock()
	defer sectionsMu.RUnlock()
	for name, n := range c.Sections {
		if name == "providers" {
			continue
		}
		newValue, ok := sections[name]
		if !ok {
			return fmt.Errorf("config: line %d: unknown key %s (not a gateway setting, and no front claims it)", n.Line, name)
		}
		if err := c.DecodeSection(name, newValue()); err != nil {
			return err
		}
	}
	return nil
}
