package deltacloud_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"

	"github.com/imagegw/imagegw/api/deltacloud"
	"github.com/imagegw/imagegw/gateway"
	"github.com/imagegw/imagegw/model"
)

// validator checks requests and their answers against the served
// OpenAPI document.
type validator struct {
	t      *testing.T
	router routers.Router
}

func newValidator(t *testing.T, baseURL string) *validator {
	t.Helper()
	res, err := http.Get(baseURL + "/api/openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if res.StatusCode != 200 || res.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("/api/openapi.json: %d %s", res.StatusCode, res.Header.Get("Content-Type"))
	}
	doc, err := openapi3.NewLoader().LoadFromData(b)
	if err != nil {
		t.Fatalf("loading the OpenAPI document: %v", err)
	}
	if !doc.IsOpenAPI31OrLater() {
		t.Errorf("document is OpenAPI %s, want 3.1", doc.OpenAPI)
	}
	if err := doc.Validate(context.Background()); err != nil {
		t.Fatalf("the OpenAPI document is invalid: %v", err)
	}
	if got := doc.Servers[0].URL; got != baseURL+"/api" {
		t.Errorf("server URL %s, want %s/api", got, baseURL)
	}
	router, err := gorillamux.NewRouter(doc)
	if err != nil {
		t.Fatal(err)
	}
	return &validator{t: t, router: router}
}

type apiCall struct {
	name    string
	method  string
	path    string // under the server, with the query
	ctype   string
	body    string
	auth    bool
	headers map[string]string
	status  int
	// invalid marks a request the document does not allow (an error case):
	// only the answer is validated.
	invalid bool
}

// do sends c (as JSON) and validates the request and the answer against
// the document; it returns the answer.
func (v *validator) do(baseURL string, c apiCall) resp {
	t := v.t
	t.Helper()
	url := baseURL + c.path
	if strings.Contains(url, "?") {
		url += "&format=json"
	} else {
		url += "?format=json"
	}
	req, err := http.NewRequest(c.method, url, strings.NewReader(c.body))
	if err != nil {
		t.Fatal(err)
	}
	if c.ctype != "" {
		req.Header.Set("Content-Type", c.ctype)
	}
	for k, val := range c.headers {
		req.Header.Set(k, val)
	}
	if c.auth {
		req.SetBasicAuth("mockuser", "mockpassword")
	}
	route, params, err := v.router.FindRoute(req)
	if err != nil {
		t.Fatalf("%s: %s %s is not in the OpenAPI document: %v", c.name, c.method, c.path, err)
	}
	opts := &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc, IncludeResponseStatus: true, MultiError: true}
	in := &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route, Options: opts}
	if !c.invalid {
		if err := openapi3filter.ValidateRequest(context.Background(), in); err != nil {
			t.Errorf("%s: the request does not match the document: %v", c.name, err)
		}
		req.Body = io.NopCloser(strings.NewReader(c.body)) // ValidateRequest read it
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if res.StatusCode != c.status {
		t.Errorf("%s: %d, want %d: %.400s", c.name, res.StatusCode, c.status, b)
	}
	out := &openapi3filter.ResponseValidationInput{RequestValidationInput: in, Status: res.StatusCode, Header: res.Header,
		Body: io.NopCloser(bytes.NewReader(b)), Options: opts}
	if err := openapi3filter.ValidateResponse(context.Background(), out); err != nil {
		t.Errorf("%s: the answer (%d) does not match the document: %v\n%.600s", c.name, res.StatusCode, err, b)
	}
	return resp{res.StatusCode, res.Header, string(b)}
}

// TestOpenAPI: every operation of the JSON API, and its errors, answer as
// the OpenAPI document at /api/openapi.json says.
func TestOpenAPI(t *testing.T) {
	s := newServer(t, twoMocks+"  - {name: test2, driver: mock}\n")
	v := newValidator(t, s.URL)
	form := "application/x-www-form-urlencoded"
	js := "application/json"
	exp := map[string]string{"X-Deltacloud-Driver": "exporter"}
	for _, ty := range []model.PortableType{
		{Name: "fedora", ProviderMap: map[string]model.Mapping{"test1": {Image: "img1"}}},
		{Name: "newest", ProviderMap: map[string]model.Mapping{"test1": {Rule: &model.Rule{Match: map[string]string{"owner_id": "fedoraproject"}, Pick: model.PickNewest}}}},
	} {
		if _, err := s.Gateway.CreateType(context.Background(), deltacloud.DefaultNativeTenant, gateway.ImageTypes, ty); err != nil {
			t.Fatal(err)
		}
	}
	created := v.do(s.URL, apiCall{name: "create", method: "POST", path: "/api/images", ctype: form, body: "instance_id=inst1&name=made", auth: true, status: 201})
	job := created.header.Get("X-Job-Id")
	calls := []apiCall{
		{name: "entry point", method: "GET", path: "/api/", status: 200},
		{name: "entry point, force_auth", method: "GET", path: "/api/?force_auth=1", auth: true, status: 200},
		{name: "entry point of exporter", method: "GET", path: "/api/", headers: exp, status: 200},
		{name: "openapi", method: "GET", path: "/api/openapi.json", status: 200},
		{name: "drivers", method: "GET", path: "/api/drivers", status: 200},
		{name: "driver", method: "GET", path: "/api/drivers/mock", status: 200},
		{name: "images", method: "GET", path: "/api/images", auth: true, status: 200},
		{name: "images filtered", method: "GET", path: "/api/images?owner_id=fedoraproject&architecture=x86_64", auth: true, status: 200},
		{name: "400 limit", method: "GET", path: "/api/images?limit=0", auth: true, status: 400, invalid: true},
		{name: "image", method: "GET", path: "/api/images/img1", auth: true, status: 200},
		{name: "create JSON", method: "POST", path: "/api/images", ctype: js, body: `{"instance_id":"inst2","description":"d"}`, auth: true, status: 201},
		{name: "update PUT", method: "PUT", path: "/api/images/img2", ctype: form, body: "name=renamed", auth: true, status: 200},
		{name: "update PATCH", method: "PATCH", path: "/api/images/img2", ctype: js, body: `{"description":"new"}`, auth: true, status: 200},
		{name: "clone", method: "POST", path: "/api/images/img1/clone", ctype: js, body: `{"name":"twin"}`, auth: true, status: 201},
		{name: "copy", method: "POST", path: "/api/images/img1/copy", ctype: form, body: "provider=test1", auth: true, status: 201},
		{name: "export", method: "POST", path: "/api/images/e1/export", ctype: js, body: `{"path":"/b"}`, headers: exp, auth: true, status: 200},
		{name: "delete", method: "DELETE", path: "/api/images/img3", auth: true, status: 204},
		{name: "profiles", method: "GET", path: "/api/hardware_profiles?architecture=x86_64", status: 200},
		{name: "profile", method: "GET", path: "/api/hardware_profiles/m1-large", status: 200},
		{name: "profiles paged", method: "GET", path: "/api/hardware_profiles?limit=2&sort=-memory", status: 200},
		{name: "400 profiles sort", method: "GET", path: "/api/hardware_profiles?sort=created", status: 400},
		{name: "realms", method: "GET", path: "/api/realms", auth: true, status: 200},
		{name: "realms paged", method: "GET", path: "/api/realms?limit=1&sort=name", auth: true, status: 200},
		{name: "realm", method: "GET", path: "/api/realms/us", auth: true, status: 200},
		{name: "federated images", method: "GET", path: "/api/images?limit=2", headers: map[string]string{"X-Deltacloud-Provider": "*"}, auth: true, status: 200},
		{name: "image types", method: "GET", path: "/api/image_types", status: 200},
		{name: "image type", method: "GET", path: "/api/image_types/newest", status: 200},
		{name: "image type with no mapping in the provider", method: "GET", path: "/api/image_types/fedora", headers: map[string]string{"X-Deltacloud-Provider": "test2"}, status: 200},
		{name: "404 image type", method: "GET", path: "/api/image_types/nope", status: 404},
		{name: "instances", method: "GET", path: "/api/instances", auth: true, status: 200},
		{name: "instance", method: "GET", path: "/api/instances/inst0", auth: true, status: 200},
		{name: "instance with every address kind", method: "GET", path: "/api/instances/vm1", headers: exp, auth: true, status: 200},
		{name: "jobs", method: "GET", path: "/api/jobs", auth: true, status: 200},
		{name: "job", method: "GET", path: "/api/jobs/" + job, auth: true, status: 200},

		{name: "401", method: "GET", path: "/api/images", status: 401},
		{name: "401 force_auth", method: "GET", path: "/api/?force_auth=1", status: 401},
		{name: "404 image", method: "GET", path: "/api/images/nope", auth: true, status: 404},
		{name: "404 job", method: "GET", path: "/api/jobs/nope", auth: true, status: 404},
		{name: "400 missing instance_id", method: "POST", path: "/api/images", ctype: form, body: "name=x", auth: true, status: 400, invalid: true},
		{name: "400 JSON array", method: "POST", path: "/api/images", ctype: js, body: `[1]`, auth: true, status: 400, invalid: true},
		{name: "400 nothing to update", method: "PUT", path: "/api/images/img1", ctype: form, body: "", auth: true, status: 400, invalid: true},
		{name: "400 copy without provider", method: "POST", path: "/api/images/img1/copy", ctype: form, body: "name=x", auth: true, status: 400, invalid: true},
		{name: "400 unknown driver", method: "GET", path: "/api/images", headers: map[string]string{"X-Deltacloud-Driver": "nope"}, auth: true, status: 400},
		{name: "405 clone unsupported", method: "POST", path: "/api/images/e1/clone", headers: exp, auth: true, status: 405},
		{name: "405 export unsupported", method: "POST", path: "/api/images/img1/export", auth: true, status: 405},
		{name: "409 instance cannot be imaged", method: "POST", path: "/api/images", ctype: form, body: "instance_id=inst3", auth: true, status: 409},
		{name: "415 JSON as a form", method: "POST", path: "/api/images", ctype: form, body: `{"instance_id":"inst1"}`, auth: true, status: 415, invalid: true},
		{name: "500 from the cloud", method: "GET", path: "/api/realms/500", auth: true, status: 500},
		{name: "502 from the cloud", method: "GET", path: "/api/realms/502", auth: true, status: 502},
	}
	for _, c := range calls {
		v.do(s.URL, c)
	}
	// A page of a longer list links the next one, in the body and in Link.
	page := v.do(s.URL, apiCall{name: "images paged and sorted", method: "GET", path: "/api/images?limit=1&sort=-name", auth: true, status: 200})
	if !strings.Contains(page.body, `"next":"`) || !strings.Contains(page.header.Get("Link"), `rel="next"`) {
		t.Errorf("first page without a next link: Link %q\n%s", page.header.Get("Link"), page.body)
	}
}
