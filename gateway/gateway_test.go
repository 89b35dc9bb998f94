package gateway_test

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/imagegw/imagegw/gateway"
	"github.com/imagegw/imagegw/model"
	"github.com/imagegw/imagegw/store"

	_ "github.com/imagegw/imagegw/drivers/mock"
)

func parse(t *testing.T, y string) gateway.Config {
	t.Helper()
	cfg, err := gateway.ParseConfig(strings.NewReader(y))
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

func open(t *testing.T, cfg gateway.Config, dir string) (*gateway.Gateway, store.Store) {
	t.Helper()
	st, err := store.Open(context.Background(), filepath.Join(dir, "imagegw.db"))
	if err != nil {
		t.Fatal(err)
	}
	gw, err := gateway.New(context.Background(), cfg, gateway.Options{Store: st, DataDir: dir})
	if err != nil {
		st.Close()
		t.Fatal(err)
	}
	return gw, st
}

func TestParseConfig(t *testing.T) {
	tests := []struct {
		name, yaml, wantErr string
	}{
		{"empty", "", ""},
		{"providers", "providers:\n  - {name: East, driver: MOCK}\n", ""},
		{"unknown key", "bogus: 1\n", "bogus"},
		{"no name", "providers:\n  - {driver: mock}\n", "needs a name"},
		{"duplicate", "providers:\n  - {name: a, driver: mock}\n  - {name: A, driver: mock}\n", "used twice"},
	}
	for _, tc := range tests {
		_, err := gateway.ParseConfig(strings.NewReader(tc.yaml))
		if (err == nil) != (tc.wantErr == "") || (err != nil && !strings.Contains(err.Error(), tc.wantErr)) {
			t.Errorf("%s: err %v, want %q", tc.name, err, tc.wantErr)
		}
	}
	cfg := parse(t, "providers:\n  - {name: East, driver: MOCK, create_delay: 1s}\n")
	if p := cfg.Providers[0]; p.Name != "east" || p.Driver != "mock" || p.Settings["create_delay"] != "1s" {
		t.Errorf("provider = %+v", p)
	}
	if err := parse(t, "providers:\n  - {name: x, driver: nosuch}\n").Validate(); err == nil || !strings.Contains(err.Error(), "unknown driver") {
		t.Errorf("Validate: %v", err)
	}
}

func TestNewRejectsBadConfig(t *testing.T) {
	for _, y := range []string{
		"default_driver: ec9\n",
		"default_provider: nope\n",
		"providers:\n  - {name: m2, driver: mock, bogus: 1}\n",
	} {
		st, err := store.Open(context.Background(), filepath.Join(t.TempDir(), "db"))
		if err != nil {
			t.Fatal(err)
		}
		if gw, err := gateway.New(context.Background(), parse(t, y), gateway.Options{Store: st}); err == nil {
			gw.Close()
			t.Errorf("config %q accepted", y)
		}
		st.Close()
	}
}

func TestResolve(t *testing.T) {
	gw, st := open(t, parse(t, "providers:\n  - {name: test1, driver: mock}\n"), t.TempDir())
	defer st.Close()
	defer gw.Close()
	tests := []struct {
		sel     gateway.Selection
		want    gateway.Target
		wantErr string
	}{
		{gateway.Selection{}, gateway.Target{Driver: "mock", Provider: "mock"}, ""},
		{gateway.Selection{Driver: "MOCK"}, gateway.Target{Driver: "mock", Provider: "mock"}, ""},
		{gateway.Selection{Provider: "Test1"}, gateway.Target{Driver: "mock", Provider: "test1"}, ""},
		{gateway.Selection{Driver: "ec9"}, gateway.Target{}, "valid drivers: mock"},
		{gateway.Selection{Provider: "x"}, gateway.Target{}, "valid providers: mock, test1"},
	}
	for _, tc := range tests {
		got, err := gw.Resolve(tc.sel)
		if tc.wantErr != "" {
			if model.CodeOf(err) != model.InvalidArgument || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("%+v: err %v, want InvalidArgument with %q", tc.sel, err, tc.wantErr)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("%+v: %+v %v, want %+v", tc.sel, got, err, tc.want)
		}
	}
	if ds := gw.Drivers(); len(ds) != 1 || ds[0].ID != "mock" || strings.Join(ds[0].Providers, ",") != "mock,test1" {
		t.Errorf("Drivers = %+v", ds)
	}
}

// TestJobResumesAfterRestart: a job still running when the gateway stops is
// picked up by the next gateway on the same data and finishes; the client
// credentials it needs come back from their sealed form.
func TestJobResumesAfterRestart(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	cfg := parse(t, "mock_create_delay: 300ms\njob_poll_interval: 10s\n")
	gw, st := open(t, cfg, dir)
	sess, err := gw.Open(ctx, gw.Defaults(), model.Credentials{User: "mockuser", Password: "mockpassword"})
	if err != nil {
		t.Fatal(err)
	}
	img, job, err := sess.CreateImage(ctx, model.CreateImage{InstanceID: "inst1", Name: "resume-me"}, gateway.JobMeta{})
	if err != nil {
		t.Fatal(err)
	}
	if job.State != model.JobRunning || img.State != model.ImagePending {
		t.Fatalf("job %+v image %+v", job, img)
	}
	gw.Close() // stops the runner long before its first 10s poll
	st.Close()

	cfg.JobPollInterval = 20 * time.Millisecond
	gw2, st2 := open(t, cfg, dir)
	defer st2.Close()
	defer gw2.Close()
	wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	done, err := gw2.Jobs().Wait(wctx, job.ID)
	if err != nil || done.State != model.JobSucceeded || done.Target != img.ID {
		t.Fatalf("resumed job = %+v, %v", done, err)
	}
	found := false
	for _, l := range done.Log {
		found = found || strings.Contains(l.Message, "resumed")
	}
	if !found {
		t.Errorf("job log does not say it resumed: %+v", done.Log)
	}
	byImg, err := gw2.Jobs().ForImage(ctx, gw2.Defaults(), img.ID)
	if err != nil || byImg.ID != job.ID {
		t.Errorf("ForImage = %+v, %v", byImg, err)
	}
}

// TestFailedImageFailsJob: the job carries the cloud's reason.
func TestFailedImageFailsJob(t *testing.T) {
	gw, st := open(t, parse(t, "job_poll_interval: 10ms\nproviders:\n  - {name: flaky, driver: mock, create_delay: 50ms, fail_instances: [inst2]}\n"), t.TempDir())
	defer st.Close()
	defer gw.Close()
	ctx := context.Background()
	sess, err := gw.Open(ctx, gateway.Target{Driver: "mock", Provider: "flaky"}, model.Credentials{User: "mockuser", Password: "mockpassword"})
	if err != nil {
		t.Fatal(err)
	}
	_, job, err := sess.CreateImage(ctx, model.CreateImage{InstanceID: "inst2"}, gateway.JobMeta{})
	if err != nil {
		t.Fatal(err)
	}
	wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	done, err := gw.Jobs().Wait(wctx, job.ID)
	if err != nil || done.State != model.JobFailed || !strings.Contains(done.Error, "fault injection") {
		t.Errorf("job = %+v, %v; want failed with the image's reason", done, err)
	}
}

func TestCapabilityErrors(t *testing.T) {
	gw, st := open(t, gateway.Config{}, t.TempDir())
	defer st.Close()
	defer gw.Close()
	sess, err := gw.Open(context.Background(), gw.Defaults(), model.Credentials{})
	if err != nil {
		t.Fatal(err)
	}
	_, err = sess.ExportImage(context.Background(), "img1", model.ExportRequest{Path: "/x"})
	if model.CodeOf(err) != model.Unimplemented || !strings.Contains(err.Error(), "driver mock does not support capability export_image") {
		t.Errorf("export on mock: %v", err)
	}
	_, _, err = sess.CopyImage(context.Background(), "nowhere", "img1", "", "", gateway.JobMeta{})
	if model.CodeOf(err) != model.InvalidArgument {
		t.Errorf("copy from an unknown provider: %v", err)
	}
}
