package gateway

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/imagegw/imagegw/model"
)

// fanOut runs fn once per provider, all at once, each under its own
// deadline (the provider's request_timeout), and returns each one's
// value and error by index. It returns when every provider answered or ran out of
// time, whichever is first for each: a provider whose driver ignores its
// context is given up on at its deadline (its call finishes in the
// background, its result dropped), so the whole takes the time of the
// slowest provider bounded by that provider's deadline, never the sum.
func fanOut[T any](ctx context.Context, g *Gateway, providers []string, fn func(ctx context.Context, provider string) (T, error)) ([]T, []error) {
	vals := make([]T, len(providers))
	errs := make([]error, len(providers))
	var wg sync.WaitGroup
	for i, p := range providers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			d := g.requestTimeout(p)
			pctx, cancel := context.WithTimeout(ctx, d)
			defer cancel()
			type result struct {
				v   T
				err error
			}
			done := make(chan result, 1)
			go func() {
				var r result
				r.err = g.safely(func() (err error) { r.v, err = fn(pctx, p); return err })
				if _, ok := r.err.(*panicError); ok {
					r.err = model.Wrap(model.Internal, r.err, "internal error")
				}
				done <- r
			}()
			keep := func(r result) {
				vals[i], errs[i] = r.v, r.err
				// its own deadline cut the call short: say so
				if c := model.CodeOf(r.err); (c == model.DeadlineExceeded || c == model.Canceled) && pctx.Err() != nil && ctx.Err() == nil {
					errs[i] = timedOut(p, d, r.err)
				}
			}
			select {
			case r := <-done:
				keep(r)
			case <-pctx.Done():
				select {
				case r := <-done: // answered as time ran out: keep the answer
					keep(r)
					return
				default:
				}
				if ctx.Err() != nil {
					errs[i] = model.Wrap(model.CodeOf(ctx.Err()), ctx.Err(), "%v", ctx.Err())
				} else {
					errs[i] = timedOut(p, d, pctx.Err())
				}
			}
		}()
	}
	wg.Wait()
	return vals, errs
}

func timedOut(p string, d time.Duration, cause error) error {
	return model.Wrap(model.DeadlineExceeded, cause, "provider %s unavailable: no answer within %s", p, d)
}

// FederatedImage is one image of a federated list, with the provider it
// is in. The image is the catalog's and must not be modified.
type FederatedImage struct {
	Provider string
	*model.Image
}

// ProviderFailure is a provider whose part of a federated list failed.
type ProviderFailure struct {
	Provider string
	Err      error
}

// FederatedPage is one page of the merged answer of several providers of
// one driver.
type FederatedPage struct {
	// Images are the page's images in the query's order, ties broken by
	// id, then provider.
	Images []FederatedImage
	// Total is how many images the query selects across the answering
	// providers.
	Total int
	// NextCursor continues after this page; "" on the last page.
	NextCursor string
	// Failures are the providers that did not answer, by name.
	Failures []ProviderFailure
	// Warnings are the providers' catalog warnings (stale answers), by
	// provider.
	Warnings map[string]string
	// Generation names the catalog snapshots the page was made from, one
	// per provider, for answers keyed by what they came from: it changes
	// whenever any provider's images do. "" when the page cannot be keyed
	// (a provider failed, answered stale or has its catalog off).
	Generation string
}

// mergedCacheSize bounds the merged federated lists the gateway keeps, and
// mergedCacheAge how long: a kept list points into the catalog snapshots
// it merged, and holds them in memory until it goes.
const (
	mergedCacheSize = 8
	mergedCacheAge  = time.Minute
)

// mergedCache keeps the merged order of recent federated queries: one
// entry per query (driver, providers, filters, sort), for the snapshots it
// merged (gen). A list asked again before any of its providers changed is
// not merged and sorted again; a newer merge of the query replaces it.
type mergedCache struct {
	mu    sync.Mutex
	order []string // query keys, oldest first
	m     map[string]mergedList
}

type mergedList struct {
	gen    string
	images []FederatedImage
	at     time.Time
}

func (c *mergedCache) get(query, gen string, now time.Time) ([]FederatedImage, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	v, ok := c.m[query]
	if !ok || v.gen != gen || now.Sub(v.at) > mergedCacheAge {
		return nil, false
	}
	return v.images, true
}

func (c *mergedCache) put(query, gen string, images []FederatedImage, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		c.m = map[string]mergedList{}
	}
	if _, ok := c.m[query]; ok {
		c.order = slices.DeleteFunc(c.order, func(k string) bool { return k == query })
	}
	for len(c.order) > 0 && (len(c.order) >= mergedCacheSize || now.Sub(c.m[c.order[0]].at) > mergedCacheAge) {
		delete(c.m, c.order[0])
		c.order = c.order[1:]
	}
	c.order = append(c.order, query)
	c.m[query] = mergedList{gen: gen, images: images, at: now}
}

// ProvidersOf expands a federated provider selection for a driver: "*"
// is every configured provider of the driver, else a comma list whose
// every name must be one of them (model.InvalidArgument otherwise).
func (g *Gateway) ProvidersOf(driver, sel string) ([]string, error) {
	t, err := g.Resolve(Selection{Driver: driver})
	if err != nil {
		return nil, err
	}
	all := g.byDriver[t.Driver]
	if strings.TrimSpace(sel) == "*" {
		return slices.Clone(all), nil
	}
	var out []string
	for _, p := range strings.Split(sel, ",") {
		p = strings.ToLower(strings.TrimSpace(p))
		if !slices.Contains(all, p) {
			return nil, model.Errorf(model.InvalidArgument, "provider %q is not configured for driver %s; valid providers: %s", p, t.Driver, strings.Join(all, ", "))
		}
		if !slices.Contains(out, p) {
			out = append(out, p)
		}
	}
	return out, nil
}

// IsFederated reports whether a provider selection names several
// providers at once ("*" or a comma list).
func IsFederated(sel string) bool { return strings.TrimSpace(sel) == "*" || strings.Contains(sel, ",") }

// QueryImagesAcross runs one query over several providers of one driver at
// once, through each provider's catalog, with creds, each provider under
// its own deadline, and sorts and pages the merged list: o's sort (ties by
// id, then provider), cursor, offset and limit apply to the whole, as
// Session.QueryImages's do to one provider. A provider that fails is a
// Failure while the others' images are served; only when every provider
// fails is the answer an error (the first provider's).
func (g *Gateway) QueryImagesAcross(ctx context.Context, driver string, providers []string, creds model.Credentials, q model.ImageQuery, o model.ListOptions) (FederatedPage, error) {
	t, err := g.Resolve(Selection{Driver: driver})
	if err != nil {
		return FederatedPage{}, err
	}
	if o.Limit < 0 || o.Limit > model.MaxLimit {
		return FederatedPage{}, model.Errorf(model.InvalidArgument, "limit: must be 1 to %d, not %d", model.MaxLimit, o.Limit)
	}
	if o.Offset < 0 {
		return FederatedPage{}, model.Errorf(model.InvalidArgument, "offset: must not be negative, not %d", o.Offset)
	}
	var cur cursor
	if o.Cursor != "" {
		if cur, err = decodeCursor(o.Cursor, o.Sort, true); err != nil {
			return FederatedPage{}, err
		}
	}
	parts, errs := fanOut(ctx, g, providers, func(ctx context.Context, p string) (ImagePage, error) {
		sess, err := g.Open(ctx, Target{Driver: t.Driver, Provider: p}, creds)
		if err != nil {
			return ImagePage{}, err
		}
		return sess.QueryImages(ctx, q, model.ListOptions{Sort: o.Sort})
	})
	var out FederatedPage
	var all []FederatedImage
	for i, p := range providers {
		if errs[i] != nil {
			out.Failures = append(out.Failures, ProviderFailure{Provider: p, Err: errs[i]})
			continue
		}
		if parts[i].Warning != "" {
			if out.Warnings == nil {
				out.Warnings = map[string]string{}
			}
			out.Warnings[p] = parts[i].Warning
		}
	}
	if len(providers) > 0 && len(out.Failures) == len(providers) {
		return out, out.Failures[0].Err
	}
	slices.SortFunc(out.Failures, func(a, b ProviderFailure) int { return cmp.Compare(a.Provider, b.Provider) })
	if len(out.Failures) == 0 && len(out.Warnings) == 0 {
		var b strings.Builder
		for i, p := range providers {
			if parts[i].Generation == 0 {
				b.Reset()
				break
			}
			fmt.Fprintf(&b, "%s:%d,", p, parts[i].Generation)
		}
		out.Generation = b.String()
	}
	mkey, now := "", time.Now()
	if out.Generation != "" {
		mkey = fmt.Sprintf("%s|%s|%v|%s", t.Driver, strings.Join(providers, ","), q, model.FormatSort(o.Sort))
	}
	if merged, ok := g.merged.get(mkey, out.Generation, now); ok && mkey != "" {
		all = merged // shared: read only
	} else {
		for i, p := range providers {
			if errs[i] == nil {
				for j := range parts[i].Len() {
					all = append(all, FederatedImage{Provider: p, Image: parts[i].At(j)})
				}
			}
		}
		slices.SortFunc(all, func(a, b FederatedImage) int {
			return cmp.Or(model.CompareImages(o.Sort, a.Image, b.Image), cmp.Compare(a.Provider, b.Provider))
		})
		if mkey != "" {
			g.merged.put(mkey, out.Generation, all, now)
		}
	}
	out.Total = len(all)
	start := 0
	if o.Cursor != "" {
		start, _ = slices.BinarySearchFunc(all, cur, func(img FederatedImage, c cursor) int {
			if afterFedCursor(o.Sort, img, c) > 0 {
				return 1
			}
			return -1
		})
	}
	start, end := window(len(all), start, o)
	out.Images = all[start:end:end]
	if end < len(all) && end > start {
		out.NextCursor = encodeCursor(o.Sort, all[end-1].Image, all[end-1].Provider)
	}
	return out, nil
}

// afterFedCursor compares img with the cursor's position: > 0 when img
// comes after it.
func afterFedCursor(keys []model.SortKey, img FederatedImage, c cursor) int {
	return cmp.Or(afterCursor(keys, img.Image, c), cmp.Compare(img.Provider, c.Provider))
}
