package main_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/imagegw/imagegw/api/cycle/cycletest"
)

// cli runs an imagegw subcommand and returns its output.
func cli(t *testing.T, args ...string) string {
	t.Helper()
	out, err := exec.Command(binary(t), args...).CombinedOutput()
	if err != nil {
		t.Fatalf("imagegw %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

var secretRE = regexp.MustCompile(`(?m)^secret: (\S+)$`)
var keyIDRE = regexp.MustCompile(`(?m)^id: +([0-9a-f]{24})$`)

func addKey(t *testing.T, data string, args ...string) (id, secret string) {
	t.Helper()
	out := cli(t, append([]string{"apikeys", "add", "--data", data}, args...)...)
	s, k := secretRE.FindStringSubmatch(out), keyIDRE.FindStringSubmatch(out)
	if s == nil || k == nil {
		t.Fatalf("apikeys add printed %q", out)
	}
	return k[1], s[1]
}

// TestCycleFront runs the spec's "Test against" scenarios through the
// real binary on the mock hub, with hubs and keys made by the CLI.
func TestCycleFront(t *testing.T) {
	data := t.TempDir()
	hub := strings.TrimSpace(cli(t, "hubs", "add", "demo", "--driver", "mock", "--data", data))
	other := strings.TrimSpace(cli(t, "hubs", "add", "elsewhere", "--driver", "mock", "--data", data))
	if len(hub) != 24 || len(other) != 24 {
		t.Fatalf("hubs add printed %q, %q", hub, other)
	}
	if out := cli(t, "hubs", "list", "--data", data); !strings.Contains(out, hub) || !strings.Contains(out, "elsewhere") {
		t.Errorf("hubs list:\n%s", out)
	}
	_, admin := addKey(t, data, "--hub", "demo", "--name", "admin")
	viewID, view := addKey(t, data, "--hub", hub, "--name", "viewer", "--capability", "images-view")
	_, shortLived := addKey(t, data, "--hub", hub, "--name", "brief", "--expires", "1s")
	if out := cli(t, "apikeys", "list", "--data", data); !strings.Contains(out, viewID) || !strings.Contains(out, "images-view") || strings.Contains(out, view) {
		t.Errorf("apikeys list:\n%s", out)
	}
	if db, _ := os.ReadFile(filepath.Join(data, "imagegw.db")); strings.Contains(string(db), admin) {
		t.Errorf("a secret is stored in plain text")
	}
	cfg := filepath.Join(data, "config.yaml")
	os.WriteFile(cfg, []byte("job_poll_interval: 100ms\nmock_create_delay: 1s\n"), 0o600)
	g := start(t, data, "--config", cfg)
	base := "http://" + g.addr
	c := cycletest.New(t, base, admin, hub)

	// A view-only key, a foreign hub, an unknown filter.
	if er := c.As(view, hub).Do("POST", "/v1/images", map[string]string{"source_id": "inst1"}).Want(t, "view-only create", 403).Error(t); er.Extra["capability"] != "images-manage" {
		t.Errorf("view-only create: %+v", er)
	}
	if er := c.As(admin, other).Do("GET", "/v1/images", nil).Want(t, "foreign hub", 403).Error(t); er.Code != "403.wrong-hub" {
		t.Errorf("foreign hub: %+v", er)
	}
	if er := c.Do("GET", "/v1/images?filter[foo]=x", nil).Want(t, "filter[foo]", 400).Error(t); er.Source != "/filter/foo" {
		t.Errorf("filter[foo]: %+v", er)
	}
	// Sort, page, include, meta.
	for _, q := range []string{"sort=-name", "page[size]=2&page[number]=2", "include=creators,sources", "meta=containers_count"} {
		c.Do("GET", "/v1/images?"+q, nil).Want(t, q, 200)
	}
	// Create from inst1 until live; its build log; inst3 refused.
	var cr struct{ Data cycletest.Image }
	c.Do("POST", "/v1/images", map[string]string{"source_id": "inst1"}).Want(t, "create", 201).Decode(t, &cr)
	c.WaitImage(cr.Data.ID, "live", 20*time.Second)
	c.Do("GET", "/v1/images/"+cr.Data.ID+"/build-log", nil).Want(t, "build log", 200)
	c.Do("POST", "/v1/images", map[string]string{"source_id": "inst3"}).Want(t, "inst3", 422)
	c.Do("PATCH", "/v1/images/"+cr.Data.ID, map[string]string{"name": "renamed"}).Want(t, "rename", 200)
	// Delete until completed, then deleted.
	var d struct{ Data cycletest.JobDescriptor }
	c.Do("DELETE", "/v1/images/"+cr.Data.ID, nil).Want(t, "delete", 200).Decode(t, &d)
	if j := c.WaitJob(d.Data.Job.ID, 20*time.Second); j.State.Current != "completed" {
		t.Errorf("delete job: %+v", j)
	}
	c.WaitImage(cr.Data.ID, "deleted", time.Second)
	// Prune ["inst1"], import.
	c.Do("POST", "/v1/images", map[string]string{"source_id": "inst1"}).Want(t, "create", 201)
	c.Do("POST", "/v1/images/tasks", map[string]any{"action": "prune", "contents": map[string]any{"source_ids": []string{"inst1"}}}).Want(t, "prune", 202).Decode(t, &d)
	if j := c.WaitJob(d.Data.Job.ID, 20*time.Second); j.State.Current != "completed" || j.Tasks[0].Output["deleted"] == "" {
		t.Errorf("prune job: %+v", j)
	}
	c.Do("POST", "/v1/images/c19de8d208e13558527d0260/tasks", map[string]string{"action": "import"}).Want(t, "import", 200).Decode(t, &d)
	if j := c.WaitJob(d.Data.Job.ID, 20*time.Second); j.State.Current != "completed" {
		t.Errorf("import job: %+v", j)
	}
	// An expired key is refused as expired (it lived 1 s, and creating,
	// deleting and pruning took longer).
	if er := c.As(shortLived, hub).Do("GET", "/v1/images", nil).Want(t, "expired", 401).Error(t); er.Code != "401.auth-expired" {
		t.Errorf("expired: %+v", er)
	}
	// A revoked key is refused.
	cli(t, "apikeys", "revoke", viewID, "--data", data)
	time.Sleep(1100 * time.Millisecond) // a running gateway re-reads a key within a second
	if er := c.As(view, hub).Do("GET", "/v1/images", nil).Want(t, "revoked", 401).Error(t); er.Code != "401.auth-invalid" {
		t.Errorf("revoked: %+v", er)
	}

	// SIGKILL while a delete job is queued: after a restart it completes.
	g.cmd.Process.Kill()
	<-g.done
	os.WriteFile(cfg, []byte("job_poll_interval: 1h\n"), 0o600)
	g = start(t, data, "--config", cfg)
	c = cycletest.New(t, "http://"+g.addr, admin, hub)
	c.Do("DELETE", "/v1/images/9ea1f767eef20e43bea456e4", nil).Want(t, "delete img1", 200).Decode(t, &d)
	g.cmd.Process.Kill() // SIGKILL
	<-g.done
	os.WriteFile(cfg, []byte("job_poll_interval: 100ms\n"), 0o600)
	g = start(t, data, "--config", cfg)
	c = cycletest.New(t, "http://"+g.addr, admin, hub)
	if j := c.WaitJob(d.Data.Job.ID, 20*time.Second); j.State.Current != "completed" {
		t.Errorf("delete job after SIGKILL and restart: %+v", j)
	}
	c.WaitImage("9ea1f767eef20e43bea456e4", "deleted", time.Second)
	if strings.Contains(g.log(), admin) {
		t.Errorf("a secret is in the logs")
	}
	if out := cli(t, "hubs", "remove", "elsewhere", "--data", data); !strings.Contains(out, other) {
		t.Errorf("hubs remove: %s", out)
	}
	if er := c.As(admin, other).Do("GET", "/v1/images", nil).Want(t, "removed hub", 404).Error(t); er.Code != "404.hub" {
		t.Errorf("removed hub: %+v", er)
	}
}
