package drivers

import (
	"bytes"
	"fmt"
	"slices"
	"sort"
	"sync"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/imagegw/imagegw/internal/configkeys"
	"github.com/imagegw/imagegw/model"
)

// Registration describes a driver to the registry.
type Registration struct {
	// ID is the lower-case name clients select the driver by: "ec2".
	ID string
	// Name is the display name: "EC2".
	Name string
	// Open opens one provider of the driver.
	Open Opener
	// DefaultProvider, if set, is the provider configuration used when the
	// driver is enabled without any configured provider (the mock's
	// "mock"). Drivers that need an endpoint leave it nil.
	DefaultProvider *model.ProviderConfig
	// NotFoundGrace is how long after a create, clone or copy the job
	// runner takes NotFound from GetImage as "not visible yet" and keeps
	// polling, for clouds whose reads lag their writes (EC2). Zero means
	// the gateway's default, 60 s.
	NotFoundGrace time.Duration
	// Anonymous is whether the gateway serves requests without credentials
	// on a provider whose configuration does not say (its `anonymous:`
	// key). Only a driver with no server-side credentials to lend sets it
	// (the mock, where anonymous callers see public images only); for the
	// others an anonymous request is 401 unless the operator writes
	// `anonymous: true`.
	Anonymous bool
}

var (
	regMu    sync.RWMutex
	registry = map[string]Registration{}
)

// Register adds a driver. It panics if the id is taken or empty, as
// database/sql.Register does; call it from an init function.
func Register(r Registration) {
	regMu.Lock()
	defer regMu.Unlock()
	if r.ID == "" || r.Open == nil {
		panic("drivers: Register needs an ID and an Open function")
	}
	if _, dup := registry[r.ID]; dup {
		panic("drivers: Register called twice for driver " + r.ID)
	}
	registry[r.ID] = r
}

// Lookup returns the registration of a driver id.
func Lookup(id string) (Registration, bool) {
	regMu.RLock()
	defer regMu.RUnlock()
	r, ok := registry[id]
	return r, ok
}

// IDs returns the registered driver ids, sorted.
func IDs() []string {
	regMu.RLock()
	defer regMu.RUnlock()
	ids := make([]string, 0, len(registry))
	for id := range registry {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	return ids
}

// DecodeSettings decodes a provider's driver keys into out, a pointer to a
// struct with yaml tags, rejecting unknown keys: the error names the key,
// where the configuration set it, the likely intended key and the driver's
// keys.
func DecodeSettings(cfg model.ProviderConfig, out any) error {
	known := configkeys.Of(out)
	keys := make([]string, 0, len(cfg.Settings))
	for k := range cfg.Settings {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if !slices.Contains(known, k) {
			where := ""
			if w := cfg.Where(k); w != "" {
				where = " at " + w
			}
			return model.Errorf(model.InvalidArgument, "provider %s (driver %s)%s: %s", cfg.Name, cfg.Driver, where, configkeys.Describe(k, known))
		}
	}
	raw, err := yaml.Marshal(cfg.Settings)
	if err != nil {
		return model.Wrap(model.InvalidArgument, err, "provider %s: bad settings", cfg.Name)
	}
	dec := yaml.NewDecoder(bytes.NewReader(raw))
	dec.KnownFields(true)
	if err := dec.Decode(out); err != nil && err.Error() != "EOF" {
		return model.Errorf(model.InvalidArgument, "provider %s (driver %s): %v", cfg.Name, cfg.Driver, err)
	}
	return nil
}

// Unsupported returns the model.Unimplemented error for a missing
// capability, worded the way every front shows it.
func Unsupported(driverID, capability string) error {
	return model.Errorf(model.Unimplemented, "driver %s does not support capability %s", driverID, capability)
}

// String form for logs.
func (r Registration) String() string { return fmt.Sprintf("driver %s (%s)", r.ID, r.Name) }
