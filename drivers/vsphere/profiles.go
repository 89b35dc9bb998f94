package vsphere

import (
	"fmt"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/imagegw/imagegw/model"
)

// defaultProfileID is the id of Deltacloud's vSphere profile.
const defaultProfileID = "default"

// Built-in limits of the default profile when no host can be read (no
// credentials at all): vSphere 8's per-VM maxima.
const (
	builtinMaxCPU      = 768
	builtinMaxMemoryMB = 24 * 1024 * 1024
	minMemoryMB        = 512
)

// ProfileConfig is one hardware profile in a provider's configuration. A
// property is a number or label (fixed), "first..last" (a range whose
// default is first) or a list (an enum whose default is the first entry):
//
//	profiles:
//	  - {id: small, cpu: 1, memory: 2048, architecture: x86_64}
//	  - {id: flexible, cpu: "1..8", memory: [1024, 2048, 4096], storage: 40}
type ProfileConfig struct {
	ID           string   `yaml:"id"`
	Name         string   `yaml:"name"`
	CPU          PropSpec `yaml:"cpu"`
	Memory       PropSpec `yaml:"memory"`
	Storage      PropSpec `yaml:"storage"`
	Architecture PropSpec `yaml:"architecture"`
}

// PropSpec is a profile property as configured: a scalar, "a..b", or a list.
type PropSpec struct {
	Values []string
	Range  bool
	set    bool
}

// UnmarshalYAML accepts a scalar or a sequence of scalars.
func (p *PropSpec) UnmarshalYAML(n *yaml.Node) error {
	p.set = true
	switch n.Kind {
	case yaml.ScalarNode:
		if a, b, ok := strings.Cut(n.Value, ".."); ok {
			p.Range, p.Values = true, []string{strings.TrimSpace(a), strings.TrimSpace(b)}
			return nil
		}
		p.Values = []string{n.Value}
		return nil
	case yaml.SequenceNode:
		for _, c := range n.Content {
			if c.Kind != yaml.ScalarNode {
				return fmt.Errorf("line %d: a profile property list holds plain values", c.Line)
			}
			p.Values = append(p.Values, c.Value)
		}
		if len(p.Values) == 0 {
			return fmt.Errorf("line %d: empty list", n.Line)
		}
		return nil
	}
	return fmt.Errorf("line %d: a profile property is a value, \"first..last\" or a list", n.Line)
}

func (p PropSpec) property(name, unit string, numeric bool) (model.Property, error) {
	if numeric {
		for _, v := range p.Values {
			if _, err := strconv.ParseFloat(v, 64); err != nil {
				return model.Property{}, fmt.Errorf("%s: %q is not a number", name, v)
			}
		}
	}
	switch {
	case p.Range:
		if !numeric {
			return model.Property{}, fmt.Errorf("%s cannot be a range", name)
		}
		lo, _ := strconv.ParseFloat(p.Values[0], 64)
		hi, _ := strconv.ParseFloat(p.Values[1], 64)
		if lo > hi {
			return model.Property{}, fmt.Errorf("%s: range %s..%s is empty", name, p.Values[0], p.Values[1])
		}
		return model.RangeProp(name, unit, p.Values[0], p.Values[1], p.Values[0]), nil
	case len(p.Values) == 1:
		return model.FixedProp(name, unit, p.Values[0]), nil
	}
	return model.EnumProp(name, unit, "", p.Values...), nil
}

// buildProfiles checks configured profiles and turns them into the model's.
func buildProfiles(cfgs []ProfileConfig) ([]model.HardwareProfile, error) {
	seen := map[string]bool{}
	out := make([]model.HardwareProfile, 0, len(cfgs))
	for i, c := range cfgs {
		if c.ID == "" {
			return nil, fmt.Errorf("profiles[%d]: id is required", i)
		}
		if seen[c.ID] {
			return nil, fmt.Errorf("profiles: id %q is used twice", c.ID)
		}
		seen[c.ID] = true
		hp := model.HardwareProfile{ID: c.ID, Name: c.Name}
		if hp.Name == "" {
			hp.Name = c.ID
		}
		for _, f := range []struct {
			spec    PropSpec
			name    string
			unit    string
			numeric bool
		}{
			{c.CPU, model.PropCPU, model.UnitCount, true},
			{c.Memory, model.PropMemory, model.UnitMB, true},
			{c.Storage, model.PropStorage, model.UnitGB, true},
			{c.Architecture, model.PropArchitecture, model.UnitLabel, false},
		} {
			if !f.spec.set {
				continue
			}
			prop, err := f.spec.property(f.name, f.unit, f.numeric)
			if err != nil {
				return nil, fmt.Errorf("profile %s: %v", c.ID, err)
			}
			hp.Properties = append(hp.Properties, prop)
		}
		if len(hp.Properties) == 0 {
			return nil, fmt.Errorf("profile %s has no properties", c.ID)
		}
		out = append(out, hp)
	}
	return out, nil
}

// defaultProfile is Deltacloud's vSphere profile: any CPU count up to the
// cores of the largest host, memory from 512 MB up to that host's memory,
// and the two architectures vSphere guests have.
func defaultProfile(maxCPU int, maxMemoryMB int64, source string) model.HardwareProfile {
	if maxCPU < 1 {
		maxCPU = 1
	}
	if maxMemoryMB < minMemoryMB {
		maxMemoryMB = minMemoryMB
	}
	return model.HardwareProfile{
		ID:   defaultProfileID,
		Name: defaultProfileID,
		Properties: []model.Property{
			model.RangeProp(model.PropCPU, model.UnitCount, "1", strconv.Itoa(maxCPU), "1"),
			model.RangeProp(model.PropMemory, model.UnitMB, strconv.Itoa(minMemoryMB), strconv.FormatInt(maxMemoryMB, 10), strconv.Itoa(minMemoryMB)),
			model.EnumProp(model.PropArchitecture, model.UnitLabel, "x86_64", "x86_64", "i386"),
		},
		Native: map[string]string{"limits_from": source},
	}
}
