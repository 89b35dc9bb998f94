package gateway

import (
	"cmp"
	"context"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/imagegw/imagegw/model"
)

// fanOut runs fn once per provider, all at once, each under its own
// deadline (TypesConfig's provider_timeout(s)), and returns each one's
// error by index. It returns when every provider answered or ran out of
// time, whichever is first for each: a provider whose driver ignores its
// context is given up on at its deadline (its call finishes in the
// background, its result dropped), so the whole takes the time of the
// slowest provider bounded by that provider's deadline, never the sum.
func fanOut[T any](ctx context.Context, g *Gateway, providers []string, fn func(ctx context.Context, provider string) (T, error)) ([]T, []error) {
	cfg := g.TypesConfig()
	vals := make([]T, len(providers))
	errs := make([]error, len(providers))
	var wg sync.WaitGroup
	for i, p := range providers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			d := cfg.providerTimeout(p)
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
			select {
			case r := <-done:
				if r.err != nil && pctx.Err() == context.DeadlineExceeded && ctx.Err() == nil {
					r.err = timedOut(p, d, r.err)
				}
				vals[i], errs[i] = r.v, r.err
			case <-pctx.Done():
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
// is in.
type FederatedImage struct {
	Provider string
	model.Image
}

// ProviderFailure is a provider whose part of a federated list failed.
type ProviderFailure struct {
	Provider string
	Err      error
}

// FederatedListing is the merged answer of several providers of one
// driver.
type FederatedListing struct {
	// Images are every answering provider's images q selects, sorted by
	// provider, then native id.
	Images []FederatedImage
	// Failures are the providers that did not answer, by name.
	Failures []ProviderFailure
	// Warnings are the providers' catalog warnings (stale answers), by
	// provider.
	Warnings map[string]string
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

// ListImagesAcross lists the images q selects in several providers of one
// driver at once, through each provider's catalog, with creds, each
// provider under its own deadline. A provider that fails is a Failure
// while the others' images are served; only when every provider fails is
// the answer an error (the first provider's).
func (g *Gateway) ListImagesAcross(ctx context.Context, driver string, providers []string, creds model.Credentials, q model.ImageQuery) (FederatedListing, error) {
	t, err := g.Resolve(Selection{Driver: driver})
	if err != nil {
		return FederatedListing{}, err
	}
	parts, errs := fanOut(ctx, g, providers, func(ctx context.Context, p string) (Listing, error) {
		sess, err := g.Open(ctx, Target{Driver: t.Driver, Provider: p}, creds)
		if err != nil {
			return Listing{}, err
		}
		return sess.ListImages(ctx, q)
	})
	var out FederatedListing
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
		for _, img := range parts[i].Images {
			out.Images = append(out.Images, FederatedImage{Provider: p, Image: img})
		}
	}
	if len(providers) > 0 && len(out.Failures) == len(providers) {
		return out, out.Failures[0].Err
	}
	slices.SortFunc(out.Failures, func(a, b ProviderFailure) int { return cmp.Compare(a.Provider, b.Provider) })
	slices.SortFunc(out.Images, func(a, b FederatedImage) int {
		return cmp.Or(cmp.Compare(a.Provider, b.Provider), cmp.Compare(a.ID, b.ID))
	})
	if out.Images == nil {
		out.Images = []FederatedImage{}
	}
	return out, nil
}
