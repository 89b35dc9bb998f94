package main_test

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/imagegw/imagegw/store"
	"github.com/imagegw/imagegw/store/pgtest"
)

// cluster is a set of replicas sharing one PostgreSQL schema and one
// credential key.
type cluster struct {
	dsn, key, config string
}

func newCluster(t *testing.T, extra string) *cluster {
	t.Helper()
	c := &cluster{dsn: pgtest.DSN(t)}
	dir := t.TempDir()
	c.key = filepath.Join(dir, "secret.key")
	key := make([]byte, 32)
	rand.Read(key)
	if err := os.WriteFile(c.key, key, 0o600); err != nil {
		t.Fatal(err)
	}
	c.config = filepath.Join(dir, "imagegw.yaml")
	cfg := fmt.Sprintf("store: {driver: postgres, dsn: %q}\n%s", c.dsn, extra)
	if err := os.WriteFile(c.config, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	return c
}

// launch starts a replica without waiting for it to answer.
func (c *cluster) launch(t *testing.T, args ...string) *gw {
	t.Helper()
	data := t.TempDir()
	key, err := os.ReadFile(c.key)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(data, "secret.key"), key, 0o600); err != nil {
		t.Fatal(err)
	}
	addr := freeAddr(t)
	cmd := exec.Command(binary(t), append([]string{"serve", "--listen", addr, "--data", data, "--config", c.config}, args...)...)
	stderr, _ := cmd.StderrPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	g := &gw{cmd: cmd, addr: addr, logs: &strings.Builder{}, mu: &sync.Mutex{}, done: make(chan error, 1)}
	exited := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			g.mu.Lock()
			g.logs.WriteString(sc.Text() + "\n")
			g.mu.Unlock()
		}
		g.done <- cmd.Wait()
		close(exited)
	}()
	t.Cleanup(func() { cmd.Process.Kill(); <-exited })
	return g
}

// waitUp waits until g answers, or fails t.
func waitUp(t *testing.T, g *gw, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for time.Now().Before(deadline) {
		if res, err := http.Get("http://" + g.addr + "/api"); err == nil {
			res.Body.Close()
			return
		}
		select {
		case err := <-g.done:
			t.Fatalf("replica exited (%v):\n%s", err, g.log())
		case <-time.After(50 * time.Millisecond):
		}
	}
	t.Fatalf("replica did not start:\n%s", g.log())
}

// client bounds every request of the replica tests.
var client = &http.Client{Timeout: 30 * time.Second}

func do(method, addr, path string) (int, []byte, http.Header, error) {
	req, _ := http.NewRequest(method, "http://"+addr+path, nil)
	req.SetBasicAuth("mockuser", "mockpassword")
	res, err := client.Do(req)
	if err != nil {
		return 0, nil, nil, err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	return res.StatusCode, b, res.Header, err
}

type jobView struct {
	ID    string `json:"id"`
	State string `json:"state"`
	Image struct {
		ID string `json:"id"`
	} `json:"image"`
	Log []struct{ Message string } `json:"log"`
}

func listJobs(t *testing.T, addr string) []jobView {
	t.Helper()
	status, b, _, err := do("GET", addr, "/api/jobs?format=json")
	if err != nil || status != 200 {
		t.Fatalf("jobs: %d %v %s", status, err, b)
	}
	var out struct {
		Jobs []struct {
			Job jobView `json:"job"`
		} `json:"jobs"`
	}
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatalf("jobs: %v: %s", err, b)
	}
	jobs := make([]jobView, len(out.Jobs))
	for i, j := range out.Jobs {
		jobs[i] = j.Job
	}
	return jobs
}

func listImageIDs(t *testing.T, addr string) []string {
	t.Helper()
	status, b, _, err := do("GET", addr, "/api/images?format=json&owner_id=mockuser")
	if err != nil || status != 200 {
		t.Fatalf("images: %d %v %s", status, err, b)
	}
	var out struct {
		Images []struct {
			Image struct {
				ID string `json:"id"`
			} `json:"image"`
		} `json:"images"`
	}
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatalf("images: %v: %s", err, b)
	}
	var ids []string
	for _, i := range out.Images {
		ids = append(ids, i.Image.ID)
	}
	return ids
}

// TestReplicasShareJobsAndCatalog: three replicas on one database; 60
// image creations spread over them, with a mock create delay; one replica
// is killed (SIGKILL) half way. Every job reaches a terminal state exactly
// once, followed by one replica at a time; every acknowledged image exists
// once. Then a create on A is listed at once on B, and a delete on B is a
// 404 on A.
func TestReplicasShareJobsAndCatalog(t *testing.T) {
	c := newCluster(t, "job_lease: 2s\njob_poll_interval: 200ms\nmock_create_delay: 3s\n")
	reps := []*gw{c.launch(t), c.launch(t), c.launch(t)}
	for _, r := range reps {
		waitUp(t, r, 30*time.Second)
	}
	a, b, victim := reps[0], reps[1], reps[2]

	const total = 60
	var mu sync.Mutex
	var acked []string
	killed := false
	var wg sync.WaitGroup
	next := make(chan int, total)
	for i := 0; i < total; i++ {
		next <- i
	}
	close(next)
	for w := 0; w < 3; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := range next {
				for try := 0; ; try++ {
					mu.Lock()
					r := reps[(i+try)%3]
					if r == victim && killed {
						mu.Unlock()
						continue
					}
					mu.Unlock()
					status, body, hdr, err := do("POST", r.addr, fmt.Sprintf("/api/images?instance_id=inst1&name=rep-%02d", i))
					if err != nil || status != 201 {
						if try > 10 {
							t.Errorf("create %d: %d %v %s", i, status, err, body)
							break
						}
						continue // the killed replica: try another
					}
					loc := hdr.Get("Location")
					mu.Lock()
					acked = append(acked, loc[strings.LastIndex(loc, "/")+1:])
					if len(acked) == total/2 && !killed {
						victim.cmd.Process.Kill() // SIGKILL, jobs in flight
						killed = true
					}
					mu.Unlock()
					break
				}
			}
		}(w)
	}
	wg.Wait()
	<-victim.done
	if len(acked) != total {
		t.Fatalf("%d of %d creations acknowledged", len(acked), total)
	}

	// Every job, the killed replica's included, reaches a terminal state.
	deadline := time.Now().Add(60 * time.Second)
	var jobs []jobView
	for {
		jobs = listJobs(t, a.addr)
		running := 0
		for _, j := range jobs {
			if j.State == "running" {
				running++
			}
		}
		if running == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d jobs still running after 60 s", running, len(jobs))
		}
		time.Sleep(200 * time.Millisecond)
	}
	byImage := map[string]jobView{}
	takeovers := 0
	for _, j := range jobs {
		byImage[j.Image.ID] = j
		var followers []string
		terminal := 0
		for _, e := range j.Log {
			m := e.Message
			switch {
			case strings.HasPrefix(m, "followed by replica "):
				followers = append(followers, strings.Fields(m)[3])
			case strings.HasPrefix(m, "taken over by replica "):
				f := strings.Fields(m)
				if len(followers) == 0 || f[6] != followers[len(followers)-1]+"," {
					t.Errorf("job %s: %q does not take over from the follower before (%v)", j.ID, m, followers)
				}
				followers = append(followers, f[4])
				takeovers++
			case strings.HasPrefix(m, "image ") && strings.HasSuffix(m, " is AVAILABLE"), strings.HasPrefix(m, "failed: "):
				terminal++
			}
		}
		if j.State != "succeeded" || terminal != 1 || len(followers) == 0 {
			t.Errorf("job %s: %s, %d terminal entries, followers %v: %+v", j.ID, j.State, terminal, followers, j.Log)
		}
	}
	if takeovers == 0 {
		t.Error("no job was taken over from the killed replica")
	}
	seen := map[string]int{}
	for _, id := range listImageIDs(t, b.addr) {
		seen[id]++
	}
	for _, id := range acked {
		if seen[id] != 1 {
			t.Errorf("acknowledged image %s listed %d times", id, seen[id])
		}
		if _, ok := byImage[id]; !ok {
			t.Errorf("acknowledged image %s has no job", id)
		}
	}
	t.Logf("%d creations, %d jobs, %d taken over from the killed replica", len(acked), len(jobs), takeovers)

}

// TestReplicasCoherent: a create on replica A is listed at once on
// replica B, and a delete on B is a 404 on A, although both keep their
// catalogs for an hour.
func TestReplicasCoherent(t *testing.T) {
	c := newCluster(t, "providers:\n  - {name: mock, driver: mock, catalog_ttl: 1h}\n")
	a, b := c.launch(t), c.launch(t)
	waitUp(t, a, 30*time.Second)
	waitUp(t, b, 30*time.Second)
	defer func() {
		if t.Failed() {
			a.cmd.Process.Signal(syscall.SIGQUIT)
			b.cmd.Process.Signal(syscall.SIGQUIT)
			time.Sleep(time.Second)
			t.Logf("A:\n%s\nB:\n%s", a.log(), b.log())
		}
	}()
	listImageIDs(t, b.addr) // B's catalog is warm
	status, body, hdr, err := do("POST", a.addr, "/api/images?instance_id=inst1&name=coherent")
	if err != nil || status != 201 {
		t.Fatalf("create on A: %d %v %s", status, err, body)
	}
	loc := hdr.Get("Location")
	id := loc[strings.LastIndex(loc, "/")+1:]
	if !strings.Contains(strings.Join(listImageIDs(t, b.addr), " "), id) {
		t.Errorf("B's list misses %s, created on A just before", id)
	}
	do("GET", a.addr, "/api/images/"+id) // A's catalog holds it
	if status, body, _, err := do("DELETE", b.addr, "/api/images/"+id); err != nil || status/100 != 2 {
		t.Fatalf("delete on B: %d %v %s", status, err, body)
	}
	if status, _, _, _ := do("GET", a.addr, "/api/images/"+id+"?format=json"); status != 404 {
		t.Errorf("get on A after a delete on B: %d, want 404", status)
	}
}

// TestReplicaRestartedDuringMigration: replica A is killed while it
// migrates a new database, with replica B waiting for it; A is restarted.
// Both come up, and each migration is applied once.
func TestReplicaRestartedDuringMigration(t *testing.T) {
	c := newCluster(t, "")
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	// Hold A inside its migration: it takes the migration lock, then waits
	// for schema_migrations, which this connection keeps locked.
	hold, err := pgx.Connect(ctx, c.dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer hold.Close(context.Background())
	for _, q := range []string{
		`CREATE TABLE schema_migrations (version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`,
		`BEGIN`,
		`LOCK TABLE schema_migrations IN ACCESS EXCLUSIVE MODE`,
	} {
		if _, err := hold.Exec(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	// advisory returns the advisory locks of this database held and awaited.
	advisory := func() (held, waiting int) {
		t.Helper()
		err := hold.QueryRow(ctx, `SELECT count(*) FILTER (WHERE granted), count(*) FILTER (WHERE NOT granted)
			FROM pg_locks WHERE locktype = 'advisory' AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`).Scan(&held, &waiting)
		if err != nil {
			t.Fatal(err)
		}
		return held, waiting
	}
	waitFor := func(what string, ok func() bool) {
		t.Helper()
		deadline := time.Now().Add(30 * time.Second)
		for !ok() {
			if time.Now().After(deadline) {
				t.Fatalf("timed out waiting for %s", what)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	a := c.launch(t)
	waitFor("A to take the migration lock", func() bool { h, _ := advisory(); return h >= 1 })
	b := c.launch(t)
	waitFor("B to wait for it", func() bool { _, w := advisory(); return w >= 1 })
	a.cmd.Process.Kill() // SIGKILL in the middle of the migration
	<-a.done
	a2 := c.launch(t)
	if _, err := hold.Exec(ctx, `COMMIT`); err != nil {
		t.Fatal(err)
	}
	waitUp(t, b, 30*time.Second)
	waitUp(t, a2, 30*time.Second)
	var n, max int
	if err := hold.QueryRow(ctx, `SELECT count(*), max(version) FROM schema_migrations`).Scan(&n, &max); err != nil {
		t.Fatal(err)
	}
	if n != store.PostgresSchemaVersion() || max != store.PostgresSchemaVersion() {
		t.Fatalf("schema_migrations holds %d rows up to %d, want each of 1..%d once", n, max, store.PostgresSchemaVersion())
	}
	// Both serve the same state.
	status, body, hdr, err := do("POST", b.addr, "/api/images?instance_id=inst1")
	if err != nil || status != 201 {
		t.Fatalf("create on B: %d %v %s", status, err, body)
	}
	loc := hdr.Get("Location")
	if status, _, _, _ := do("GET", a2.addr, "/api/images/"+loc[strings.LastIndex(loc, "/")+1:]); status != 200 {
		t.Fatalf("get on restarted A of an image made on B: %d", status)
	}
}

// TestStoreSelection: the store section, --store-dsn and their mistakes.
func TestStoreSelection(t *testing.T) {
	for _, tc := range []struct {
		name, config string
		args         []string
		want         string
	}{
		{"unknown driver", "store: {driver: mysql}\n", nil, `store.driver "mysql"`},
		{"unknown key", "store: {driver: postgres, url: x}\n", nil, "url"},
		{"postgres without dsn", "store: {driver: postgres}\n", nil, "needs store.dsn"},
		{"dsn for sqlite", "store: {driver: sqlite}\n", []string{"--store-dsn", "postgres://u:pw@127.0.0.1:1/x"}, "--store-dsn is for the postgres store"},
		{"unreachable database", "", []string{"--store-dsn", "postgres://u:s3cret@127.0.0.1:1/x?connect_timeout=5"}, "database unavailable"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			cfg := filepath.Join(dir, "imagegw.yaml")
			if err := os.WriteFile(cfg, []byte(tc.config), 0o600); err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			args := append([]string{"serve", "--listen", freeAddr(t), "--data", dir, "--config", cfg}, tc.args...)
			out, err := exec.CommandContext(ctx, binary(t), args...).CombinedOutput()
			if err == nil || !strings.Contains(string(out), tc.want) {
				t.Fatalf("serve: %v, output %s; want an error saying %q", err, out, tc.want)
			}
			if strings.Contains(string(out), "s3cret") {
				t.Fatalf("the DSN's password shows: %s", out)
			}
		})
	}
}
