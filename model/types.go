package model

import (
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"sort"
)

// PortableType is a portable name an operator maps to a concrete resource
// in every provider: an image type ("centos7" → an image id per provider)
// or a hardware type ("small" → a hardware profile id per provider). The
// gateway keeps them per tenant, one record per version.
type PortableType struct {
	Name        string
	Label       *string // nil when absent
	Description *string
	Icon        *string
	// Version is the record's version: 1 for the first write of a name,
	// then the highest version kept plus one for every write.
	Version int
	// ProviderMap maps an imagegw provider name to how the type is found
	// there; never nil once decoded.
	ProviderMap map[string]Mapping
}

// ImageType is a portable image name (an OS): its mappings name images.
type ImageType = PortableType

// HardwareType is a portable size: its mappings name hardware profiles
// ("flavor").
type HardwareType = PortableType

// Mapping is one provider's entry in a providermap: a fixed reference
// (Image for image types, Flavor for hardware types), or for image types a
// Rule that picks an image from the provider's catalog. Other string keys
// are kept unchanged in Extra.
type Mapping struct {
	Image  string
	Flavor string
	Rule   *Rule
	Extra  map[string]string
}

// Rule picks one image of a provider's catalog: the images matching every
// field of Match, then one of them by Pick.
type Rule struct {
	// Match holds image fields: owner_id, architecture (exact) and name (a
	// pattern where * stands for any run of characters, as MatchPattern).
	Match map[string]string
	// Pick is how one image is chosen; only "newest" exists.
	Pick string
}

// RuleMatchKeys are the keys a rule's match may hold.
var RuleMatchKeys = []string{"architecture", "name", "owner_id"}

// PickNewest picks the newest available matching image.
const PickNewest = "newest"

var typeName = regexp.MustCompile(`^[A-Za-z0-9_.-]{1,255}$`)

// ValidTypeName reports whether s may name a portable type: 1 to 255
// characters of [A-Za-z0-9_.-].
func ValidTypeName(s string) bool { return typeName.MatchString(s) }

// MarshalJSON writes a mapping as the inner object of a providermap.
func (m Mapping) MarshalJSON() ([]byte, error) {
	out := map[string]any{}
	for k, v := range m.Extra {
		out[k] = v
	}
	if m.Image != "" {
		out["image"] = m.Image
	}
	if m.Flavor != "" {
		out["flavor"] = m.Flavor
	}
	if m.Rule != nil {
		out["match"] = m.Rule.Match
		out["pick"] = m.Rule.Pick
	}
	return json.Marshal(out)
}

// UnmarshalJSON reads a providermap's inner object: string values, except
// "match", which is an object of strings (a rule, with "pick").
func (m *Mapping) UnmarshalJSON(b []byte) error {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil || raw == nil {
		return errors.New("each providermap entry must be an object")
	}
	*m = Mapping{}
	keys := make([]string, 0, len(raw))
	for k := range raw {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var pick *string
	for _, k := range keys {
		v := raw[k]
		if k == "match" {
			var match map[string]string
			if err := json.Unmarshal(v, &match); err != nil || match == nil {
				return errors.New("match must be an object of strings")
			}
			if m.Rule == nil {
				m.Rule = &Rule{}
			}
			m.Rule.Match = match
			continue
		}
		var s string
		if err := json.Unmarshal(v, &s); err != nil {
			return fmt.Errorf("providermap value %s must be a string", k)
		}
		switch k {
		case "image":
			m.Image = s
		case "flavor":
			m.Flavor = s
		case "pick":
			pick = &s
		default:
			if m.Extra == nil {
				m.Extra = map[string]string{}
			}
			m.Extra[k] = s
		}
	}
	if pick != nil {
		if m.Rule == nil {
			return errors.New("pick needs a match")
		}
		m.Rule.Pick = *pick
	}
	return nil
}
