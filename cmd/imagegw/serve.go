package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

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

// openStore opens the store under dir, creating dir.
func openStore(ctx context.Context, dir string) (store.Store, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("data dir: %w", err)
	}
	return store.Open(ctx, filepath.Join(dir, "imagegw.db"))
}

func runServe(args []string) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	listen := fs.String("listen", envOr("IMAGEGW_LISTEN", "127.0.0.1:3001"), "address to listen on (env IMAGEGW_LISTEN)")
	data := fs.String("data", envOr("IMAGEGW_DATA", "./data"), "data directory: store, keys (env IMAGEGW_DATA)")
	cfgPath := fs.String("config", envOr("IMAGEGW_CONFIG", ""), "YAML configuration file (env IMAGEGW_CONFIG)")
	mockImages := fs.Int("mock-images", 0, "seed this many extra synthetic images into each mock provider")
	mockDelay := fs.Duration("mock-create-delay", -1, "how long new mock images stay PENDING (default 2s)")
	logLevel := fs.String("log-level", "info", "debug, info, warn or error")
	logJSON := fs.Bool("log-json", false, "write logs as JSON")
	grace := fs.Duration("shutdown-timeout", 30*time.Second, "how long in-flight requests may take to finish on SIGTERM")
	tlsCert := fs.String("tls-cert", envOr("IMAGEGW_TLS_CERT", ""), "serve HTTPS with this PEM certificate (chain) file, with --tls-key (env IMAGEGW_TLS_CERT)")
	tlsKey := fs.String("tls-key", envOr("IMAGEGW_TLS_KEY", ""), "the PEM private key of --tls-cert (env IMAGEGW_TLS_KEY)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %v", fs.Args())
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
	if *mockDelay >= 0 {
		cfg.MockCreateDelay = mockDelay
	}

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	st, err := openStore(ctx, *data)
	if err != nil {
		return err
	}
	defer st.Close()
	gw, err := gateway.New(ctx, cfg, gateway.Options{Store: st, Logger: log, DataDir: *data})
	if err != nil {
		return err
	}
	defer gw.Close()

	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		return err
	}
	srv := &http.Server{
		Handler:           server.New(gw, server.Options{Logger: log}),
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
		TLSConfig:         tlsCfg,
	}
	d := gw.Defaults()
	scheme := "http"
	if tlsCfg != nil {
		scheme = "https"
	} else {
		warnPlainHTTP(log, ln.Addr())
	}
	log.Info("imagegw serving", "addr", scheme+"://"+ln.Addr().String()+"/api", "data", *data,
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
