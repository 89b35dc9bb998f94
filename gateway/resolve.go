package gateway

import (
	"cmp"
	"context"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	"golang.org/x/mod/semver"

	"github.com/imagegw/imagegw/model"
)

// Resolution is one provider's answer for a portable type: the concrete
// image (image types) or hardware profile (hardware types) its mapping
// names today, or why there is none.
type Resolution struct {
	Provider string
	Driver   string // "" when the provider is not configured
	Mapping  model.Mapping
	Image    model.Image           // image types
	Profile  model.HardwareProfile // hardware types
	// Err is model.NotFound (the mapped image or flavor is gone, or a
	// rule matches nothing), model.InvalidArgument (an unknown provider)
	// or model.Unavailable / model.DeadlineExceeded (the provider did not
	// answer); nil on success.
	Err error
}

// resolveMapping looks a mapping up in a provider's catalog with the
// provider's server-side credentials.
func (g *Gateway) resolveMapping(ctx context.Context, kind TypeKind, provider string, m model.Mapping) (Resolution, error) {
	r := Resolution{Provider: provider, Mapping: m}
	pe, ok := g.providers[provider]
	if !ok {
		return r, model.Errorf(model.InvalidArgument, "unknown provider %s", provider)
	}
	r.Driver = pe.cfg.Driver
	sess, err := g.openAs(ctx, Target{Driver: pe.cfg.Driver, Provider: provider}, g.operatorCredentials(provider, pe))
	if err != nil {
		return r, unavailable(provider, err)
	}
	switch {
	case kind == HardwareTypes:
		r.Profile, err = sess.GetHardwareProfile(ctx, m.Flavor)
		if model.IsNotFound(err) {
			return r, model.Errorf(model.NotFound, "flavor %s not found in provider %s", m.Flavor, provider)
		}
	case m.Rule != nil:
		var found bool
		r.Image, found, err = pickImage(ctx, sess, m.Rule, time.Now())
		if err == nil && !found {
			return r, model.Errorf(model.NotFound, "no available image matches the rule in provider %s", provider)
		}
	default:
		r.Image, err = sess.GetImage(ctx, m.Image)
		if model.IsNotFound(err) {
			return r, model.Errorf(model.NotFound, "image %s not found in provider %s", m.Image, provider)
		}
	}
	if err != nil {
		return r, unavailable(provider, err)
	}
	return r, nil
}

// operatorCredentialer is implemented by providers that publish the
// credentials the gateway acts with on its own (the mock's).
type operatorCredentialer interface {
	OperatorCredentials() model.Credentials
}

// operatorCredentials are what checks and resolves act with: the
// image_types section's credentials for the provider, else what the
// provider publishes, else none (the provider's server-side credentials).
func (g *Gateway) operatorCredentials(provider string, pe *providerEntry) model.Credentials {
	if c, ok := g.TypesConfig().Credentials[provider]; ok {
		return model.Credentials{User: c.User, Password: c.Password}
	}
	if oc, ok := pe.prov.(operatorCredentialer); ok {
		return oc.OperatorCredentials()
	}
	return model.Credentials{}
}

// unavailable is the error of a provider that could not answer a check
// or a resolve: model.Unavailable (or DeadlineExceeded) with the cause,
// whose client-safe message it repeats ("provider lab unavailable:
// Authentication failed").
func unavailable(provider string, err error) error {
	code := model.CodeOf(err)
	if code != model.DeadlineExceeded && code != model.Canceled {
		code = model.Unavailable
	}
	return &model.Error{Code: code, Message: fmt.Sprintf("provider %s unavailable: %s", provider, model.MessageOf(err)), Err: err,
		RetryAfter: model.RetryAfterOf(err)}
}

// CheckReferences checks every providermap entry against its provider, all
// providers at once, each under its own deadline: the provider must be
// configured, an image must exist there, a flavor must be one of its
// hardware profile ids, and a rule must match at least one available
// image. Every unknown provider, image, flavor or empty rule is named in
// one model.InvalidArgument error; otherwise a provider that did not answer
// makes it model.Unavailable (or DeadlineExceeded) naming every such
// provider.
func (g *Gateway) CheckReferences(ctx context.Context, kind TypeKind, pm map[string]model.Mapping) error {
	provs := sortedKeys(pm)
	_, errs := fanOut(ctx, g, provs, func(ctx context.Context, p string) (Resolution, error) {
		return g.resolveMapping(ctx, kind, p, pm[p])
	})
	var bad, down []string
	var firstDown error
	for _, err := range errs {
		switch model.CodeOf(err) {
		case model.OK:
		case model.NotFound, model.InvalidArgument:
			bad = append(bad, model.MessageOf(err))
		default:
			down = append(down, model.MessageOf(err))
			if firstDown == nil {
				firstDown = err
			}
		}
	}
	if len(bad) > 0 {
		return model.Errorf(model.InvalidArgument, "invalid input: %s", strings.Join(bad, "; "))
	}
	if len(down) > 0 {
		return &model.Error{Code: model.CodeOf(firstDown), Message: strings.Join(down, "; "), Err: firstDown, RetryAfter: model.RetryAfterOf(firstDown)}
	}
	return nil
}

// ResolveType returns a type and what its mapping for provider is now. An
// unknown provider is model.InvalidArgument, an unknown type or a type
// without a mapping for provider model.NotFound; otherwise the
// resolution's error is returned too.
func (g *Gateway) ResolveType(ctx context.Context, tenant string, kind TypeKind, name, provider string) (model.PortableType, Resolution, error) {
	provider = strings.ToLower(provider)
	if _, ok := g.providers[provider]; !ok {
		return model.PortableType{}, Resolution{}, model.Errorf(model.InvalidArgument, "unknown provider %s", provider)
	}
	t, err := g.GetType(ctx, tenant, kind, name, 0)
	if err != nil {
		return t, Resolution{}, err
	}
	m, ok := t.ProviderMap[provider]
	if !ok {
		return t, Resolution{}, model.Errorf(model.NotFound, "%s %s has no mapping for provider %s", kind.Noun(), name, provider)
	}
	rs, errs := fanOut(ctx, g, []string{provider}, func(ctx context.Context, p string) (Resolution, error) {
		return g.resolveMapping(ctx, kind, p, m)
	})
	rs[0].Provider, rs[0].Mapping, rs[0].Err = provider, m, errs[0]
	return t, rs[0], errs[0]
}

// ResolveTypeAll resolves a type in every provider it maps, all at once,
// each under its own deadline: the answer takes the time of the slowest
// provider (bounded by its deadline), and each provider's Resolution holds
// its image or its error, by provider name. Only an unknown type is an
// error.
func (g *Gateway) ResolveTypeAll(ctx context.Context, tenant string, kind TypeKind, name string) (model.PortableType, []Resolution, error) {
	t, err := g.GetType(ctx, tenant, kind, name, 0)
	if err != nil {
		return t, nil, err
	}
	provs := sortedKeys(t.ProviderMap)
	rs, errs := fanOut(ctx, g, provs, func(ctx context.Context, p string) (Resolution, error) {
		return g.resolveMapping(ctx, kind, p, t.ProviderMap[p])
	})
	for i, p := range provs {
		rs[i].Provider, rs[i].Mapping, rs[i].Err = p, t.ProviderMap[p], errs[i]
		if pe, ok := g.providers[p]; ok {
			rs[i].Driver = pe.cfg.Driver
		}
	}
	return t, rs, nil
}

// pickImage applies a rule to the provider's catalog (a query over its
// indexes): the available, not deprecated images matching every field of
// the rule, the newest first (see newerFunc).
func pickImage(ctx context.Context, sess *Session, r *model.Rule, now time.Time) (model.Image, bool, error) {
	p, err := sess.QueryImages(ctx, model.ImageQuery{OwnerID: r.Match["owner_id"], Architecture: r.Match["architecture"],
		NamePattern: r.Match["name"], State: model.ImageAvailable}, model.ListOptions{})
	if err != nil {
		return model.Image{}, false, err
	}
	img := pickFrom(r, p.Images(), now)
	return img, img.ID != "", nil
}

// pickFrom returns the image of imgs that r picks, or a zero image.
func pickFrom(r *model.Rule, imgs []model.Image, now time.Time) model.Image {
	var cands []model.Image
	for _, img := range imgs {
		if ruleMatches(r, img, now) {
			cands = append(cands, img)
		}
	}
	if len(cands) == 0 {
		return model.Image{}
	}
	return slices.MaxFunc(cands, newerFunc(cands))
}

// ruleMatches reports whether img is a candidate of r.
func ruleMatches(r *model.Rule, img model.Image, now time.Time) bool {
	if !strings.EqualFold(img.State, model.ImageAvailable) || deprecated(img, now) {
		return false
	}
	if o := r.Match["owner_id"]; o != "" && img.OwnerID != o {
		return false
	}
	if a := r.Match["architecture"]; a != "" && img.Architecture != a {
		return false
	}
	if n, ok := r.Match["name"]; ok && !model.MatchPattern(n, img.Name) {
		return false
	}
	return true
}

// deprecated reports whether the cloud marks img deprecated: an EC2
// deprecation time in the past, or a tag deprecated=true.
func deprecated(img model.Image, now time.Time) bool {
	if strings.EqualFold(img.Tags["deprecated"], "true") {
		return true
	}
	if s := img.Native["deprecation_time"]; s != "" {
		if t, err := time.Parse(time.RFC3339, s); err == nil && !t.After(now) {
			return true
		}
	}
	return false
}

// versionRe finds a dotted version in an image name: "app-1.0.12" → 1.0.12,
// "CentOS-7.9-x86_64" → 7.9.
var versionRe = regexp.MustCompile(`\d+(?:\.\d+)+`)

// NameVersion returns the semantic version an image name carries, in the
// canonical form golang.org/x/mod/semver compares ("v1.0.12"), or "" when
// the name has none: the first run of dot-separated numbers, leading zeros
// dropped (22.04 → v22.4.0), at most major.minor.patch kept.
func NameVersion(name string) string {
	m := versionRe.FindString(name)
	if m == "" {
		return ""
	}
	parts := strings.Split(m, ".")
	if len(parts) > 3 {
		parts = parts[:3]
	}
	for i, p := range parts {
		if p = strings.TrimLeft(p, "0"); p == "" {
			p = "0"
		}
		parts[i] = p
	}
	v := semver.Canonical("v" + strings.Join(parts, "."))
	return v
}

// newerFunc orders candidates oldest first: when every candidate's name
// carries a version, by semantic version (1.0.12 after 1.0.9, 1.10 after
// 1.9); otherwise, or between equal versions, by creation time; then by
// id, so the pick is deterministic.
func newerFunc(cands []model.Image) func(a, b model.Image) int {
	byVersion := !slices.ContainsFunc(cands, func(i model.Image) bool { return NameVersion(i.Name) == "" })
	return func(a, b model.Image) int {
		c := 0
		if byVersion {
			c = semver.Compare(NameVersion(a.Name), NameVersion(b.Name))
		}
		return cmp.Or(c, a.Created.Compare(b.Created), cmp.Compare(a.ID, b.ID))
	}
}
