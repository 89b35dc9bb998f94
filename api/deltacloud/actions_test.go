package deltacloud_test

import (
	"context"
	"encoding/json"
	"encoding/xml"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/imagegw/imagegw/drivers"
	"github.com/imagegw/imagegw/model"
)

// exporter is a test-only driver that can export but neither update,
// clone nor copy: the actions it gets are export, and update through the
// gateway's overlay.
type exporter struct{}

func (exporter) Connect(context.Context, model.Credentials) (drivers.Driver, error) {
	return exporter{}, nil
}
func (exporter) Close() error { return nil }
func (exporter) ListImages(context.Context, model.ImageQuery) ([]model.Image, error) {
	return []model.Image{{ID: "e1", Name: "one", State: model.ImageAvailable}}, nil
}
func (exporter) GetImage(_ context.Context, id string) (model.Image, error) {
	if id != "e1" {
		return model.Image{}, model.Errorf(model.NotFound, "image %s not found", id)
	}
	return model.Image{ID: "e1", Name: "one", State: model.ImageAvailable}, nil
}
func (exporter) CreateImage(context.Context, model.CreateImage) (model.Image, error) {
	return model.Image{}, model.Errorf(model.NotFound, "no instances")
}
func (exporter) DeleteImage(context.Context, string) error { return nil }
func (exporter) ListHardwareProfiles(context.Context) ([]model.HardwareProfile, error) {
	return nil, nil
}
func (exporter) ExportImage(_ context.Context, id string, req model.ExportRequest) (model.ExportResult, error) {
	if id != "e1" {
		return model.ExportResult{}, model.Errorf(model.NotFound, "image %s not found", id)
	}
	return model.ExportResult{BaseURL: "https://exports.example", ImagePath: req.Path + "/e1.img", ManifestPath: req.Path + "/e1.json"}, nil
}

// Its one instance has an address of each kind.
var addressed = model.Instance{ID: "vm1", Name: "web", State: "RUNNING",
	PublicAddresses: []string{"192.0.2.10", "2001:db8::1", "web.example.com"}, PrivateAddresses: []string{"10.0.0.5"}}

func (exporter) ListInstances(context.Context) ([]model.Instance, error) {
	return []model.Instance{addressed}, nil
}
func (exporter) GetInstance(context.Context, string) (model.Instance, error) { return addressed, nil }

func init() {
	drivers.Register(drivers.Registration{ID: "exporter", Name: "Exporter",
		Open: func(context.Context, model.ProviderConfig, drivers.Env) (drivers.Provider, error) {
			return exporter{}, nil
		}})
}

const twoMocks = "mock_create_delay: 0s\njob_poll_interval: 10ms\nproviders:\n  - {name: test1, driver: mock}\n  - {name: x, driver: exporter}\n  - {name: y, driver: exporter}\n"

type entryXML struct {
	Links []struct {
		Rel      string `xml:"rel,attr"`
		Features []struct {
			Name   string `xml:"name,attr"`
			Rel    string `xml:"rel,attr"`
			Params []struct {
				Name string `xml:"name,attr"`
			} `xml:"param"`
		} `xml:"feature"`
	} `xml:"link"`
}

func imageFeatures(t *testing.T, body string) []string {
	t.Helper()
	var e entryXML
	if err := xml.Unmarshal([]byte(body), &e); err != nil {
		t.Fatalf("%v\n%s", err, body)
	}
	var out []string
	for _, l := range e.Links {
		if l.Rel != "images" {
			continue
		}
		for _, f := range l.Features {
			var ps []string
			for _, p := range f.Params {
				ps = append(ps, p.Name)
			}
			out = append(out, f.Name+"("+strings.Join(ps, ",")+")")
		}
	}
	return out
}

func actionRels(t *testing.T, body string) string {
	t.Helper()
	var img imageXML
	if err := xml.Unmarshal([]byte(body), &img); err != nil {
		t.Fatalf("%v\n%s", err, body)
	}
	var rels []string
	for _, a := range img.Actions {
		rels = append(rels, a.Rel+" "+a.Method+" "+strings.TrimPrefix(a.Href, img.Href))
	}
	return strings.Join(rels, "; ")
}

// TestActionsAdvertised: the entry point's features and each image's
// action links offer exactly the actions the selected driver can do.
func TestActionsAdvertised(t *testing.T) {
	one := newServer(t, "")
	two := newServer(t, twoMocks)
	tests := []struct {
		name     string
		s        bool // the server with two mock providers
		entry    string
		image    string
		features string
		actions  string
	}{
		{"mock alone: no copy destination", false, "/api", "/api/images/img1",
			"owner_id(owner_id) image_name(name) image_description(description) update_image(name,description) clone_image(name,description)",
			"destroy_image delete ; update_image put ; clone_image post /clone"},
		{"two mock providers: copy too", true, "/api", "/api/images/img1",
			"owner_id(owner_id) image_name(name) image_description(description) update_image(name,description) clone_image(name,description) copy_image(provider,name,description)",
			"destroy_image delete ; update_image put ; clone_image post /clone; copy_image post /copy"},
		{"exporter: update (the gateway's overlay) and export", true, "/api;driver=exporter", "/api;driver=exporter/images/e1",
			"update_image(name,description) export_image(path)", "destroy_image delete ; update_image put ; export_image post /export"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := one
			if tc.s {
				s = two
			}
			e := do(t, s, req{path: tc.entry, auth: true})
			if got := strings.Join(imageFeatures(t, e.body), " "); got != tc.features {
				t.Errorf("features:\n got %s\nwant %s", got, tc.features)
			}
			r := do(t, s, req{path: tc.image, auth: true})
			if got := actionRels(t, r.body); got != tc.actions {
				t.Errorf("actions:\n got %s\nwant %s", got, tc.actions)
			}
		})
	}
}

// TestUpdateImage: PUT and PATCH change name and description, from form,
// JSON and XML bodies; mistakes say what was wrong.
func TestUpdateImage(t *testing.T) {
	s := newServer(t, "")
	form := map[string]string{"Content-Type": "application/x-www-form-urlencoded"}
	tests := []struct {
		name      string
		r         req
		status    int
		wantName  string
		wantDesc  string
		wantInMsg string
	}{
		{"PUT form name", req{method: "PUT", path: "/api/images/img1", headers: form, body: "name=renamed"}, 200, "renamed", "Fedora 10", ""},
		{"PATCH JSON description", req{method: "PATCH", path: "/api/images/img1", headers: map[string]string{"Content-Type": "application/json"}, body: `{"description":"from JSON"}`}, 200, "renamed", "from JSON", ""},
		{"PUT JSON wrapped", req{method: "PUT", path: "/api/images/img1", headers: map[string]string{"Content-Type": "application/json"}, body: `{"image":{"name":"wrapped"}}`}, 200, "wrapped", "from JSON", ""},
		{"PUT XML both", req{method: "PUT", path: "/api/images/img1", headers: map[string]string{"Content-Type": "application/xml"}, body: `<image><name>x1</name><description>from XML</description></image>`}, 200, "x1", "from XML", ""},
		{"HTML form _method=put", req{method: "POST", path: "/api/images/img1", headers: form, body: "_method=put&name=html"}, 200, "html", "from XML", ""},
		{"nothing to update", req{method: "PUT", path: "/api/images/img1", headers: form, body: ""}, 400, "", "", "nothing to update"},
		{"unknown parameter", req{method: "PATCH", path: "/api/images/img1", headers: form, body: "color=red"}, 400, "", "", "unknown parameter color; update_image takes name, description"},
		{"empty name", req{method: "PUT", path: "/api/images/img1", headers: form, body: "name="}, 400, "", "", "name must not be empty"},
		{"unknown image", req{method: "PUT", path: "/api/images/nope", headers: form, body: "name=x"}, 404, "", "", "nope"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.r.auth = true
			r := do(t, s, tc.r)
			if r.status != tc.status {
				t.Fatalf("%d, want %d: %s", r.status, tc.status, r.body)
			}
			if tc.status != 200 {
				var e xmlError
				if err := xml.Unmarshal([]byte(r.body), &e); err != nil || !strings.Contains(e.Message, tc.wantInMsg) {
					t.Errorf("error %+v (%v), want message with %q", e, err, tc.wantInMsg)
				}
				return
			}
			g := do(t, s, req{path: "/api/images/img1", auth: true})
			var img imageXML
			_ = xml.Unmarshal([]byte(g.body), &img)
			if img.Name != tc.wantName || img.Description != tc.wantDesc {
				t.Errorf("after update: name %q description %q, want %q %q", img.Name, img.Description, tc.wantName, tc.wantDesc)
			}
		})
	}
	if r := do(t, s, req{method: "PUT", path: "/api/images/img1", headers: form, body: "name=x"}); r.status != 401 {
		t.Errorf("update without credentials: %d", r.status)
	}
	if r := do(t, s, req{method: "PUT", path: "/api;driver=exporter/images/e1", headers: form, body: "name=x", auth: true}); r.status != 400 {
		t.Errorf("update on an unconfigured driver: %d", r.status)
	}
	// A driver without a native update is updated in the gateway's overlay.
	x := newServer(t, twoMocks)
	if r := do(t, x, req{method: "PATCH", path: "/api;driver=exporter/images/e1", headers: form, body: "name=kept-by-the-gateway", auth: true}); r.status != 200 {
		t.Fatalf("overlay update: %d %s", r.status, r.body)
	}
	if r := do(t, x, req{path: "/api;driver=exporter/images/e1", auth: true}); !strings.Contains(r.body, "<name>kept-by-the-gateway</name>") {
		t.Errorf("overlay update not shown: %s", r.body)
	}
}

// doURL GETs an absolute URL with the mock's credentials.
func doURL(t *testing.T, url string) resp {
	t.Helper()
	hr, err := http.NewRequest("GET", url, nil)
	if err != nil {
		t.Fatal(err)
	}
	hr.SetBasicAuth("mockuser", "mockpassword")
	res, err := http.DefaultClient.Do(hr)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return resp{res.StatusCode, res.Header, string(b)}
}

type jobJSON struct {
	Job struct {
		ID, State, Kind, Provider string
	}
}

// waitJob polls a job until it is terminal.
func waitJob(t *testing.T, url string) jobJSON {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		r := doURL(t, url+"?format=json")
		var j jobJSON
		if err := json.Unmarshal([]byte(r.body), &j); err != nil {
			t.Fatalf("%v: %s", err, r.body)
		}
		if j.Job.State != model.JobRunning || time.Now().After(deadline) {
			return j
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestCloneAndCopy: clone makes a new image in the provider, copy one in
// the provider named by the parameter; each is 201 with Location and a job
// that succeeds.
func TestCloneAndCopy(t *testing.T) {
	s := newServer(t, twoMocks)
	form := map[string]string{"Content-Type": "application/x-www-form-urlencoded"}
	tests := []struct {
		name         string
		r            req
		status       int
		locPrefix    string // Location, after the server URL
		wantName     string
		wantKind     string
		wantProvider string
		wantInMsg    string
	}{
		{"clone form", req{method: "POST", path: "/api/images/img1/clone", headers: form, body: "name=cloned"}, 201, "/api/images/img", "cloned", model.JobCloneImage, "mock", ""},
		{"clone JSON keeps the name", req{method: "POST", path: "/api/images/img2/clone", headers: map[string]string{"Content-Type": "application/json"}, body: `{}`}, 201, "/api/images/img", "img2", model.JobCloneImage, "mock", ""},
		{"clone unknown", req{method: "POST", path: "/api/images/nope/clone"}, 404, "", "", "", "", "nope"},
		{"clone unknown parameter", req{method: "POST", path: "/api/images/img1/clone", headers: form, body: "provider=test1"}, 400, "", "", "", "", "clone_image takes name, description"},
		{"copy XML", req{method: "POST", path: "/api/images/img1/copy", headers: map[string]string{"Content-Type": "application/xml"}, body: `<image><provider>test1</provider><name>copied</name></image>`}, 201, "/api;driver=mock;provider=test1/images/img", "copied", model.JobCopyImage, "test1", ""},
		{"copy back from test1", req{method: "POST", path: "/api;provider=test1/images/img2/copy", headers: form, body: "provider=mock"}, 201, "/api;driver=mock;provider=mock/images/img", "img2", model.JobCopyImage, "mock", ""},
		{"copy without provider", req{method: "POST", path: "/api/images/img1/copy", headers: form, body: "name=x"}, 400, "", "", "", "", "Required parameter provider (the destination) is missing; providers of driver mock to copy to: test1"},
		{"copy to itself", req{method: "POST", path: "/api/images/img1/copy", headers: form, body: "provider=mock"}, 400, "", "", "", "", "already is"},
		{"copy to another driver's provider", req{method: "POST", path: "/api/images/img1/copy", headers: form, body: "provider=x"}, 400, "", "", "", "", "valid providers: mock, test1"},
		{"copy unknown image", req{method: "POST", path: "/api/images/nope/copy", headers: form, body: "provider=test1"}, 404, "", "", "", "", "nope"},
		{"copy on a driver without it", req{method: "POST", path: "/api;driver=exporter/images/e1/copy", headers: form, body: "provider=y"}, 405, "", "", "", "", "does not support capability copy_image"},
		{"copy on a driver without it, no provider", req{method: "POST", path: "/api;driver=exporter/images/e1/copy"}, 405, "", "", "", "", "does not support capability copy_image"},
		{"clone on a driver without it", req{method: "POST", path: "/api;driver=exporter/images/e1/clone"}, 405, "", "", "", "", "does not support capability clone_image"},
		{"GET on an action", req{method: "GET", path: "/api/images/img1/clone"}, 405, "", "", "", "", "GET"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.r.auth = true
			r := do(t, s, tc.r)
			if r.status != tc.status {
				t.Fatalf("%d, want %d: %s", r.status, tc.status, r.body)
			}
			if tc.status != 201 {
				var e xmlError
				if err := xml.Unmarshal([]byte(r.body), &e); err != nil || !strings.Contains(e.Message, tc.wantInMsg) {
					t.Errorf("error %+v (%v), want message with %q", e, err, tc.wantInMsg)
				}
				return
			}
			loc := r.header.Get("Location")
			if !strings.HasPrefix(loc, s.URL+tc.locPrefix) {
				t.Fatalf("Location %q, want prefix %s", loc, tc.locPrefix)
			}
			var img imageXML
			if err := xml.Unmarshal([]byte(r.body), &img); err != nil || img.Href != loc || img.Name != tc.wantName {
				t.Errorf("new image %+v (%v), want href %s name %s", img, err, loc, tc.wantName)
			}
			link := r.header.Get("Link")
			if r.header.Get("X-Job-Id") == "" || !strings.Contains(link, `rel="job"`) {
				t.Fatalf("no job: X-Job-Id %q Link %q", r.header.Get("X-Job-Id"), link)
			}
			jobURL, _, _ := strings.Cut(strings.TrimPrefix(link, "<"), ">")
			j := waitJob(t, jobURL)
			if j.Job.State != model.JobSucceeded || j.Job.Kind != tc.wantKind || j.Job.Provider != tc.wantProvider {
				t.Errorf("job %+v, want %s succeeded in %s", j.Job, tc.wantKind, tc.wantProvider)
			}
			if g := doURL(t, loc); g.status != 200 || !strings.Contains(g.body, "<state>AVAILABLE</state>") {
				t.Errorf("GET %s: %d %s", loc, g.status, g.body)
			}
		})
	}
}

// TestExportImage: a driver with a native export answers where it went;
// one without says export is not supported (405 NotSupported).
func TestExportImage(t *testing.T) {
	s := newServer(t, twoMocks)
	form := map[string]string{"Content-Type": "application/x-www-form-urlencoded"}
	r := do(t, s, req{method: "POST", path: "/api;driver=exporter/images/e1/export?format=json", headers: form, body: "path=/bucket/dir", auth: true})
	if r.status != 200 {
		t.Fatalf("export: %d %s", r.status, r.body)
	}
	var got struct {
		Export struct {
			Image        struct{ ID, Href string }
			BaseURL      string `json:"base_url"`
			ImagePath    string `json:"image_path"`
			ManifestPath string `json:"manifest_path"`
		}
	}
	if err := json.Unmarshal([]byte(r.body), &got); err != nil || got.Export.Image.ID != "e1" || got.Export.ImagePath != "/bucket/dir/e1.img" ||
		got.Export.BaseURL != "https://exports.example" || got.Export.ManifestPath != "/bucket/dir/e1.json" {
		t.Errorf("export = %+v (%v)\n%s", got, err, r.body)
	}
	x := do(t, s, req{method: "POST", path: "/api;driver=exporter/images/e1/export", headers: map[string]string{"Content-Type": "application/xml"}, body: "<export><path>/b</path></export>", auth: true})
	if x.status != 200 || !strings.Contains(x.body, `<export image="e1"`) || !strings.Contains(x.body, "<image_path>/b/e1.img</image_path>") {
		t.Errorf("XML export: %d %s", x.status, x.body)
	}
	m := do(t, s, req{method: "POST", path: "/api/images/img1/export", auth: true})
	var e xmlError
	_ = xml.Unmarshal([]byte(m.body), &e)
	if m.status != 405 || e.Code != "NotSupported" || !strings.Contains(e.Message, "export_image") {
		t.Errorf("export on mock: %d %+v", m.status, e)
	}

	// With export_dir, the gateway exports any driver's image there: a
	// placeholder disk file and the image's JSON as the manifest.
	dir := t.TempDir()
	d := newServer(t, "export_dir: "+dir+"\nexport_base_url: https://exports.example/gw\n")
	if r := do(t, d, req{path: "/api/images/img1", auth: true}); !strings.Contains(r.body, `rel="export_image"`) {
		t.Errorf("mock with export_dir does not offer export_image:\n%s", r.body)
	}
	r = do(t, d, req{method: "POST", path: "/api/images/img1/export?format=json", headers: form, body: "path=/mine/", auth: true})
	if r.status != 200 || !strings.Contains(r.body, `"base_url":"https://exports.example/gw"`) || !strings.Contains(r.body, `"image_path":"/mine/img1.`) || !strings.Contains(r.body, `"manifest_path":"/mine/img1.imgmanifest"`) {
		t.Fatalf("export to export_dir: %d %s", r.status, r.body)
	}
	manifest, err := os.ReadFile(filepath.Join(dir, "mine", "img1.imgmanifest"))
	if err != nil || !strings.Contains(string(manifest), `"image":{"id":"img1"`) || !strings.Contains(string(manifest), `"description":"Fedora 10"`) {
		t.Errorf("manifest %s (%v)", manifest, err)
	}
	if r := do(t, d, req{method: "POST", path: "/api/images/img1/export", headers: form, body: "path=../../etc/x", auth: true}); r.status != 400 {
		t.Errorf("export outside export_dir: %d %s", r.status, r.body)
	}
}

// TestAddressTypes: instance addresses carry their kind, in XML as a type
// attribute and in JSON as {"type", "address"}.
func TestAddressTypes(t *testing.T) {
	s := newServer(t, twoMocks)
	x := do(t, s, req{path: "/api;driver=exporter/instances/vm1", auth: true})
	var in struct {
		Public []struct {
			Type string `xml:"type,attr"`
			Addr string `xml:",chardata"`
		} `xml:"public_addresses>address"`
		Private []struct {
			Type string `xml:"type,attr"`
			Addr string `xml:",chardata"`
		} `xml:"private_addresses>address"`
	}
	if err := xml.Unmarshal([]byte(x.body), &in); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, a := range append(in.Public, in.Private...) {
		got = append(got, a.Type+" "+a.Addr)
	}
	if want := "ipv4 192.0.2.10, ipv6 2001:db8::1, hostname web.example.com, ipv4 10.0.0.5"; strings.Join(got, ", ") != want {
		t.Errorf("XML addresses %v, want %s\n%s", got, want, x.body)
	}
	j := do(t, s, req{path: "/api;driver=exporter/instances?format=json", auth: true})
	want := `"public_addresses":[{"type":"ipv4","address":"192.0.2.10"},{"type":"ipv6","address":"2001:db8::1"},{"type":"hostname","address":"web.example.com"}],"private_addresses":[{"type":"ipv4","address":"10.0.0.5"}]`
	if !strings.Contains(j.body, want) {
		t.Errorf("JSON addresses:\n%s\nwant %s", j.body, want)
	}
	m := do(t, s, req{path: "/api/instances/inst1", auth: true})
	if !strings.Contains(m.body, `<address type="hostname">img1.inst1.public.com</address>`) {
		t.Errorf("mock address without its type:\n%s", m.body)
	}
}

// TestEntryPointTrailingSlash: /api/ is the entry point too.
func TestEntryPointTrailingSlash(t *testing.T) {
	s := newServer(t, "")
	a, b := do(t, s, req{path: "/api"}), do(t, s, req{path: "/api/"})
	if a.status != 200 || b.status != 200 || a.body != b.body {
		t.Errorf("/api %d and /api/ %d differ:\n%s\n%s", a.status, b.status, a.body, b.body)
	}
	if r := do(t, s, req{path: "/api/?force_auth=1", auth: true}); r.status != 200 {
		t.Errorf("/api/?force_auth=1 with credentials: %d", r.status)
	}
}

// TestHTMLActionForms: in HTML, each image action is a form with a
// labelled field per parameter, and submitting it as a browser would works
// (an empty field leaves that value alone) and goes on (303) to the image.
func TestHTMLActionForms(t *testing.T) {
	s := newServer(t, twoMocks)
	page := do(t, s, req{path: "/api/images/img1", auth: true, headers: map[string]string{"Accept": firefox}})
	for _, w := range []string{
		`<form method="post" class="filters" id="update_image" action="` + s.URL + `/api/images/img1"><input type="hidden" name="_method" value="put"><label>Name <input type="text" name="name" value="img1"></label><label>Description <input type="text" name="description" value="Fedora 10"></label>`,
		`<button type="submit">Save</button>`,
		`action="` + s.URL + `/api/images/img1/copy"><label>To provider <select name="provider"><option value="test1">test1</option></select>`,
		`<button type="submit">Clone</button>`,
		`href="` + s.URL + `/api/images/img1?confirm=delete">Delete…</a>`,
	} {
		if !strings.Contains(page.body, w) {
			t.Errorf("page lacks %s:\n%s", w, page.body)
		}
	}
	if regexp.MustCompile(`>[^<]*_image`).MatchString(page.body) {
		t.Errorf("page shows an API name (…_image) instead of words:\n%s", page.body)
	}
	form := map[string]string{"Accept": firefox, "Content-Type": "application/x-www-form-urlencoded"}
	if r := do(t, s, req{method: "POST", path: "/api/images/img1", auth: true, headers: form, body: "_method=put&name=from-browser&description="}); r.status != 303 || r.header.Get("Location") != s.URL+"/api/images/img1" {
		t.Errorf("HTML update: %d %q", r.status, r.header.Get("Location"))
	}
	if r := do(t, s, req{path: "/api/images/img1", auth: true, headers: map[string]string{"Accept": firefox}}); !strings.Contains(r.body, "from-browser") || !strings.Contains(r.body, "Fedora 10") {
		t.Errorf("after the HTML update: %.300s", r.body)
	}
	r := do(t, s, req{method: "POST", path: "/api/images/img1/copy", auth: true, headers: form, body: "provider=test1&name=&description="})
	if r.status != 303 || !strings.HasPrefix(r.header.Get("Location"), s.URL+"/api;driver=mock;provider=test1/images/") {
		t.Errorf("HTML copy: %d %q", r.status, r.header.Get("Location"))
	}
	confirm := do(t, s, req{path: "/api/images/img1?confirm=delete", auth: true, headers: map[string]string{"Accept": firefox}})
	for _, w := range []string{"Delete image <strong>img1 (from-browser)</strong>? This cannot be undone.", `<input type="hidden" name="_method" value="delete"><button type="submit" class="danger">Delete image</button>`, `>Cancel</a>`} {
		if !strings.Contains(confirm.body, w) {
			t.Errorf("confirmation lacks %s:\n%s", w, confirm.body)
		}
	}
}
