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

// TestIntentsAcrossReplicas: a create in flight on another replica (a
// young intent) is left to it, even by a replica that starts meanwhile; an
// orphan (an old intent) is reconciled by exactly one replica.
func TestIntentsAcrossReplicas(t *testing.T) {
	dsn := pgtest.DSN(t)
	dir := t.TempDir()
	ctx := context.Background()
	st, err := store.OpenPostgres(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	now := time.Now().UTC()
	for id, created := range map[string]time.Time{"young-intent": now, "orphan-intent": now.Add(-time.Hour)} {
		b := fmt.Sprintf(`{"ID":%q,"Kind":"create_image","Driver":"mock","Provider":"mock","Instance":"inst1","Created":%q}`, id, created.Format(time.RFC3339Nano))
		if err := store.Put(ctx, st, "intents", id, []byte(b)); err != nil {
			t.Fatal(err)
		}
	}
	cfg := parse(t, "job_lease: 1s\njob_poll_interval: 50ms\n")
	a, b := newReplica(t, cfg, dsn, dir), newReplica(t, cfg, dsn, dir)
	deadline := time.Now().Add(20 * time.Second)
	for {
		if _, err := store.Get(ctx, st, "intents", "orphan-intent"); model.IsNotFound(err) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the orphan was not reconciled:\nA: %s\nB: %s", a.log, b.log)
		}
		time.Sleep(50 * time.Millisecond)
	}
	time.Sleep(1500 * time.Millisecond) // more sweeps: none may take the young one or redo the orphan
	if _, err := store.Get(ctx, st, "intents", "young-intent"); err != nil {
		t.Errorf("a create in flight elsewhere was taken up: %v", err)
	}
	if _, err := a.gw.Jobs().Get(ctx, "young-intent"); !model.IsNotFound(err) {
		t.Errorf("a job was recorded for a create in flight elsewhere: %v", err)
	}
	logs := a.log.String() + b.log.String()
	if n := strings.Count(logs, "reconciling a create") + strings.Count(logs, "orphan-intent"); n == 0 {
		t.Fatalf("nobody reconciled the orphan: %s", logs)
	}
	job, err := a.gw.Jobs().Get(ctx, "orphan-intent")
	if err != nil || !job.Terminal() {
		t.Fatalf("the orphan's job: %+v, %v", job, err)
	}
	if n := strings.Count(logs, "unfinished create failed") + strings.Count(logs, "found the image of an unfinished create"); n != 1 {
		t.Errorf("the orphan was settled %d times:\n%s", n, logs)
	}
}
