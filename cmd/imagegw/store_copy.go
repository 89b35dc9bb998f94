package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/imagegw/imagegw/secrets"
	"github.com/imagegw/imagegw/store"
)

func init() {
	commands["store"] = command{summary: "copy the gateway's state from one store to another (SQLite to PostgreSQL)", run: runStore}
}

const storeUsage = `usage:
  imagegw store copy --data DIR --to-dsn DSN     SQLite in DIR → PostgreSQL
  imagegw store copy --from-dsn DSN --to-data DIR   PostgreSQL → SQLite in DIR

Copies every document and counter (jobs, accounts, keys, hubs, tenants, image types,
id mappings, overlays, the mock cloud) into a new, empty store, in one transaction: all
of it or nothing. Stop the gateways using the source first. The secret.key of the source's
data directory seals what the store holds: every gateway on the new store needs it
(copy it with the data; --to-data gets it copied).`

// openAdminStore opens the store the gateway's management commands
// (accounts, hubs, apikeys, tenants) work on: the PostgreSQL database
// IMAGEGW_STORE_DSN names, as serve does, else SQLite in dir.
func openAdminStore(ctx context.Context, dir string) (store.Store, error) {
	if dsn := os.Getenv("IMAGEGW_STORE_DSN"); dsn != "" {
		return store.OpenPostgres(ctx, dsn)
	}
	return openStore(ctx, dir, nil)
}

func runStore(out io.Writer, args []string) error {
	if len(args) == 0 || isHelp(args[0]) {
		fmt.Fprintln(out, storeUsage)
		if len(args) == 0 {
			return usageError{errors.New("a subcommand is required: copy")}
		}
		return errHelp
	}
	if args[0] != "copy" {
		return usageError{fmt.Errorf("unknown subcommand %q: want copy", args[0])}
	}
	fs := flag.NewFlagSet("store copy", flag.ContinueOnError)
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), storeUsage+"\n\nflags:")
		fs.PrintDefaults()
	}
	data := fs.String("data", "", "source: the data directory whose SQLite store to copy")
	fromDSN := fs.String("from-dsn", "", "source: a PostgreSQL store")
	toDSN := fs.String("to-dsn", "", "destination: a PostgreSQL database (its schema must exist; search_path selects it)")
	toData := fs.String("to-data", "", "destination: a new data directory (SQLite)")
	if err := parseFlags(fs, out, args[1:]); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageError{fmt.Errorf("unexpected arguments %v", fs.Args())}
	}
	if (*data == "") == (*fromDSN == "") {
		return usageError{errors.New("give one source: --data DIR or --from-dsn DSN")}
	}
	if (*toDSN == "") == (*toData == "") {
		return usageError{errors.New("give one destination: --to-dsn DSN or --to-data DIR")}
	}
	ctx := context.Background()
	var src store.Store
	var err error
	if *fromDSN != "" {
		src, err = store.OpenPostgres(ctx, *fromDSN)
	} else {
		if _, serr := os.Stat(filepath.Join(*data, store.FileName)); serr != nil {
			return fmt.Errorf("no store to copy in %s: %w", *data, serr)
		}
		src, err = openStore(ctx, *data, nil)
	}
	if err != nil {
		return fmt.Errorf("opening the source: %w", err)
	}
	defer src.Close()
	var dst store.Store
	if *toDSN != "" {
		dst, err = store.OpenPostgres(ctx, *toDSN)
	} else {
		if _, serr := os.Stat(filepath.Join(*toData, store.FileName)); serr == nil {
			return fmt.Errorf("%s already holds a store: copy only into a new data directory", *toData)
		}
		dst, err = openStore(ctx, *toData, nil)
	}
	if err != nil {
		return fmt.Errorf("opening the destination: %w", err)
	}
	defer dst.Close()
	st, err := store.Copy(ctx, dst, src)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "copied %d documents in %d namespaces and %d counters\n", st.Documents, st.Namespaces, st.Counters)
	if *data != "" && *toData != "" {
		if err := copySecretKey(*data, *toData); err != nil {
			return err
		}
	}
	switch {
	case *data != "" && *toDSN != "":
		fmt.Fprintf(out, "every gateway serving from the new store needs %s in its --data directory (mode 0600)\n", filepath.Join(*data, secrets.KeyFile))
	case *toData != "" && *data == "":
		fmt.Fprintf(out, "put the replicas' %s into %s (mode 0600) before serving from it\n", secrets.KeyFile, *toData)
	}
	return nil
}

// copySecretKey copies from's secret.key into to (0600), if from has one.
func copySecretKey(from, to string) error {
	b, err := os.ReadFile(filepath.Join(from, secrets.KeyFile))
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	f, err := os.OpenFile(filepath.Join(to, secrets.KeyFile), os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("copying %s: %w", secrets.KeyFile, err)
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
