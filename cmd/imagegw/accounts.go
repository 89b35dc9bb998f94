package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"

	"github.com/imagegw/imagegw/accounts"
	"github.com/imagegw/imagegw/drivers"
	"github.com/imagegw/imagegw/drivers/mock"
	"github.com/imagegw/imagegw/model"
	"github.com/imagegw/imagegw/secrets"
)

func init() {
	commands["accounts"] = command{summary: "manage CloudAPI accounts (login, key, driver, cloud credentials)", run: runAccounts}
	commands["keys"] = command{summary: "manage the SSH keys of CloudAPI accounts", run: runKeys}
}

const accountsUsage = `usage:
  imagegw accounts add LOGIN --driver NAME [--provider NAME] --key PUBKEYFILE [--email ADDR]
                             [--cloud-user USER --cloud-password PASS] --data DIR
  imagegw accounts list --data DIR
  imagegw accounts remove LOGIN --data DIR`

const keysUsage = `usage:
  imagegw keys add LOGIN --key PUBKEYFILE [--name NAME] --data DIR
  imagegw keys list LOGIN --data DIR
  imagegw keys remove LOGIN FINGERPRINT|NAME --data DIR`

// parseInterleaved parses flags that may come before or after the
// positional arguments ("add LOGIN --driver mock") and returns the
// positional ones.
func parseInterleaved(fs *flag.FlagSet, out io.Writer, args []string) ([]string, error) {
	var pos []string
	for {
		if err := parseFlags(fs, out, args); err != nil {
			return nil, err
		}
		args = fs.Args()
		if len(args) == 0 {
			return pos, nil
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
}

func newFlagSet(name, usage string) (*flag.FlagSet, *string) {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), usage)
		fs.PrintDefaults()
	}
	data := fs.String("data", envOr("IMAGEGW_DATA", "./data"), "data directory of the gateway (env IMAGEGW_DATA)")
	return fs, data
}

func openAccounts(ctx context.Context, dir string) (*accounts.Store, func(), error) {
	st, err := openAdminStore(ctx, dir)
	if err != nil {
		return nil, nil, err
	}
	box, err := secrets.Load(dir)
	if err != nil {
		st.Close()
		return nil, nil, err
	}
	return accounts.New(st, box), func() { st.Close() }, nil
}

func wantArgs(pos []string, n int, usage string) error {
	if len(pos) != n {
		return usageError{fmt.Errorf("want %d argument(s), got %d\n%s", n, len(pos), usage)}
	}
	return nil
}

// runAccounts is `imagegw accounts add|list|remove`.
func runAccounts(out io.Writer, args []string) error {
	return accountsCmd(context.Background(), out, args)
}

// runKeys is `imagegw keys add|list|remove`.
func runKeys(out io.Writer, args []string) error {
	return keysCmd(context.Background(), out, args)
}

// subcommandHelp answers `imagegw accounts`, `... --help` and `... help`:
// no subcommand is a usage error, a help flag prints the usage.
func subcommandHelp(out io.Writer, args []string, usage string) error {
	if len(args) == 0 {
		return usageError{errors.New("a subcommand is required\n" + usage)}
	}
	fmt.Fprintln(out, usage)
	return errHelp
}

func accountsCmd(ctx context.Context, out io.Writer, args []string) error {
	if len(args) == 0 || isHelp(args[0]) {
		return subcommandHelp(out, args, accountsUsage)
	}
	fs, data := newFlagSet("accounts "+args[0], accountsUsage)
	switch args[0] {
	case "add":
		driver := fs.String("driver", "mock", "driver the account uses")
		provider := fs.String("provider", "", "provider the account uses (default: the driver's default)")
		keyFile := fs.String("key", "", "SSH public key file (id_rsa.pub, id_ed25519.pub, ...)")
		email := fs.String("email", "", "e-mail address")
		cloudUser := fs.String("cloud-user", "", "cloud user the gateway acts as (mock default: mockuser)")
		cloudPass := fs.String("cloud-password", "", "cloud password the gateway acts with (mock default: mockpassword)")
		pos, err := parseInterleaved(fs, out, args[1:])
		if err != nil {
			return err
		}
		if err := wantArgs(pos, 1, accountsUsage); err != nil {
			return err
		}
		if *keyFile == "" {
			return errors.New("--key PUBKEYFILE is required")
		}
		drv := strings.ToLower(*driver)
		if _, ok := drivers.Lookup(drv); !ok {
			return fmt.Errorf("unknown driver %q (compiled in: %s)", *driver, strings.Join(drivers.IDs(), ", "))
		}
		pub, err := os.ReadFile(*keyFile)
		if err != nil {
			return err
		}
		if _, _, err := accounts.ParseKey(pub); err != nil {
			return fmt.Errorf("%s: %v", *keyFile, err)
		}
		creds := model.Credentials{User: *cloudUser, Password: *cloudPass}
		if drv == mock.ID && creds.Empty() {
			creds = model.Credentials{User: mock.User, Password: mock.Password}
		}
		a := accounts.Account{Login: pos[0], Email: *email, Driver: drv, Provider: strings.ToLower(*provider)}
		if !creds.Empty() {
			a.Credentials = map[string]model.Credentials{drv: creds}
		}
		s, done, err := openAccounts(ctx, *data)
		if err != nil {
			return err
		}
		defer done()
		a, err = s.Add(ctx, a)
		if err != nil {
			return err
		}
		k, err := s.AddKey(ctx, a.Login, "", pub)
		if err != nil {
			_ = s.Remove(ctx, a.Login) // no account without its key
			return err
		}
		fmt.Fprintf(out, "added account %s (id %s, driver %s) with key %s\n", a.Login, a.ID, a.Driver, k.Fingerprint)
		return nil
	case "list":
		pos, err := parseInterleaved(fs, out, args[1:])
		if err != nil {
			return err
		}
		if err := wantArgs(pos, 0, accountsUsage); err != nil {
			return err
		}
		s, done, err := openAccounts(ctx, *data)
		if err != nil {
			return err
		}
		defer done()
		list, err := s.List(ctx)
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "LOGIN\tID\tDRIVER\tPROVIDER\tKEYS\tEMAIL")
		for _, a := range list {
			keys, err := s.Keys(ctx, a.Login)
			if err != nil {
				return err
			}
			prov := a.Provider
			if prov == "" {
				prov = "(default)"
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%s\n", a.Login, a.ID, a.Driver, prov, len(keys), a.Email)
		}
		return tw.Flush()
	case "remove", "rm":
		pos, err := parseInterleaved(fs, out, args[1:])
		if err != nil {
			return err
		}
		if err := wantArgs(pos, 1, accountsUsage); err != nil {
			return err
		}
		s, done, err := openAccounts(ctx, *data)
		if err != nil {
			return err
		}
		defer done()
		if err := s.Remove(ctx, pos[0]); err != nil {
			return err
		}
		fmt.Fprintf(out, "removed account %s\n", pos[0])
		return nil
	}
	return usageError{fmt.Errorf("unknown subcommand %q\n%s", args[0], accountsUsage)}
}

func keysCmd(ctx context.Context, out io.Writer, args []string) error {
	if len(args) == 0 || isHelp(args[0]) {
		return subcommandHelp(out, args, keysUsage)
	}
	fs, data := newFlagSet("keys "+args[0], keysUsage)
	switch args[0] {
	case "add":
		keyFile := fs.String("key", "", "SSH public key file")
		name := fs.String("name", "", "key name (default: the key's comment, else its fingerprint)")
		pos, err := parseInterleaved(fs, out, args[1:])
		if err != nil {
			return err
		}
		if err := wantArgs(pos, 1, keysUsage); err != nil {
			return err
		}
		if *keyFile == "" {
			return errors.New("--key PUBKEYFILE is required")
		}
		pub, err := os.ReadFile(*keyFile)
		if err != nil {
			return err
		}
		s, done, err := openAccounts(ctx, *data)
		if err != nil {
			return err
		}
		defer done()
		k, err := s.AddKey(ctx, pos[0], *name, pub)
		if err != nil {
			return err
		}
		fmt.Fprintf(out, "added key %s (%s) to %s\n", k.Fingerprint, k.Name, k.Login)
		return nil
	case "list":
		pos, err := parseInterleaved(fs, out, args[1:])
		if err != nil {
			return err
		}
		if err := wantArgs(pos, 1, keysUsage); err != nil {
			return err
		}
		s, done, err := openAccounts(ctx, *data)
		if err != nil {
			return err
		}
		defer done()
		keys, err := s.Keys(ctx, pos[0])
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "NAME\tFINGERPRINT\tTYPE")
		for _, k := range keys {
			typ, _, _ := strings.Cut(k.Key, " ")
			fmt.Fprintf(tw, "%s\t%s\t%s\n", k.Name, k.Fingerprint, typ)
		}
		return tw.Flush()
	case "remove", "rm":
		pos, err := parseInterleaved(fs, out, args[1:])
		if err != nil {
			return err
		}
		if err := wantArgs(pos, 2, keysUsage); err != nil {
			return err
		}
		s, done, err := openAccounts(ctx, *data)
		if err != nil {
			return err
		}
		defer done()
		if err := s.RemoveKey(ctx, pos[0], pos[1]); err != nil {
			return err
		}
		fmt.Fprintf(out, "removed key %s of %s\n", pos[1], pos[0])
		return nil
	}
	return usageError{fmt.Errorf("unknown subcommand %q\n%s", args[0], keysUsage)}
}
