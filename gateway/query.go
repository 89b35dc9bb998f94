package gateway

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"slices"
	"strings"
	"sync"

	"github.com/imagegw/imagegw/model"
)

// ImagePage is one page of a query over the catalog: the selected images in
// the query's order, without copying them out of the catalog.
type ImagePage struct {
	snap *snapshot
	idx  []int32
	// Total is how many images the query selects in all pages.
	Total int
	// NextCursor continues after this page (ListOptions.Cursor); "" on the
	// last page.
	NextCursor string
	// Generation changes whenever the catalog entry's images change: an
	// answer encoded for (generation, query) stays true until it changes.
	// Zero when the catalog is off.
	Generation uint64
	// Warning, when set, is for a Warning header (see Listing).
	Warning string
}

// Len is the number of images on the page.
func (p *ImagePage) Len() int { return len(p.idx) }

// At returns the page's i-th image; it is the catalog's and must not be
// modified.
func (p *ImagePage) At(i int) *model.Image { return &p.snap.images[p.idx[i]] }

// Listing returns the page's catalog snapshot as a Listing (without
// images), for Session.IDs.
func (p *ImagePage) Listing() Listing { return Listing{Generation: p.Generation, snap: p.snap} }

// Images copies the page's images out.
func (p *ImagePage) Images() []model.Image {
	out := make([]model.Image, len(p.idx))
	for i, j := range p.idx {
		out[i] = p.snap.images[j]
	}
	return out
}

// snapIndex is a snapshot's lazily built lookup structures: posting lists
// by field value and sort orders. A snapshot never changes, so each is
// built once and shared by every query of it.
type snapIndex struct {
	mu    sync.Mutex
	posts map[string]map[string][]int32 // field → value → ascending positions
	perms map[string][]int32            // sort spec → all positions in order
}

func (s *snapshot) postings(field string) map[string][]int32 {
	s.ix.mu.Lock()
	defer s.ix.mu.Unlock()
	if m, ok := s.ix.posts[field]; ok {
		return m
	}
	if s.ix.posts == nil {
		s.ix.posts = map[string]map[string][]int32{}
	}
	m := map[string][]int32{}
	for i := range s.images {
		v := fieldValue(&s.images[i], field)
		m[v] = append(m[v], int32(i))
	}
	s.ix.posts[field] = m
	return m
}

func fieldValue(img *model.Image, field string) string {
	switch field {
	case model.SortOwner:
		return img.OwnerID
	case model.SortArchitecture:
		return img.Architecture
	case model.SortState:
		return strings.ToUpper(img.State)
	case model.SortName:
		return img.Name
	}
	return img.ID
}

// perm returns every position of the snapshot in the order of keys.
func (s *snapshot) perm(keys []model.SortKey) []int32 {
	spec := model.FormatSort(keys)
	s.ix.mu.Lock()
	p, ok := s.ix.perms[spec]
	s.ix.mu.Unlock()
	if ok {
		return p
	}
	p = make([]int32, len(s.images))
	for i := range p {
		p[i] = int32(i)
	}
	slices.SortFunc(p, func(a, b int32) int { return model.CompareImages(keys, &s.images[a], &s.images[b]) })
	s.ix.mu.Lock()
	if s.ix.perms == nil {
		s.ix.perms = map[string][]int32{}
	}
	s.ix.perms[spec] = p
	s.ix.mu.Unlock()
	return p
}

// candidates returns the positions that may match q, ascending, from the
// most selective posting list of the fields q sets; nil means every image.
func (s *snapshot) candidates(q model.ImageQuery) []int32 {
	var best []int32
	found := false
	consider := func(list []int32) {
		if !found || len(list) < len(best) {
			best, found = list, true
		}
	}
	if q.OwnerID != "" && q.OwnerID != "self" {
		consider(s.postings(model.SortOwner)[q.OwnerID])
	}
	if q.Architecture != "" {
		consider(s.postings(model.SortArchitecture)[q.Architecture])
	}
	if q.Name != "" {
		consider(s.postings(model.SortName)[q.Name])
	}
	states := q.States
	if q.State != "" {
		states = []string{q.State}
	}
	if len(states) > 0 {
		posts := s.postings(model.SortState)
		var union []int32
		for _, st := range states {
			union = append(union, posts[strings.ToUpper(st)]...)
		}
		if len(states) > 1 {
			slices.Sort(union)
			union = slices.Compact(union)
		}
		consider(union)
	}
	if len(q.IDs) > 0 {
		var list []int32
		for _, id := range q.IDs {
			if i, ok := s.find(id); ok {
				list = append(list, int32(i))
			}
		}
		slices.Sort(list)
		consider(slices.Compact(list))
	}
	if found && best == nil {
		return []int32{}
	}
	return best
}

// cursor is what a NextCursor encodes: the sort and the last image's sort
// values and id, so that the next page starts after it wherever it (or its
// neighbours) went since; a federated list's cursor also names the
// provider, its last tie-break.
type cursor struct {
	Sort     string   `json:"s,omitempty"`
	Values   []string `json:"v,omitempty"`
	ID       string   `json:"i"`
	Provider string   `json:"p,omitempty"`
}

func encodeCursor(keys []model.SortKey, img *model.Image, provider string) string {
	c := cursor{Sort: model.FormatSort(keys), ID: img.ID, Provider: provider}
	for _, k := range keys {
		c.Values = append(c.Values, img.SortValue(k.Field))
	}
	return c.encode()
}

// encode is the cursor as a NextCursor: opaque, URL-safe.
func (c cursor) encode() string {
	b, _ := json.Marshal(c)
	return base64.RawURLEncoding.EncodeToString(b)
}

// decodeCursor reads a NextCursor given for keys; federated says whether
// it must name a provider (and a plain one must not).
func decodeCursor(s string, keys []model.SortKey, federated bool) (cursor, error) {
	var c cursor
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil || json.Unmarshal(b, &c) != nil || c.ID == "" || (c.Provider != "") != federated {
		what := "a marker this gateway gave"
		if federated {
			what += " for several providers"
		}
		return c, model.Errorf(model.InvalidArgument, "marker: %q is not %s", s, what)
	}
	if c.Sort != model.FormatSort(keys) || len(c.Values) != len(keys) {
		return c, model.Errorf(model.InvalidArgument, "marker: it was given for sort %q, not %q", c.Sort, model.FormatSort(keys))
	}
	return c, nil
}

// window is the [start, end) of a page of n ordered items, start being
// the position after the cursor (0 without one), then o's offset and limit.
func window(n, start int, o model.ListOptions) (int, int) {
	start = min(start+o.Offset, n)
	end := n
	if o.Limit > 0 {
		end = min(start+o.Limit, n)
	}
	return start, end
}

// afterCursor compares img with the cursor's position: > 0 when img comes
// after it.
func afterCursor(keys []model.SortKey, img *model.Image, c cursor) int {
	for i, k := range keys {
		var d int
		if k.Field == model.SortID {
			d = model.CompareIDs(img.ID, c.ID)
		} else {
			d = strings.Compare(img.SortValue(k.Field), c.Values[i])
		}
		if k.Desc {
			d = -d
		}
		if d != 0 || k.Field == model.SortID {
			return d
		}
	}
	return model.CompareIDs(img.ID, c.ID)
}

// query runs q and o over snap.
func (snap *snapshot) query(q model.ImageQuery, o model.ListOptions) (ImagePage, error) {
	if o.Limit < 0 || o.Limit > model.MaxLimit {
		return ImagePage{}, model.Errorf(model.InvalidArgument, "limit: must be 1 to %d, not %d", model.MaxLimit, o.Limit)
	}
	if o.Offset < 0 {
		return ImagePage{}, model.Errorf(model.InvalidArgument, "offset: must not be negative, not %d", o.Offset)
	}
	var cur cursor
	if o.Cursor != "" {
		var err error
		if cur, err = decodeCursor(o.Cursor, o.Sort, false); err != nil {
			return ImagePage{}, err
		}
	}
	var order []int32
	if allMatch(q) {
		order = snap.perm(o.Sort)
	} else {
		cands := snap.candidates(q)
		var matched []int32
		check := func(i int32) {
			if q.Match(snap.images[i]) {
				matched = append(matched, i)
			}
		}
		if cands == nil {
			for i := range snap.images {
				check(int32(i))
			}
		} else {
			for _, i := range cands {
				check(i)
			}
		}
		slices.SortFunc(matched, func(a, b int32) int { return model.CompareImages(o.Sort, &snap.images[a], &snap.images[b]) })
		order = matched
	}
	page := ImagePage{snap: snap, Total: len(order), Generation: snap.gen}
	start := 0
	if o.Cursor != "" {
		start, _ = slices.BinarySearchFunc(order, cur, func(i int32, c cursor) int {
			if afterCursor(o.Sort, &snap.images[i], c) > 0 {
				return 1
			}
			return -1
		})
	}
	start, end := window(len(order), start, o)
	page.idx = order[start:end:end]
	if end < len(order) && end > start {
		page.NextCursor = encodeCursor(o.Sort, &snap.images[order[end-1]], "")
	}
	return page, nil
}

// allMatch reports whether q selects every image (no field set).
func allMatch(q model.ImageQuery) bool {
	return q.OwnerID == "" && q.Architecture == "" && q.Name == "" && q.State == "" && len(q.States) == 0 &&
		q.OS == "" && q.Type == "" && q.Version == "" && q.CreatedAfter.IsZero() && q.CreatedBefore.IsZero() &&
		len(q.IDs) == 0 && q.NamePattern == "" && q.Search == "" && len(q.Tags) == 0 && len(q.Fields) == 0
}

// QueryImages runs a query over the catalog: filter (with indexes where
// they pay: owner, architecture, state, name, ids), order (ties broken by
// id) and page. Bad sort, limit or cursor values are InvalidArgument
// naming the parameter.
func (s *Session) QueryImages(ctx context.Context, q model.ImageQuery, o model.ListOptions) (ImagePage, error) {
	defer s.cloudCall(&ctx, "ListImages")() // request_timeout and trace: deadline.go
	var snap *snapshot
	warn := ""
	if q.OwnerID == "self" {
		l, err := s.ListImages(ctx, q)
		if err != nil {
			return ImagePage{}, err
		}
		snap = &snapshot{images: l.Images}
		q.OwnerID = ""
	} else {
		var err error
		if snap, warn, err = s.g.catalog.images(ctx, s, s.ownerScope(q)); err != nil {
			return ImagePage{}, err
		}
	}
	p, err := snap.query(q, o)
	p.Warning = warn
	return p, err
}
