// Package coopr is imagegw's Coopr-style front: the admin API of the Coopr
// server for image types and hardware types, at /v2/imagetypes and
// /v2/hardwaretypes, over the gateway's per-tenant portable types, with
// the resolve extension that turns a portable name into the concrete image
// or hardware profile of one provider or of every provider at once. The
// contract is shared/specs/coopr.md; docs/api/coopr.md is the user's
// guide.
//
// Callers name themselves with Coopr-UserID and Coopr-TenantID and prove
// it with Coopr-ApiKey, a key made by `imagegw tenants keys add`; only the
// user admin writes. Errors are text/plain, as upstream's are.
package coopr

import (
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/gorilla/mux"

	"github.com/imagegw/imagegw/api"
	"github.com/imagegw/imagegw/api/server"
	"github.com/imagegw/imagegw/gateway"
	"github.com/imagegw/imagegw/model"
	"github.com/imagegw/imagegw/tenants"
)

// MaxBody is the largest request body accepted (413).
const MaxBody = 1 << 20

// Admin is the only user who may write.
const Admin = "admin"

func init() { server.AddFront(Mount) }

// Front serves the Coopr dialect.
type Front struct {
	gw      *gateway.Gateway
	log     *slog.Logger
	tenants *tenants.Store
}

// Mount is the api/server.Mount of the front.
func Mount(r *mux.Router, gw *gateway.Gateway, log *slog.Logger) server.Front {
	f := Register(r, gw, log)
	return server.Front{
		Owns:     Owns,
		NotFound: f.NotFound,
		Panic: func(w http.ResponseWriter, r *http.Request) {
			text(w, http.StatusInternalServerError, "internal error")
		},
		BadPath: func(w http.ResponseWriter, r *http.Request, err error) {
			text(w, http.StatusBadRequest, err.Error())
		},
	}
}

// Owns reports whether a path is the front's: /v2 and below.
func Owns(path string) bool { return path == "/v2" || strings.HasPrefix(path, "/v2/") }

type handler func(c *call) error

type route struct {
	path    string
	methods map[string]handler
	write   map[string]bool // methods only admin may call
}

// Register mounts the routes on r.
func Register(r *mux.Router, gw *gateway.Gateway, log *slog.Logger) *Front {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	f := &Front{gw: gw, log: log, tenants: tenants.New(gw.Store())}
	const kind = "/v2/{kind:imagetypes|hardwaretypes}"
	routes := []route{
		{kind, map[string]handler{"GET": f.list, "POST": f.create}, map[string]bool{"POST": true}},
		{kind + "/{name}/resolve", map[string]handler{"GET": f.resolve}, nil},
		{kind + "/{name}/{version:[0-9]+}", map[string]handler{"GET": f.get, "DELETE": f.remove}, map[string]bool{"DELETE": true}},
		{kind + "/{name}", map[string]handler{"GET": f.get, "PUT": f.replace, "DELETE": f.remove}, map[string]bool{"PUT": true, "DELETE": true}},
	}
	for _, rt := range routes {
		h := f.dispatch(rt)
		r.Handle(rt.path, h)
		r.Handle(rt.path+"/", h)
	}
	r.PathPrefix("/v2").Handler(http.HandlerFunc(f.NotFound))
	return f
}

// NotFound answers an unknown path under /v2.
func (f *Front) NotFound(w http.ResponseWriter, r *http.Request) {
	text(w, http.StatusNotFound, "no such path "+r.URL.Path)
}

// call is one request's state.
type call struct {
	f      *Front
	w      http.ResponseWriter
	r      *http.Request
	tenant string
	user   string
	kind   gateway.TypeKind
	name   string
}

func (f *Front) dispatch(rt route) http.Handler {
	allow := make([]string, 0, len(rt.methods)+1)
	for m := range rt.methods {
		allow = append(allow, m)
	}
	if rt.methods["GET"] != nil {
		allow = append(allow, "HEAD")
	}
	slices.Sort(allow)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		method := r.Method
		if method == http.MethodHead {
			method = http.MethodGet
		}
		h, ok := rt.methods[method]
		if !ok {
			w.Header().Set("Allow", strings.Join(allow, ", "))
			text(w, http.StatusMethodNotAllowed, "method "+r.Method+" is not allowed on "+r.URL.Path)
			return
		}
		v := mux.Vars(r)
		c := &call{f: f, w: w, r: r, kind: gateway.TypeKind(v["kind"]), name: v["name"]}
		if err := c.authenticate(rt.write[method]); err != nil {
			c.fail(err)
			return
		}
		if err := h(c); err != nil {
			c.fail(err)
		}
	})
}

// authenticate checks the Coopr headers in the spec's order: user and
// tenant present (401), the tenant known (404), the key one of the user's
// (401), and admin for writes (403).
func (c *call) authenticate(write bool) error {
	c.user = c.r.Header.Get("Coopr-UserID")
	if c.user == "" {
		return model.Errorf(model.Unauthenticated, "missing Coopr-UserID header")
	}
	c.tenant = c.r.Header.Get("Coopr-TenantID")
	if c.tenant == "" {
		return model.Errorf(model.Unauthenticated, "missing Coopr-TenantID header")
	}
	if _, err := c.f.tenants.Get(c.r.Context(), c.tenant); model.IsNotFound(err) {
		return model.Errorf(model.NotFound, "tenant does not exist")
	} else if err != nil {
		return err
	}
	if err := c.f.tenants.Check(c.r.Context(), c.tenant, c.user, c.r.Header.Get("Coopr-ApiKey")); err != nil {
		return err
	}
	if write && c.user != Admin {
		return model.Errorf(model.PermissionDenied, "user unauthorized, must be admin")
	}
	return nil
}

// text writes a plain-text answer without a trailing newline.
func text(w http.ResponseWriter, status int, msg string) {
	h := w.Header()
	h.Set("Content-Type", "text/plain; charset=utf-8")
	h.Set("Content-Length", strconv.Itoa(len(msg)))
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_, _ = io.WriteString(w, msg)
}

// ok answers a successful write: 200 with an empty body.
func (c *call) ok() error {
	c.w.Header().Set("Content-Length", "0")
	c.w.WriteHeader(http.StatusOK)
	return nil
}

// sendJSON answers 200 with v as JSON (with an ETag, through api.Send).
func (c *call) sendJSON(v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return model.Wrap(model.Internal, err, "encoding")
	}
	return api.Send(c.w, c.r, http.StatusOK, "application/json", func(w io.Writer) error {
		_, err := w.Write(b)
		return err
	})
}

// statusOf maps a model code to the front's status.
func statusOf(err error) int {
	var me *http.MaxBytesError
	if errors.As(err, &me) {
		return http.StatusRequestEntityTooLarge
	}
	switch model.CodeOf(err) {
	case model.InvalidArgument:
		return http.StatusBadRequest
	case model.Unauthenticated:
		return http.StatusUnauthorized
	case model.PermissionDenied:
		return http.StatusForbidden
	case model.NotFound:
		return http.StatusNotFound
	case model.AlreadyExists, model.FailedPrecondition:
		return http.StatusConflict
	case model.Unavailable, model.DeadlineExceeded, model.ResourceExhausted, model.Unimplemented:
		return http.StatusServiceUnavailable
	case model.Canceled:
		return 499
	}
	return http.StatusInternalServerError
}

// messageOf is the text a client sees for err.
func messageOf(err error) string {
	var me *http.MaxBytesError
	if errors.As(err, &me) {
		return "request body too large"
	}
	if statusOf(err) == http.StatusInternalServerError {
		return "internal error"
	}
	return model.MessageOf(err)
}

func (c *call) fail(err error) {
	status := statusOf(err)
	if status == http.StatusInternalServerError {
		c.f.log.Error("coopr: internal error", "request_id", api.RequestID(c.r.Context()), "path", c.r.URL.Path, "err", err)
	}
	if ra := model.RetryAfterOf(err); ra > 0 && status == http.StatusServiceUnavailable {
		c.w.Header().Set("Retry-After", strconv.Itoa(int(ra.Seconds()+0.999)))
	}
	text(c.w, status, messageOf(err))
}
