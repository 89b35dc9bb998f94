package deltacloud_test

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
)

type pageJSON struct {
	Images []struct {
		Image struct {
			ID               string `json:"id"`
			Name             string `json:"name"`
			HardwareProfiles []struct {
				ID, Href, Rel string
			} `json:"hardware_profiles"`
		} `json:"image"`
	} `json:"images"`
	Next string `json:"next"`
}

func TestPagingThroughTenThousandImages(t *testing.T) {
	s := newServer(t, "mock_images: 10000\n")
	seen := map[string]bool{}
	var order []string
	path := "/api/images?format=json&limit=1000&sort=name"
	pages := 0
	for path != "" {
		r := do(t, s, req{path: path, auth: true})
		if r.status != 200 {
			t.Fatalf("%s: %d %s", path, r.status, r.body)
		}
		pages++
		var p pageJSON
		if err := json.Unmarshal([]byte(r.body), &p); err != nil {
			t.Fatal(err)
		}
		for _, it := range p.Images {
			if seen[it.Image.ID] {
				t.Fatalf("%s listed twice", it.Image.ID)
			}
			seen[it.Image.ID] = true
			order = append(order, it.Image.Name)
		}
		link := r.header.Get("Link")
		if (p.Next == "") != (link == "") || p.Next != "" && link != "<"+p.Next+`>; rel="next"` {
			t.Fatalf("next %q, Link %q", p.Next, link)
		}
		path = strings.TrimPrefix(p.Next, s.URL)
		if pages > 20 {
			t.Fatal("paging does not end")
		}
	}
	if pages != 11 || len(seen) != 10003 {
		t.Errorf("%d pages, %d images; want 11 pages, 10003 images", pages, len(seen))
	}
	for i := 1; i < len(order); i++ {
		if order[i-1] > order[i] {
			t.Fatalf("out of order at %d: %q > %q", i, order[i-1], order[i])
		}
	}
	// the XML page carries the next link too
	r := do(t, s, req{path: "/api/images?limit=2", auth: true})
	if !strings.Contains(r.body, `<link rel="next" href="`) || strings.Count(r.body, "<image ") != 2 {
		t.Errorf("XML page: %.400s", r.body)
	}
}

func TestListParametersAreChecked(t *testing.T) {
	s := newServer(t, "")
	for _, tc := range []struct{ query, param string }{
		{"limit=0", "limit"}, {"limit=1001", "limit"}, {"limit=ten", "limit"},
		{"sort=size", "sort"}, {"marker=bogus", "marker"},
	} {
		r := do(t, s, req{path: "/api/images?format=json&" + tc.query, auth: true})
		if r.status != 400 || !strings.Contains(r.body, tc.param) {
			t.Errorf("%s: %d %s", tc.query, r.status, r.body)
		}
	}
	r := do(t, s, req{path: "/api/images?format=json&search=FEDORA", auth: true})
	var p pageJSON
	json.Unmarshal([]byte(r.body), &p)
	if r.status != 200 || len(p.Images) == 0 {
		t.Errorf("search: %d %s", r.status, r.body)
	}
}

func TestCachedAnswersChangeWithTheCatalog(t *testing.T) {
	s := newServer(t, "mock_create_delay: 1h\n")
	list := func(h map[string]string) resp {
		return do(t, s, req{path: "/api/images?format=json", auth: true, headers: h})
	}
	first := list(nil)
	etag := first.header.Get("ETag")
	if n := list(map[string]string{"If-None-Match": etag}); n.status != 304 {
		t.Fatalf("If-None-Match: %d", n.status)
	}
	if r := do(t, s, req{method: "POST", path: "/api/images?instance_id=inst1&name=brandnew", auth: true}); r.status != 201 {
		t.Fatal(r.status, r.body)
	}
	after := list(map[string]string{"If-None-Match": etag})
	if after.status != 200 || !strings.Contains(after.body, "brandnew") || after.header.Get("ETag") == etag {
		t.Errorf("after a create: %d, ETag %q, body has the image: %v", after.status, after.header.Get("ETag"), strings.Contains(after.body, "brandnew"))
	}
}

func TestGzip(t *testing.T) {
	s := newServer(t, "mock_images: 100\n")
	hr, _ := http.NewRequest("GET", s.URL+"/api/images?format=json", nil)
	hr.SetBasicAuth("mockuser", "mockpassword")
	hr.Header.Set("Accept-Encoding", "gzip")
	res, err := http.DefaultTransport.RoundTrip(hr)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	if res.Header.Get("Content-Encoding") != "gzip" || !strings.Contains(res.Header.Get("Vary"), "Accept-Encoding") {
		t.Fatalf("Content-Encoding %q, Vary %q", res.Header.Get("Content-Encoding"), res.Header.Get("Vary"))
	}
	zr, err := gzip.NewReader(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(zr)
	plain := do(t, s, req{path: "/api/images?format=json", auth: true, headers: map[string]string{"Accept-Encoding": "identity"}})
	if string(body) != plain.body || plain.header.Get("Content-Encoding") != "" {
		t.Errorf("gzip body differs from the plain one (%d vs %d bytes)", len(body), len(plain.body))
	}
	if len(raw) >= len(body) {
		t.Errorf("gzip did not shrink the list: %d bytes for %d", len(raw), len(body))
	}
}

func TestManyProfilesBecomeOneLinkInLists(t *testing.T) {
	s := newServer(t, "deltacloud: {max_profile_links: 2}\n")
	r := do(t, s, req{path: "/api/images?format=json", auth: true})
	var p pageJSON
	json.Unmarshal([]byte(r.body), &p)
	if len(p.Images) == 0 {
		t.Fatal(r.body)
	}
	hp := p.Images[0].Image.HardwareProfiles
	if len(hp) != 1 || hp[0].Rel != "hardware_profiles" || !strings.Contains(hp[0].Href, "/api/hardware_profiles") {
		t.Errorf("list profiles %+v", hp)
	}
	one := do(t, s, req{path: "/api/images/" + p.Images[0].Image.ID + "?format=json", auth: true})
	if strings.Count(one.body, `"rel":"hardware_profile"`) < 3 {
		t.Errorf("the single image keeps its profiles: %s", one.body)
	}
}

// Hardware profiles and realms take the images' limit, marker and sort.
func TestProfilesAndRealmsArePaged(t *testing.T) {
	s := newServer(t, "")
	type entry struct {
		ID string `json:"id"`
	}
	walk := func(t *testing.T, path, list, item string) []string {
		t.Helper()
		var out []string
		for pages := 0; path != ""; pages++ {
			r := do(t, s, req{path: path, auth: true})
			if r.status != 200 {
				t.Fatalf("%s: %d %s", path, r.status, r.body)
			}
			var p map[string]json.RawMessage
			if err := json.Unmarshal([]byte(r.body), &p); err != nil {
				t.Fatal(err)
			}
			var items []map[string]entry
			json.Unmarshal(p[list], &items)
			if len(items) != 1 {
				t.Fatalf("%s: %d items on a page of limit=1", path, len(items))
			}
			out = append(out, items[0][item].ID)
			var next string
			json.Unmarshal(p["next"], &next)
			link := r.header.Get("Link")
			if (next == "") != (link == "") || next != "" && link != "<"+next+`>; rel="next"` {
				t.Fatalf("next %q, Link %q", next, link)
			}
			path = strings.TrimPrefix(next, s.URL)
			if pages > 10 {
				t.Fatal("paging does not end")
			}
		}
		return out
	}
	tests := []struct {
		path, list, item string
		want             string
	}{
		{"/api/hardware_profiles?format=json&limit=1", "hardware_profiles", "hardware_profile", "m1-small m1-large m1-xlarge opaque"},
		{"/api/hardware_profiles?format=json&limit=1&sort=-memory", "hardware_profiles", "hardware_profile", "m1-xlarge m1-large m1-small opaque"},
		{"/api/hardware_profiles?format=json&limit=1&architecture=x86_64&sort=-id", "hardware_profiles", "hardware_profile", "m1-xlarge m1-large"},
		{"/api/realms?format=json&limit=1", "realms", "realm", "eu us"},
		{"/api/realms?format=json&limit=1&sort=-name", "realms", "realm", "us eu"},
	}
	for _, tc := range tests {
		t.Run(tc.path, func(t *testing.T) {
			if got := strings.Join(walk(t, tc.path, tc.list, tc.item), " "); got != tc.want {
				t.Errorf("pages = %s, want %s", got, tc.want)
			}
		})
	}
	for _, tc := range []struct{ path, param string }{
		{"/api/hardware_profiles?limit=0", "limit"}, {"/api/hardware_profiles?sort=created", "sort"},
		{"/api/hardware_profiles?marker=bogus", "marker"}, {"/api/realms?sort=cpu", "sort"},
		{"/api/realms?limit=1001", "limit"},
	} {
		r := do(t, s, req{path: tc.path + "&format=json", auth: true})
		if r.status != 400 || !strings.Contains(r.body, tc.param) {
			t.Errorf("%s: %d %s", tc.path, r.status, r.body)
		}
	}
	for _, path := range []string{"/api/hardware_profiles?limit=2", "/api/realms?limit=1"} {
		r := do(t, s, req{path: path, auth: true})
		if !strings.Contains(r.body, `<link rel="next" href="`) {
			t.Errorf("XML %s: no next link: %.400s", path, r.body)
		}
		r = do(t, s, req{path: path + "&format=html", auth: true})
		if !strings.Contains(r.body, `rel="next"`) {
			t.Errorf("HTML %s: no next link", path)
		}
	}
}
