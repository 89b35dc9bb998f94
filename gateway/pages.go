package gateway

import (
	"cmp"
	"context"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/imagegw/imagegw/model"
)

// Page is one page of a list that is not the image catalog (hardware
// profiles, realms): its items in order, and the cursor of the next page
// ("" on the last one). Such lists are small (hundreds of items at most),
// so they are sorted per request, not indexed like the images.
type Page[T any] struct {
	Items      []T
	NextCursor string
}

// sortField is one field a list of T can be sorted by.
type sortField[T any] struct {
	value   func(*T) string // "" when the item has none: it sorts last
	numeric bool            // compare as numbers, not text
}

// pageable describes a list of T for pageOf: how to name an item, the
// fields it sorts by and its order without a sort.
type pageable[T any] struct {
	id     func(*T) string
	fields map[string]sortField[T]
	def    []model.SortKey // nil: by id
}

// compareValues orders two values of a field; a missing value ("") comes
// last whichever the direction.
func compareValues(a, b string, numeric, desc bool) int {
	if a == "" || b == "" {
		switch {
		case a == b:
			return 0
		case a == "":
			return 1
		}
		return -1
	}
	var d int
	if numeric {
		fa, _ := strconv.ParseFloat(a, 64)
		fb, _ := strconv.ParseFloat(b, 64)
		d = cmp.Compare(fa, fb)
	} else {
		d = strings.Compare(a, b)
	}
	if desc {
		d = -d
	}
	return d
}

// compare orders an item (its id and sort values) against another; ties
// are broken by id in natural order (model.CompareIDs).
func (l pageable[T]) compare(keys []model.SortKey, aID string, aVals []string, bID string, bVals []string) int {
	for i, k := range keys {
		if k.Field == model.SortID {
			d := model.CompareIDs(aID, bID)
			if k.Desc {
				d = -d
			}
			return d
		}
		if d := compareValues(aVals[i], bVals[i], l.fields[k.Field].numeric, k.Desc); d != 0 {
			return d
		}
	}
	return model.CompareIDs(aID, bID)
}

func (l pageable[T]) values(keys []model.SortKey, it *T) []string {
	vals := make([]string, len(keys))
	for i, k := range keys {
		if f, ok := l.fields[k.Field]; ok {
			vals[i] = f.value(it)
		}
	}
	return vals
}

// pageOf sorts items (its own copy) by o.Sort, or l's default order, and
// returns the page o asks for. A cursor holds the last item's sort values
// and id, so the next page starts after it wherever it went since.
func pageOf[T any](items []T, l pageable[T], o model.ListOptions) (Page[T], error) {
	if o.Limit < 0 || o.Limit > model.MaxLimit {
		return Page[T]{}, model.Errorf(model.InvalidArgument, "limit: must be 1 to %d, not %d", model.MaxLimit, o.Limit)
	}
	if o.Offset < 0 {
		return Page[T]{}, model.Errorf(model.InvalidArgument, "offset: must not be negative, not %d", o.Offset)
	}
	keys := o.Sort
	if keys == nil {
		keys = l.def
	}
	for _, k := range keys {
		if _, ok := l.fields[k.Field]; !ok && k.Field != model.SortID {
			return Page[T]{}, model.Errorf(model.InvalidArgument, "sort: this list cannot be sorted by %q", k.Field)
		}
	}
	type row struct {
		it   *T
		id   string
		vals []string
	}
	rows := make([]row, len(items))
	for i := range items {
		rows[i] = row{&items[i], l.id(&items[i]), l.values(keys, &items[i])}
	}
	slices.SortFunc(rows, func(a, b row) int { return l.compare(keys, a.id, a.vals, b.id, b.vals) })
	start := 0
	if o.Cursor != "" {
		c, err := decodeCursor(o.Cursor, keys, false)
		if err != nil {
			return Page[T]{}, err
		}
		start = sort.Search(len(rows), func(i int) bool {
			return l.compare(keys, rows[i].id, rows[i].vals, c.ID, c.Values) > 0
		})
	}
	start, end := window(len(rows), start, o)
	p := Page[T]{Items: make([]T, 0, end-start)}
	for _, r := range rows[start:end] {
		p.Items = append(p.Items, *r.it)
	}
	if o.Limit > 0 && end < len(rows) {
		last := rows[end-1]
		p.NextCursor = cursor{Sort: model.FormatSort(keys), Values: last.vals, ID: last.id}.encode()
	}
	return p, nil
}

// profileDefault is the order of hardware profiles without a sort: by
// cores, then memory (the smallest first), then id.
var profileDefault = []model.SortKey{{Field: model.SortCPU}, {Field: model.SortMemory}}

func profileNumber(name string) func(*model.HardwareProfile) string {
	return func(hp *model.HardwareProfile) string {
		if f, ok := hp.DefaultFloat(name); ok {
			return strconv.FormatFloat(f, 'g', -1, 64)
		}
		return ""
	}
}

var profilePages = pageable[model.HardwareProfile]{
	id: func(hp *model.HardwareProfile) string { return hp.ID },
	fields: map[string]sortField[model.HardwareProfile]{
		model.SortName:    {value: func(hp *model.HardwareProfile) string { return hp.Name }},
		model.SortCPU:     {value: profileNumber(model.PropCPU), numeric: true},
		model.SortMemory:  {value: profileNumber(model.PropMemory), numeric: true},
		model.SortStorage: {value: profileNumber(model.PropStorage), numeric: true},
	},
	def: profileDefault,
}

// SortedProfiles returns hps in the default order of QueryHardwareProfiles
// (a new slice; hps is not changed).
func SortedProfiles(hps []model.HardwareProfile) []model.HardwareProfile {
	p, _ := pageOf(hps, profilePages, model.ListOptions{}) // no limit, no cursor: no error
	return p.Items
}

// ProfileSortFields are the fields QueryHardwareProfiles sorts by, for
// model.ParseSortOf.
var ProfileSortFields = []string{model.SortID, model.SortName, model.SortCPU, model.SortMemory, model.SortStorage}

// QueryHardwareProfiles returns a page of the provider's hardware profiles
// that allow architecture ("" for all), sorted by o.Sort (ProfileSortFields;
// numbers by their default value, profiles without one last) or by cores
// then memory, ties broken by id.
func (s *Session) QueryHardwareProfiles(ctx context.Context, architecture string, o model.ListOptions) (Page[model.HardwareProfile], error) {
	hps, err := s.ListHardwareProfiles(ctx, architecture)
	if err != nil {
		return Page[model.HardwareProfile]{}, err
	}
	return pageOf(hps, profilePages, o)
}

var realmPages = pageable[model.Realm]{
	id: func(r *model.Realm) string { return r.ID },
	fields: map[string]sortField[model.Realm]{
		model.SortName:  {value: func(r *model.Realm) string { return r.Name }},
		model.SortState: {value: func(r *model.Realm) string { return r.State }},
	},
}

// RealmSortFields are the fields QueryRealms sorts by.
var RealmSortFields = []string{model.SortID, model.SortName, model.SortState}

// QueryRealms returns a page of the provider's realms, sorted by o.Sort
// (RealmSortFields) or by id.
func (s *Session) QueryRealms(ctx context.Context, o model.ListOptions) (Page[model.Realm], error) {
	realms, err := s.ListRealms(ctx)
	if err != nil {
		return Page[model.Realm]{}, err
	}
	return pageOf(realms, realmPages, o)
}
