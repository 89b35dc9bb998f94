package deltacloud_test

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestFederatedImages(t *testing.T) {
	s := newServer(t, `
providers:
  - {name: mock, driver: mock}
  - {name: mock2, driver: mock}
  - {name: mock3, driver: mock}
`)
	type listed struct {
		Images []struct {
			Image struct {
				ID, Href, Provider, Architecture string
				HardwareProfiles                 []struct{ Href string } `json:"hardware_profiles"`
			}
		}
		Failures []struct {
			Provider string
			Status   int
		}
	}
	list := func(t *testing.T, path string) (listed, resp) {
		t.Helper()
		r := do(t, s, req{path: path, auth: true})
		var l listed
		if r.status == 200 {
			if err := json.Unmarshal([]byte(r.body), &l); err != nil {
				t.Fatalf("%s: %v", r.body, err)
			}
		}
		return l, r
	}
	cases := []struct {
		what, path string
		want       []string // provider/id in order
	}{
		{"every provider", "/api;driver=mock;provider=*/images?format=json&architecture=x86_64", []string{"mock/img1", "mock2/img1", "mock3/img1"}},
		{"a comma list", "/api;driver=mock;provider=mock3,mock2/images?format=json&owner_id=mockuser", []string{"mock2/img3", "mock3/img3"}},
	}
	for _, c := range cases {
		t.Run(c.what, func(t *testing.T) {
			l, r := list(t, c.path)
			if r.status != 200 {
				t.Fatalf("%d %s", r.status, r.body)
			}
			var got []string
			for _, im := range l.Images {
				got = append(got, im.Image.Provider+"/"+im.Image.ID)
				if wantHref := "/api;driver=mock;provider=" + im.Image.Provider + "/images/" + im.Image.ID; !strings.HasSuffix(im.Image.Href, wantHref) {
					t.Errorf("href %s, want ...%s", im.Image.Href, wantHref)
				}
				for _, hp := range im.Image.HardwareProfiles {
					if !strings.Contains(hp.Href, ";provider="+im.Image.Provider+"/") {
						t.Errorf("profile href %s does not select %s", hp.Href, im.Image.Provider)
					}
				}
			}
			if strings.Join(got, " ") != strings.Join(c.want, " ") {
				t.Errorf("images %v, want %v", got, c.want)
			}
			if l.Failures == nil || len(l.Failures) != 0 {
				t.Errorf("failures %v, want []", l.Failures)
			}
		})
	}
	t.Run("sort and pages over the merged list", func(t *testing.T) {
		var got []string
		path := "/api;driver=mock;provider=*/images?format=json&sort=-name&limit=4"
		for pages := 0; path != ""; pages++ {
			if pages > 3 {
				t.Fatal("more than 3 pages of 4 for 9 images")
			}
			r := do(t, s, req{path: path, auth: true})
			var l struct {
				Images []struct{ Image struct{ ID, Provider string } }
				Next   string
			}
			if r.status != 200 || json.Unmarshal([]byte(r.body), &l) != nil {
				t.Fatalf("%s: %d %s", path, r.status, r.body)
			}
			for _, im := range l.Images {
				got = append(got, im.Image.Provider+"/"+im.Image.ID)
			}
			path = strings.TrimPrefix(l.Next, s.URL)
			if l.Next != "" && !strings.Contains(r.header.Get("Link"), `rel="next"`) {
				t.Errorf("no Link header with next %s", l.Next)
			}
		}
		want := "mock/img3 mock2/img3 mock3/img3 mock/img2 mock2/img2 mock3/img2 mock/img1 mock2/img1 mock3/img1"
		if strings.Join(got, " ") != want {
			t.Errorf("pages gave\n %s\nwant\n %s", strings.Join(got, " "), want)
		}
	})
	r := do(t, s, req{path: "/api;driver=mock;provider=*/images?architecture=i386", auth: true})
	if r.status != 200 || strings.Count(r.body, "<provider>mock2</provider>") != 2 || strings.Contains(r.body, "<failures>") {
		t.Errorf("XML: %d %s", r.status, r.body)
	}
	for _, c := range []struct {
		what, path string
		auth       bool
		status     int
		msg        string
	}{
		{"unknown provider in the list", "/api;driver=mock;provider=mock,nosuch/images?format=json", true, 400, `provider \"nosuch\" is not configured for driver mock`},
		{"a marker not given for several providers", "/api;driver=mock;provider=*/images?format=json&marker=xyz", true, 400, "is not a marker this gateway gave for several providers"},
		{"only image lists", "/api;driver=mock;provider=*/hardware_profiles?format=json", true, 400, "can be selected only to list images"},
		{"all fail: the error", "/api;driver=mock;provider=*/images?format=json", false, 401, "credentials required"},
	} {
		t.Run(c.what, func(t *testing.T) {
			r := do(t, s, req{path: c.path, auth: c.auth})
			if r.status != c.status || !strings.Contains(r.body, c.msg) {
				t.Errorf("%d %s; want %d %s", r.status, r.body, c.status, c.msg)
			}
		})
	}
}

// A federated list is kept encoded like a single provider's: asked again
// it is the same answer (304 for its ETag), and a write in any of its
// providers changes it at once.
func TestFederatedAnswersFollowTheCatalogs(t *testing.T) {
	s := newServer(t, `
mock_create_delay: 1h
providers:
  - {name: mock, driver: mock}
  - {name: mock2, driver: mock}
`)
	const path = "/api;driver=mock;provider=*/images?format=json&sort=name"
	list := func(h map[string]string) resp {
		return do(t, s, req{path: path, auth: true, headers: h})
	}
	first := list(nil)
	etag := first.header.Get("ETag")
	if first.status != 200 || etag == "" {
		t.Fatalf("%d, ETag %q", first.status, etag)
	}
	if again := list(nil); again.body != first.body || again.header.Get("ETag") != etag {
		t.Error("the same federated list, asked again, changed")
	}
	if n := list(map[string]string{"If-None-Match": etag}); n.status != 304 {
		t.Fatalf("If-None-Match: %d", n.status)
	}
	if r := do(t, s, req{method: "POST", path: "/api;driver=mock;provider=mock2/images?instance_id=inst1&name=brandnew", auth: true}); r.status != 201 {
		t.Fatal(r.status, r.body)
	}
	after := list(map[string]string{"If-None-Match": etag})
	if after.status != 200 || !strings.Contains(after.body, "brandnew") || after.header.Get("ETag") == etag {
		t.Fatalf("after a create in mock2: %d, ETag %q, has the image: %v", after.status, after.header.Get("ETag"), strings.Contains(after.body, "brandnew"))
	}
	if r := do(t, s, req{method: "DELETE", path: "/api;driver=mock;provider=mock/images/img2", auth: true}); r.status != 204 {
		t.Fatal(r.status, r.body)
	}
	gone := list(nil)
	if strings.Contains(gone.body, `"id":"img2","href":"http://`+host(s)+`/api;driver=mock;provider=mock/`) {
		t.Error("after a delete in mock: the federated list still shows mock's img2")
	}
	if !strings.Contains(gone.body, `provider=mock2/images/img2"`) {
		t.Error("after a delete in mock: mock2's img2 went too")
	}
}
