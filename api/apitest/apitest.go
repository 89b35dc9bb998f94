// Package apitest starts the whole gateway, every front over a real store,
// in-process on a loopback port, for end-to-end tests of fronts and drivers.
// Its /metrics counts requests, jobs and cloud calls, as `imagegw serve`'s
// does.
package apitest

import (
	"context"
	"log/slog"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/imagegw/imagegw/api/server"
	"github.com/imagegw/imagegw/gateway"
	"github.com/imagegw/imagegw/store"

	_ "github.com/imagegw/imagegw/drivers/mock" // the embedded default
)

// Server is a running gateway.
type Server struct {
	URL     string
	Gateway *gateway.Gateway
	Store   store.Store
	DataDir string
	http    *httptest.Server
}

// NewServer starts the gateway with cfg and a fresh data directory, and
// stops it at the end of the test. Set IMAGEGW_TEST_LOG=1 to see its logs.
func NewServer(t testing.TB, cfg gateway.Config) *Server {
	t.Helper()
	return NewServerIn(t, cfg, t.TempDir())
}

// NewServerIn is NewServer with a given data directory, to restart a
// gateway on the same state.
func NewServerIn(t testing.TB, cfg gateway.Config, dir string) *Server {
	t.Helper()
	log := slog.New(slog.DiscardHandler)
	if os.Getenv("IMAGEGW_TEST_LOG") != "" {
		log = slog.New(slog.NewTextHandler(os.Stderr, nil))
	}
	return newServer(t, cfg, dir, log)
}

// NewServerLogged is NewServer with the gateway's and the server's logs
// going to log, for tests of what is logged.
func NewServerLogged(t testing.TB, cfg gateway.Config, log *slog.Logger) *Server {
	t.Helper()
	return newServer(t, cfg, t.TempDir(), log)
}

func newServer(t testing.TB, cfg gateway.Config, dir string, log *slog.Logger) *Server {
	t.Helper()
	ctx := context.Background()
	st, err := store.Open(ctx, filepath.Join(dir, "imagegw.db"), store.WithLogger(log))
	if err != nil {
		t.Fatalf("apitest: opening store: %v", err)
	}
	m := server.NewMetrics(prometheus.NewRegistry())
	gw, err := gateway.New(ctx, cfg, gateway.Options{Store: st, Logger: log, DataDir: dir, WrapDriver: m.WrapDriver, CatalogEvent: m.CatalogEvent})
	if err != nil {
		st.Close()
		t.Fatalf("apitest: starting gateway: %v", err)
	}
	m.WatchJobs(server.JobCounter(gw))
	hs := httptest.NewServer(server.New(gw, server.Options{Logger: log, Metrics: m}))
	s := &Server{URL: hs.URL, Gateway: gw, Store: st, DataDir: dir, http: hs}
	t.Cleanup(s.Close)
	return s
}

// Close stops the server, the gateway and the store; it is safe to call
// twice.
func (s *Server) Close() {
	if s.http == nil {
		return
	}
	s.http.Close()
	s.Gateway.Close()
	s.Store.Close()
	s.http = nil
}
