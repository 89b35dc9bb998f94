package cloudapi_test

import (
	"encoding/json"
	"net/url"
	"strings"
	"testing"

	"github.com/imagegw/imagegw/api/apitest"
	"github.com/imagegw/imagegw/gateway"
)

// nativeImages lists the native front's images with alice's mock
// credentials: the same cloud identity as alice's CloudAPI account, so the
// same catalog entry.
func nativeImages(t *testing.T, e *env) map[string]string {
	t.Helper()
	r := apitest.Call(t, "GET", e.srv.URL+"/api/images?format=json&state=", "mockuser", "mockpassword", nil)
	r.Want(t, "native list", 200)
	var body struct {
		Images []struct {
			Image struct{ ID, Name string } `json:"image"`
		} `json:"images"`
	}
	r.Decode(t, &body)
	out := map[string]string{}
	for _, i := range body.Images {
		out[i.Image.ID] = i.Image.Name
	}
	return out
}

func cloudImages(t *testing.T, c *client) map[string]string {
	t.Helper()
	r := c.do("GET", "/my/images?state=all", nil)
	want(t, r, 200, "")
	var imgs []struct{ ID, Name string }
	r.json(t, &imgs)
	out := map[string]string{}
	for _, i := range imgs {
		out[i.ID] = i.Name
	}
	return out
}

func TestOneCatalogAcrossFronts(t *testing.T) {
	e := setup(t, "")
	a := e.alice
	cloudImages(t, a) // fill the entry
	nativeImages(t, e)

	// create through the native front: the next CloudAPI list shows it
	r := apitest.Call(t, "POST", e.srv.URL+"/api/images?format=json", "mockuser", "mockpassword",
		url.Values{"instance_id": {"inst1"}, "name": {"crossfront"}})
	r.Want(t, "native create", 201)
	var created struct {
		Image struct{ ID string } `json:"image"`
	}
	json.Unmarshal(r.Body, &created)
	native := created.Image.ID
	uuid := gateway.SchemeUUID.ID("mock", "mock", gateway.KindImages, native)
	if got := cloudImages(t, a)[uuid]; got != "crossfront" {
		t.Fatalf("CloudAPI list right after a native create: %q for %s", got, uuid)
	}

	// rename through CloudAPI: the native front shows the new name
	want(t, a.do("POST", "/my/images/"+uuid+"?action=update", map[string]any{"name": "renamed"}), 200, "")
	if got := nativeImages(t, e)[native]; got != "renamed" {
		t.Errorf("native list after a CloudAPI rename: %q", got)
	}

	// delete through the native front: neither front shows it
	apitest.Call(t, "DELETE", e.srv.URL+"/api/images/"+native, "mockuser", "mockpassword", nil).Want(t, "native delete", 204)
	if _, ok := cloudImages(t, a)[uuid]; ok {
		t.Error("CloudAPI still lists a deleted image")
	}
	if _, ok := nativeImages(t, e)[native]; ok {
		t.Error("the native front still lists a deleted image")
	}
	want(t, a.do("GET", "/my/images/"+uuid, nil), 404, "ResourceNotFound")
}

func TestUnknownImageIDsCostNoListing(t *testing.T) {
	e := setup(t, "")
	a := e.alice
	cloudImages(t, a)
	before := e.srv.Gateway.CatalogStats()
	for _, id := range []string{"0b8e5a6e-0000-4000-8000-000000000001", "0b8e5a6e-0000-4000-8000-000000000002", "not-a-uuid"} {
		want(t, a.do("GET", "/my/images/"+id, nil), 404, "ResourceNotFound")
	}
	after := e.srv.Gateway.CatalogStats()
	if after.Listings != before.Listings {
		t.Errorf("unknown ids made %d cloud listings", after.Listings-before.Listings)
	}
}

func TestNestedTagsAreRefused(t *testing.T) {
	e := setup(t, "")
	a := e.alice
	deep := strings.Repeat(`{"x":`, 9995) + `1` + strings.Repeat(`}`, 9995)
	body := []byte(`{"machine":"` + inst1UUID + `","name":"deep","version":"1.0.0","tags":{"t":` + deep + `}}`)
	r := a.do("POST", "/my/images", body)
	if r.StatusCode != 409 || r.code(t) != "InvalidArgument" {
		t.Fatalf("nested tags: %d %s", r.StatusCode, r.body)
	}
	for _, name := range cloudImages(t, a) {
		if name == "deep" {
			t.Error("an image was created for a refused request")
		}
	}
	// and every account's list still answers
	want(t, e.bob.do("GET", "/my/images", nil), 200, "")
}

func TestListETagGzipAndPaging(t *testing.T) {
	e := setup(t, "mock_images: 50\n")
	a := e.alice
	r := a.do("GET", "/my/images", nil, "Accept-Encoding", "identity")
	want(t, r, 200, "")
	etag := r.Header.Get("ETag")
	if etag == "" || r.Header.Get("Content-MD5") == "" {
		t.Fatalf("ETag %q Content-MD5 %q", etag, r.Header.Get("Content-MD5"))
	}
	if n := a.do("GET", "/my/images", nil, "If-None-Match", etag); n.StatusCode != 304 {
		t.Errorf("If-None-Match: %d", n.StatusCode)
	}
	z := a.do("GET", "/my/images", nil, "Accept-Encoding", "gzip")
	if z.Header.Get("Content-Encoding") != "gzip" || len(z.body) >= len(r.body) {
		t.Errorf("gzip: Content-Encoding %q, %d bytes for %d", z.Header.Get("Content-Encoding"), len(z.body), len(r.body))
	}
	var all []struct{ ID string }
	r.json(t, &all)
	var page []struct{ ID string }
	p := a.do("GET", "/my/images?limit=5&offset=3", nil)
	want(t, p, 200, "")
	p.json(t, &page)
	if len(page) != 5 || page[0].ID != all[3].ID || page[4].ID != all[7].ID {
		t.Errorf("limit=5&offset=3 of %d: %v", len(all), page)
	}
	for _, bad := range []string{"limit=0", "limit=1001", "offset=-1", "limit=x"} {
		r := a.do("GET", "/my/images?"+bad, nil)
		if r.StatusCode != 409 || r.code(t) != "InvalidArgument" {
			t.Errorf("%s: %d %s", bad, r.StatusCode, r.body)
		}
	}
}
