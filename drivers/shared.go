package drivers

import "context"

// Shared holds, once per provider, what is the same for every caller of the
// provider (EC2's instance types of a region, say): the gateway's catalog
// keeps it, fetched once for all callers and kept fresh by the provider's
// catalog_ttl, so drivers do not cache. A driver declares a part shared by
// loading it through Env.Shared.
type Shared interface {
	// Load returns the part named key, calling fetch (with the caller's
	// context) on a miss or once it is older than the provider's catalog
	// TTL. Concurrent misses make one fetch; a failed fetch is not kept.
	Load(ctx context.Context, key string, fetch func(context.Context) (any, error)) (any, error)
}

// NoShared is a Shared that keeps nothing: every Load fetches. It is what a
// provider gets when its catalog is off (catalog_ttl: 0) and in tests that
// open a provider without a gateway.
type NoShared struct{}

// Load calls fetch.
func (NoShared) Load(ctx context.Context, _ string, fetch func(context.Context) (any, error)) (any, error) {
	return fetch(ctx)
}
