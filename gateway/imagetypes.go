package gateway

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/imagegw/imagegw/model"
	"github.com/imagegw/imagegw/store"
	"github.com/imagegw/imagegw/tenants"
)

// TypeKind says which portable types a call is about.
type TypeKind string

// The two kinds of portable types, named as the Coopr front's paths name
// them.
const (
	ImageTypes    TypeKind = "imagetypes"
	HardwareTypes TypeKind = "hardwaretypes"
)

// Noun is the kind as messages name it: "image type" or "hardware type".
func (k TypeKind) Noun() string {
	if k == HardwareTypes {
		return "hardware type"
	}
	return "image type"
}

// refKey is the providermap key a kind's mappings must hold.
func (k TypeKind) refKey() string {
	if k == HardwareTypes {
		return "flavor"
	}
	return "image"
}

// TypesSection is the gateway's top-level configuration section for
// portable types:
//
//	image_types:
//	  credentials:                # per provider, the cloud credentials checks and resolves act with
//	    lab: {user: svc-imagegw, password: secret}
//
// Without credentials a provider is called with its server-side
// credentials (the mock publishes its own). Each provider's part of a
// check, a resolve or a federated list is bounded by that provider's
// request_timeout (default 30s).
const TypesSection = "image_types"

// TypesConfig is the TypesSection.
type TypesConfig struct {
	Credentials map[string]struct {
		User     string `yaml:"user"`
		Password string `yaml:"password"`
	} `yaml:"credentials"`
}

func init() {
	RegisterSection(TypesSection, func() any { return new(TypesConfig) })
}

// TypesConfig returns the image_types section.
func (g *Gateway) TypesConfig() TypesConfig {
	var c TypesConfig
	if err := g.cfg.DecodeSection(TypesSection, &c); err != nil {
		g.log.Error("ignoring the image_types section", "err", err)
		c = TypesConfig{}
	}
	return c
}

// typeRecord is one stored version of a portable type.
type typeRecord struct {
	Name        string                   `json:"name"`
	Label       *string                  `json:"label,omitempty"`
	Description *string                  `json:"description,omitempty"`
	Icon        *string                  `json:"icon,omitempty"`
	Version     int                      `json:"version"`
	ProviderMap map[string]model.Mapping `json:"providermap"`
}

func typePrefix(tenant string, kind TypeKind) string { return tenant + "/" + string(kind) + "/" }

func typeKey(tenant string, kind TypeKind, name string, version int) string {
	return fmt.Sprintf("%s%s/%010d", typePrefix(tenant, kind), name, version)
}

func decodeType(k string, v []byte) (model.PortableType, error) {
	var r typeRecord
	if err := json.Unmarshal(v, &r); err != nil {
		return model.PortableType{}, model.Wrap(model.Internal, err, "corrupt type record %s", k)
	}
	if r.ProviderMap == nil {
		r.ProviderMap = map[string]model.Mapping{}
	}
	return model.PortableType(r), nil
}

// versions returns the stored versions of a name, ascending.
func versions(tx store.Tx, tenant string, kind TypeKind, name string) ([]model.PortableType, error) {
	var out []model.PortableType
	err := tx.Scan(tenants.NSTypes, typePrefix(tenant, kind)+name+"/", func(k string, v []byte) error {
		t, err := decodeType(k, v)
		if err == nil {
			out = append(out, t)
		}
		return err
	})
	return out, err
}

// ListTypes returns the latest version of every type of a tenant, sorted
// by name.
func (g *Gateway) ListTypes(ctx context.Context, tenant string, kind TypeKind) ([]model.PortableType, error) {
	out := []model.PortableType{}
	err := g.store.View(ctx, func(tx store.Tx) error {
		return tx.Scan(tenants.NSTypes, typePrefix(tenant, kind), func(k string, v []byte) error {
			t, err := decodeType(k, v)
			if err != nil {
				return err
			}
			// keys sort by name, then version: a later one replaces
			if n := len(out); n > 0 && out[n-1].Name == t.Name {
				out[n-1] = t
			} else {
				out = append(out, t)
			}
			return nil
		})
	})
	// keys order "a.b/" before "a/": sort by name as clients expect
	slices.SortFunc(out, func(a, b model.PortableType) int { return strings.Compare(a.Name, b.Name) })
	return out, err
}

// GetType returns a version of a type (0: the latest), or model.NotFound.
func (g *Gateway) GetType(ctx context.Context, tenant string, kind TypeKind, name string, version int) (model.PortableType, error) {
	var out model.PortableType
	err := g.store.View(ctx, func(tx store.Tx) error {
		vs, err := versions(tx, tenant, kind, name)
		if err != nil {
			return err
		}
		for _, t := range vs {
			if version == 0 || t.Version == version {
				out = t
			}
		}
		if out.Name == "" {
			if version != 0 && len(vs) > 0 {
				return model.Errorf(model.NotFound, "%s %s version %d not found", kind.Noun(), name, version)
			}
			return model.Errorf(model.NotFound, "%s %s not found", kind.Noun(), name)
		}
		return nil
	})
	return out, err
}

// CreateType stores the first version of a new type, after checking its
// references against the live providers (CheckReferences). A name that
// exists is model.AlreadyExists; the check and the insert are one
// transaction.
func (g *Gateway) CreateType(ctx context.Context, tenant string, kind TypeKind, t model.PortableType) (model.PortableType, error) {
	return g.writeType(ctx, tenant, kind, t, true)
}

// ReplaceType stores a new version (the highest kept plus one) of an
// existing type, after checking its references; an unknown name is
// model.NotFound.
func (g *Gateway) ReplaceType(ctx context.Context, tenant string, kind TypeKind, t model.PortableType) (model.PortableType, error) {
	return g.writeType(ctx, tenant, kind, t, false)
}

func (g *Gateway) writeType(ctx context.Context, tenant string, kind TypeKind, t model.PortableType, create bool) (model.PortableType, error) {
	if err := ValidateType(kind, t); err != nil {
		return t, err
	}
	exists := func(tx store.Tx) (int, error) {
		vs, err := versions(tx, tenant, kind, t.Name)
		if err != nil {
			return 0, err
		}
		switch {
		case create && len(vs) > 0:
			return 0, model.Errorf(model.AlreadyExists, "%s %s already exists", kind.Noun(), t.Name)
		case !create && len(vs) == 0:
			return 0, model.Errorf(model.NotFound, "%s %s not found", kind.Noun(), t.Name)
		case len(vs) == 0:
			return 0, nil
		}
		return vs[len(vs)-1].Version, nil
	}
	// cheap answers first: a duplicate is 409 without asking any cloud
	if err := g.store.View(ctx, func(tx store.Tx) error { _, err := exists(tx); return err }); err != nil {
		return t, err
	}
	if err := g.CheckReferences(ctx, kind, t.ProviderMap); err != nil {
		return t, err
	}
	err := g.store.Update(ctx, func(tx store.Tx) error {
		max, err := exists(tx)
		if err != nil {
			return err
		}
		t.Version = max + 1
		if t.ProviderMap == nil {
			t.ProviderMap = map[string]model.Mapping{}
		}
		b, err := json.Marshal(typeRecord(t))
		if err != nil {
			return model.Wrap(model.Internal, err, "encoding %s", t.Name)
		}
		return tx.Insert(tenants.NSTypes, typeKey(tenant, kind, t.Name, t.Version), b)
	})
	return t, err
}

// DeleteType deletes one version of a type, or every version when version
// is 0; model.NotFound when there is nothing to delete.
func (g *Gateway) DeleteType(ctx context.Context, tenant string, kind TypeKind, name string, version int) error {
	return g.store.Update(ctx, func(tx store.Tx) error {
		vs, err := versions(tx, tenant, kind, name)
		if err != nil {
			return err
		}
		if len(vs) == 0 {
			return model.Errorf(model.NotFound, "%s %s not found", kind.Noun(), name)
		}
		n := 0
		for _, v := range vs {
			if version == 0 || v.Version == version {
				if err := tx.Delete(tenants.NSTypes, typeKey(tenant, kind, name, v.Version)); err != nil {
					return err
				}
				n++
			}
		}
		if n == 0 {
			return model.Errorf(model.NotFound, "%s %s version %d not found", kind.Noun(), name, version)
		}
		return nil
	})
}

// ValidateType checks a type's shape (not its references): its name, and
// that every mapping holds its kind's key (image or flavor) with a value,
// or for image types a rule instead. Problems are model.InvalidArgument
// with the message the Coopr front shows.
func ValidateType(kind TypeKind, t model.PortableType) error {
	if !model.ValidTypeName(t.Name) {
		return model.Errorf(model.InvalidArgument, "invalid input: name must be 1-255 characters of [A-Za-z0-9_.-]")
	}
	var probs []string
	for _, p := range sortedKeys(t.ProviderMap) {
		m := t.ProviderMap[p]
		ref := m.Image
		if kind == HardwareTypes {
			ref = m.Flavor
		}
		switch {
		case m.Rule != nil && kind == HardwareTypes:
			probs = append(probs, "provider "+p+": rules are for image types only")
		case m.Rule != nil && ref != "":
			probs = append(probs, "provider "+p+": give either image or match, not both")
		case m.Rule != nil:
			if m.Rule.Pick != model.PickNewest {
				probs = append(probs, fmt.Sprintf("provider %s: pick must be %q", p, model.PickNewest))
			}
			if len(m.Rule.Match) == 0 {
				probs = append(probs, "provider "+p+": match must name at least one of "+strings.Join(model.RuleMatchKeys, ", "))
			}
			for _, k := range sortedKeys(m.Rule.Match) {
				if !slices.Contains(model.RuleMatchKeys, k) {
					probs = append(probs, fmt.Sprintf("provider %s: match key %s is not one of %s", p, k, strings.Join(model.RuleMatchKeys, ", ")))
				}
			}
		case ref == "":
			probs = append(probs, fmt.Sprintf("provider %s: %s is required", p, kind.refKey()))
		}
	}
	if len(probs) > 0 {
		return model.Errorf(model.InvalidArgument, "invalid input: %s", strings.Join(probs, "; "))
	}
	return nil
}

func sortedKeys[V any](m map[string]V) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}
