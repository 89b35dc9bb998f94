package main

import (
	"context"
	"fmt"
	"log/slog"
	"strings"

	"github.com/imagegw/imagegw/gateway"
	"github.com/imagegw/imagegw/store"
)

// storeSection is the configuration file's store section:
//
//	store:
//	  driver: postgres            # sqlite (default) or postgres
//	  dsn: postgres://imagegw@db.example/imagegw?sslmode=verify-full
//
// --store-dsn (env IMAGEGW_STORE_DSN) beats dsn and implies postgres.
// With sqlite the database is <data>/imagegw.db.
type storeSection struct {
	Driver string `yaml:"driver"`
	DSN    string `yaml:"dsn"`
}

func init() {
	gateway.RegisterSection("store", func() any { return &storeSection{} })
}

// openConfiguredStore opens the store the configuration, flag and
// environment select, and names it for the log (never with the DSN, which
// may hold a password).
func openConfiguredStore(ctx context.Context, cfg gateway.Config, dsn, data string, log *slog.Logger) (store.Store, string, error) {
	var sc storeSection
	if err := cfg.DecodeSection("store", &sc); err != nil {
		return nil, "", err
	}
	driver := strings.ToLower(sc.Driver)
	if dsn != "" {
		sc.DSN = dsn
		if driver == "" {
			driver = "postgres"
		}
	}
	switch driver {
	case "", "sqlite":
		if dsn != "" {
			return nil, "", fmt.Errorf("--store-dsn is for the postgres store, but the configuration says store.driver: %s", sc.Driver)
		}
		st, err := openStore(ctx, data, log)
		return st, "sqlite", err
	case "postgres", "postgresql":
		if sc.DSN == "" {
			return nil, "", fmt.Errorf("config: store.driver postgres needs store.dsn (or --store-dsn, IMAGEGW_STORE_DSN)")
		}
		st, err := store.OpenPostgres(ctx, sc.DSN)
		if err != nil {
			return nil, "", fmt.Errorf("opening the PostgreSQL store: %w", err)
		}
		return st, "postgres", nil
	}
	return nil, "", fmt.Errorf("config: store.driver %q: want sqlite or postgres", sc.Driver)
}
