package gateway_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/imagegw/imagegw/gateway"
	"github.com/imagegw/imagegw/model"
	"github.com/imagegw/imagegw/store"
	"github.com/imagegw/imagegw/store/pgtest"
)

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// replica is one gateway on a shared PostgreSQL store, with its log.
type replica struct {
	gw   *gateway.Gateway
	log  *lockedBuffer
	sess *gateway.Session
}

func newReplica(t testing.TB, cfg gateway.Config, dsn, dir string) *replica {
	t.Helper()
	ctx := context.Background()
	st, err := store.OpenPostgres(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	r := &replica{log: &lockedBuffer{}}
	r.gw, err = gateway.New(ctx, cfg, gateway.Options{Store: st, DataDir: dir, Logger: slog.New(slog.NewTextHandler(r.log, nil))})
	if err != nil {
		st.Close()
		t.Fatal(err)
	}
	t.Cleanup(func() { r.gw.Close(); st.Close() })
	r.sess, err = r.gw.Open(ctx, r.gw.Defaults(), model.Credentials{User: "mockuser", Password: "mockpassword"})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func (r *replica) list(t testing.TB) map[string]model.Image {
	t.Helper()
	l, err := r.sess.ListImages(context.Background(), model.ImageQuery{})
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]model.Image{}
	for _, img := range l.Images {
		out[img.ID] = img
	}
	return out
}

// TestCatalogCoherentAcrossReplicas: with long catalog TTLs, a write on one
// replica shows at once in the other's lists and gets.
func TestCatalogCoherentAcrossReplicas(t *testing.T) {
	dsn := pgtest.DSN(t)
	dir := t.TempDir()
	cfg := parse(t, "mock_create_delay: 0s\njob_poll_interval: 50ms\nproviders:\n  - {name: mock, driver: mock, catalog_ttl: 1h}\n")
	a, b := newReplica(t, cfg, dsn, dir), newReplica(t, cfg, dsn, dir)
	ctx := context.Background()
	before := len(b.list(t)) // B's catalog is warm, and would stay so for an hour
	a.list(t)

	img, job, err := a.sess.CreateImage(ctx, model.CreateImage{InstanceID: "inst1", Name: "made-on-a"}, gateway.JobMeta{})
	if err != nil {
		t.Fatal(err)
	}
	if got := b.list(t); len(got) != before+1 || got[img.ID].Name != "made-on-a" {
		t.Fatalf("B's list after a create on A: %d images (had %d), new one %+v", len(got), before, got[img.ID])
	}
	wctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	if _, err := a.gw.Jobs().Wait(wctx, job.ID); err != nil {
		t.Fatal(err)
	}
	if got := b.list(t)[img.ID]; got.State != model.ImageAvailable {
		t.Fatalf("B's list after A's job finished: state %q", got.State)
	}

	name := "renamed-on-b"
	if _, err := b.sess.UpdateImage(ctx, img.ID, model.ImageUpdate{Name: &name}); err != nil {
		t.Fatal(err)
	}
	if got := a.list(t)[img.ID].Name; got != name {
		t.Fatalf("A's list after a rename on B: %q", got)
	}

	if err := b.sess.DeleteImage(ctx, img.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := a.sess.GetImage(ctx, img.ID); !model.IsNotFound(err) {
		t.Fatalf("get on A after a delete on B: %v; want NotFound", err)
	}
	if _, ok := a.list(t)[img.ID]; ok {
		t.Fatal("A still lists the image B deleted")
	}

	// The listening connections are cut: the replicas make their catalogs
	// cold, listen again, and stay coherent.
	pgtest.Exec(t, dsn, `SELECT pg_terminate_backend(pid) FROM pg_stat_activity
		WHERE application_name = 'imagegw listener ' || current_schema()`)
	deadline := time.Now().Add(20 * time.Second)
	for !strings.Contains(b.log.String(), "listening again") || !strings.Contains(a.log.String(), "listening again") {
		if time.Now().After(deadline) {
			t.Fatalf("no reconnect:\nA: %s\nB: %s", a.log, b.log)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if !strings.Contains(b.log.String(), "catalog notifications lost") {
		t.Errorf("B's log does not say it lost its notifications:\n%s", b.log)
	}
	misses := b.gw.CatalogStats().Misses
	b.list(t)
	if b.gw.CatalogStats().Misses != misses+1 {
		t.Error("B's catalog was not made cold after losing its notifications")
	}
	img2, _, err := a.sess.CreateImage(ctx, model.CreateImage{InstanceID: "inst1", Name: "after-reconnect"}, gateway.JobMeta{})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := b.list(t)[img2.ID]; !ok {
		t.Fatal("B's list after reconnecting misses a create on A")
	}
}

// BenchmarkCrossReplicaVisibility: replica A renames an image; the time
// from A's answer to B's list showing the new name (B's catalog is warm,
// with an hour's TTL), p50 and p99. The first list on B shows it every
// time: the time is B's wait for the notification plus its refill.
func BenchmarkCrossReplicaVisibility(b *testing.B) {
	dsn := pgtest.DSN(b)
	dir := b.TempDir()
	cfg, err := gateway.ParseConfig(strings.NewReader("mock_create_delay: 0s\nproviders:\n  - {name: mock, driver: mock, catalog_ttl: 1h}\n"))
	if err != nil {
		b.Fatal(err)
	}
	a, r := newReplica(b, cfg, dsn, dir), newReplica(b, cfg, dsn, dir)
	ctx := context.Background()
	img, _, err := a.sess.CreateImage(ctx, model.CreateImage{InstanceID: "inst1"}, gateway.JobMeta{})
	if err != nil {
		b.Fatal(err)
	}
	var lat []time.Duration
	firstTry := 0
	for i := 0; b.Loop(); i++ {
		r.list(b)
		name := fmt.Sprint("name-", i)
		if _, err := a.sess.UpdateImage(ctx, img.ID, model.ImageUpdate{Name: &name}); err != nil {
			b.Fatal(err)
		}
		start := time.Now()
		for try := 0; ; try++ {
			if r.list(b)[img.ID].Name == name {
				if try == 0 {
					firstTry++
				}
				break
			}
		}
		lat = append(lat, time.Since(start))
	}
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-µs")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99-µs")
	b.ReportMetric(float64(firstTry)/float64(len(lat))*100, "%first-list")
}

// BenchmarkWarmListWithCoherence is a list from a warm catalog on a
// replica of a shared store: the price of coherence is the one query for
// the channel's sequence number.
func BenchmarkWarmListWithCoherence(b *testing.B) {
	cfg, err := gateway.ParseConfig(strings.NewReader("providers:\n  - {name: mock, driver: mock, catalog_ttl: 1h}\n"))
	if err != nil {
		b.Fatal(err)
	}
	r := newReplica(b, cfg, pgtest.DSN(b), b.TempDir())
	r.list(b)
	b.ReportAllocs()
	for b.Loop() {
		r.list(b)
	}
}

// BenchmarkWarmListWithCoherenceParallel is BenchmarkWarmListWithCoherence
// from many goroutines: concurrent lists share the sequence query.
func BenchmarkWarmListWithCoherenceParallel(b *testing.B) {
	cfg, err := gateway.ParseConfig(strings.NewReader("providers:\n  - {name: mock, driver: mock, catalog_ttl: 1h}\n"))
	if err != nil {
		b.Fatal(err)
	}
	r := newReplica(b, cfg, pgtest.DSN(b), b.TempDir())
	r.list(b)
	b.ReportAllocs()
	b.SetParallelism(8)
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := r.sess.ListImages(context.Background(), model.ImageQuery{}); err != nil {
				b.Error(err)
				return
			}
		}
	})
}
