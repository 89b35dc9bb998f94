package model

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"time"
)

// ImageQuery selects images: every field set must hold (AND). Drivers push
// down what their cloud filters natively and may return more than q
// selects; the gateway applies Match over its catalog.
type ImageQuery struct {
	IDs          []string // only these ids
	OwnerID      string   // exact; "self" means the caller's own cloud identity
	Architecture string   // exact
	Name         string   // exact, case-sensitive
	// NamePattern matches the whole name with * standing for any run of
	// characters (case-sensitive): "CentOS-7-*".
	NamePattern string
	// Search is a case-insensitive substring of the name or description.
	Search string
	State  string   // case-insensitive
	States []string // any of these, case-insensitive
	OS     string   // exact, case-insensitive
	Type   string   // native type, exact
	// Version is the image's version as shown: the cloud's, else the
	// overlay's.
	Version string
	// Tags must all be present with these values (the cloud's tags or the
	// overlay's string tags).
	Tags          map[string]string
	CreatedAfter  time.Time // strictly after; zero: no bound
	CreatedBefore time.Time // strictly before; zero: no bound

	// Fields must all be present with these values in the overlay's Fields
	// (what a front keeps about the images it made).
	Fields map[string]string
}

// Match reports whether img satisfies every filter of q. An OwnerID of "self"
// is not checked here: only a driver knows the caller's identity.
func (q ImageQuery) Match(img Image) bool {
	if len(q.IDs) > 0 && !slices.Contains(q.IDs, img.ID) {
		return false
	}
	if q.OwnerID != "" && q.OwnerID != "self" && q.OwnerID != img.OwnerID {
		return false
	}
	if q.Architecture != "" && q.Architecture != img.Architecture {
		return false
	}
	if q.Name != "" && q.Name != img.Name {
		return false
	}
	if q.NamePattern != "" && !MatchPattern(q.NamePattern, img.Name) {
		return false
	}
	if q.Search != "" && !containsFold(img.Name, q.Search) && !containsFold(img.Description, q.Search) {
		return false
	}
	if q.State != "" && !strings.EqualFold(q.State, img.State) {
		return false
	}
	if len(q.States) > 0 && !slices.ContainsFunc(q.States, func(s string) bool { return strings.EqualFold(s, img.State) }) {
		return false
	}
	if q.OS != "" && !strings.EqualFold(q.OS, img.OS) {
		return false
	}
	if q.Type != "" && q.Type != img.Type {
		return false
	}
	if q.Version != "" && q.Version != img.ShownVersion() {
		return false
	}
	for k, v := range q.Tags {
		if img.Tags[k] != v && !(img.Meta != nil && fmt.Sprint(img.Meta.Tags[k]) == v && img.Meta.Tags[k] != nil) {
			return false
		}
	}
	for k, v := range q.Fields {
		if img.Meta == nil || img.Meta.Fields[k] != v {
			return false
		}
	}
	if !q.CreatedAfter.IsZero() && !img.Created.After(q.CreatedAfter) {
		return false
	}
	if !q.CreatedBefore.IsZero() && !img.Created.Before(q.CreatedBefore) {
		return false
	}
	return true
}

// ShownVersion is the image's version: the cloud's, else the overlay's.
func (i Image) ShownVersion() string {
	if i.Version != "" || i.Meta == nil {
		return i.Version
	}
	return i.Meta.Version
}

// containsFold reports whether sub is within s, ignoring case.
func containsFold(s, sub string) bool {
	if sub == "" {
		return true
	}
	if len(sub) > len(s) {
		return false
	}
	return strings.Contains(strings.ToLower(s), strings.ToLower(sub))
}

// MatchPattern reports whether s matches pattern as a whole, * standing for
// any run of characters (no other character is special).
func MatchPattern(pattern, s string) bool {
	parts := strings.Split(pattern, "*")
	if len(parts) == 1 {
		return pattern == s
	}
	if !strings.HasPrefix(s, parts[0]) {
		return false
	}
	s = s[len(parts[0]):]
	last := parts[len(parts)-1]
	for _, p := range parts[1 : len(parts)-1] {
		i := strings.Index(s, p)
		if i < 0 {
			return false
		}
		s = s[i+len(p):]
	}
	return len(s) >= len(last) && strings.HasSuffix(s, last)
}

// Sort fields of an image list.
const (
	SortID           = "id"
	SortName         = "name"
	SortCreated      = "created"
	SortOwner        = "owner"
	SortArchitecture = "architecture"
	SortState        = "state"
	SortDescription  = "description" // the native front's default order only
	SortSize         = "size"        // SizeBytes; not offered by ParseSort
)

// SortKey is one key of a list's order.
type SortKey struct {
	Field string
	Desc  bool
}

// ParseSort parses a comma list of sort fields of an image list, each
// optionally prefixed by "-" for descending (and "+" for ascending):
// "name,-created". An unknown field is InvalidArgument naming the valid
// ones.
func ParseSort(s string) ([]SortKey, error) {
	return ParseSortOf(s, SortID, SortName, SortCreated, SortOwner, SortArchitecture, SortState)
}

// Sort fields of a hardware profile list (besides SortID and SortName).
const (
	SortCPU     = "cpu"
	SortMemory  = "memory"
	SortStorage = "storage"
)

// ParseSortOf is ParseSort for a list whose sort fields are fields.
func ParseSortOf(s string, fields ...string) ([]SortKey, error) {
	if strings.TrimSpace(s) == "" {
		return nil, nil
	}
	var out []SortKey
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		k := SortKey{}
		switch {
		case strings.HasPrefix(f, "-"):
			k.Desc, f = true, f[1:]
		case strings.HasPrefix(f, "+"):
			f = f[1:]
		}
		if !slices.Contains(fields, f) {
			valid := strings.Join(fields, ", ")
			if n := len(fields); n > 1 {
				valid = strings.Join(fields[:n-1], ", ") + " or " + fields[n-1]
			}
			return nil, Errorf(InvalidArgument, "sort: unknown field %q; sort by %s, - for descending", f, valid)
		}
		k.Field = f
		out = append(out, k)
	}
	return out, nil
}

// FormatSort is the inverse of ParseSort.
func FormatSort(keys []SortKey) string {
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k.Field
		if k.Desc {
			parts[i] = "-" + k.Field
		}
	}
	return strings.Join(parts, ",")
}

// SortValue is an image's value of a sort field, as text that compares in
// the field's order (creation times as fixed-width Unix nanoseconds).
func (i Image) SortValue(field string) string {
	switch field {
	case SortName:
		return i.Name
	case SortCreated:
		if i.Created.IsZero() {
			return ""
		}
		return fmt.Sprintf("%020d", uint64(i.Created.UnixNano())^1<<63)
	case SortOwner:
		return i.OwnerID
	case SortArchitecture:
		return i.Architecture
	case SortState:
		return strings.ToUpper(i.State)
	case SortDescription:
		return i.Description
	case SortSize:
		return fmt.Sprintf("%020d", uint64(i.SizeBytes)^1<<63)
	}
	return i.ID
}

// CompareIDs orders ids naturally: runs of digits compare as numbers
// (img5 before img10), the rest byte by byte; ids equal that way (img05,
// img5) fall back to their bytes, so the order is total.
func CompareIDs(a, b string) int {
	i, j := 0, 0
	for i < len(a) && j < len(b) {
		ca, cb := a[i], b[j]
		if isDigit(ca) && isDigit(cb) {
			si, sj := i, j
			for i < len(a) && isDigit(a[i]) {
				i++
			}
			for j < len(b) && isDigit(b[j]) {
				j++
			}
			na, nb := strings.TrimLeft(a[si:i], "0"), strings.TrimLeft(b[sj:j], "0")
			if c := cmp.Compare(len(na), len(nb)); c != 0 {
				return c
			}
			if c := strings.Compare(na, nb); c != 0 {
				return c
			}
			continue
		}
		if ca != cb {
			return cmp.Compare(ca, cb)
		}
		i++
		j++
	}
	if c := cmp.Compare(len(a)-i, len(b)-j); c != 0 {
		return c
	}
	return strings.Compare(a, b)
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

// CompareImages orders a and b by keys, ties broken by id ascending
// (natural order, CompareIDs).
func CompareImages(keys []SortKey, a, b *Image) int {
	for _, k := range keys {
		if k.Field == SortID {
			c := CompareIDs(a.ID, b.ID)
			if k.Desc {
				c = -c
			}
			return c
		}
		c := cmp.Compare(a.SortValue(k.Field), b.SortValue(k.Field))
		if k.Desc {
			c = -c
		}
		if c != 0 {
			return c
		}
	}
	return CompareIDs(a.ID, b.ID)
}

// Paging limits.
const (
	MaxLimit = 1000
)

// ListOptions order and page a list.
type ListOptions struct {
	Sort []SortKey // nil: by id
	// Limit is the page size (1..MaxLimit); 0 is the whole list.
	Limit int
	// Cursor continues after the last image of a previous page (its
	// NextCursor); it must come with the same Sort.
	Cursor string
	// Offset skips this many images first (CloudAPI's offset, page
	// numbers): with Cursor, after it.
	Offset int
}
