package gateway

import (
	"fmt"
	"slices"
	"strconv"
	"testing"

	"github.com/imagegw/imagegw/model"
)

// testProfiles are n profiles "p1".."pn" with i%4+1 cores and memory
// falling with i; every fifth has no memory.
func testProfiles(n int) []model.HardwareProfile {
	var hps []model.HardwareProfile
	for i := 1; i <= n; i++ {
		props := []model.Property{model.FixedProp(model.PropCPU, model.UnitCount, strconv.Itoa(i%4+1))}
		if i%5 != 0 {
			props = append(props, model.FixedProp(model.PropMemory, model.UnitMB, strconv.Itoa(100000-i*512)))
		}
		hps = append(hps, model.HardwareProfile{ID: fmt.Sprintf("p%d", i), Name: fmt.Sprintf("size-%02d", n-i), Properties: props})
	}
	return hps
}

func profileIDs(hps []model.HardwareProfile) []string {
	out := make([]string, len(hps))
	for i, hp := range hps {
		out[i] = hp.ID
	}
	return out
}

// walk pages through hps with limit and returns the ids in page order.
func walk(t *testing.T, hps []model.HardwareProfile, sort []model.SortKey, limit int) []string {
	t.Helper()
	var out []string
	o := model.ListOptions{Sort: sort, Limit: limit}
	for pages := 0; ; pages++ {
		p, err := pageOf(hps, profilePages, o)
		if err != nil {
			t.Fatal(err)
		}
		if len(p.Items) > limit {
			t.Fatalf("page of %d items, limit %d", len(p.Items), limit)
		}
		out = append(out, profileIDs(p.Items)...)
		if p.NextCursor == "" {
			return out
		}
		if pages > len(hps) {
			t.Fatal("paging does not end")
		}
		o.Cursor = p.NextCursor
	}
}

func TestProfilePages(t *testing.T) {
	hps := testProfiles(23)
	tests := []struct {
		name string
		sort string
		want func(a, b model.HardwareProfile) bool // a may come before b
	}{
		{"default: cores, then memory, none last", "", func(a, b model.HardwareProfile) bool {
			ac, _ := a.DefaultFloat(model.PropCPU)
			bc, _ := b.DefaultFloat(model.PropCPU)
			if ac != bc {
				return ac < bc
			}
			am, aok := a.DefaultFloat(model.PropMemory)
			bm, bok := b.DefaultFloat(model.PropMemory)
			if aok != bok {
				return aok
			}
			return am < bm || am == bm && model.CompareIDs(a.ID, b.ID) < 0
		}},
		{"memory descending, none last", "-memory", func(a, b model.HardwareProfile) bool {
			am, aok := a.DefaultFloat(model.PropMemory)
			bm, bok := b.DefaultFloat(model.PropMemory)
			if aok != bok {
				return aok
			}
			return am > bm || am == bm && model.CompareIDs(a.ID, b.ID) < 0
		}},
		{"id in natural order", "id", func(a, b model.HardwareProfile) bool { return model.CompareIDs(a.ID, b.ID) < 0 }},
		{"name", "name", func(a, b model.HardwareProfile) bool { return a.Name < b.Name }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			keys, err := model.ParseSortOf(tc.sort, ProfileSortFields...)
			if err != nil {
				t.Fatal(err)
			}
			whole := walk(t, hps, keys, model.MaxLimit)
			if len(whole) != len(hps) {
				t.Fatalf("%d profiles, want %d", len(whole), len(hps))
			}
			byID := map[string]model.HardwareProfile{}
			for _, hp := range hps {
				byID[hp.ID] = hp
			}
			for i := 1; i < len(whole); i++ {
				if !tc.want(byID[whole[i-1]], byID[whole[i]]) {
					t.Fatalf("%s before %s", whole[i-1], whole[i])
				}
			}
			for _, limit := range []int{1, 4, 22, 23} {
				if got := walk(t, hps, keys, limit); !slices.Equal(got, whole) {
					t.Errorf("limit %d: %v, want %v", limit, got, whole)
				}
			}
		})
	}
}

// A page's cursor holds its last item's place, not its index: the next
// page starts after it even when items before it went away.
func TestProfilePageCursorSurvivesChanges(t *testing.T) {
	hps := testProfiles(10)
	keys := []model.SortKey{{Field: model.SortID}}
	p, err := pageOf(hps, profilePages, model.ListOptions{Sort: keys, Limit: 3})
	if err != nil {
		t.Fatal(err)
	}
	if got := profileIDs(p.Items); !slices.Equal(got, []string{"p1", "p2", "p3"}) {
		t.Fatalf("first page %v", got)
	}
	rest := slices.DeleteFunc(slices.Clone(hps), func(hp model.HardwareProfile) bool { return hp.ID == "p2" || hp.ID == "p3" })
	p, err = pageOf(rest, profilePages, model.ListOptions{Sort: keys, Limit: 3, Cursor: p.NextCursor})
	if err != nil {
		t.Fatal(err)
	}
	if got := profileIDs(p.Items); !slices.Equal(got, []string{"p4", "p5", "p6"}) {
		t.Errorf("after p3 went away: %v, want p4 p5 p6", got)
	}
}

func TestPageErrors(t *testing.T) {
	hps := testProfiles(5)
	first, _ := pageOf(hps, profilePages, model.ListOptions{Limit: 2})
	tests := []struct {
		name string
		o    model.ListOptions
	}{
		{"limit too large", model.ListOptions{Limit: model.MaxLimit + 1}},
		{"negative offset", model.ListOptions{Offset: -1}},
		{"marker not ours", model.ListOptions{Cursor: "bogus"}},
		{"marker of another sort", model.ListOptions{Cursor: first.NextCursor, Sort: []model.SortKey{{Field: model.SortName}}}},
		{"field of images", model.ListOptions{Sort: []model.SortKey{{Field: model.SortCreated}}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := pageOf(hps, profilePages, tc.o); model.CodeOf(err) != model.InvalidArgument {
				t.Errorf("err = %v, want InvalidArgument", err)
			}
		})
	}
	if _, err := model.ParseSortOf("created", RealmSortFields...); model.CodeOf(err) != model.InvalidArgument ||
		model.MessageOf(err) != `sort: unknown field "created"; sort by id, name or state, - for descending` {
		t.Errorf("realm sort by created: %v", err)
	}
}
