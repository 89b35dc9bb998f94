package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"text/tabwriter"

	"github.com/imagegw/imagegw/tenants"
)

func init() {
	commands["tenants"] = command{summary: "manage Coopr tenants and their users' API keys", run: runTenants}
}

const tenantsUsage = `usage:
  imagegw tenants add NAME --data DIR
  imagegw tenants list --data DIR
  imagegw tenants remove NAME --data DIR          (with its keys, image and hardware types)
  imagegw tenants keys add TENANT --user USER --data DIR   (prints the new key once)
  imagegw tenants keys list TENANT --data DIR
  imagegw tenants keys remove TENANT --user USER --hash PREFIX --data DIR`

// runTenants is `imagegw tenants add|list|remove|keys`.
func runTenants(out io.Writer, args []string) error {
	return tenantsCmd(context.Background(), out, args)
}

func openTenants(ctx context.Context, dir string) (*tenants.Store, func(), error) {
	st, err := openAdminStore(ctx, dir)
	if err != nil {
		return nil, nil, err
	}
	return tenants.New(st), func() { st.Close() }, nil
}

func tenantsCmd(ctx context.Context, out io.Writer, args []string) error {
	if len(args) == 0 || isHelp(args[0]) {
		return subcommandHelp(out, args, tenantsUsage)
	}
	if args[0] == "keys" {
		return tenantKeysCmd(ctx, out, args[1:])
	}
	fs, data := newFlagSet("tenants "+args[0], tenantsUsage)
	pos, err := parseInterleaved(fs, out, args[1:])
	if err != nil {
		return err
	}
	switch args[0] {
	case "add":
		if err := wantArgs(pos, 1, tenantsUsage); err != nil {
			return err
		}
		s, done, err := openTenants(ctx, *data)
		if err != nil {
			return err
		}
		defer done()
		if _, err := s.Add(ctx, pos[0]); err != nil {
			return err
		}
		fmt.Fprintf(out, "added tenant %s\n", pos[0])
		return nil
	case "list":
		if err := wantArgs(pos, 0, tenantsUsage); err != nil {
			return err
		}
		s, done, err := openTenants(ctx, *data)
		if err != nil {
			return err
		}
		defer done()
		list, err := s.List(ctx)
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "TENANT\tKEYS\tCREATED")
		for _, t := range list {
			keys, err := s.Keys(ctx, t.Name)
			if err != nil {
				return err
			}
			fmt.Fprintf(tw, "%s\t%d\t%s\n", t.Name, len(keys), t.Created.Format("2006-01-02T15:04:05Z"))
		}
		return tw.Flush()
	case "remove", "rm":
		if err := wantArgs(pos, 1, tenantsUsage); err != nil {
			return err
		}
		s, done, err := openTenants(ctx, *data)
		if err != nil {
			return err
		}
		defer done()
		if err := s.Remove(ctx, pos[0]); err != nil {
			return err
		}
		fmt.Fprintf(out, "removed tenant %s\n", pos[0])
		return nil
	}
	return usageError{fmt.Errorf("unknown subcommand %q\n%s", args[0], tenantsUsage)}
}

func tenantKeysCmd(ctx context.Context, out io.Writer, args []string) error {
	if len(args) == 0 || isHelp(args[0]) {
		return subcommandHelp(out, args, tenantsUsage)
	}
	fs, data := newFlagSet("tenants keys "+args[0], tenantsUsage)
	user := fs.String("user", "", "the user the key belongs to (admin may write)")
	hash := fs.String("hash", "", "the first digits of the key's hash, as keys list shows it")
	pos, err := parseInterleaved(fs, out, args[1:])
	if err != nil {
		return err
	}
	if err := wantArgs(pos, 1, tenantsUsage); err != nil {
		return err
	}
	s, done, err := openTenants(ctx, *data)
	if err != nil {
		return err
	}
	defer done()
	switch args[0] {
	case "add":
		if *user == "" {
			return errors.New("--user USER is required")
		}
		key, err := s.AddKey(ctx, pos[0], *user)
		if err != nil {
			return err
		}
		fmt.Fprintf(os.Stderr, "added a key for user %s of tenant %s; it is shown only now:\n", *user, pos[0])
		fmt.Fprintln(out, key)
		return nil
	case "list":
		keys, err := s.Keys(ctx, pos[0])
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "USER\tHASH\tCREATED")
		for _, k := range keys {
			fmt.Fprintf(tw, "%s\t%s\t%s\n", k.User, k.Hash[:16], k.Created.Format("2006-01-02T15:04:05Z"))
		}
		return tw.Flush()
	case "remove", "rm":
		if *user == "" || *hash == "" {
			return errors.New("--user USER and --hash PREFIX are required")
		}
		if err := s.RemoveKey(ctx, pos[0], *user, *hash); err != nil {
			return err
		}
		fmt.Fprintf(out, "removed key %s of user %s in tenant %s\n", *hash, *user, pos[0])
		return nil
	}
	return usageError{fmt.Errorf("unknown subcommand %q\n%s", args[0], tenantsUsage)}
}
