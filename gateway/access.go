package gateway

import (
	"context"
	"fmt"

	"github.com/imagegw/imagegw/drivers"
	"github.com/imagegw/imagegw/model"
)

// ErrCredentialsRequired is the message of the model.Unauthenticated error
// Open returns for a request without credentials on a provider that does
// not serve anonymous requests.
const ErrCredentialsRequired = "credentials required"

// accessSettings takes the gateway's own access key (anonymous) out of a
// provider's settings, before the driver decodes the rest strictly. A
// provider that does not say is anonymous when its driver's registration
// says so (drivers.Registration.Anonymous: the mock, which has no
// server-side credentials to lend).
func accessSettings(pc model.ProviderConfig, reg drivers.Registration) (model.ProviderConfig, bool, error) {
	anon := reg.Anonymous
	v, ok := pc.Settings["anonymous"]
	if !ok {
		return pc, anon, nil
	}
	b, isBool := v.(bool)
	if !isBool {
		return pc, anon, fmt.Errorf("config: provider %s: anonymous: want true or false, not %v", pc.Name, v)
	}
	rest := make(map[string]any, len(pc.Settings))
	for k, v := range pc.Settings {
		if k != "anonymous" {
			rest[k] = v
		}
	}
	pc.Settings = rest
	return pc, b, nil
}

// Anonymous reports whether a provider serves requests without
// credentials, with its server-side credentials (the provider's
// `anonymous:` key). Unknown providers are not anonymous.
func (g *Gateway) Anonymous(provider string) bool {
	pe, ok := g.providers[provider]
	return ok && pe.anonymous
}

// checkAnonymous refuses empty credentials on a provider that does not
// serve anonymous requests: the operator's credentials are never lent to a
// caller who sent none unless the operator said so.
func (g *Gateway) checkAnonymous(pe *providerEntry, creds model.Credentials) error {
	if creds.Empty() && !pe.anonymous {
		return model.Errorf(model.Unauthenticated, ErrCredentialsRequired)
	}
	return nil
}

// DriverCapabilities reports what target's driver can do without acting
// for anyone: the driver is connected without credentials and never
// called, so that an entry point can describe a provider to an anonymous
// client even where anonymous requests are refused.
func (g *Gateway) DriverCapabilities(ctx context.Context, t Target) (Capabilities, error) {
	pe, ok := g.providers[t.Provider]
	if !ok || pe.cfg.Driver != t.Driver {
		return Capabilities{}, model.Errorf(model.InvalidArgument, "provider %q is not configured for driver %s", t.Provider, t.Driver)
	}
	d, err := pe.prov.Connect(ctx, model.Credentials{})
	if err != nil {
		return Capabilities{}, classify(err)
	}
	s := &Session{Target: t, g: g, pe: pe, d: d}
	return s.Capabilities(), nil
}
