// Package deltacloud is imagegw's native front: the Apache Deltacloud REST
// dialect (API 1.1.3) at /api, in XML, JSON and HTML, over any driver. The
// contract is shared/specs/deltacloud.md; docs/api/deltacloud.md says where
// imagegw deliberately differs from upstream.
package deltacloud

import (
	"errors"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"

	"github.com/gorilla/mux"

	"github.com/imagegw/imagegw/api"
	"github.com/imagegw/imagegw/gateway"
	"github.com/imagegw/imagegw/model"
)

// APIVersion is the Deltacloud API level served.
const APIVersion = "1.1.3"

// MaxBody is the largest request body accepted.
const MaxBody = 1 << 20

// Options configure the front.
type Options struct {
	// TrustedProxies are the addresses whose X-Forwarded-Proto and
	// X-Forwarded-Host headers are believed.
	TrustedProxies []string
	Logger         *slog.Logger
}

// Front serves the Deltacloud dialect.
type Front struct {
	gw      *gateway.Gateway
	log     *slog.Logger
	trusted []string
	cfg     Config
	answers *api.Answers
	// profileIDs memoizes the sorted profile ids of a catalog profiles
	// stamp (uint64 → []string).
	profileIDs   sync.Map
	profileIDsMu sync.Mutex
	profileIDsN  int
	// targetHeaders holds each target's header values (targetHeader).
	targetHeaders sync.Map // gateway.Target → *[2][]string
}

// Section is the front's top-level configuration key.
const Section = "deltacloud"

// Config is the front's section of the gateway's configuration:
//
//	deltacloud:
//	  max_profile_links: 32   # in lists, past this many fitting profiles an
//	                          # image links to the profile collection instead
//	  answer_cache: 64MiB     # memory for encoded list answers (bytes)
//	  native_tenant: default  # whose image types /api/image_types shows (image_types.go)
type Config struct {
	MaxProfileLinks int    `yaml:"max_profile_links"`
	AnswerCache     int    `yaml:"answer_cache"`
	NativeTenant    string `yaml:"native_tenant"`
}

func (c Config) maxProfileLinks() int {
	if c.MaxProfileLinks <= 0 {
		return 32
	}
	return c.MaxProfileLinks
}

func init() { gateway.RegisterSection(Section, func() any { return new(Config) }) }

// Register mounts the front's routes under /api on r. Requests must pass
// api.StripMatrix first, so that /api;driver=x/images routes as /api/images.
func Register(r *mux.Router, gw *gateway.Gateway, opts Options) *Front {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	f := &Front{gw: gw, log: opts.Logger, trusted: opts.TrustedProxies}
	if err := gw.Config().DecodeSection(Section, &f.cfg); err != nil {
		f.log.Error("deltacloud: ignoring the deltacloud section", "err", err) // checked when the config loaded
	}
	budget := f.cfg.AnswerCache
	if budget <= 0 {
		budget = api.DefaultAnswerBudget
	}
	f.answers = api.NewAnswers(budget)
	routes := []struct {
		path    string
		methods map[string]handler
	}{
		{"/api", map[string]handler{"GET": f.entryPoint, "POST": f.redirectSelection}},
		{"/api/openapi.json", map[string]handler{"GET": f.openAPI}},
		{"/api/console.css", map[string]handler{"GET": f.stylesheet}},
		{"/api/drivers", map[string]handler{"GET": f.listDrivers}},
		{"/api/drivers/{id}", map[string]handler{"GET": f.getDriver}},
		{"/api/images", map[string]handler{"GET": f.listImages, "POST": f.createImage}},
		{"/api/images/new", map[string]handler{"GET": f.newImageForm}},
		{"/api/images/{id}", map[string]handler{"GET": f.getImage, "DELETE": f.deleteImage, "PUT": f.updateImage, "PATCH": f.updateImage}},
		{"/api/images/{id}/clone", map[string]handler{"POST": f.cloneImage}},
		{"/api/images/{id}/copy", map[string]handler{"POST": f.copyImage}},
		{"/api/images/{id}/export", map[string]handler{"POST": f.exportImage}},
		{"/api/hardware_profiles", map[string]handler{"GET": f.listProfiles}},
		{"/api/hardware_profiles/{id}", map[string]handler{"GET": f.getProfile}},
		{"/api/realms", map[string]handler{"GET": f.listRealms}},
		{"/api/realms/{id}", map[string]handler{"GET": f.getRealm}},
		{"/api/instances", map[string]handler{"GET": f.listInstances}},
		{"/api/instances/{id}", map[string]handler{"GET": f.getInstance}},
		{"/api/jobs", map[string]handler{"GET": f.listJobs}},
		{"/api/jobs/{id}", map[string]handler{"GET": f.getJob}},
		{"/api/image_types", map[string]handler{"GET": f.listImageTypes}},      // extension: image_types.go
		{"/api/image_types/{name}", map[string]handler{"GET": f.getImageType}}, // extension
	}
	for _, rt := range routes {
		r.Handle(rt.path, f.dispatch(rt.methods))
		r.Handle(rt.path+"/", f.dispatch(rt.methods)) // /api/ too
	}
	// Named "unmatched" so that the metrics do not count every unknown
	// path under one route.
	r.PathPrefix("/api/").Handler(http.HandlerFunc(f.NotFound)).Name("unmatched")
	return f
}

type handler func(*call) error

// dispatch picks the handler for the request's method: HEAD runs GET, an
// HTML form may POST with _method=delete, and anything else is 405 with
// Allow.
func (f *Front) dispatch(methods map[string]handler) http.Handler {
	allow := make([]string, 0, len(methods)+1)
	for m := range methods {
		allow = append(allow, m)
	}
	if _, ok := methods["GET"]; ok {
		allow = append(allow, "HEAD")
	}
	slices.Sort(allow)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ContentLength > MaxBody {
			f.fail(f.newCall(w, r), model.Errorf(model.InvalidArgument, "request body is larger than 1 MiB"), http.StatusRequestEntityTooLarge)
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, MaxBody)
		method := r.Method
		if method == http.MethodHead {
			method = http.MethodGet
		}
		if method == http.MethodPost && methods["POST"] == nil && strings.HasPrefix(r.Header.Get("Content-Type"), "application/x-www-form-urlencoded") {
			if err := r.ParseForm(); err == nil {
				method = strings.ToUpper(r.PostForm.Get("_method"))
			}
		}
		c := f.newCall(w, r)
		h, ok := methods[method]
		if !ok {
			w.Header().Set("Allow", strings.Join(allow, ", "))
			f.fail(c, errMethod(r.Method, r.URL.Path), http.StatusMethodNotAllowed)
			return
		}
		if c.formatErr != nil {
			f.fail(c, c.formatErr, http.StatusNotAcceptable)
			return
		}
		if c.selErr != nil {
			f.fail(c, c.selErr, 0)
			return
		}
		if err := c.sameOrigin(); err != nil {
			f.fail(c, err, 0)
			return
		}
		if err := h(c); err != nil {
			f.fail(c, err, 0)
		}
	})
}

type methodError struct{ method, path string }

func (e methodError) Error() string {
	return "method " + e.method + " is not allowed on " + e.path
}

func errMethod(m, p string) error { return methodError{m, p} }

// NotFound answers an unknown path under /api with the error body.
func (f *Front) NotFound(w http.ResponseWriter, r *http.Request) {
	c := f.newCall(w, r)
	f.fail(c, model.Errorf(model.NotFound, "no such path %s", r.URL.Path), 0)
}

// BadPath answers a malformed path (matrix parameters) with 400.
func (f *Front) BadPath(w http.ResponseWriter, r *http.Request, err error) {
	c := f.newCall(w, r)
	f.fail(c, model.Errorf(model.InvalidArgument, "%v", err), http.StatusBadRequest)
}

// Panic answers 500 after a recovered panic.
func (f *Front) Panic(w http.ResponseWriter, r *http.Request) {
	c := f.newCall(w, r)
	f.fail(c, model.Errorf(model.Internal, "internal error; request id %s", api.RequestID(r.Context())), 0)
}

// call is one request's state: its format, selection and base URL.
type call struct {
	f         *Front
	w         http.ResponseWriter
	r         *http.Request
	format    string
	formatErr error
	target    gateway.Target
	selErr    error
	caps      *gateway.Capabilities // the session's, once one is open
	actions   []action              // the image actions caps allow; see supportedActions
	root      string                // scheme://host
	base      string                // root + "/api" + the request's selection matrix
	// federation are the providers of a federated selection
	// (;provider=* or a comma list; federated.go), else nil.
	federation []string
	// query is the request's query, parsed once (nil when it has none):
	// read it, never change it (clone it first).
	query url.Values
}

// varyAccept is the Vary header of every answer (answers may be gzipped:
// api.Answers), shared: net/http only reads it, and a later Add appends to
// a new array, its capacity being 1.
var varyAccept = []string{"Accept, Accept-Encoding"}

const (
	fmtXML  = "xml"
	fmtJSON = "json"
	fmtHTML = "html"
)

// targetHeader returns the X-Deltacloud-Driver and X-Deltacloud-Provider
// values of target, made once per target and shared (net/http only reads
// them). Targets are configured providers: the map stays small.
func (f *Front) targetHeader(t gateway.Target) *[2][]string {
	if v, ok := f.targetHeaders.Load(t); ok {
		return v.(*[2][]string)
	}
	v, _ := f.targetHeaders.LoadOrStore(t, &[2][]string{{t.Driver}, {t.Provider}})
	return v.(*[2][]string)
}

func (f *Front) newCall(w http.ResponseWriter, r *http.Request) *call {
	c := &call{f: f, w: w, r: r}
	if r.URL.RawQuery != "" {
		c.query = r.URL.Query()
	}
	w.Header()["Vary"] = varyAccept
	c.format, c.formatErr = negotiate(r, c.query)
	if c.formatErr != nil {
		c.format = fmtXML
	}
	m := api.MatrixOf(r.Context())
	sel := gateway.Selection{Driver: m.Get("api", "driver"), Provider: m.Get("api", "provider")}
	if sel.Driver == "" {
		sel.Driver = r.Header.Get("X-Deltacloud-Driver")
	}
	if sel.Provider == "" {
		sel.Provider = r.Header.Get("X-Deltacloud-Provider")
	}
	c.target, c.selErr = f.gw.Resolve(sel)
	if gateway.IsFederated(sel.Provider) {
		c.federate(sel) // federated.go
	}
	if c.selErr != nil {
		c.target = f.gw.Defaults()
	}
	th := f.targetHeader(c.target)
	w.Header()["X-Deltacloud-Driver"], w.Header()["X-Deltacloud-Provider"] = th[0], th[1]
	c.root = f.root(r)
	c.base = c.root + "/api"
	if d := m.Get("api", "driver"); d != "" {
		c.base += ";driver=" + url.PathEscape(strings.ToLower(d))
	}
	if p := m.Get("api", "provider"); p != "" {
		c.base += ";provider=" + url.PathEscape(strings.ToLower(p))
	}
	return c
}

// root returns the configured public_url, else scheme://host of the
// request, believing X-Forwarded-* only from trusted proxies.
func (f *Front) root(r *http.Request) string {
	if pub := f.gw.Config().PublicRoot(); pub != "" {
		return pub
	}
	scheme, host := "http", r.Host
	if r.TLS != nil {
		scheme = "https"
	}
	if len(f.trusted) > 0 {
		ip, _, err := net.SplitHostPort(r.RemoteAddr)
		if err == nil && slices.Contains(f.trusted, ip) {
			if p := r.Header.Get("X-Forwarded-Proto"); p == "http" || p == "https" {
				scheme = p
			}
			if h := r.Header.Get("X-Forwarded-Host"); h != "" {
				host = strings.TrimSpace(strings.Split(h, ",")[0])
			}
		}
	}
	return scheme + "://" + host
}

// href returns the absolute URL of a collection or member.
func (c *call) href(collection string, id ...string) string {
	s := c.base + "/" + collection
	for _, p := range id {
		s += "/" + url.PathEscape(p)
	}
	return s
}

// session opens the selected provider with the request's Basic
// credentials.
func (c *call) session() (*gateway.Session, error) {
	var creds model.Credentials
	if u, p, ok := c.r.BasicAuth(); ok {
		creds = model.Credentials{User: u, Password: p}
	}
	sess, err := c.f.gw.Open(c.r.Context(), c.target, creds)
	if err != nil {
		return nil, err
	}
	caps := sess.Capabilities()
	c.caps = &caps
	return sess, nil
}

// contentType returns the exact Content-Type of a format.
func contentType(format string) string {
	switch format {
	case fmtJSON:
		return "application/json"
	case fmtHTML:
		return "text/html; charset=utf-8"
	}
	return "application/xml"
}

// negotiate picks the representation: ?format beats Accept; see
// docs/api/deltacloud.md for the Accept rules.
func negotiate(r *http.Request, query url.Values) (string, error) {
	if query.Has("format") {
		switch f := strings.ToLower(query.Get("format")); f {
		case fmtXML, fmtJSON, fmtHTML:
			return f, nil
		default:
			return "", errNotAcceptable("unknown format " + f + "; use xml, json or html")
		}
	}
	accept := strings.TrimSpace(r.Header.Get("Accept"))
	if accept == "" {
		return fmtXML, nil
	}
	type entry struct {
		typ string
		q   float64
	}
	var entries []entry
	for _, part := range strings.Split(accept, ",") {
		fields := strings.Split(part, ";")
		typ := strings.ToLower(strings.TrimSpace(fields[0]))
		q := 1.0
		for _, p := range fields[1:] {
			k, v, _ := strings.Cut(strings.TrimSpace(p), "=")
			if strings.EqualFold(k, "q") {
				if _, err := fmtSscan(v, &q); err != nil {
					q = 0
				}
			}
		}
		if typ != "" {
			entries = append(entries, entry{typ, q})
		}
	}
	slices.SortStableFunc(entries, func(a, b entry) int {
		switch {
		case a.q > b.q:
			return -1
		case a.q < b.q:
			return 1
		}
		return 0
	})
	wildcard := false
	for _, e := range entries {
		if e.q <= 0 {
			continue
		}
		switch e.typ {
		case "application/xml", "text/xml":
			return fmtXML, nil
		case "application/json":
			return fmtJSON, nil
		case "text/html", "application/xhtml+xml":
			return fmtHTML, nil
		case "*/*", "application/*":
			wildcard = true
		}
	}
	if wildcard {
		return fmtXML, nil
	}
	return "", errNotAcceptable("no representation satisfies Accept: " + accept + "; available: application/xml, application/json, text/html")
}

type notAcceptable string

func (e notAcceptable) Error() string { return string(e) }

func errNotAcceptable(s string) error { return notAcceptable(s) }

func isNotAcceptable(err error) bool {
	var n notAcceptable
	return errors.As(err, &n)
}
