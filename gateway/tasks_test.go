package gateway_test

import (
	"context"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/imagegw/imagegw/gateway"
	"github.com/imagegw/imagegw/model"
	"github.com/imagegw/imagegw/store"
	"github.com/imagegw/imagegw/store/pgtest"
)

// countStep is a task that is done at its third step, counting steps in
// its params, and fails when asked to.
func countStep(_ context.Context, t *gateway.Task) (bool, error) {
	if t.Job.Params["fail"] != "" {
		return false, model.Errorf(model.FailedPrecondition, "%s", t.Job.Params["fail"])
	}
	n, _ := strconv.Atoi(t.Job.Params["n"])
	n++
	t.Job.Params["n"] = strconv.Itoa(n)
	return n >= 3, nil
}

func init() { gateway.RegisterTask("test.count", countStep) }

func mockCreds() model.Credentials {
	return model.Credentials{User: "mockuser", Password: "mockpassword"}
}

// TestTaskJobs: a task job runs its steps to success, a failing step
// fails it with the step's message, and an unknown kind is refused.
func TestTaskJobs(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	dir := t.TempDir()
	st, err := store.Open(ctx, filepath.Join(dir, "imagegw.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	gw, err := gateway.New(ctx, parse(t, "job_poll_interval: 20ms\n"), gateway.Options{Store: st, DataDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer gw.Close()
	sess, err := gw.Open(ctx, gw.Defaults(), mockCreds())
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		params    map[string]string
		state, in string
	}{
		{map[string]string{}, model.JobSucceeded, "completed"},
		{map[string]string{"fail": "no such thing"}, model.JobFailed, "failed: no such thing"},
	} {
		job, err := sess.StartTask(ctx, gateway.TaskSpec{ID: "65a0d1e2f3a4b5c6d7e8f9" + strconv.Itoa(10+len(tc.params)), Kind: "test.count", Params: tc.params, Message: "queued"})
		if err != nil {
			t.Fatal(err)
		}
		got, err := gw.Jobs().Wait(ctx, job.ID)
		if err != nil || got.State != tc.state || !strings.Contains(got.Log[len(got.Log)-1].Message, tc.in) || got.Log[0].Message != "queued" {
			t.Errorf("%v: %+v, %v", tc.params, got, err)
		}
		if tc.state == model.JobSucceeded && got.Params["n"] != "3" {
			t.Errorf("steps: %s", got.Params["n"])
		}
	}
	if _, err := sess.StartTask(ctx, gateway.TaskSpec{Kind: "test.nope"}); err == nil {
		t.Errorf("an unregistered kind started")
	}
}

// TestTaskJobsLeasedAcrossReplicas: a task job started on replica A, which
// then loses the database, is taken over and finished once by replica B.
func TestTaskJobsLeasedAcrossReplicas(t *testing.T) {
	dsn := pgtest.DSN(t)
	dir := t.TempDir()
	cfg := parse(t, "job_lease: 1s\njob_poll_interval: 300ms\n")
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	gwA, stA := openPG(t, cfg, dsn, dir)
	gwB, stB := openPG(t, cfg, dsn, dir)
	defer stB.Close()
	defer gwB.Close()
	sess, err := gwA.Open(ctx, gwA.Defaults(), mockCreds())
	if err != nil {
		t.Fatal(err)
	}
	job, err := sess.StartTask(ctx, gateway.TaskSpec{Kind: "test.count", Params: map[string]string{}})
	if err != nil {
		t.Fatal(err)
	}
	stA.Close()
	defer gwA.Close()
	got, err := gwB.Jobs().Wait(ctx, job.ID)
	if err != nil || got.State != model.JobSucceeded {
		t.Fatalf("job on B: %+v, %v", got, err)
	}
	names, _ := followers(got)
	completed := 0
	for _, e := range got.Log {
		if e.Message == "completed" {
			completed++
		}
	}
	if len(names) < 2 || names[0] == names[len(names)-1] || completed != 1 {
		t.Errorf("followers %v, completed %d times: %v", names, completed, got.Log)
	}
}
