package deltacloud_test

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/xml"
	"html"
	"io"
	"mime/multipart"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/imagegw/imagegw/api/apitest"
	"github.com/imagegw/imagegw/gateway"
)

const firefox = "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8"
const chrome = "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,image/apng,*/*;q=0.8,application/signed-exchange;v=b3;q=0.7"

func newServer(t testing.TB, yaml string) *apitest.Server {
	t.Helper()
	cfg, err := gateway.ParseConfig(strings.NewReader(yaml))
	if err != nil {
		t.Fatal(err)
	}
	return apitest.NewServer(t, cfg)
}

type req struct {
	method, path string
	headers      map[string]string
	body         string
	auth         bool // send mockuser:mockpassword
}

type resp struct {
	status int
	header http.Header
	body   string
}

func do(t *testing.T, s *apitest.Server, r req) resp {
	t.Helper()
	if r.method == "" {
		r.method = "GET"
	}
	hr, err := http.NewRequest(r.method, s.URL+r.path, strings.NewReader(r.body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range r.headers {
		hr.Header.Set(k, v)
	}
	if r.auth {
		hr.SetBasicAuth("mockuser", "mockpassword")
	}
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	res, err := client.Do(hr)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return resp{res.StatusCode, res.Header, string(b)}
}

// xmlError decodes the XML error envelope.
type xmlError struct {
	Status  int    `xml:"status,attr"`
	URL     string `xml:"url,attr"`
	Code    string `xml:"code"`
	Message string `xml:"message"`
	Backend struct {
		Driver   string `xml:"driver,attr"`
		Provider string `xml:"provider,attr"`
	} `xml:"backend"`
}

func TestErrors(t *testing.T) {
	s := newServer(t, "")
	big := strings.Repeat("a", 1<<20+10)
	tests := []struct {
		name       string
		r          req
		wantStatus int
		wantCode   string
		wantMsg    string // substring
		wantHeader map[string]string
	}{
		{"unknown format", req{path: "/api/images?format=yaml", auth: true}, 406, "NotAcceptable", "unknown format", nil},
		{"unknown accept", req{path: "/api/images", headers: map[string]string{"Accept": "application/unknown"}, auth: true}, 406, "NotAcceptable", "Accept", nil},
		{"unknown driver", req{path: "/api;driver=nope/images", auth: true}, 400, "BadRequest", "valid drivers: mock", map[string]string{"X-Deltacloud-Driver": "mock"}},
		{"unconfigured provider", req{path: "/api/images", headers: map[string]string{"X-Deltacloud-Provider": "elsewhere"}, auth: true}, 400, "BadRequest", "valid providers: mock", nil},
		{"malformed matrix", req{path: "/api;;;driver/images", auth: true}, 400, "BadRequest", "malformed matrix", nil},
		{"missing instance_id", req{method: "POST", path: "/api/images", headers: map[string]string{"Content-Type": "application/x-www-form-urlencoded"}, body: "name=x", auth: true}, 400, "BadRequest", "Required parameter instance_id is missing", nil},
		{"unknown instance", req{method: "POST", path: "/api/images?instance_id=inst42", auth: true}, 404, "NotFound", "instance inst42", nil},
		{"inst3 cannot be imaged", req{method: "POST", path: "/api/images?instance_id=inst3", auth: true}, 409, "Conflict", "instance inst3 does not allow image creation", nil},
		{"unknown image get", req{path: "/api/images/nope", auth: true}, 404, "NotFound", "image nope not found", nil},
		{"unknown image delete", req{method: "DELETE", path: "/api/images/nope", auth: true}, 404, "NotFound", "image nope not found", nil},
		{"no credentials", req{path: "/api/images"}, 401, "Unauthorized", "", map[string]string{"WWW-Authenticate": `Basic realm="imagegw"`}},
		{"wrong credentials", req{path: "/api/images", headers: map[string]string{"Authorization": "Basic bW9ja3VzZXI6bm8="}}, 401, "Unauthorized", "Authentication failed", map[string]string{"WWW-Authenticate": `Basic realm="imagegw"`}},
		{"body over 1 MiB", req{method: "POST", path: "/api/images", headers: map[string]string{"Content-Type": "application/x-www-form-urlencoded"}, body: "instance_id=inst1&name=" + big, auth: true}, 413, "PayloadTooLarge", "1 MiB", nil},
		{"xml with DTD", req{method: "POST", path: "/api/images", headers: map[string]string{"Content-Type": "application/xml"}, body: `<?xml version="1.0"?><!DOCTYPE image [<!ENTITY x "inst1">]><image><instance_id>&x;</instance_id></image>`, auth: true}, 400, "BadRequest", "DTD", nil},
		{"malformed json", req{method: "POST", path: "/api/images", headers: map[string]string{"Content-Type": "application/json"}, body: `{"instance_id":`, auth: true}, 400, "BadRequest", "malformed JSON", nil},
		{"other media type", req{method: "POST", path: "/api/images", headers: map[string]string{"Content-Type": "text/plain"}, body: "inst1", auth: true}, 415, "UnsupportedMediaType", "text/plain", nil},
		{"wrong method", req{method: "PUT", path: "/api/images", auth: true}, 405, "MethodNotAllowed", "PUT", map[string]string{"Allow": "GET, HEAD, POST"}},
		{"unknown path", req{path: "/api/nothing", auth: true}, 404, "NotFound", "/api/nothing", nil},
		{"unknown profile", req{path: "/api/hardware_profiles/m9"}, 404, "NotFound", "m9", nil},
		{"unknown driver id", req{path: "/api/drivers/ec9"}, 404, "NotFound", "ec9", nil},
		{"new form without instance", req{path: "/api/images/new", auth: true}, 400, "BadRequest", "instance_id", nil},
		{"new form as xml", req{path: "/api/images/new?instance_id=inst1", auth: true}, 406, "NotAcceptable", "HTML only", nil},
		{"realm fault 500", req{path: "/api/realms/500", auth: true}, 500, "InternalError", "", nil},
		{"realm fault 501", req{path: "/api/realms/501", auth: true}, 501, "NotImplemented", "", nil},
		{"realm fault 502", req{path: "/api/realms/502", auth: true}, 502, "BackendError", "", nil},
		{"realm fault 504", req{path: "/api/realms/504", auth: true}, 504, "GatewayTimeout", "", nil},
		{"force_auth without credentials", req{path: "/api?force_auth=1"}, 401, "Unauthorized", "", nil},
		{"force_auth with a trailing slash", req{path: "/api/?force_auth=1"}, 401, "Unauthorized", "", map[string]string{"WWW-Authenticate": `Basic realm="imagegw"`}},
		{"JSON array body", req{method: "POST", path: "/api/images", headers: map[string]string{"Content-Type": "application/json"}, body: `[{"instance_id":"inst1"}]`, auth: true}, 400, "BadRequest", `the JSON body must be an object of parameters, such as {"name": "my-image"}, not an array`, nil},
		{"JSON string body", req{method: "POST", path: "/api/images", headers: map[string]string{"Content-Type": "application/json"}, body: `"inst1"`, auth: true}, 400, "BadRequest", "not a string", nil},
		{"JSON sent as a form", req{method: "POST", path: "/api/images", headers: map[string]string{"Content-Type": "application/x-www-form-urlencoded"}, body: `{"instance_id":"inst1"}`, auth: true}, 415, "UnsupportedMediaType", "the body looks like JSON but Content-Type is application/x-www-form-urlencoded (what curl -d sends); send Content-Type: application/json", nil},
		{"JSON without a Content-Type", req{method: "POST", path: "/api/images", body: `{"instance_id":"inst1"}`, auth: true}, 415, "UnsupportedMediaType", "looks like JSON but has no Content-Type", nil},
		{"JSON sent as text", req{method: "POST", path: "/api/images/img1/clone", headers: map[string]string{"Content-Type": "text/plain"}, body: `{"name":"x"}`, auth: true}, 415, "UnsupportedMediaType", "send Content-Type: application/json", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := do(t, s, tc.r)
			if got.status != tc.wantStatus {
				t.Fatalf("status %d, want %d; body %s", got.status, tc.wantStatus, got.body)
			}
			if ct := got.header.Get("Content-Type"); ct != "application/xml" {
				t.Errorf("Content-Type %q, want application/xml", ct)
			}
			if got.header.Get("ETag") != "" {
				t.Errorf("error carries an ETag")
			}
			if got.header.Get("Request-Id") == "" {
				t.Errorf("no Request-Id")
			}
			var e xmlError
			if err := xml.Unmarshal([]byte(got.body), &e); err != nil {
				t.Fatalf("error body is not the XML envelope: %v\n%s", err, got.body)
			}
			if e.Status != tc.wantStatus || e.Code != tc.wantCode || !strings.Contains(e.Message, tc.wantMsg) {
				t.Errorf("envelope %+v; want status %d code %s message containing %q", e, tc.wantStatus, tc.wantCode, tc.wantMsg)
			}
			if e.URL != tc.r.path {
				t.Errorf("url %q, want the request's %q", e.URL, tc.r.path)
			}
			for k, v := range tc.wantHeader {
				if got.header.Get(k) != v {
					t.Errorf("header %s = %q, want %q", k, got.header.Get(k), v)
				}
			}
		})
	}
}

func TestNegotiation(t *testing.T) {
	s := newServer(t, "")
	tests := []struct {
		accept, query, wantCT string
	}{
		{"", "", "application/xml"},
		{"*/*", "", "application/xml"},
		{firefox, "", "text/html; charset=utf-8"},
		{chrome, "", "text/html; charset=utf-8"},
		{"application/json", "", "application/json"},
		{"application/json;q=0.5, application/xml", "", "application/xml"},
		{"text/xml", "", "application/xml"},
		{"application/*", "", "application/xml"},
		{"image/png, */*;q=0.1", "", "application/xml"},
		{"application/json;q=0, */*", "", "application/xml"},
		{firefox, "?format=json", "application/json"},
		{"application/json", "?format=xml", "application/xml"},
		{"", "?format=html", "text/html; charset=utf-8"},
	}
	for _, tc := range tests {
		t.Run(tc.accept+tc.query, func(t *testing.T) {
			got := do(t, s, req{path: "/api/hardware_profiles" + tc.query, headers: map[string]string{"Accept": tc.accept}})
			if got.status != 200 || got.header.Get("Content-Type") != tc.wantCT {
				t.Errorf("status %d Content-Type %q, want 200 %q", got.status, got.header.Get("Content-Type"), tc.wantCT)
			}
			if got.header.Get("Vary") != "Accept, Accept-Encoding" {
				t.Errorf("Vary = %q", got.header.Get("Vary"))
			}
		})
	}
}

// TestSelection: matrix and header selection, and the next request
// reverting to the defaults.
func TestSelection(t *testing.T) {
	s := newServer(t, "providers:\n  - {name: test1, driver: mock}\n")
	tests := []struct {
		name         string
		r            req
		wantProvider string
		wantHrefPart string
	}{
		{"default", req{path: "/api"}, "mock", "/api/images"},
		{"matrix", req{path: "/api;provider=test1"}, "test1", "/api;provider=test1/images"},
		{"matrix driver and provider", req{path: "/api;driver=mock;provider=TEST1"}, "test1", "/api;driver=mock;provider=test1/images"},
		{"header", req{path: "/api", headers: map[string]string{"X-Deltacloud-Provider": "test1"}}, "test1", "/api/images"},
		{"back to default", req{path: "/api"}, "mock", "/api/images"},
	}
	for _, tc := range tests {
		got := do(t, s, tc.r)
		if got.status != 200 || got.header.Get("X-Deltacloud-Provider") != tc.wantProvider || !strings.Contains(got.body, `provider="`+tc.wantProvider+`"`) {
			t.Errorf("%s: status %d provider header %q, want %s\n%s", tc.name, got.status, got.header.Get("X-Deltacloud-Provider"), tc.wantProvider, got.body)
		}
		if !strings.Contains(got.body, tc.wantHrefPart) {
			t.Errorf("%s: links do not carry %q:\n%s", tc.name, tc.wantHrefPart, got.body)
		}
	}
	// Each provider has its own copy of the dataset.
	if r := do(t, s, req{method: "DELETE", path: "/api;provider=test1/images/img2", auth: true}); r.status != 204 {
		t.Fatalf("delete on test1: %d %s", r.status, r.body)
	}
	if r := do(t, s, req{path: "/api/images/img2", auth: true}); r.status != 200 {
		t.Errorf("img2 on mock after deleting it on test1: %d", r.status)
	}
	// POST /api redirects to the selection.
	r := do(t, s, req{method: "POST", path: "/api", headers: map[string]string{"Content-Type": "application/x-www-form-urlencoded"}, body: "driver=mock&provider=test1"})
	if r.status != 301 || !strings.HasSuffix(r.header.Get("Location"), "/api;driver=mock;provider=test1") {
		t.Errorf("POST /api = %d Location %q", r.status, r.header.Get("Location"))
	}
}

type imageXML struct {
	ID           string `xml:"id,attr"`
	Href         string `xml:"href,attr"`
	Name         string `xml:"name"`
	Description  string `xml:"description"`
	OwnerID      string `xml:"owner_id"`
	Architecture string `xml:"architecture"`
	State        string `xml:"state"`
	CreationTime string `xml:"creation_time"`
	Profiles     []struct {
		ID string `xml:"id,attr"`
	} `xml:"hardware_profiles>hardware_profile"`
	RootType string `xml:"root_type"`
	Actions  []struct {
		Rel    string `xml:"rel,attr"`
		Method string `xml:"method,attr"`
		Href   string `xml:"href,attr"`
	} `xml:"actions>link"`
}

func listIDs(t *testing.T, s *apitest.Server, query string) []string {
	t.Helper()
	r := do(t, s, req{path: "/api/images" + query, auth: true})
	if r.status != 200 {
		t.Fatalf("list %s: %d %s", query, r.status, r.body)
	}
	var l struct {
		Images []imageXML `xml:"image"`
	}
	if err := xml.Unmarshal([]byte(r.body), &l); err != nil {
		t.Fatal(err)
	}
	ids := []string{}
	for _, i := range l.Images {
		ids = append(ids, i.ID)
	}
	return ids
}

func TestImageFilters(t *testing.T) {
	s := newServer(t, "")
	tests := []struct{ query, want string }{
		{"", "img1,img2,img3"},
		{"?owner_id=fedoraproject", "img1,img2"},
		{"?owner_id=self", "img3"},
		{"?owner_id=fedoraproject&architecture=x86_64", "img1"},
		{"?architecture=i386", "img2,img3"},
		{"?state=available", "img1,img2,img3"},
		{"?state=PENDING", ""},
		{"?name=img2", "img2"},
		{"?name=IMG2", ""},
		{"?unknown=1", "img1,img2,img3"},
	}
	for _, tc := range tests {
		if got := strings.Join(listIDs(t, s, tc.query), ","); got != tc.want {
			t.Errorf("%s: got %q, want %q", tc.query, got, tc.want)
		}
	}
	if r := do(t, s, req{path: "/api/images?owner_id=nobody", auth: true}); !strings.Contains(r.body, "<images/>") {
		t.Errorf("empty list is not <images/>: %s", r.body)
	}
	if r := do(t, s, req{path: "/api/images?owner_id=nobody&format=json", auth: true}); strings.TrimSpace(r.body) != `{"images":[]}` {
		t.Errorf("empty JSON list = %s", r.body)
	}
}

func TestImageRepresentation(t *testing.T) {
	s := newServer(t, "")
	r := do(t, s, req{path: "/api/images/img1", auth: true})
	var img imageXML
	if err := xml.Unmarshal([]byte(r.body), &img); err != nil {
		t.Fatal(err)
	}
	if img.Href != s.URL+"/api/images/img1" || img.Name != "img1" || img.Description != "Fedora 10" || img.OwnerID != "fedoraproject" ||
		img.Architecture != "x86_64" || img.State != "AVAILABLE" || img.CreationTime != "Thu Oct 25 14:27:53 CEST 2012" ||
		len(img.Profiles) != 4 || img.RootType != "transient" || len(img.Actions) != 3 || img.Actions[0].Rel != "destroy_image" || img.Actions[0].Method != "delete" {
		t.Errorf("img1 = %+v\n%s", img, r.body)
	}
	order := []string{"<name>", "<description>", "<owner_id>", "<architecture>", "<state>", "<creation_time>", "<hardware_profiles>", "<root_type>", "<actions>"}
	last := -1
	for _, tag := range order {
		i := strings.Index(r.body, tag)
		if i < last {
			t.Errorf("%s out of order", tag)
		}
		last = i
	}
	j := do(t, s, req{path: "/api/images/img1?format=json", auth: true})
	var jv struct {
		Image map[string]any `json:"image"`
	}
	if err := json.Unmarshal([]byte(j.body), &jv); err != nil || jv.Image["owner_id"] != "fedoraproject" || jv.Image["actions"] == nil {
		t.Errorf("JSON image = %s (%v)", j.body, err)
	}
}

// TestCreateDelete: POST inst1 / img-test1 → 201, the job follows it to
// AVAILABLE, DELETE → 204, then 404.
func TestCreateDelete(t *testing.T) {
	s := newServer(t, "mock_create_delay: 0s\njob_poll_interval: 10ms\n")
	r := do(t, s, req{method: "POST", path: "/api/images", auth: true,
		headers: map[string]string{"Content-Type": "application/x-www-form-urlencoded"}, body: "instance_id=inst1&name=img-test1&description=mine"})
	if r.status != 201 {
		t.Fatalf("create: %d %s", r.status, r.body)
	}
	var img imageXML
	if err := xml.Unmarshal([]byte(r.body), &img); err != nil {
		t.Fatal(err)
	}
	if img.ID != "img4" || img.Name != "img-test1" || img.Description != "mine" || img.State != "PENDING" || img.OwnerID != "mockuser" || img.Architecture != "i386" {
		t.Errorf("created %+v", img)
	}
	if loc := r.header.Get("Location"); loc != s.URL+"/api/images/img4" {
		t.Errorf("Location %q", loc)
	}
	jobID := r.header.Get("X-Job-Id")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	job, err := s.Gateway.Jobs().Wait(ctx, jobID)
	if err != nil || job.State != "succeeded" {
		t.Fatalf("job %s: %+v %v", jobID, job, err)
	}
	if jr := do(t, s, req{path: "/api/jobs/" + jobID + "?format=json", auth: true}); jr.status != 200 || !strings.Contains(jr.body, `"state":"succeeded"`) {
		t.Errorf("job resource: %d %s", jr.status, jr.body)
	}
	if g := do(t, s, req{path: "/api/images/img4", auth: true}); !strings.Contains(g.body, "<state>AVAILABLE</state>") {
		t.Errorf("after the job: %s", g.body)
	}
	if d := do(t, s, req{method: "DELETE", path: "/api/images/img4", auth: true}); d.status != 204 || d.body != "" {
		t.Errorf("delete: %d %q", d.status, d.body)
	}
	if g := do(t, s, req{path: "/api/images/img4", auth: true}); g.status != 404 {
		t.Errorf("get after delete: %d", g.status)
	}
}

// TestCreateBodies: every way of passing create parameters, and their
// precedence (matrix < query < body).
func TestCreateBodies(t *testing.T) {
	s := newServer(t, "mock_create_delay: 0s\n")
	var mp bytes.Buffer
	mw := multipart.NewWriter(&mp)
	mw.WriteField("instance_id", "inst2")
	mw.WriteField("name", "from-multipart")
	mw.Close()
	tests := []struct {
		name, path, ctype, body, wantName string
	}{
		{"matrix", "/api/images;instance_id=inst1", "", "", ""},
		{"query", "/api/images?instance_id=inst1&name=from-query", "", "", "from-query"},
		{"form beats query", "/api/images?name=from-query", "application/x-www-form-urlencoded", "instance_id=inst1&name=from-form", "from-form"},
		{"multipart", "/api/images", mw.FormDataContentType(), mp.String(), "from-multipart"},
		{"json", "/api/images", "application/json", `{"instance_id":"inst1","name":"from-json"}`, "from-json"},
		{"xml", "/api/images;instance_id=inst0", "application/xml", `<image><instance_id>inst1</instance_id><name>from-xml</name></image>`, "from-xml"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := map[string]string{"Accept": "application/json"}
			if tc.ctype != "" {
				h["Content-Type"] = tc.ctype
			}
			r := do(t, s, req{method: "POST", path: tc.path, headers: h, body: tc.body, auth: true})
			if r.status != 201 {
				t.Fatalf("%d %s", r.status, r.body)
			}
			var v struct {
				Image struct{ ID, Name string } `json:"image"`
			}
			json.Unmarshal([]byte(r.body), &v)
			want := tc.wantName
			if want == "" {
				want = v.Image.ID
			}
			if v.Image.Name != want {
				t.Errorf("name %q, want %q", v.Image.Name, want)
			}
		})
	}
}

func TestETagAndHead(t *testing.T) {
	s := newServer(t, "")
	r := do(t, s, req{path: "/api/images", auth: true})
	etag := r.header.Get("ETag")
	if !strings.HasPrefix(etag, `"`) || len(etag) != 34 || r.header.Get("Cache-Control") != "max-age=0, private, must-revalidate" {
		t.Fatalf("ETag %q Cache-Control %q", etag, r.header.Get("Cache-Control"))
	}
	for _, inm := range []string{etag, `"x", ` + etag, "*"} {
		n := do(t, s, req{path: "/api/images", auth: true, headers: map[string]string{"If-None-Match": inm}})
		if n.status != 304 || n.body != "" || n.header.Get("ETag") != etag {
			t.Errorf("If-None-Match %s: %d %q", inm, n.status, n.body)
		}
	}
	if n := do(t, s, req{path: "/api/images", auth: true, headers: map[string]string{"If-None-Match": `"other"`}}); n.status != 200 {
		t.Errorf("non-matching If-None-Match: %d", n.status)
	}
	r = do(t, s, req{path: "/api/images", auth: true, headers: map[string]string{"Accept-Encoding": "identity"}})
	h := do(t, s, req{method: "HEAD", path: "/api/images", auth: true, headers: map[string]string{"Accept-Encoding": "identity"}})
	if h.status != 200 || h.body != "" || h.header.Get("ETag") != etag || h.header.Get("Content-Length") != r.header.Get("Content-Length") {
		t.Errorf("HEAD: %d body %q etag %q", h.status, h.body, h.header.Get("ETag"))
	}
}

func TestRestartKeepsImages(t *testing.T) {
	dir := t.TempDir()
	cfg := gateway.Config{}
	s := apitest.NewServerIn(t, cfg, dir)
	if r := do(t, s, req{method: "POST", path: "/api/images?instance_id=inst1&name=keep", auth: true}); r.status != 201 {
		t.Fatal(r.status, r.body)
	}
	if r := do(t, s, req{method: "DELETE", path: "/api/images/img2", auth: true}); r.status != 204 {
		t.Fatal(r.status)
	}
	s.Close()
	s2 := apitest.NewServerIn(t, cfg, dir)
	if got := strings.Join(listIDs(t, s2, ""), ","); got != "img1,img4,img3" { // by owner, then description
		t.Errorf("after restart: %s, want img1,img4,img3", got)
	}
}

func TestProfilesAndOtherCollections(t *testing.T) {
	s := newServer(t, "")
	tests := []struct {
		path     string
		auth     bool
		contains []string
	}{
		{"/api/hardware_profiles", false, []string{`id="m1-small"`, `value="1740.8"`, `<entry value="4096"/>`}},
		{"/api/hardware_profiles?architecture=x86_64&format=json", false, []string{`"id":"m1-large"`, `"id":"m1-xlarge"`}},
		{"/api/realms", true, []string{`<realm href="` + s.URL + `/api/realms/us" id="us">`, "<name>Europe</name>"}},
		{"/api/instances", true, []string{`rel="create_image" method="post" href="` + s.URL + `/api/images;instance_id=inst0"`, `<property kind="fixed" name="memory" unit="MB" value="12288"/>`}},
		{"/api/drivers", false, []string{`<driver href="` + s.URL + `/api/drivers/mock" id="mock">`, `<provider id="mock"/>`}},
		{"/api/images/new?instance_id=inst1&format=html", true, []string{`name="instance_id" value="inst1"`}},
	}
	for _, tc := range tests {
		r := do(t, s, req{path: tc.path, auth: tc.auth})
		if r.status != 200 {
			t.Errorf("%s: %d %s", tc.path, r.status, r.body)
			continue
		}
		for _, c := range tc.contains {
			if !strings.Contains(r.body, c) {
				t.Errorf("%s lacks %s:\n%s", tc.path, c, r.body)
			}
		}
	}
	// Profile order: by cpu then memory, opaque last.
	r := do(t, s, req{path: "/api/hardware_profiles"})
	order := []string{`id="m1-small"`, `id="m1-large"`, `id="m1-xlarge"`, `id="opaque"`}
	last := -1
	for _, o := range order {
		i := strings.Index(r.body, o)
		if i < last {
			t.Errorf("profiles out of order: %s", o)
		}
		last = i
	}
	// inst3 offers no create_image action.
	if r := do(t, s, req{path: "/api/instances/inst3", auth: true}); strings.Contains(r.body, "create_image") {
		t.Errorf("inst3 offers create_image:\n%s", r.body)
	}
	// x86_64 filter drops i386-only m1-small and the archless opaque.
	if r := do(t, s, req{path: "/api/hardware_profiles?architecture=x86_64"}); strings.Contains(r.body, "m1-small") || strings.Contains(r.body, "opaque") {
		t.Errorf("architecture filter:\n%s", r.body)
	}
}

func TestHTMLDeleteRedirects(t *testing.T) {
	s := newServer(t, "")
	r := do(t, s, req{method: "POST", path: "/api/images/img2", auth: true,
		headers: map[string]string{"Accept": firefox, "Content-Type": "application/x-www-form-urlencoded"}, body: "_method=delete"})
	if r.status != 303 || r.header.Get("Location") != s.URL+"/api/images" {
		t.Errorf("HTML delete: %d Location %q", r.status, r.header.Get("Location"))
	}
	if g := do(t, s, req{path: "/api/images/img2", auth: true}); g.status != 404 {
		t.Errorf("img2 still there: %d", g.status)
	}
}

// TestHTMLLinksWork crawls the HTML pages from the entry point as a browser
// would and checks that every link on them answers 200 in HTML.
func TestHTMLLinksWork(t *testing.T) {
	s := newServer(t, "")
	hrefRE := regexp.MustCompile(`<a href="([^"]+)"`)
	seen := map[string]bool{}
	queue := []string{s.URL + "/api"}
	for len(queue) > 0 && len(seen) < 200 {
		u := queue[0]
		queue = queue[1:]
		if seen[u] {
			continue
		}
		seen[u] = true
		r := do(t, s, req{path: strings.TrimPrefix(u, s.URL), auth: true, headers: map[string]string{"Accept": firefox}})
		if r.status != 200 || r.header.Get("Content-Type") != "text/html; charset=utf-8" {
			t.Errorf("%s: %d %s", u, r.status, r.header.Get("Content-Type"))
			continue
		}
		for _, m := range hrefRE.FindAllStringSubmatch(r.body, -1) {
			link := html.UnescapeString(m[1])
			if strings.HasPrefix(link, s.URL) {
				queue = append(queue, link)
			}
		}
	}
	for _, must := range []string{"/api/images", "/api/images/img1", "/api/hardware_profiles/m1-large", "/api/realms/us", "/api/instances/inst1", "/api/jobs", "/api/images/img1?confirm=delete", "/api/drivers/mock"} {
		if !seen[s.URL+must] {
			t.Errorf("no HTML page links to %s (crawled %d pages)", must, len(seen))
		}
	}
}

// TestForwardedHeaders: X-Forwarded-Proto and -Host shape the links only
// when the request comes from a trusted proxy.
func TestForwardedHeaders(t *testing.T) {
	fwd := map[string]string{"X-Forwarded-Proto": "https", "X-Forwarded-Host": "gw.example.com"}
	for _, tc := range []struct {
		yaml, want string
	}{
		{"trusted_proxies: [127.0.0.1]\n", `href="https://gw.example.com/api/images"`},
		{"trusted_proxies: [10.9.9.9]\n", `href="http://127.0.0.1:`},
		{"", `href="http://127.0.0.1:`},
	} {
		s := newServer(t, tc.yaml)
		r := do(t, s, req{path: "/api", headers: fwd})
		if !strings.Contains(r.body, tc.want) {
			t.Errorf("%q: links lack %s:\n%s", tc.yaml, tc.want, r.body)
		}
	}
}
