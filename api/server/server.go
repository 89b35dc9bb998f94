// Package server mounts every front on one router with the shared
// middleware: request ids, access logs, metrics, panic recovery and matrix
// parameters, and serves the operator's own routes (/metrics, /healthz,
// /readyz, /version). It is what `imagegw serve` runs and what api/apitest
// starts.
package server

import (
	"log/slog"
	"net/http"
	"strings"

	"github.com/gorilla/mux"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/imagegw/imagegw/api"
	"github.com/imagegw/imagegw/api/deltacloud"
	"github.com/imagegw/imagegw/gateway"
	"github.com/imagegw/imagegw/metrics"
)

// Options configure the handler.
type Options struct {
	Logger *slog.Logger
	// Metrics receives the request metrics and serves /metrics; nil: New
	// makes its own on a new registry, without cloud calls (see
	// NewMetrics).
	Metrics *metrics.Metrics
}

// Mount is how a front other than the native one adds its routes: it is
// called with the router and the gateway. It returns the front's own
// answers for unknown paths, panics and malformed paths under its prefix
// (nil fields fall back to the native front's).
type Mount func(r *mux.Router, gw *gateway.Gateway, log *slog.Logger) Front

// Front is what a mounted front hands back to the server.
type Front struct {
	// Name labels the front's requests in the metrics ("cloudapi").
	Name string
	// Owns reports whether a path belongs to the front (for error bodies).
	Owns     func(path string) bool
	NotFound http.HandlerFunc
	Panic    api.PanicWriter
	BadPath  func(w http.ResponseWriter, r *http.Request, err error)
}

// mounts are the fronts compiled in besides the native one, in order.
var mounts []Mount

// AddFront registers a front; call it from an init function.
func AddFront(m Mount) { mounts = append(mounts, m) }

// New returns the HTTP handler serving every front over gw.
func New(gw *gateway.Gateway, opts Options) http.Handler {
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	m := opts.Metrics
	if m == nil { // requests and jobs only: the gateway's drivers are not wrapped
		m = NewMetrics(prometheus.NewRegistry())
		m.WatchJobs(JobCounter(gw))
	}
	r := mux.NewRouter()
	r.SkipClean(true) // matrix parameters and ids are not paths to clean
	r.Use(recordRoute)
	registerOps(r, gw, m, log) // before the fronts: CloudAPI would take /metrics for a login
	native := deltacloud.Register(r, gw, deltacloud.Options{TrustedProxies: gw.Config().TrustedProxies, Logger: log})
	var fronts []Front
	for _, m := range mounts {
		fronts = append(fronts, m(r, gw, log))
	}
	pick := func(path string) Front {
		for _, f := range fronts {
			if f.Owns != nil && f.Owns(path) {
				return f
			}
		}
		return Front{}
	}
	r.NotFoundHandler = http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if f := pick(req.URL.Path); f.NotFound != nil {
			f.NotFound(w, req)
			return
		}
		native.NotFound(w, req)
	})
	r.MethodNotAllowedHandler = r.NotFoundHandler
	onPanic := func(w http.ResponseWriter, req *http.Request) {
		if f := pick(req.URL.Path); f.Panic != nil {
			f.Panic(w, req)
			return
		}
		native.Panic(w, req)
	}
	badPath := func(w http.ResponseWriter, req *http.Request, err error) {
		if f := pick(req.URL.Path); f.BadPath != nil && !strings.HasPrefix(req.URL.Path, "/api") {
			f.BadPath(w, req, err)
			return
		}
		native.BadPath(w, req, err)
	}
	frontOf := func(path string) string {
		first, _, _ := strings.Cut(strings.TrimPrefix(path, "/"), "/")
		first, _, _ = strings.Cut(first, ";")
		if Reserved(first) {
			return "server"
		}
		if first != "api" {
			if f := pick(path); f.Name != "" {
				return f.Name
			}
		}
		return "deltacloud"
	}
	var h http.Handler = r
	h = api.StripMatrix(badPath)(h)
	h = api.Recover(log, onPanic)(h)
	h = instrument(m, frontOf)(h)
	h = api.Logging(log)(h)
	h = api.WithRequestID(h)
	return h
}
