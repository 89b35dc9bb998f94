package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/imagegw/imagegw/api/server"
	"github.com/imagegw/imagegw/gateway"
	"github.com/imagegw/imagegw/store"
)

func envOr(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}

// openStore opens the store under dir, creating dir; log (nil: stderr)
// hears what the store changed on disk, such as a mode it tightened.
func openStore(ctx context.Context, dir string, log *slog.Logger) (store.Store, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("data dir: %w", err)
	}
	if log == nil {
		log = slog.New(slog.NewTextHandler(os.Stderr, nil))
	}
	return store.Open(ctx, filepath.Join(dir, store.FileName), store.WithLogger(log))
}

// durationFlag is a duration flag that remembers whether it was given, so
// that an unset flag leaves the configuration's value alone while -h still
// shows the effective default.
type durationFlag struct {
	d   time.Duration
	set bool
}

func (f *durationFlag) String() string { return f.d.String() }

func (f *durationFlag) Set(s string) error {
	d, err := time.ParseDuration(s)
	if err != nil {
		return errors.New("parse error: want a duration such as 2s or 500ms")
	}
	if d < 0 {
		return errors.New("must not be negative")
	}
	f.d, f.set = d, true
	return nil
}

const serveUsage = `usage: imagegw serve [flags]

Serves the native Deltacloud API at /api, the other fronts, and the
operator's routes /metrics, /healthz, /readyz and /version. Without
--config the embedded mock cloud is the only provider.

flags:`

func runServe(out io.Writer, args []string) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), serveUsage)
		fs.PrintDefaults()
	}
	listen := fs.String("listen", envOr("IMAGEGW_LISTEN", "127.0.0.1:3001"), "address to listen on (env IMAGEGW_LISTEN)")
	data := fs.String("data", envOr("IMAGEGW_DATA", "./data"), "data directory: store, keys (env IMAGEGW_DATA)")
	cfgPath := fs.String("config", envOr("IMAGEGW_CONFIG", ""), "YAML configuration file (env IMAGEGW_CONFIG)")
	storeDSN := fs.String("store-dsn", envOr("IMAGEGW_STORE_DSN", ""), "PostgreSQL store DSN, for several replicas on one state (env IMAGEGW_STORE_DSN; default: SQLite in --data)")
	mockImages := fs.Int("mock-images", 0, "seed this many extra synthetic images into each mock provider")
	mockDelay := &durationFlag{d: 2 * time.Second}
	fs.Var(mockDelay, "mock-create-delay", "how long (a `duration`) new mock images stay PENDING; overrides the config's mock_create_delay")
	logLevel := fs.String("log-level", "info", "debug, info, warn or error")
	logJSON := fs.Bool("log-json", false, "write logs as JSON")
	grace := fs.Duration("shutdown-timeout", 30*time.Second, "how long in-flight requests may take to finish on SIGTERM")
	tlsCert := fs.String("tls-cert", envOr("IMAGEGW_TLS_CERT", ""), "serve HTTPS with this PEM certificate (chain) file, with --tls-key (env IMAGEGW_TLS_CERT)")
	tlsKey := fs.String("tls-key", envOr("IMAGEGW_TLS_KEY", ""), "the PEM private key of --tls-cert (env IMAGEGW_TLS_KEY)")
	if err := parseFlags(fs, out, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageError{fmt.Errorf("unexpected arguments %v (run 'imagegw serve -h' for its flags)", fs.Args())}
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(*logLevel)); err != nil {
		return fmt.Errorf("--log-level: %w", err)
	}
	hopts := &slog.HandlerOptions{Level: level}
	var log *slog.Logger
	if *logJSON {
		log = slog.New(slog.NewJSONHandler(os.Stderr, hopts))
	} else {
		log = slog.New(slog.NewTextHandler(os.Stderr, hopts))
	}

	tlsCfg, err := tlsConfig(*tlsCert, *tlsKey)
	if err != nil {
		return err
	}
	var cfg gateway.Config
	if *cfgPath != "" {
		var err error
		if cfg, err = gateway.LoadConfig(*cfgPath); err != nil {
			return err
		}
	}
	if *mockImages > 0 {
		cfg.MockImages = *mockImages
	}
	if mockDelay.set {
		cfg.MockCreateDelay = &mockDelay.d
	}

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	st, storeKind, err := openConfiguredStore(ctx, cfg, *storeDSN, *data, log)
	if err != nil {
		return err
	}
	defer st.Close()
	m := server.NewMetrics(prometheus.NewRegistry())
	gw, err := gateway.New(ctx, cfg, gateway.Options{Store: st, Logger: log, DataDir: *data, WrapDriver: m.WrapDriver, CatalogEvent: m.CatalogEvent})
	if err != nil {
		return err
	}
	defer gw.Close()
	m.WatchJobs(server.JobCounter(gw))

	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		return err
	}
	srv := server.NewHTTPServer(server.New(gw, server.Options{Logger: log, Metrics: m}), server.DefaultTimeouts, log)
	srv.TLSConfig = tlsCfg
	d := gw.Defaults()
	scheme := "http"
	if tlsCfg != nil {
		scheme = "https"
	} else {
		warnPlainHTTP(log, ln.Addr())
	}
	log.Info("imagegw serving", "addr", scheme+"://"+ln.Addr().String()+"/api", "data", *data, "store", storeKind,
		"default_driver", d.Driver, "default_provider", d.Provider)
	errc := make(chan error, 1)
	go func() {
		if tlsCfg != nil {
			errc <- srv.ServeTLS(ln, "", "")
			return
		}
		errc <- srv.Serve(ln)
	}()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	log.Info("shutting down: waiting for in-flight requests", "timeout", grace.String())
	sctx, cancel := context.WithTimeout(context.Background(), *grace)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("shutdown: %w", err)
	}
	log.Info("stopped")
	return nil
}
