package deltacloud_test

import (
	"context"
	"strings"
	"testing"

	"github.com/imagegw/imagegw/api/apitest"
	"github.com/imagegw/imagegw/gateway"
	"github.com/imagegw/imagegw/model"
)

func TestImageTypesExtension(t *testing.T) {
	s := newServer(t, `
providers:
  - {name: mock, driver: mock}
  - {name: mock2, driver: mock}
deltacloud: {native_tenant: lab}
`)
	ctx := context.Background()
	label := "Fedora"
	for _, ty := range []model.PortableType{
		{Name: "fedora", Label: &label, ProviderMap: map[string]model.Mapping{
			"mock":  {Image: "img1"},
			"mock2": {Rule: &model.Rule{Match: map[string]string{"owner_id": "fedoraproject", "name": "img*"}, Pick: model.PickNewest}},
		}},
		{Name: "jboss", ProviderMap: map[string]model.Mapping{"mock": {Image: "img3"}}},
	} {
		if _, err := s.Gateway.CreateType(ctx, "lab", gateway.ImageTypes, ty); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.Gateway.CreateType(ctx, "other", gateway.ImageTypes, model.PortableType{Name: "hidden"}); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		what, path string
		status     int
		contains   []string
		lacks      []string
	}{
		{"list, default provider, JSON", "/api/image_types?format=json", 200,
			[]string{`"id":"fedora"`, `"href":"http://` + host(s) + `/api/image_types/fedora"`, `"image":{"id":"img1","href":"http://` + host(s) + `/api/images/img1","rel":"image"}`, `"label":"Fedora"`, `"id":"jboss"`},
			[]string{"hidden"}},
		{"get in mock2: the rule's pick, linked in mock2", "/api;provider=mock2/image_types/fedora?format=json", 200,
			[]string{`"image":{"id":"img2","href":"http://` + host(s) + `/api;provider=mock2/images/img2","rel":"image"}`}, nil},
		{"no mapping in mock2: no link", "/api;provider=mock2/image_types/jboss?format=json", 200, []string{`"id":"jboss"`}, []string{`"image":{"id"`, "image_error"}},
		{"XML", "/api/image_types/fedora", 200,
			[]string{`<image_type href="http://` + host(s) + `/api/image_types/fedora" id="fedora">`, `<image rel="image" id="img1" href="http://` + host(s) + `/api/images/img1"`, `<provider name="mock2" rule="newest"`}, nil},
		{"HTML", "/api/image_types?format=html", 200, []string{"fedora", "img1"}, nil},
		{"unknown", "/api/image_types/nope?format=json", 404, []string{"image type nope not found"}, nil},
	}
	for _, c := range cases {
		t.Run(c.what, func(t *testing.T) {
			r := do(t, s, req{path: c.path})
			if r.status != c.status {
				t.Fatalf("%d %s", r.status, r.body)
			}
			for _, w := range c.contains {
				if !strings.Contains(r.body, w) {
					t.Errorf("body lacks %s:\n%s", w, r.body)
				}
			}
			for _, w := range c.lacks {
				if strings.Contains(r.body, w) {
					t.Errorf("body has %s:\n%s", w, r.body)
				}
			}
		})
	}
	if r := do(t, s, req{method: "POST", path: "/api/image_types"}); r.status != 405 {
		t.Errorf("POST: %d, want 405 (read-only)", r.status)
	}
}

func host(s *apitest.Server) string { return strings.TrimPrefix(s.URL, "http://") }
