// Package cycletest is a client of the Cycle front for tests: every
// response it receives, errors included, is validated against the front's
// OpenAPI document with kin-openapi's openapi3filter, so the document
// cannot drift from the code.
package cycletest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
)

// Client calls one gateway as one API key of one hub.
type Client struct {
	T      testing.TB
	Base   string // http://host:port
	Secret string // "" sends no Authorization
	Hub    string // "" sends no X-Hub-Id
	doc    *openapi3.T
}

// Response is one answer.
type Response struct {
	Status int
	Header http.Header
	Body   []byte
}

// Load fetches and loads the OpenAPI document the gateway serves.
func Load(t testing.TB, base string) *openapi3.T {
	t.Helper()
	res, err := http.Get(base + "/v1/openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if res.StatusCode != 200 {
		t.Fatalf("GET /v1/openapi.json: %d %s", res.StatusCode, b)
	}
	doc, err := openapi3.NewLoader().LoadFromData(b)
	if err != nil {
		t.Fatalf("loading the OpenAPI document: %v", err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		t.Fatalf("the OpenAPI document is not valid: %v", err)
	}
	if !doc.IsOpenAPI31OrLater() {
		t.Fatalf("the document is OpenAPI %s, not 3.1", doc.OpenAPI)
	}
	return doc
}

// New returns a client validating against the gateway's document.
func New(t testing.TB, base, secret, hub string) *Client {
	return &Client{T: t, Base: base, Secret: secret, Hub: hub, doc: Load(t, base)}
}

// As returns a copy of c acting with another key and hub.
func (c *Client) As(secret, hub string) *Client {
	d := *c
	d.Secret, d.Hub = secret, hub
	return &d
}

// Do sends a request; body, if not nil, is sent as JSON (a []byte or
// string as is, an io.Reader chunked). Extra header pairs may follow.
func (c *Client) Do(method, path string, body any, hdr ...string) Response {
	c.T.Helper()
	var rd io.Reader
	ctype := ""
	switch b := body.(type) {
	case nil:
	case []byte:
		rd, ctype = bytes.NewReader(b), "application/json"
	case string:
		rd, ctype = strings.NewReader(b), "application/json"
	case io.Reader: // sent without a length (chunked)
		rd, ctype = io.MultiReader(b), "application/json"
	default:
		j, _ := json.Marshal(b)
		rd, ctype = bytes.NewReader(j), "application/json"
	}
	req, err := http.NewRequest(method, c.Base+path, rd)
	if err != nil {
		c.T.Fatal(err)
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	if c.Secret != "" {
		req.Header.Set("Authorization", "Bearer "+c.Secret)
	}
	if c.Hub != "" {
		req.Header.Set("X-Hub-Id", c.Hub)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		if hdr[i+1] == "" {
			req.Header.Del(hdr[i])
		} else {
			req.Header.Set(hdr[i], hdr[i+1])
		}
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		c.T.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		c.T.Fatal(err)
	}
	r := Response{Status: res.StatusCode, Header: res.Header, Body: b}
	c.validate(req, r)
	return r
}

var templates = []struct {
	re   *regexp.Regexp
	path string
	vars []string
}{
	{regexp.MustCompile(`^/v1/openapi\.json$`), "/v1/openapi.json", nil},
	{regexp.MustCompile(`^/v1/images$`), "/v1/images", nil},
	{regexp.MustCompile(`^/v1/images/tasks$`), "/v1/images/tasks", nil},
	{regexp.MustCompile(`^/v1/images/([^/]+)$`), "/v1/images/{imageId}", []string{"imageId"}},
	{regexp.MustCompile(`^/v1/images/([^/]+)/build-log$`), "/v1/images/{imageId}/build-log", []string{"imageId"}},
	{regexp.MustCompile(`^/v1/images/([^/]+)/tasks$`), "/v1/images/{imageId}/tasks", []string{"imageId"}},
	{regexp.MustCompile(`^/v1/jobs/([^/]+)$`), "/v1/jobs/{jobId}", []string{"jobId"}},
}

// validate fails the test unless a response has the front's headers and
// matches the document (Validate).
func (c *Client) validate(req *http.Request, r Response) {
	c.T.Helper()
	if ct := r.Header.Get("Content-Type"); ct != "application/json" {
		c.T.Errorf("%s %s: Content-Type %q, want application/json", req.Method, req.URL.Path, ct)
	}
	if r.Header.Get("Request-Id") == "" || !strings.HasPrefix(r.Header.Get("Server"), "imagegw/") {
		c.T.Errorf("%s %s: Request-Id %q, Server %q", req.Method, req.URL.Path, r.Header.Get("Request-Id"), r.Header.Get("Server"))
	}
	if err := Validate(c.doc, req, r); err != nil {
		c.T.Errorf("%s %s: %v", req.Method, req.URL.Path, err)
	}
}

// Validate checks a response against the document: its operation's
// response for the status (an undocumented status fails), or, for paths
// and methods the document has no operation for, the error envelope.
func Validate(doc *openapi3.T, req *http.Request, r Response) error {
	var route *routers.Route
	params := map[string]string{}
	for _, tp := range templates {
		m := tp.re.FindStringSubmatch(req.URL.Path)
		if m == nil {
			continue
		}
		pi := doc.Paths.Value(tp.path)
		if op := pi.GetOperation(req.Method); op != nil {
			route = &routers.Route{Spec: doc, Path: tp.path, PathItem: pi, Method: req.Method, Operation: op}
			for i, v := range tp.vars {
				params[v], _ = url.PathUnescape(m[i+1])
			}
		}
		break
	}
	if route == nil {
		schema := doc.Components.Schemas["ErrorEnvelope"].Value
		var v any
		if err := json.Unmarshal(r.Body, &v); err != nil {
			return fmt.Errorf("not JSON: %.200s", r.Body)
		}
		if err := schema.VisitJSON(v, openapi3.EnableJSONSchema2020()); err != nil {
			return fmt.Errorf("%d answer is not an ErrorEnvelope: %v\n%.2000s", r.Status, err, r.Body)
		}
		return nil
	}
	in := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route},
		Status:                 r.Status,
		Header:                 r.Header,
		Options:                &openapi3filter.Options{IncludeResponseStatus: true, MultiError: true},
	}
	in.SetBodyBytes(r.Body)
	if err := openapi3filter.ValidateResponse(context.Background(), in); err != nil {
		return fmt.Errorf("%d answer does not match the OpenAPI document: %v\n%.2000s", r.Status, err, r.Body)
	}
	return nil
}

// Want fails unless the status is want.
func (r Response) Want(t testing.TB, what string, want int) Response {
	t.Helper()
	if r.Status != want {
		t.Fatalf("%s: status %d, want %d\n%.3000s", what, r.Status, want, r.Body)
	}
	return r
}

// Decode decodes the body into v.
func (r Response) Decode(t testing.TB, v any) {
	t.Helper()
	if err := json.Unmarshal(r.Body, v); err != nil {
		t.Fatalf("decoding %s: %v", r.Body, err)
	}
}

// Err is the error envelope's error.
type Err struct {
	Status int            `json:"status"`
	Code   string         `json:"code"`
	Title  string         `json:"title"`
	Detail string         `json:"detail"`
	Source string         `json:"source"`
	Extra  map[string]any `json:"extra"`
}

// Error decodes an error answer.
func (r Response) Error(t testing.TB) Err {
	t.Helper()
	var e struct {
		Error Err `json:"error"`
	}
	r.Decode(t, &e)
	return e.Error
}

// Image is what tests read of an image.
type Image struct {
	ID      string `json:"id"`
	Name    string `json:"name"`
	Backend struct {
		FileID   string `json:"file_id"`
		FileName string `json:"file_name"`
	} `json:"backend"`
	State struct {
		Current string `json:"current"`
	} `json:"state"`
	Meta *struct {
		ContainersCount struct {
			State     map[string]int `json:"state"`
			Total     int            `json:"total"`
			Available int            `json:"available"`
		} `json:"containers_count"`
	} `json:"meta"`
}

// JobDescriptor is what tests read of one.
type JobDescriptor struct {
	Action string `json:"action"`
	Job    struct {
		ID string `json:"id"`
	} `json:"job"`
}

// Job is what tests read of a job.
type Job struct {
	ID    string `json:"id"`
	State struct {
		Current string `json:"current"`
	} `json:"state"`
	Tasks []struct {
		Output map[string]string `json:"output"`
	} `json:"tasks"`
}

// WaitJob polls GET /v1/jobs/{id} until completed or error.
func (c *Client) WaitJob(id string, within time.Duration) Job {
	c.T.Helper()
	deadline := time.Now().Add(within)
	for {
		var j struct{ Data Job }
		c.Do("GET", "/v1/jobs/"+id, nil).Want(c.T, "GET job", 200).Decode(c.T, &j)
		if j.Data.State.Current == "completed" || j.Data.State.Current == "error" {
			return j.Data
		}
		if time.Now().After(deadline) {
			c.T.Fatalf("job %s is still %s after %v", id, j.Data.State.Current, within)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// WaitImage polls GET /v1/images/{id} until its state is want.
func (c *Client) WaitImage(id, want string, within time.Duration) Image {
	c.T.Helper()
	deadline := time.Now().Add(within)
	for {
		var img struct{ Data Image }
		c.Do("GET", "/v1/images/"+id, nil).Want(c.T, "GET image", 200).Decode(c.T, &img)
		if img.Data.State.Current == want {
			return img.Data
		}
		if time.Now().After(deadline) {
			c.T.Fatalf("image %s is still %s after %v", id, img.Data.State.Current, within)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
