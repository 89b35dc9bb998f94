package openstack

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gophercloud/gophercloud/v2"
	gopenstack "github.com/gophercloud/gophercloud/v2/openstack"
	"github.com/gophercloud/gophercloud/v2/openstack/image/v2/imagedata"
	"github.com/gophercloud/gophercloud/v2/openstack/image/v2/images"
	"github.com/gophercloud/gophercloud/v2/pagination"

	"github.com/imagegw/imagegw/model"
)

// stack is the loopback OpenStack of scripts/openstack-up.sh, read from its
// env file; nil when it is not running.
var (
	stack    map[string]string
	stackErr string
)

const upHint = "start it with `make test-openstack` (or scripts/openstack-up.sh up as root on Debian 12)"

func TestMain(m *testing.M) {
	stack, stackErr = loadStack()
	if stack == nil && os.Getenv("CI") == "true" {
		fmt.Fprintf(os.Stderr, "FAIL: the OpenStack test stack is not running under CI=true: %s; %s\n", stackErr, upHint)
		os.Exit(1)
	}
	os.Exit(m.Run())
}

// loadStack reads $OPENSTACK_STATE/env (default /tmp/imagegw-openstack/env)
// and checks that Keystone answers.
func loadStack() (map[string]string, string) {
	dir := os.Getenv("OPENSTACK_STATE")
	if dir == "" {
		dir = "/tmp/imagegw-openstack"
	}
	f, err := os.Open(filepath.Join(dir, "env"))
	if err != nil {
		return nil, err.Error()
	}
	defer f.Close()
	env := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(strings.TrimPrefix(sc.Text(), "export "), "=")
		if ok {
			env[k] = strings.Trim(v, "'")
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := gopenstack.AuthenticatedClient(ctx, gophercloud.AuthOptions{
		IdentityEndpoint: env["OS_AUTH_URL"], Username: "demo", Password: env["IMAGEGW_OS_DEMO_PASSWORD"],
		DomainName: "Default", TenantName: "demo",
	}); err != nil {
		return nil, "Keystone at " + env["OS_AUTH_URL"] + " does not answer: " + err.Error()
	}
	return env, ""
}

// needStack skips (outside CI) when the stack is not running.
func needStack(t testing.TB) map[string]string {
	t.Helper()
	if stack == nil {
		t.Skipf("no OpenStack test stack (%s): %s", stackErr, upHint)
	}
	return stack
}

// stackSettings are provider settings for the stack, without credentials.
func stackSettings(env map[string]string) map[string]any {
	return map[string]any{"auth_url": env["IMAGEGW_OS_AUTH_URL"], "region": "RegionOne", "domain": "Default"}
}

// demoCreds are the Basic credentials of the seeded demo user.
func demoCreds(env map[string]string) model.Credentials {
	return model.Credentials{User: "demo+demo", Password: env["IMAGEGW_OS_DEMO_PASSWORD"]}
}

// handedOut records seeded ACTIVE servers, each once per test binary, since
// createImage leaves a server in task_state image_snapshot_pending.
var handedOut struct {
	sync.Mutex
	used map[string]bool
}

// freshServer returns a seeded server no test has imaged yet, seeding one
// more through nova's objects when all are used.
func freshServer(ctx context.Context, t testing.TB, d *Driver) string {
	t.Helper()
	handedOut.Lock()
	defer handedOut.Unlock()
	if handedOut.used == nil {
		handedOut.used = map[string]bool{}
	}
	insts, err := d.ListInstances(ctx)
	if err != nil {
		t.Fatalf("ListInstances: %v", err)
	}
	for _, in := range insts {
		if in.CanCreateImage && !handedOut.used[in.ID] {
			handedOut.used[in.ID] = true
			return in.ID
		}
	}
	out, err := exec.CommandContext(ctx, "/usr/bin/python3", stack["IMAGEGW_OS_SEED"], "servers",
		"--state", stack["IMAGEGW_OS_STATE"], "--servers", "1").Output()
	if err != nil {
		t.Fatalf("seeding a server: %v", err)
	}
	id := strings.TrimSpace(string(out))
	handedOut.used[id] = true
	return id
}

// computeStandIn does the one step of a snapshot that needs nova-compute,
// which this stack does not run: nova-api creates the Glance image (queued)
// and casts snapshot_instance to the instance's host over fake://, where no
// one listens. A real compute host would set the image's disk and container
// formats and upload the disk to Glance; this does the same with a few
// bytes for the queued image made from server, so the image turns active
// through Glance itself. It returns when it has
// uploaded one image or ctx ends.
func computeStandIn(ctx context.Context, env map[string]string, server string) error {
	pc, err := gopenstack.AuthenticatedClient(ctx, gophercloud.AuthOptions{
		IdentityEndpoint: env["OS_AUTH_URL"], Username: "demo", Password: env["IMAGEGW_OS_DEMO_PASSWORD"],
		DomainName: "Default", TenantName: "demo",
	})
	if err != nil {
		return err
	}
	ic, err := gopenstack.NewImageV2(pc, gophercloud.EndpointOpts{Region: "RegionOne"})
	if err != nil {
		return err
	}
	for {
		id := ""
		err := images.List(ic, images.ListOpts{Status: images.ImageStatusQueued}).EachPage(ctx, func(_ context.Context, p pagination.Page) (bool, error) {
			imgs, err := images.ExtractImages(p)
			for _, img := range imgs {
				if img.Properties["instance_uuid"] == server {
					id = img.ID
					return false, nil
				}
			}
			return err == nil, err
		})
		if err != nil {
			return err
		}
		if id != "" {
			// As nova-compute does: set the formats, then upload the disk.
			formats := images.UpdateOpts{
				images.UpdateImageProperty{Op: images.AddOp, Name: "disk_format", Value: "raw"},
				images.UpdateImageProperty{Op: images.AddOp, Name: "container_format", Value: "bare"},
			}
			if err := images.Update(ctx, ic, id, formats).Err; err != nil {
				return err
			}
			return imagedata.Upload(ctx, ic, id, strings.NewReader("snapshot of "+server)).ExtractErr()
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}
