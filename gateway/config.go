package gateway

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/imagegw/imagegw/drivers"
	"github.com/imagegw/imagegw/internal/configkeys"
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
// Each provider's keys besides name, driver and request_timeout are the
// driver's own; the driver decodes them strictly when it opens the
// provider. request_timeout (default 30s) bounds one request's work in that
// provider's cloud, the SDK's retries included: past it the client gets 504.
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
	// JobLease is how long a replica's lease on a job lasts without
	// renewal, with a store shared by several replicas (default 15s): a
	// dead replica's jobs are taken over after it.
	JobLease time.Duration `yaml:"job_lease"`
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
	// source is the file the configuration came from, for error messages.
	source string
}

// at says where a line of the configuration is: "imagegw.yaml line 3".
func (c Config) at(line int) string {
	if c.source != "" {
		return fmt.Sprintf("%s line %d", c.source, line)
	}
	return fmt.Sprintf("line %d", line)
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
	if n.Kind == yaml.MappingNode {
		known := configkeys.Of(out)
		for i := 0; i+1 < len(n.Content); i += 2 {
			if k := n.Content[i]; len(known) > 0 && !slices.Contains(known, k.Value) {
				return fmt.Errorf("config: %s: %s: %s", c.at(k.Line), name, configkeys.Describe(k.Value, known))
			}
		}
	}
	b, err := yaml.Marshal(&n)
	if err != nil {
		return fmt.Errorf("config: %s: %w", name, err)
	}
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(out); err != nil && !errors.Is(err, io.EOF) {
		// The section was re-encoded from line n.Line: its line l is the
		// file's n.Line+l-1.
		return fmt.Errorf("config: %s (in section %s)", yamlMessage(err, func(l int) string { return c.at(n.Line + l - 1) }), name)
	}
	return nil
}

type rawConfig struct {
	Config    `yaml:",inline"`
	Providers []map[string]any     `yaml:"providers"`
	Sections  map[string]yaml.Node `yaml:",inline"`
}

// LoadConfig reads a configuration file. Unknown keys, providers without
// name or driver, and repeated provider names are errors that name the
// file and line.
func LoadConfig(path string) (Config, error) {
	f, err := os.Open(path)
	if err != nil {
		return Config{}, fmt.Errorf("config: %w", err)
	}
	defer f.Close()
	return parseConfig(f, path)
}

// ParseConfig parses configuration YAML; errors name the line.
func ParseConfig(r io.Reader) (Config, error) { return parseConfig(r, "") }

func parseConfig(r io.Reader, file string) (Config, error) {
	at := func(line int) string {
		if file != "" {
			return fmt.Sprintf("%s line %d", file, line)
		}
		return fmt.Sprintf("line %d", line)
	}
	fail := func(line int, format string, args ...any) error {
		return fmt.Errorf("config: %s: %s", at(line), fmt.Sprintf(format, args...))
	}
	data, err := io.ReadAll(r)
	if err != nil {
		return Config{}, fmt.Errorf("config: %w", err)
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return Config{}, fmt.Errorf("config: %s", yamlMessage(err, at))
	}
	if len(doc.Content) == 0 {
		return Config{}, nil
	}
	root := doc.Content[0]
	if root.Kind != yaml.MappingNode {
		return Config{}, fail(root.Line, "the configuration must be a mapping of keys (default_driver, providers, ...)")
	}
	known := append(configkeys.Of(Config{}), "providers")
	sectionsMu.RLock()
	for name := range sections {
		known = append(known, name)
	}
	sectionsMu.RUnlock()
	slices.Sort(known)
	var provNode *yaml.Node
	for i := 0; i+1 < len(root.Content); i += 2 {
		k := root.Content[i]
		if !slices.Contains(known, k.Value) {
			return Config{}, fail(k.Line, "%s", configkeys.Describe(k.Value, known))
		}
		if k.Value == "providers" {
			provNode = root.Content[i+1]
		}
	}
	var raw rawConfig
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&raw); err != nil && !errors.Is(err, io.EOF) {
		return Config{}, fmt.Errorf("config: %s", yamlMessage(err, at))
	}
	cfg := raw.Config
	cfg.Sections = raw.Sections
	cfg.source = file
	if err := cfg.validateSections(); err != nil {
		return Config{}, err
	}
	seen := map[string]bool{}
	for i, p := range raw.Providers {
		line := root.Line
		origin := map[string]string{}
		if provNode != nil && provNode.Kind == yaml.SequenceNode && i < len(provNode.Content) {
			item := provNode.Content[i]
			line = item.Line
			for j := 0; item.Kind == yaml.MappingNode && j+1 < len(item.Content); j += 2 {
				origin[item.Content[j].Value] = at(item.Content[j].Line)
			}
		}
		name, _ := p["name"].(string)
		drv, _ := p["driver"].(string)
		if name == "" || drv == "" {
			return Config{}, fail(line, "provider %d needs a name and a driver", i+1)
		}
		name, drv = strings.ToLower(name), strings.ToLower(drv)
		if seen[name] {
			return Config{}, fail(line, "provider name %q is used twice; names are unique across drivers", name)
		}
		seen[name] = true
		timeout, err := requestTimeout(name, p)
		if err != nil {
			return Config{}, err
		}
		settings := map[string]any{}
		for k, v := range p {
			if !gatewayProviderKeys[k] {
				settings[k] = v
			}
		}
		cfg.Providers = append(cfg.Providers, model.ProviderConfig{Name: name, Driver: drv, Settings: settings, RequestTimeout: timeout, Origin: origin})
	}
	return cfg, nil
}

// gatewayProviderKeys are the provider keys the gateway keeps for itself;
// the others go to the driver.
var gatewayProviderKeys = map[string]bool{"name": true, "driver": true, "request_timeout": true}

// requestTimeout reads a provider's request_timeout ("45s", "2m"); absent
// is zero (the default).
func requestTimeout(name string, p map[string]any) (time.Duration, error) {
	v, ok := p["request_timeout"]
	if !ok {
		return 0, nil
	}
	s, _ := v.(string)
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		return 0, fmt.Errorf("config: provider %s: request_timeout %v is not a positive duration such as 30s", name, v)
	}
	return d, nil
}

var (
	lineNumber   = regexp.MustCompile(`(?m)^line (\d+): `)
	unknownField = regexp.MustCompile(`line (\d+): field (\S+) not found in type \S+`)
	wrongType    = regexp.MustCompile("cannot unmarshal !!\\w+ (`[^`]*`|\\S+) into (\\S+)")
)

// typeWords name Go types the way a configuration's reader knows them.
var typeWords = map[string]string{
	"time.Duration": "a duration (such as 2s or 500ms)", "*time.Duration": "a duration (such as 2s or 500ms)",
	"int": "a whole number", "string": "a string", "[]string": "a list of strings", "bool": "true or false",
}

func wordType(m string) string {
	sub := wrongType.FindStringSubmatch(m)
	want, ok := typeWords[sub[2]]
	if !ok {
		if strings.HasPrefix(sub[2], "map[") || strings.Contains(sub[2], ".") {
			want = "a mapping of keys"
		} else if strings.HasPrefix(sub[2], "[]") {
			want = "a list"
		} else {
			want = "a " + sub[2]
		}
	}
	return strings.Trim(sub[1], "`") + " is not " + want
}

// yamlMessage rewords yaml.v3's errors for the user: without the "yaml:
// unmarshal errors:" preamble and the Go type names, each error's line
// given by at ("imagegw.yaml line 3"), joined with "; ".
func yamlMessage(err error, at func(line int) string) string {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	msg = strings.TrimPrefix(msg, "unmarshal errors:\n")
	msg = unknownField.ReplaceAllString(msg, `line $1: unknown key "$2"`)
	msg = wrongType.ReplaceAllStringFunc(msg, wordType)
	lines := strings.Split(msg, "\n")
	for i, l := range lines {
		l = strings.TrimSpace(l)
		lines[i] = lineNumber.ReplaceAllStringFunc(l, func(m string) string {
			n, _ := strconv.Atoi(lineNumber.FindStringSubmatch(m)[1])
			return at(n) + ": "
		})
	}
	return strings.Join(lines, "; ")
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
