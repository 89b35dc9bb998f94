// Package metrics holds imagegw's Prometheus collectors: HTTP requests by
// front, route, method and status; cloud calls by driver, provider,
// operation and result code; catalog events; jobs by kind and state; and
// the build. Every collector lives on the prometheus.Registry given to New,
// never on the client library's global one, so that tests and several
// gateways in one process do not share counters.
package metrics

import (
	"context"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Catalog events, the values of imagegw_catalog_events_total's event label.
const (
	CatalogHit     = "hit"     // answered from a fresh catalog
	CatalogMiss    = "miss"    // filled from the driver: nothing cached
	CatalogRefresh = "refresh" // refilled in the background after its TTL
	CatalogStale   = "stale"   // answered from an expired catalog while it refreshes
)

// Build is the build the imagegw_build_info gauge describes.
type Build struct {
	Version, Revision, GoVersion string
}

// JobCounter counts the durable jobs by kind and state at scrape time;
// the map's keys are {kind, state}.
type JobCounter func(ctx context.Context) (map[[2]string]int, error)

// Options configure New.
type Options struct {
	Build Build
	// Runtime adds the Go runtime and process collectors (go_*, process_*).
	Runtime bool
}

// Metrics is the set of imagegw's collectors on one registry. Its methods
// are safe for concurrent use; a nil *Metrics ignores every observation.
type Metrics struct {
	reg        *prometheus.Registry
	requests   *prometheus.CounterVec
	requestDur *prometheus.HistogramVec
	calls      *prometheus.CounterVec
	callDur    *prometheus.HistogramVec
	catalog    *prometheus.CounterVec
}

// latencyBuckets suit both fast catalog answers and slow cloud calls.
var latencyBuckets = []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30}

// New registers imagegw's collectors on reg and returns them.
func New(reg *prometheus.Registry, opts Options) *Metrics {
	m := &Metrics{
		reg: reg,
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "imagegw_http_requests_total",
			Help: "HTTP requests answered, by front, route template, method and status.",
		}, []string{"front", "route", "method", "status"}),
		requestDur: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "imagegw_http_request_duration_seconds",
			Help:    "Time to answer an HTTP request, by front, route template and method.",
			Buckets: latencyBuckets,
		}, []string{"front", "route", "method"}),
		calls: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "imagegw_cloud_calls_total",
			Help: "Calls into a driver (the cloud behind it), by driver, provider, operation and result code (OK or the model error code).",
		}, []string{"driver", "provider", "operation", "code"}),
		callDur: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "imagegw_cloud_call_duration_seconds",
			Help:    "Time a driver call took, by driver, provider and operation.",
			Buckets: latencyBuckets,
		}, []string{"driver", "provider", "operation"}),
		catalog: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "imagegw_catalog_events_total",
			Help: "Catalog lookups and refreshes, by provider and event (hit, miss, refresh, stale).",
		}, []string{"provider", "event"}),
	}
	build := prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "imagegw_build_info",
		Help: "The running imagegw's version, revision and Go version; always 1.",
	}, []string{"version", "revision", "goversion"})
	build.WithLabelValues(opts.Build.Version, opts.Build.Revision, opts.Build.GoVersion).Set(1)
	reg.MustRegister(m.requests, m.requestDur, m.calls, m.callDur, m.catalog, build)
	if opts.Runtime {
		reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	}
	return m
}

// Handler serves the registry in the Prometheus exposition formats.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg})
}

// Registry returns the registry the collectors live on.
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// ObserveRequest counts one answered HTTP request. route is the matched
// route's template ("/api/images/{id}"), never the raw path, so that the
// number of series stays bounded.
func (m *Metrics) ObserveRequest(front, route, method string, status int, d time.Duration) {
	if m == nil {
		return
	}
	m.requests.WithLabelValues(front, route, method, strconv.Itoa(status)).Inc()
	m.requestDur.WithLabelValues(front, route, method).Observe(d.Seconds())
}

// ObserveCloudCall counts one driver call; code is "OK" or the model
// error code of its result.
func (m *Metrics) ObserveCloudCall(driver, provider, operation, code string, d time.Duration) {
	if m == nil {
		return
	}
	m.calls.WithLabelValues(driver, provider, operation, code).Inc()
	m.callDur.WithLabelValues(driver, provider, operation).Observe(d.Seconds())
}

// CatalogEvent counts one catalog event of a provider: CatalogHit,
// CatalogMiss, CatalogRefresh or CatalogStale.
func (m *Metrics) CatalogEvent(provider, event string) {
	if m == nil {
		return
	}
	m.catalog.WithLabelValues(provider, event).Inc()
}

// jobsCollector reads the job counts at each scrape, so the gauge is the
// store's truth, including jobs resumed after a restart.
type jobsCollector struct{ count JobCounter }

var jobsDesc = prometheus.NewDesc("imagegw_jobs", "Durable jobs in the store, by kind and state.", []string{"kind", "state"}, nil)

func (c *jobsCollector) Describe(ch chan<- *prometheus.Desc) { ch <- jobsDesc }

func (c *jobsCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	counts, err := c.count(ctx)
	if err != nil {
		ch <- prometheus.NewInvalidMetric(jobsDesc, err)
		return
	}
	for k, n := range counts {
		ch <- prometheus.MustNewConstMetric(jobsDesc, prometheus.GaugeValue, float64(n), k[0], k[1])
	}
}

// WatchJobs registers the imagegw_jobs gauge, read through count at each
// scrape. Call it once.
func (m *Metrics) WatchJobs(count JobCounter) {
	m.reg.MustRegister(&jobsCollector{count: count})
}
