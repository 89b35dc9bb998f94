// Package cloudapi is imagegw's Triton CloudAPI front: the image and
// package part of CloudAPI 9.x, with the account, datacenter and ping
// routes the stock `triton` and `smartdc` clients need, over any driver.
// Requests are authenticated with HTTP Signatures (package httpsig)
// against the accounts and keys of package accounts. The contract is
// shared/specs/cloudapi.md; docs/api/cloudapi.md is the user's guide.
package cloudapi

import (
	"context"
	"log/slog"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"time"

	"github.com/gorilla/mux"

	"github.com/imagegw/imagegw/accounts"
	"github.com/imagegw/imagegw/api"
	"github.com/imagegw/imagegw/api/cloudapi/apiversion"
	"github.com/imagegw/imagegw/api/cloudapi/httpsig"
	"github.com/imagegw/imagegw/api/server"
	"github.com/imagegw/imagegw/gateway"
	"github.com/imagegw/imagegw/model"
)

// MaxBody is the largest request body accepted (413 RequestTooLarge).
const MaxBody = 100000

func init() {
	server.AddFront(Mount)
	gateway.RegisterSection(Section, func() any { return new(Config) })
}

// Section is the front's top-level configuration key.
const Section = "cloudapi"

// Config is the front's section of the gateway's configuration:
//
//	cloudapi:
//	  datacenters:                   # provider name → the URL it is served at
//	    mock: http://127.0.0.1:3001
//	    test1: http://127.0.0.1:3002
//
// A request arriving on a datacenter's URL authority (host:port) selects
// that provider; `triton datacenters` lists them. Each needs its own
// authority.
type Config struct {
	Datacenters map[string]string `yaml:"datacenters"`
}

// Options configure the front.
type Options struct {
	Logger *slog.Logger
	// Now is the server clock for signature skew checks; nil: time.Now.
	Now func() time.Time
}

// Front serves the CloudAPI dialect.
type Front struct {
	gw       *gateway.Gateway
	log      *slog.Logger
	accts    *accounts.Store
	verifier *httpsig.Verifier
	answers  *api.Answers
	// datacenters are provider name → CloudAPI URL, and authority → name.
	datacenters map[string]string
	byAuthority map[string]string
}

// Mount is the api/server.Mount of the front: it registers the routes and
// returns the front's answers for unknown paths, panics and bad paths.
func Mount(r *mux.Router, gw *gateway.Gateway, log *slog.Logger) server.Front {
	f := Register(r, gw, Options{Logger: log})
	return server.Front{
		Name:     "cloudapi",
		Owns:     Owns,
		NotFound: f.NotFound,
		Panic:    f.Panic,
		BadPath: func(w http.ResponseWriter, r *http.Request, err error) {
			c := f.newCall(w, r, "GET, HEAD")
			c.fail(newErr(http.StatusBadRequest, "InvalidArgument", err.Error()))
		},
	}
}

// reserved are first path segments that belong to other fronts; the
// server's own routes (/metrics, /healthz, /readyz, /version) are
// server.Reserved.
var reserved = map[string]bool{"api": true, "v1": true, "v2": true, "": true}

// Owns reports whether a path belongs to the CloudAPI front: any path
// whose first segment is neither another front's nor the server's.
func Owns(path string) bool {
	first, _, _ := strings.Cut(strings.TrimPrefix(path, "/"), "/")
	if i := strings.IndexByte(first, ';'); i >= 0 {
		first = first[:i]
	}
	return !reserved[first] && !server.Reserved(first)
}

type handler func(*call) error

// Register mounts the routes on r: /--ping, /{login}, /{login}/datacenters,
// /{login}/images, /{login}/machines (read-only) and /{login}/packages. Requests must pass
// api.StripMatrix first, so that /{login};driver=x/images routes.
func Register(r *mux.Router, gw *gateway.Gateway, opts Options) *Front {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	f := &Front{gw: gw, log: opts.Logger, accts: accounts.New(gw.Store(), gw.Secrets()),
		datacenters: map[string]string{}, byAuthority: map[string]string{}}
	f.verifier = &httpsig.Verifier{Keys: f.accts, Now: opts.Now}
	f.answers = api.NewAnswers(api.DefaultAnswerBudget)
	var cfg Config
	if err := gw.Config().DecodeSection(Section, &cfg); err != nil {
		f.log.Error("cloudapi: ignoring the cloudapi section", "err", err)
	}
	for name, raw := range cfg.Datacenters {
		name = strings.ToLower(name)
		u, err := url.Parse(raw)
		if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
			f.log.Error("cloudapi: ignoring datacenter with a bad URL", "datacenter", name, "url", raw)
			continue
		}
		if _, err := gw.ProviderConfig(name); err != nil {
			f.log.Error("cloudapi: ignoring datacenter that is not a configured provider", "datacenter", name)
			continue
		}
		f.datacenters[name] = strings.TrimRight(raw, "/")
		f.byAuthority[strings.ToLower(u.Host)] = name
	}
	notReserved := func(r *http.Request, rm *mux.RouteMatch) bool { return Owns(r.URL.Path) }
	routes := []struct {
		path    string
		methods map[string]handler
		auth    bool
	}{
		{"/--ping", map[string]handler{"GET": f.ping}, false},
		{"/{login}", map[string]handler{"GET": f.getAccount}, true},
		{"/{login}/datacenters", map[string]handler{"GET": f.listDatacenters}, true},
		{"/{login}/datacenters/{name}", map[string]handler{"GET": f.getDatacenter}, true},
		{"/{login}/images", map[string]handler{"GET": f.listImages, "POST": f.postImages}, true},
		{"/{login}/images/{id}", map[string]handler{"GET": f.getImage, "DELETE": f.deleteImage, "POST": f.imageAction}, true},
		{"/{login}/machines", map[string]handler{"GET": f.listMachines}, true},
		{"/{login}/machines/{id}", map[string]handler{"GET": f.getMachine}, true},
		{"/{login}/packages", map[string]handler{"GET": f.listPackages}, true},
		{"/{login}/packages/{id}", map[string]handler{"GET": f.getPackage}, true},
	}
	for _, rt := range routes {
		h := f.dispatch(rt.methods, rt.auth)
		r.Handle(rt.path, h).MatcherFunc(notReserved)
		r.Handle(rt.path+"/", h).MatcherFunc(notReserved)
	}
	return f
}

// NotFound answers an unknown CloudAPI path.
func (f *Front) NotFound(w http.ResponseWriter, r *http.Request) {
	c := f.newCall(w, r, "GET, HEAD")
	c.fail(notFound(r.URL.Path + " does not exist"))
}

// Panic answers 500 after a recovered panic.
func (f *Front) Panic(w http.ResponseWriter, r *http.Request) {
	c := f.newCall(w, r, "GET, HEAD")
	c.fail(newErr(http.StatusInternalServerError, "InternalError", "internal error; request id "+api.RequestID(r.Context())))
}

// call is one request's state.
type call struct {
	f      *Front
	w      http.ResponseWriter
	r      *http.Request
	start  time.Time
	login  string // the caller's (real) login
	acct   accounts.Account
	target gateway.Target
	sess   *gateway.Session
	in     inputs
	others map[string]string // login → account id, for owners
	owners map[string]string // native owner → UUID, within the request
}

func (f *Front) newCall(w http.ResponseWriter, r *http.Request, methods string) *call {
	c := &call{f: f, w: w, r: r, start: time.Now()}
	c.commonHeaders(methods)
	if w.Header().Get("Server") == "imagegw" {
		w.Header().Set("Server", api.ServerHeader)
	}
	c.w.Header().Set("Triton-Datacenter-Name", f.gw.Defaults().Provider)
	return c
}

func (f *Front) dispatch(methods map[string]handler, auth bool) http.Handler {
	allowed := make([]string, 0, len(methods)+1)
	for m := range methods {
		allowed = append(allowed, m)
	}
	if _, ok := methods["GET"]; ok {
		allowed = append(allowed, "HEAD")
	}
	sort.Strings(allowed)
	allow := allowList(allowed)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c := f.newCall(w, r, allow)
		method := r.Method
		if method == http.MethodHead {
			method = http.MethodGet
		}
		h, ok := methods[method]
		if !ok {
			w.Header().Set("Allow", allow)
			c.fail(newErr(http.StatusMethodNotAllowed, "BadMethod", r.Method+" is not allowed"))
			return
		}
		if auth {
			if err := c.authenticate(); err != nil {
				c.fail(err)
				return
			}
		}
		if err := h(c); err != nil {
			c.fail(err)
		}
	})
}

// authenticate negotiates the version, verifies the signature, checks the
// path's login, selects the provider and reads the inputs.
func (c *call) authenticate() error {
	if _, err := apiversion.Negotiate(c.r.Header); err != nil {
		return err
	}
	id, err := c.f.verifier.Verify(c.r)
	if err != nil {
		return err
	}
	pathLogin := mux.Vars(c.r)["login"]
	if pathLogin != "my" && pathLogin != id.Login {
		return newErr(http.StatusForbidden, "NotAuthorized", id.Login+" is not allowed to access "+pathLogin)
	}
	c.login = id.Login
	c.acct, err = c.f.accts.Get(c.r.Context(), id.Login)
	if model.IsNotFound(err) {
		return newErr(http.StatusUnauthorized, "InvalidCredentials", "account "+id.Login+" does not exist")
	}
	if err != nil {
		return err
	}
	if err := c.selectTarget(pathLogin); err != nil {
		return err
	}
	return c.readInputs()
}

// selectTarget applies the selection rules of the spec's decision 4:
// matrix parameters on the login segment, the X-Deltacloud-* headers, the
// datacenter the request arrived on, the account's default, the server's.
func (c *call) selectTarget(pathLogin string) error {
	m := api.MatrixOf(c.r.Context())
	type pick struct{ driver, provider string }
	var cands []pick
	cands = append(cands, pick{m.Get(pathLogin, "driver"), m.Get(pathLogin, "provider")})
	cands = append(cands, pick{c.r.Header.Get("X-Deltacloud-Driver"), c.r.Header.Get("X-Deltacloud-Provider")})
	if dc, ok := c.f.byAuthority[strings.ToLower(c.r.Host)]; ok {
		pc, _ := c.f.gw.ProviderConfig(dc)
		cands = append(cands, pick{pc.Driver, dc})
	}
	cands = append(cands, pick{c.acct.Driver, c.acct.Provider})
	var sel gateway.Selection
	for _, p := range cands {
		if sel.Driver == "" && p.driver != "" {
			sel.Driver = strings.ToLower(p.driver)
		}
		if sel.Provider == "" && p.provider != "" && (p.driver == "" || strings.EqualFold(p.driver, sel.Driver)) {
			sel.Provider = strings.ToLower(p.provider)
		}
	}
	if sel.Driver == "" && sel.Provider != "" {
		if pc, err := c.f.gw.ProviderConfig(sel.Provider); err == nil {
			sel.Driver = pc.Driver
		}
	}
	t, err := c.f.gw.Resolve(sel)
	if err != nil {
		return err
	}
	c.target = t
	c.w.Header().Set("Triton-Datacenter-Name", t.Provider)
	return nil
}

// session opens the selected provider with the account's credentials.
func (c *call) session() (*gateway.Session, error) {
	if c.sess != nil {
		return c.sess, nil
	}
	s, err := c.f.gw.Open(c.r.Context(), c.target, c.acct.CredentialsFor(c.target.Driver))
	if err != nil {
		return nil, noCredentials(err, c.login, c.target)
	}
	c.sess = s
	return s, nil
}

// sessionFor opens another provider of the account, for imports.
func (c *call) sessionFor(ctx context.Context, t gateway.Target) (*gateway.Session, error) {
	s, err := c.f.gw.Open(ctx, t, c.acct.CredentialsFor(t.Driver))
	return s, noCredentials(err, c.login, t)
}
