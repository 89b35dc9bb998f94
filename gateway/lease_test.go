package gateway_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/imagegw/imagegw/gateway"
	"github.com/imagegw/imagegw/model"
	"github.com/imagegw/imagegw/store"
	"github.com/imagegw/imagegw/store/pgtest"
)

// openPG opens a gateway on the PostgreSQL store dsn, with the credential
// key of dir (replicas share one).
func openPG(t *testing.T, cfg gateway.Config, dsn, dir string) (*gateway.Gateway, store.Store) {
	t.Helper()
	st, err := store.OpenPostgres(context.Background(), dsn)
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

// followers returns the replicas a job's log names as its followers, in
// order, and how many log entries say it reached a terminal state.
func followers(job model.Job) (names []string, terminal int) {
	for _, e := range job.Log {
		m := e.Message
		switch {
		case strings.HasPrefix(m, "followed by replica "):
			names = append(names, strings.Fields(m)[3])
		case strings.HasPrefix(m, "taken over by replica "):
			names = append(names, strings.Fields(m)[4])
		case strings.HasSuffix(m, " is AVAILABLE"), strings.HasPrefix(m, "failed: "):
			terminal++
		}
	}
	return names, terminal
}

// TestJobsLeasedAcrossReplicas: replica A starts jobs and then loses the
// database (it can neither renew its leases nor write); replica B takes
// every job over once A's leases expire and finishes it, and each job is
// recorded terminal exactly once, by one follower at a time.
func TestJobsLeasedAcrossReplicas(t *testing.T) {
	dsn := pgtest.DSN(t)
	dir := t.TempDir()
	cfg := parse(t, "job_lease: 1s\njob_poll_interval: 100ms\nmock_create_delay: 1500ms\n")
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	gwA, stA := openPG(t, cfg, dsn, dir)
	gwB, stB := openPG(t, cfg, dsn, dir)
	defer stB.Close()
	defer gwB.Close()

	sess, err := gwA.Open(ctx, gwA.Defaults(), model.Credentials{User: "mockuser", Password: "mockpassword"})
	if err != nil {
		t.Fatal(err)
	}
	var jobs []string
	for i := 0; i < 8; i++ {
		_, job, err := sess.CreateImage(ctx, model.CreateImage{InstanceID: "inst1", Name: fmt.Sprint("leased-", i)}, gateway.JobMeta{})
		if err != nil {
			t.Fatal(err)
		}
		jobs = append(jobs, job.ID)
	}
	// A loses the database: its followers stop, its leases run out.
	stA.Close()
	defer gwA.Close()

	for _, id := range jobs {
		job, err := gwB.Jobs().Wait(ctx, id)
		if err != nil {
			t.Fatalf("job %s on B: %v", id, err)
		}
		if job.State != model.JobSucceeded {
			t.Errorf("job %s is %s (%s)", id, job.State, job.Error)
		}
		names, terminal := followers(job)
		if terminal != 1 {
			t.Errorf("job %s recorded terminal %d times: %v", id, terminal, job.Log)
		}
		// A, then B (B may follow it again if a renewal came late on a
		// loaded machine, but never A after B).
		if len(names) < 2 || names[0] == names[len(names)-1] || strings.Count(fmt.Sprint(names), names[0]) != 1 ||
			!strings.Contains(fmt.Sprint(job.Log), "taken over by replica") {
			t.Errorf("job %s followers %v, want A then B: %v", id, names, job.Log)
		}
	}
}

// TestJobsHandedOverOnShutdown: a replica that shuts down gracefully
// releases its leases, and another replica finishes its jobs.
func TestJobsHandedOverOnShutdown(t *testing.T) {
	dsn := pgtest.DSN(t)
	dir := t.TempDir()
	cfg := parse(t, "job_lease: 1s\njob_poll_interval: 100ms\nmock_create_delay: 1s\n")
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	gwA, stA := openPG(t, cfg, dsn, dir)
	defer stA.Close()
	gwB, stB := openPG(t, cfg, dsn, dir)
	defer stB.Close()
	defer gwB.Close()
	sess, err := gwA.Open(ctx, gwA.Defaults(), model.Credentials{User: "mockuser", Password: "mockpassword"})
	if err != nil {
		t.Fatal(err)
	}
	_, job, err := sess.CreateImage(ctx, model.CreateImage{InstanceID: "inst1"}, gateway.JobMeta{})
	if err != nil {
		t.Fatal(err)
	}
	gwA.Close()
	done, err := gwB.Jobs().Wait(ctx, job.ID)
	if err != nil || done.State != model.JobSucceeded {
		t.Fatalf("job after A's shutdown: %+v, %v", done, err)
	}
	if names, terminal := followers(done); len(names) < 2 || names[0] == names[len(names)-1] || terminal != 1 {
		t.Errorf("followers %v, terminal %d: %v", names, terminal, done.Log)
	}
}
