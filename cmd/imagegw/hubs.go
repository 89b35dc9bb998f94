package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/imagegw/imagegw/api/cycle"
	"github.com/imagegw/imagegw/drivers"
	"github.com/imagegw/imagegw/drivers/mock"
	"github.com/imagegw/imagegw/model"
	"github.com/imagegw/imagegw/secrets"
)

func init() {
	commands["hubs"] = command{summary: "manage Cycle hubs (one driver and provider each)", run: func(out io.Writer, args []string) error {
		return hubsCmd(context.Background(), out, args)
	}}
	commands["apikeys"] = command{summary: "manage the API keys of Cycle hubs (capabilities, expiry, revoke)", run: func(out io.Writer, args []string) error {
		return apikeysCmd(context.Background(), out, args)
	}}
}

const hubsUsage = `usage:
  imagegw hubs add NAME --driver NAME [--provider NAME] [--cloud-user USER --cloud-password PASS] --data DIR
  imagegw hubs list --data DIR
  imagegw hubs remove HUB --data DIR        (HUB is the id or the name; its API keys go too)`

const apikeysUsage = `usage:
  imagegw apikeys add --hub HUB --name NAME [--capability C]... [--expires DURATION] --data DIR
      capabilities: images-view, images-manage, images-import, apionly-jobs-view (none given: all)
  imagegw apikeys list [--hub HUB] --data DIR
  imagegw apikeys revoke KEYID --data DIR`

func openKeys(ctx context.Context, dir string) (*cycle.Keys, func(), error) {
	st, err := openAdminStore(ctx, dir)
	if err != nil {
		return nil, nil, err
	}
	box, err := secrets.Load(dir)
	if err != nil {
		st.Close()
		return nil, nil, err
	}
	return cycle.NewKeys(st, box), func() { st.Close() }, nil
}

// multiFlag is a repeatable string flag.
type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, ",") }
func (m *multiFlag) Set(v string) error { *m = append(*m, v); return nil }

func hubsCmd(ctx context.Context, out io.Writer, args []string) error {
	if len(args) == 0 || isHelp(args[0]) {
		return subcommandHelp(out, args, hubsUsage)
	}
	fs, data := newFlagSet("hubs "+args[0], hubsUsage)
	switch args[0] {
	case "add":
		driver := fs.String("driver", "", "driver the hub uses (mock, ec2, openstack, vsphere, triton)")
		provider := fs.String("provider", "", "configured provider of the driver (default: the driver's default)")
		cloudUser := fs.String("cloud-user", "", "cloud user the gateway acts as (mock default: mockuser)")
		cloudPass := fs.String("cloud-password", "", "cloud password the gateway acts with (mock default: mockpassword)")
		pos, err := parseInterleaved(fs, out, args[1:])
		if err != nil {
			return err
		}
		if err := wantArgs(pos, 1, hubsUsage); err != nil {
			return err
		}
		drv := strings.ToLower(*driver)
		if drv == "" {
			return errors.New("--driver NAME is required")
		}
		if _, ok := drivers.Lookup(drv); !ok {
			return fmt.Errorf("unknown driver %q (compiled in: %s)", *driver, strings.Join(drivers.IDs(), ", "))
		}
		creds := model.Credentials{User: *cloudUser, Password: *cloudPass}
		if drv == mock.ID && creds.Empty() {
			creds = model.Credentials{User: mock.User, Password: mock.Password}
		}
		k, done, err := openKeys(ctx, *data)
		if err != nil {
			return err
		}
		defer done()
		h, err := k.AddHub(ctx, pos[0], drv, strings.ToLower(*provider), creds)
		if err != nil {
			return err
		}
		fmt.Fprintln(out, h.ID)
		return nil
	case "list":
		pos, err := parseInterleaved(fs, out, args[1:])
		if err != nil {
			return err
		}
		if err := wantArgs(pos, 0, hubsUsage); err != nil {
			return err
		}
		k, done, err := openKeys(ctx, *data)
		if err != nil {
			return err
		}
		defer done()
		hubs, err := k.Hubs(ctx)
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tNAME\tDRIVER\tPROVIDER\tCREATED")
		for _, h := range hubs {
			prov := h.Provider
			if prov == "" {
				prov = "(default)"
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", h.ID, h.Name, h.Driver, prov, h.Created.Format(time.RFC3339))
		}
		return tw.Flush()
	case "remove", "rm":
		pos, err := parseInterleaved(fs, out, args[1:])
		if err != nil {
			return err
		}
		if err := wantArgs(pos, 1, hubsUsage); err != nil {
			return err
		}
		k, done, err := openKeys(ctx, *data)
		if err != nil {
			return err
		}
		defer done()
		h, err := k.RemoveHub(ctx, pos[0])
		if err != nil {
			return err
		}
		fmt.Fprintf(out, "removed hub %s (%s) and its API keys\n", h.Name, h.ID)
		return nil
	}
	return usageError{fmt.Errorf("unknown subcommand %q\n%s", args[0], hubsUsage)}
}

func apikeysCmd(ctx context.Context, out io.Writer, args []string) error {
	if len(args) == 0 || isHelp(args[0]) {
		return subcommandHelp(out, args, apikeysUsage)
	}
	fs, data := newFlagSet("apikeys "+args[0], apikeysUsage)
	switch args[0] {
	case "add":
		hub := fs.String("hub", "", "hub id or name the key belongs to")
		name := fs.String("name", "", "the key's name")
		var caps multiFlag
		fs.Var(&caps, "capability", "a capability the key holds (repeat; none: all)")
		expires := fs.Duration("expires", 0, "lifetime of the key, e.g. 720h (default: never expires)")
		pos, err := parseInterleaved(fs, out, args[1:])
		if err != nil {
			return err
		}
		if err := wantArgs(pos, 0, apikeysUsage); err != nil {
			return err
		}
		if *hub == "" || *name == "" {
			return errors.New("--hub HUB and --name NAME are required\n" + apikeysUsage)
		}
		if *expires < 0 {
			return errors.New("--expires must be positive")
		}
		list, err := cycle.ParseCapabilities(caps)
		if err != nil {
			return errors.New(model.MessageOf(err))
		}
		k, done, err := openKeys(ctx, *data)
		if err != nil {
			return err
		}
		defer done()
		key, secret, err := k.AddKey(ctx, *hub, *name, list, *expires)
		if err != nil {
			return errors.New(model.MessageOf(err))
		}
		fmt.Fprintf(out, "id:     %s\nsecret: %s\n(the secret is shown only now; send it as Authorization: Bearer <secret>)\n", key.ID, secret)
		return nil
	case "list":
		hub := fs.String("hub", "", "only this hub's keys (id or name)")
		pos, err := parseInterleaved(fs, out, args[1:])
		if err != nil {
			return err
		}
		if err := wantArgs(pos, 0, apikeysUsage); err != nil {
			return err
		}
		k, done, err := openKeys(ctx, *data)
		if err != nil {
			return err
		}
		defer done()
		hubID := ""
		if *hub != "" {
			h, err := k.FindHub(ctx, *hub)
			if err != nil {
				return errors.New(model.MessageOf(err))
			}
			hubID = h.ID
		}
		keys, err := k.List(ctx, hubID)
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tNAME\tHUB\tCAPABILITIES\tEXPIRES\tSTATE")
		for _, key := range keys {
			caps := "all"
			if !key.All() {
				caps = strings.Join(key.Capabilities, ",")
			}
			exp, state := "never", "live"
			if key.Expires != nil {
				exp = key.Expires.Format(time.RFC3339)
				if !time.Now().Before(*key.Expires) {
					state = "expired"
				}
			}
			if key.Revoked != nil {
				state = "revoked"
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", key.ID, key.Name, key.HubID, caps, exp, state)
		}
		return tw.Flush()
	case "revoke":
		pos, err := parseInterleaved(fs, out, args[1:])
		if err != nil {
			return err
		}
		if err := wantArgs(pos, 1, apikeysUsage); err != nil {
			return err
		}
		k, done, err := openKeys(ctx, *data)
		if err != nil {
			return err
		}
		defer done()
		key, err := k.Revoke(ctx, pos[0])
		if err != nil {
			return errors.New(model.MessageOf(err))
		}
		fmt.Fprintf(out, "revoked API key %s (%s)\n", key.ID, key.Name)
		return nil
	}
	return usageError{fmt.Errorf("unknown subcommand %q\n%s", args[0], apikeysUsage)}
}
