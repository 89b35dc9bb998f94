// Package cycle is imagegw's Cycle-style images front: the Images section
// of the Cycle Platform API at /v1/images, with /v1/jobs/{id} to follow
// the jobs it starts, over any driver. A hub maps to one configured driver
// and provider; API keys (Authorization: Bearer) belong to a hub and hold
// capabilities. The contract is shared/specs/cycle.md; docs/api/cycle.md
// is the user's guide, and GET /v1/openapi.json describes every answer.
package cycle

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/gorilla/mux"

	"github.com/imagegw/imagegw/api"
	"github.com/imagegw/imagegw/api/server"
	"github.com/imagegw/imagegw/gateway"
	"github.com/imagegw/imagegw/model"
)

// MaxBody is the largest request body accepted (422 max-exceeded).
const MaxBody = 1 << 20

// maxName is the longest image name accepted.
const maxName = 1024

func init() {
	server.AddFront(Mount)
}

// Front serves the Cycle dialect.
type Front struct {
	gw      *gateway.Gateway
	log     *slog.Logger
	keys    *Keys
	answers *api.Answers
	auth    authCache
	now     func() time.Time
}

// Owns reports whether a path is the front's: /v1 and below.
func Owns(path string) bool {
	return path == "/v1" || strings.HasPrefix(path, "/v1/") || strings.HasPrefix(path, "/v1;")
}

// Mount is the api/server.Mount of the front.
func Mount(r *mux.Router, gw *gateway.Gateway, log *slog.Logger) server.Front {
	f := New(gw, log)
	f.Register(r)
	return server.Front{
		Owns:     Owns,
		NotFound: f.NotFound,
		Panic: func(w http.ResponseWriter, r *http.Request) {
			f.newCall(w, r).fail(newErr(500, "500.unknown", "internal error; request id "+api.RequestID(r.Context())))
		},
		BadPath: func(w http.ResponseWriter, r *http.Request, err error) {
			f.newCall(w, r).fail(newErr(400, "400.invalid-syntax", err.Error()))
		},
	}
}

// New returns the front over gw.
func New(gw *gateway.Gateway, log *slog.Logger) *Front {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Front{gw: gw, log: log, keys: NewKeys(gw.Store(), gw.Secrets()), answers: api.NewAnswers(api.DefaultAnswerBudget / 4), now: time.Now}
}

// Keys returns the front's hub and API key store.
func (f *Front) Keys() *Keys { return f.keys }

type handler func(*call) error

type route struct {
	path    string
	methods map[string]handler
	caps    map[string][]string // method → capabilities, any of which will do
}

// Register mounts the routes on r.
func (f *Front) Register(r *mux.Router) {
	view := []string{CapImagesView}
	manage := []string{CapImagesManage}
	routes := []route{
		{"/v1/openapi.json", map[string]handler{"GET": f.openapi}, nil},
		{"/v1/images", map[string]handler{"GET": f.listImages, "POST": f.createImage},
			map[string][]string{"GET": view, "POST": manage}},
		{"/v1/images/tasks", map[string]handler{"POST": f.pruneImages}, map[string][]string{"POST": manage}},
		{"/v1/images/{id}", map[string]handler{"GET": f.getImage, "PATCH": f.patchImage, "DELETE": f.deleteImage},
			map[string][]string{"GET": view, "PATCH": manage, "DELETE": manage}},
		{"/v1/images/{id}/build-log", map[string]handler{"GET": f.buildLog}, map[string][]string{"GET": view}},
		{"/v1/images/{id}/tasks", map[string]handler{"POST": f.importImage}, map[string][]string{"POST": {CapImagesImport}}},
		{"/v1/jobs/{id}", map[string]handler{"GET": f.getJob},
			map[string][]string{"GET": {CapJobsView, CapImagesView, CapImagesManage, CapImagesImport}}},
	}
	for _, rt := range routes {
		r.Handle(rt.path, f.dispatch(rt))
	}
}

// NotFound answers an unknown path under /v1.
func (f *Front) NotFound(w http.ResponseWriter, r *http.Request) {
	f.newCall(w, r).fail(newErr(404, "404.uri", "no such path: "+r.URL.Path))
}

// call is one request's state.
type call struct {
	f    *Front
	w    http.ResponseWriter
	r    *http.Request
	ctx  context.Context
	key  APIKey
	hub  Hub
	sess *gateway.Session
}

func (f *Front) newCall(w http.ResponseWriter, r *http.Request) *call {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Server", api.ServerHeader)
	if h.Get("Request-Id") == "" {
		h.Set("Request-Id", api.RequestID(r.Context()))
	}
	return &call{f: f, w: w, r: r, ctx: r.Context()}
}

func (f *Front) dispatch(rt route) http.Handler {
	allowed := make([]string, 0, len(rt.methods))
	for m := range rt.methods {
		allowed = append(allowed, m)
	}
	sort.Strings(allowed)
	allow := strings.Join(allowed, ", ")
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c := f.newCall(w, r)
		h, ok := rt.methods[r.Method]
		if !ok {
			w.Header().Set("Allow", allow)
			c.fail(newErr(404, "404.uri", r.Method+" "+r.URL.Path+" is not served; allowed: "+allow))
			return
		}
		if rt.caps != nil {
			if err := c.authenticate(rt.caps[r.Method]); err != nil {
				c.fail(err)
				return
			}
		}
		if err := h(c); err != nil {
			c.fail(err)
		}
	})
}

// authenticate applies spec decision 1: the key (401), the hub (404, 403)
// and the capability (403), in that order, then opens the hub's provider.
func (c *call) authenticate(caps []string) error {
	auth := c.r.Header.Get("Authorization")
	scheme, secret, _ := strings.Cut(strings.TrimSpace(auth), " ")
	if !strings.EqualFold(scheme, "Bearer") {
		secret = ""
	}
	hubID := strings.TrimSpace(c.r.Header.Get("X-Hub-Id"))
	lookupHub := hubID
	if !gateway.IsObjectID(hubID) {
		lookupHub = ""
	}
	key, hub, err := c.f.auth.lookup(c.ctx, c.f.keys, strings.TrimSpace(secret), lookupHub)
	var ae authError
	switch {
	case errors.As(err, &ae) && ae.expired:
		return newErr(401, "401.auth-expired", "The API key has expired.")
	case errors.As(err, &ae):
		return newErr(401, "401.auth-invalid", "Send a valid API key as Authorization: Bearer <key>.")
	case err != nil:
		return err
	}
	c.key = key
	if lookupHub == "" {
		return newErr(404, "404.hub", "Send the hub's id as X-Hub-Id.")
	}
	if hub == nil {
		return newErr(404, "404.hub", "No hub "+hubID+".")
	}
	if !strings.EqualFold(key.HubID, hub.ID) {
		return newErr(403, "403.wrong-hub", "This API key belongs to another hub.")
	}
	c.hub = *hub
	if len(caps) > 0 {
		ok := false
		for _, cp := range caps {
			ok = ok || key.Can(cp)
		}
		if !ok {
			e := newErr(403, "403.permissions", "This API key lacks "+caps[0]+".")
			e.Extra = map[string]any{"capability": caps[0]}
			return e
		}
	}
	t, err := c.f.gw.Resolve(gateway.Selection{Driver: hub.Driver, Provider: hub.Provider})
	if err != nil {
		return newErr(503, "503.not-ready", "The hub's provider is not configured: "+model.MessageOf(err))
	}
	creds, err := c.f.keys.Credentials(c.hub)
	if err != nil {
		return model.Wrap(model.Internal, err, "opening the hub's credentials")
	}
	c.sess, err = c.f.gw.Open(c.ctx, t, creds)
	return err
}

// cyErr is an error in the front's envelope.
type cyErr struct {
	Status int            `json:"status"`
	Code   string         `json:"code"`
	Title  string         `json:"title"`
	Detail string         `json:"detail,omitempty"`
	Source string         `json:"source,omitempty"`
	Extra  map[string]any `json:"extra,omitempty"`
	retry  time.Duration
}

func (e *cyErr) Error() string { return e.Code + ": " + e.Detail }

func (e *cyErr) at(pointer string) *cyErr { e.Source = pointer; return e }

var titles = map[string]string{
	"400.invalid-syntax":       "Invalid syntax",
	"401.auth-invalid":         "Invalid authentication",
	"401.auth-expired":         "Authentication expired",
	"403.permissions":          "Missing capability",
	"403.wrong-hub":            "Wrong hub",
	"403.invalid-state":        "Invalid state",
	"404.hub":                  "Hub not found",
	"404.image":                "Image not found",
	"404.image.build-log":      "Build log not found",
	"404.image.source":         "Image source not found",
	"404.job":                  "Job not found",
	"404.uri":                  "Not found",
	"415.invalid-content-type": "Invalid content type",
	"422.missing-argument":     "Missing argument",
	"422.invalid-argument":     "Invalid argument",
	"422.not-compatible":       "Not compatible",
	"422.max-exceeded":         "Maximum exceeded",
	"429.rate-limiting":        "Rate limited",
	"500.unknown":              "Internal error",
	"503.not-ready":            "Not ready",
	"504.not-available":        "Not available",
}

func newErr(status int, code, detail string) *cyErr {
	return &cyErr{Status: status, Code: code, Title: titles[code], Detail: detail}
}

// toErr maps a gateway error to the envelope; notFound is the code of a
// NotFound in this call's context (404.image, 404.job, ...).
func toErr(err error, notFound string) *cyErr {
	var ce *cyErr
	if errors.As(err, &ce) {
		return ce
	}
	msg := model.MessageOf(err)
	switch model.CodeOf(err) {
	case model.NotFound:
		return newErr(404, notFound, msg)
	case model.InvalidArgument:
		return newErr(422, "422.invalid-argument", msg)
	case model.AlreadyExists:
		return newErr(403, "403.invalid-state", msg)
	case model.FailedPrecondition, model.Unimplemented:
		return newErr(422, "422.not-compatible", msg)
	case model.ResourceExhausted:
		e := newErr(429, "429.rate-limiting", msg)
		e.retry = model.RetryAfterOf(err)
		return e
	case model.Unavailable:
		return newErr(503, "503.not-ready", msg)
	case model.DeadlineExceeded:
		return newErr(504, "504.not-available", msg)
	}
	return newErr(500, "500.unknown", msg)
}

// fail writes err in the error envelope.
func (c *call) fail(err error) {
	e := toErr(err, "404.uri")
	if e.Status == 500 {
		c.f.log.Error("cycle: internal error", "path", c.r.URL.Path, "err", err, "request_id", api.RequestID(c.ctx))
	}
	if e.Status == 429 {
		secs := int(e.retry / time.Second)
		if secs < 1 {
			secs = 1
		}
		c.w.Header().Set("Retry-After", strconv.Itoa(secs))
	}
	b, _ := marshal(struct {
		Error *cyErr `json:"error"`
		Data  any    `json:"data"`
	}{e, nil})
	c.w.Header().Set("Content-Type", "application/json")
	c.w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	c.w.WriteHeader(e.Status)
	c.w.Write(b)
}

// marshal encodes v as JSON without HTML escaping, with a final newline.
func marshal(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	err := enc.Encode(v)
	return buf.Bytes(), err
}

// send writes {"data":…} (and includes) with status.
func (c *call) send(status int, v any) error {
	b, err := marshal(v)
	if err != nil {
		return err
	}
	c.w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	c.w.WriteHeader(status)
	_, err = c.w.Write(b)
	return err
}

// readBody reads a JSON object body into a map of raw values: 415 unless
// it is application/json, 422 max-exceeded past MaxBody, 400 unless it is
// one JSON object.
func (c *call) readBody() (map[string]json.RawMessage, error) {
	mt, _, err := mime.ParseMediaType(c.r.Header.Get("Content-Type"))
	if err != nil || mt != "application/json" {
		return nil, newErr(415, "415.invalid-content-type", "Send the body as Content-Type: application/json.")
	}
	if c.r.ContentLength > MaxBody {
		return nil, newErr(422, "422.max-exceeded", fmt.Sprintf("The body is over %d bytes.", MaxBody))
	}
	b, err := io.ReadAll(io.LimitReader(c.r.Body, MaxBody+1))
	if err != nil {
		return nil, newErr(400, "400.invalid-syntax", "reading the body: "+err.Error())
	}
	if len(b) > MaxBody {
		return nil, newErr(422, "422.max-exceeded", fmt.Sprintf("The body is over %d bytes.", MaxBody))
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(b, &m); err != nil || m == nil {
		msg := "the body must be one JSON object"
		if err != nil {
			msg += ": " + err.Error()
		}
		return nil, newErr(400, "400.invalid-syntax", msg)
	}
	return m, nil
}

// stringField decodes an optional string member; present reports whether
// it was given (and not null).
func stringField(m map[string]json.RawMessage, key, pointer string) (s string, present bool, err error) {
	raw, ok := m[key]
	if !ok || string(raw) == "null" {
		return "", false, nil
	}
	if err := json.Unmarshal(raw, &s); err != nil {
		return "", true, newErr(422, "422.invalid-argument", key+" must be a string").at(pointer)
	}
	return s, true, nil
}

// openapi serves the OpenAPI document.
func (f *Front) openapi(c *call) error {
	c.w.Header().Set("Content-Length", strconv.Itoa(len(openAPIDoc)))
	c.w.WriteHeader(200)
	_, err := c.w.Write(openAPIDoc)
	return err
}
