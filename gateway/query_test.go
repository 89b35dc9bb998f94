package gateway

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/imagegw/imagegw/model"
)

func TestQueryPagesEveryImageOnceInOrder(t *testing.T) {
	h := newHarness(t, 10003, "", "")
	ctx := context.Background()
	for _, sort := range []string{"", "name", "-created", "-id", "state,-name"} {
		keys, err := model.ParseSort(sort)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		pages, cur := 0, ""
		for {
			p, err := h.session(t, "alice").QueryImages(ctx, model.ImageQuery{}, model.ListOptions{Sort: keys, Limit: 1000, Cursor: cur})
			if err != nil {
				t.Fatal(err)
			}
			pages++
			for i := range p.Len() {
				got = append(got, p.At(i).ID)
			}
			if p.Total != 10003 {
				t.Fatalf("total %d", p.Total)
			}
			if cur = p.NextCursor; cur == "" {
				break
			}
		}
		if pages != 11 || len(got) != 10003 {
			t.Errorf("sort %q: %d pages, %d images; want 11, 10003", sort, pages, len(got))
		}
		all, _ := h.session(t, "alice").QueryImages(ctx, model.ImageQuery{}, model.ListOptions{Sort: keys})
		want := make([]string, all.Len())
		for i := range want {
			want[i] = all.At(i).ID
		}
		if !slices.Equal(got, want) {
			t.Errorf("sort %q: pages differ from the whole list", sort)
		}
	}
}

func TestQueryPagingWhileImagesComeAndGo(t *testing.T) {
	h := newHarness(t, 3000, "", "")
	ctx := context.Background()
	s := h.session(t, "alice")
	keys, _ := model.ParseSort("name")
	seen := map[string]int{}
	throughout := map[string]bool{}
	l, _ := s.ListImages(ctx, model.ImageQuery{})
	for _, img := range l.Images {
		throughout[img.ID] = true
	}
	cur := ""
	for page := 0; ; page++ {
		p, err := s.QueryImages(ctx, model.ImageQuery{}, model.ListOptions{Sort: keys, Limit: 250, Cursor: cur})
		if err != nil {
			t.Fatal(err)
		}
		for i := range p.Len() {
			seen[p.At(i).ID]++
		}
		// between pages: a create and a delete (of an image before and
		// after the cursor)
		if _, _, err := s.CreateImage(ctx, model.CreateImage{InstanceID: "i", Name: fmt.Sprintf("image img%04d-new", page*97%3000)}, JobMeta{}); err != nil {
			t.Fatal(err)
		}
		for _, victim := range []string{fmt.Sprintf("img%03d", page*7), fmt.Sprintf("img%d", 2999-page*11)} {
			if err := s.DeleteImage(ctx, victim); err == nil {
				delete(throughout, victim)
			}
		}
		if cur = p.NextCursor; cur == "" {
			break
		}
	}
	for id := range throughout {
		if seen[id] != 1 {
			t.Errorf("%s, listed throughout, was seen %d times", id, seen[id])
		}
	}
	for id, n := range seen {
		if n > 1 {
			t.Errorf("%s seen %d times", id, n)
		}
	}
}

func TestQueryFiltersAndSorts(t *testing.T) {
	h := newHarness(t, 0, "", "")
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	add := func(id, name, desc, owner, arch, state string, day int, tags map[string]string) {
		h.cloud.images[id] = model.Image{ID: id, Name: name, Description: desc, OwnerID: "alice", Architecture: arch,
			State: state, Created: t0.AddDate(0, 0, day), Tags: tags, Native: map[string]string{"o": owner}}
	}
	add("a", "CentOS-7-1", "base", "x", "x86_64", "AVAILABLE", 3, map[string]string{"role": "web"})
	add("b", "CentOS-7-2", "Web server", "x", "arm64", "PENDING", 1, nil)
	add("c", "Ubuntu", "WEB", "y", "x86_64", "FAILED", 2, map[string]string{"role": "db"})
	add("d", "ubuntu", "", "y", "x86_64", "AVAILABLE", 2, nil)
	ctx := context.Background()
	q := func(query model.ImageQuery, sort string) string {
		t.Helper()
		keys, err := model.ParseSort(sort)
		if err != nil {
			t.Fatal(err)
		}
		p, err := h.session(t, "alice").QueryImages(ctx, query, model.ListOptions{Sort: keys})
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for i := range p.Len() {
			ids = append(ids, p.At(i).ID)
		}
		return strings.Join(ids, ",")
	}
	tests := []struct {
		name  string
		query model.ImageQuery
		sort  string
		want  string
	}{
		{"all by id", model.ImageQuery{}, "", "a,b,c,d"},
		{"ids", model.ImageQuery{IDs: []string{"d", "b", "zz"}}, "", "b,d"},
		{"architecture", model.ImageQuery{Architecture: "x86_64"}, "", "a,c,d"},
		{"name exact", model.ImageQuery{Name: "ubuntu"}, "", "d"},
		{"name pattern", model.ImageQuery{NamePattern: "CentOS-7-*"}, "", "a,b"},
		{"pattern inner", model.ImageQuery{NamePattern: "*OS*2"}, "", "b"},
		{"search name or description, any case", model.ImageQuery{Search: "web"}, "", "b,c"},
		{"states", model.ImageQuery{States: []string{"available", "FAILED"}}, "", "a,c,d"},
		{"state", model.ImageQuery{State: "pending"}, "", "b"},
		{"tags", model.ImageQuery{Tags: map[string]string{"role": "web"}}, "", "a"},
		{"created after", model.ImageQuery{CreatedAfter: t0.AddDate(0, 0, 1)}, "", "a,c,d"},
		{"created before", model.ImageQuery{CreatedBefore: t0.AddDate(0, 0, 2)}, "", "b"},
		{"and", model.ImageQuery{Architecture: "x86_64", States: []string{"AVAILABLE"}}, "", "a,d"},
		{"none", model.ImageQuery{Architecture: "sparc"}, "", ""},
		{"name asc", model.ImageQuery{}, "name", "a,b,c,d"},
		{"name desc", model.ImageQuery{}, "-name", "d,c,b,a"},
		{"created, ties by id", model.ImageQuery{}, "created", "b,c,d,a"},
		{"created desc, ties by id", model.ImageQuery{}, "-created", "a,c,d,b"},
		{"state then name desc", model.ImageQuery{}, "state,-name", "d,a,c,b"},
		{"architecture", model.ImageQuery{}, "architecture", "b,a,c,d"},
		{"id desc", model.ImageQuery{}, "-id", "d,c,b,a"},
		{"filtered and sorted", model.ImageQuery{Architecture: "x86_64"}, "-created", "a,c,d"},
	}
	for _, tc := range tests {
		if got := q(tc.query, tc.sort); got != tc.want {
			t.Errorf("%s: %q, want %q", tc.name, got, tc.want)
		}
	}
	for _, bad := range []struct {
		o    model.ListOptions
		want string
	}{
		{model.ListOptions{Limit: 1001}, "limit"},
		{model.ListOptions{Limit: -1}, "limit"},
		{model.ListOptions{Offset: -1}, "offset"},
		{model.ListOptions{Cursor: "garbage"}, "marker"},
	} {
		_, err := h.session(t, "alice").QueryImages(ctx, model.ImageQuery{}, bad.o)
		if model.CodeOf(err) != model.InvalidArgument || !strings.Contains(err.Error(), bad.want) {
			t.Errorf("%+v: %v", bad.o, err)
		}
	}
	if _, err := model.ParseSort("size"); model.CodeOf(err) != model.InvalidArgument || !strings.Contains(err.Error(), "sort") {
		t.Errorf("bad sort: %v", err)
	}
	// a cursor given for one sort is refused for another
	keys, _ := model.ParseSort("name")
	p, _ := h.session(t, "alice").QueryImages(ctx, model.ImageQuery{}, model.ListOptions{Sort: keys, Limit: 1})
	if _, err := h.session(t, "alice").QueryImages(ctx, model.ImageQuery{}, model.ListOptions{Limit: 1, Cursor: p.NextCursor}); model.CodeOf(err) != model.InvalidArgument {
		t.Errorf("cursor for another sort: %v", err)
	}
}
