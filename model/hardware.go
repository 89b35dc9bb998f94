package model

import "strconv"

// PropertyKind says how a hardware-profile property varies.
type PropertyKind string

// The property kinds.
const (
	Fixed PropertyKind = "fixed" // one value
	Range PropertyKind = "range" // First..Last
	Enum  PropertyKind = "enum"  // one of Values
)

// Property names and their units, in the order the native front shows them.
const (
	PropCPU          = "cpu"          // unit UnitCount
	PropMemory       = "memory"       // unit UnitMB
	PropStorage      = "storage"      // unit UnitGB
	PropArchitecture = "architecture" // unit UnitLabel

	UnitCount = "count"
	UnitMB    = "MB"
	UnitGB    = "GB"
	UnitLabel = "label"
)

// Property is one dimension of a hardware profile. Numbers are kept as the
// decimal strings the cloud gives ("1740.8") so nothing is lost to rounding.
type Property struct {
	Name   string
	Kind   PropertyKind
	Unit   string
	Value  string   // the default: the fixed value, or a range's/enum's default
	First  string   // Range only
	Last   string   // Range only
	Values []string // Enum only
}

// Contains reports whether v is a value the property allows: equal to a fixed
// value, inside a numeric range, or one of an enum's entries.
func (p Property) Contains(v string) bool {
	switch p.Kind {
	case Range:
		x, err1 := strconv.ParseFloat(v, 64)
		lo, err2 := strconv.ParseFloat(p.First, 64)
		hi, err3 := strconv.ParseFloat(p.Last, 64)
		return err1 == nil && err2 == nil && err3 == nil && x >= lo && x <= hi
	case Enum:
		for _, e := range p.Values {
			if e == v {
				return true
			}
		}
		return false
	default:
		return p.Value == v
	}
}

// FixedProp returns a fixed property.
func FixedProp(name, unit, value string) Property {
	return Property{Name: name, Kind: Fixed, Unit: unit, Value: value}
}

// RangeProp returns a range property whose default is def.
func RangeProp(name, unit, first, last, def string) Property {
	return Property{Name: name, Kind: Range, Unit: unit, First: first, Last: last, Value: def}
}

// EnumProp returns an enum property whose default is def (the first value
// when def is "").
func EnumProp(name, unit, def string, values ...string) Property {
	if def == "" && len(values) > 0 {
		def = values[0]
	}
	return Property{Name: name, Kind: Enum, Unit: unit, Value: def, Values: values}
}

// HardwareProfile is a machine size: Deltacloud's hardware profile, Triton's
// package, OpenStack's flavor, EC2's instance type.
type HardwareProfile struct {
	ID         string
	Name       string
	Properties []Property
	// Native holds cloud-specific fields (GPU, network performance, swap,
	// extra specs ...), as strings.
	Native map[string]string
}

// Property returns the property named name, if the profile has it.
func (h HardwareProfile) Property(name string) (Property, bool) {
	for _, p := range h.Properties {
		if p.Name == name {
			return p, true
		}
	}
	return Property{}, false
}

// DefaultFloat returns the numeric default of the property named name, and
// whether there is one.
func (h HardwareProfile) DefaultFloat(name string) (float64, bool) {
	p, ok := h.Property(name)
	if !ok {
		return 0, false
	}
	f, err := strconv.ParseFloat(p.Value, 64)
	return f, err == nil
}
