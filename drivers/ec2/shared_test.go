package ec2_test

import (
	"context"
	"sync"

	"github.com/imagegw/imagegw/drivers"
)

// catalogParts is a drivers.Shared as the gateway's catalog keeps one for
// a provider: a part is fetched once, concurrent misses wait for that one
// fetch, and a failed fetch is not kept. It has no TTL: a test is shorter
// than any catalog_ttl. It counts the fetches of each part.
type catalogParts struct {
	fill    sync.Mutex // serialises fetches
	mu      sync.Mutex
	parts   map[string]any
	fetches map[string]int
}

func newCatalogParts() *catalogParts {
	return &catalogParts{parts: map[string]any{}, fetches: map[string]int{}}
}

func (c *catalogParts) get(key string) (any, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	v, ok := c.parts[key]
	return v, ok
}

// Load implements drivers.Shared.
func (c *catalogParts) Load(ctx context.Context, key string, fetch func(context.Context) (any, error)) (any, error) {
	if v, ok := c.get(key); ok {
		return v, nil
	}
	c.fill.Lock()
	defer c.fill.Unlock()
	if v, ok := c.get(key); ok {
		return v, nil
	}
	v, err := fetch(ctx)
	c.mu.Lock()
	defer c.mu.Unlock()
	c.fetches[key]++
	if err != nil {
		return nil, err
	}
	c.parts[key] = v
	return v, nil
}

// count returns how many times the part key was fetched.
func (c *catalogParts) count(key string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.fetches[key]
}

var _ drivers.Shared = (*catalogParts)(nil)
