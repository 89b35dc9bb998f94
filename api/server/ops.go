package server

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gorilla/mux"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/imagegw/imagegw/api"
	"github.com/imagegw/imagegw/gateway"
	"github.com/imagegw/imagegw/metrics"
	"github.com/imagegw/imagegw/store"
)

// opsPaths are the server's own routes, by first path segment. No front
// may take them (the CloudAPI front would read them as logins).
var opsPaths = map[string]bool{"metrics": true, "healthz": true, "readyz": true, "version": true}

// Reserved reports whether a first path segment ("metrics") is one of the
// server's own routes, which fronts must leave alone.
func Reserved(segment string) bool { return opsPaths[segment] }

// ReservedSegments lists the server's own first path segments, sorted.
func ReservedSegments() []string {
	out := make([]string, 0, len(opsPaths))
	for s := range opsPaths {
		out = append(out, s)
	}
	slices.Sort(out)
	return out
}

// NewMetrics registers imagegw's collectors and the Go runtime's on reg,
// with the binary's build info. Give its WrapDriver to gateway.New (to
// count cloud calls), then WatchJobs(JobCounter(gw)) and pass it to New in
// Options.Metrics.
func NewMetrics(reg *prometheus.Registry) *metrics.Metrics {
	b := api.Build()
	return metrics.New(reg, metrics.Options{Build: metrics.Build{Version: b.Version, Revision: b.Revision, GoVersion: b.GoVersion}, Runtime: true})
}

// JobCounter counts gw's durable jobs by kind and state, for the metrics.
func JobCounter(gw *gateway.Gateway) metrics.JobCounter {
	return func(ctx context.Context) (map[[2]string]int, error) {
		jobs, err := gw.Jobs().List(ctx)
		if err != nil {
			return nil, err
		}
		out := map[[2]string]int{}
		for _, j := range jobs {
			out[[2]string{j.Kind, j.State}]++
		}
		return out, nil
	}
}

// readyTimeout bounds each readiness check.
const readyTimeout = 5 * time.Second

func registerOps(r *mux.Router, gw *gateway.Gateway, m *metrics.Metrics, log *slog.Logger) {
	getOnly := func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
			if req.Method != http.MethodGet && req.Method != http.MethodHead {
				w.Header().Set("Allow", "GET, HEAD")
				writeJSON(w, req, http.StatusMethodNotAllowed, map[string]any{"error": map[string]any{
					"status": http.StatusMethodNotAllowed, "code": "MethodNotAllowed",
					"message": "method " + req.Method + " is not allowed on " + req.URL.Path}})
				return
			}
			h.ServeHTTP(w, req)
		})
	}
	r.Handle("/metrics", getOnly(m.Handler()))
	r.Handle("/healthz", getOnly(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		writeJSON(w, req, http.StatusOK, map[string]any{"status": "ok"})
	})))
	r.Handle("/readyz", getOnly(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		status, checks := ready(req.Context(), gw)
		if status != http.StatusOK {
			log.Warn("not ready", "request_id", api.RequestID(req.Context()), "checks", checks)
		}
		word := "ready"
		if status != http.StatusOK {
			word = "not ready"
		}
		writeJSON(w, req, status, map[string]any{"status": word, "checks": checks})
	})))
	r.Handle("/version", getOnly(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		writeJSON(w, req, http.StatusOK, api.Build())
	})))
}

// ready runs the readiness checks: the store takes a write, and every
// configured provider is open (gateway.New fails unless each one opened,
// so a running gateway lists them all).
func ready(ctx context.Context, gw *gateway.Gateway) (int, map[string]string) {
	ctx, cancel := context.WithTimeout(ctx, readyTimeout)
	defer cancel()
	status := http.StatusOK
	checks := map[string]string{}
	stamp := []byte(time.Now().UTC().Format(time.RFC3339Nano))
	if err := store.Put(ctx, gw.Store(), "health", "readyz", stamp); err != nil {
		status = http.StatusServiceUnavailable
		checks["store"] = "write failed: " + err.Error()
	} else {
		checks["store"] = "ok"
	}
	var provs []string
	for _, d := range gw.Drivers() {
		provs = append(provs, d.Providers...)
	}
	if len(provs) == 0 {
		status = http.StatusServiceUnavailable
		checks["providers"] = "no provider is open"
	} else {
		checks["providers"] = "ok: " + strings.Join(provs, ", ")
	}
	return status, checks
}

func writeJSON(w http.ResponseWriter, r *http.Request, status int, v any) {
	b, _ := json.MarshalIndent(v, "", "  ")
	b = append(b, '\n')
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	h.Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(status)
	if r.Method != http.MethodHead {
		_, _ = w.Write(b)
	}
}

// recordRoute is router middleware: it notes the matched route's template
// (api.SetRoute) for the metrics middleware,
// unless the route is a front's catch-all for unknown paths (a route
// named "unmatched").
func recordRoute(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if rt := mux.CurrentRoute(r); rt != nil && rt.GetName() != "unmatched" {
			if tmpl, err := rt.GetPathTemplate(); err == nil {
				api.SetRoute(r.Context(), tmpl)
			}
		}
		next.ServeHTTP(w, r)
	})
}

// instrument counts each request by front, route template (or
// "unmatched"), method and status.
func instrument(m *metrics.Metrics, frontOf func(path string) string) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			start := time.Now()
			rec := &api.StatusRecorder{ResponseWriter: w}
			defer func() {
				status := rec.Status
				if status == 0 {
					status = http.StatusOK
				}
				route := api.Route(r.Context())
				if route == "" {
					route = "unmatched"
				}
				m.ObserveRequest(frontOf(r.URL.Path), route, methodLabel(r.Method), status, time.Since(start))
			}()
			next.ServeHTTP(rec, r) // the router notes the route: recordRoute
		})
	}
}

// methodLabel keeps the method label's values few: any method outside
// the standard ones is "other".
func methodLabel(m string) string {
	switch m {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
		http.MethodDelete, http.MethodOptions:
		return m
	}
	return "other"
}
