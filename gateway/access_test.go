package gateway

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/imagegw/imagegw/model"
	"github.com/imagegw/imagegw/store"
)

func openTestStore(t *testing.T) store.Store {
	t.Helper()
	st, err := store.Open(context.Background(), filepath.Join(t.TempDir(), "imagegw.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

func newTestGateway(t *testing.T, cfg Config) *Gateway {
	t.Helper()
	gw, err := New(context.Background(), cfg, Options{Store: openTestStore(t), DataDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { gw.Close() })
	return gw
}

// TestAnonymousNeedsTheProvidersConsent: a request without credentials
// acts with the provider's server-side credentials only where the provider
// says anonymous: true; the mock, with none to lend, is anonymous unless
// it says otherwise.
func TestAnonymousNeedsTheProvidersConsent(t *testing.T) {
	for _, tc := range []struct {
		name     string
		settings string
		wantOK   bool
	}{
		{"driver default (counting: not anonymous)", "", false},
		{"anonymous: false", ", anonymous: false", false},
		{"anonymous: true", ", anonymous: true", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, 1, tc.settings, "")
			_, err := h.gw.Open(context.Background(), h.gw.Defaults(), model.Credentials{})
			if tc.wantOK != (err == nil) {
				t.Fatalf("anonymous Open: err %v, want ok=%v", err, tc.wantOK)
			}
			if err != nil && (model.CodeOf(err) != model.Unauthenticated || model.MessageOf(err) != ErrCredentialsRequired) {
				t.Errorf("anonymous Open: %v (%v), want Unauthenticated %q", err, model.CodeOf(err), ErrCredentialsRequired)
			}
			if _, err := h.gw.Open(context.Background(), h.gw.Defaults(), model.Credentials{User: "alice", Password: "pw-alice"}); err != nil {
				t.Errorf("Open with credentials: %v", err)
			}
			if got := h.gw.Anonymous(h.gw.Defaults().Provider); got != tc.wantOK {
				t.Errorf("Anonymous() = %v, want %v", got, tc.wantOK)
			}
			if _, err := h.gw.DriverCapabilities(context.Background(), h.gw.Defaults()); err != nil {
				t.Errorf("DriverCapabilities: %v; want the driver's capabilities without credentials", err)
			}
		})
	}
	t.Run("mock default", func(t *testing.T) {
		cfg, err := ParseConfig(strings.NewReader("providers:\n  - {name: m2, driver: mock}\n  - {name: m3, driver: mock, anonymous: false}\n"))
		if err != nil {
			t.Fatal(err)
		}
		gw := newTestGateway(t, cfg)
		if !gw.Anonymous("mock") || !gw.Anonymous("m2") || gw.Anonymous("m3") {
			t.Errorf("Anonymous mock=%v m2=%v m3=%v, want true true false", gw.Anonymous("mock"), gw.Anonymous("m2"), gw.Anonymous("m3"))
		}
	})
	t.Run("not a boolean", func(t *testing.T) {
		cfg, err := ParseConfig(strings.NewReader("providers:\n  - {name: m4, driver: mock, anonymous: sometimes}\n"))
		if err != nil {
			t.Fatal(err)
		}
		_, err = New(context.Background(), cfg, Options{Store: openTestStore(t), DataDir: t.TempDir()})
		if err == nil || !strings.Contains(err.Error(), "anonymous") {
			t.Errorf("New: %v, want an error naming anonymous", err)
		}
	})
}

// putJob stores a job record as the runner would.
func putJob(t *testing.T, gw *Gateway, job model.Job) {
	t.Helper()
	b, err := json.Marshal(jobRecord{Job: job})
	if err != nil {
		t.Fatal(err)
	}
	if err := store.Put(context.Background(), gw.store, nsJobs, job.ID, b); err != nil {
		t.Fatal(err)
	}
	if err := store.Put(context.Background(), gw.store, nsJobIndex, indexKey(job.Driver, job.Provider, job.Target), []byte(job.ID)); err != nil {
		t.Fatal(err)
	}
}

// TestJobsArePrunedAndPrivate: finished jobs older than job_retention go
// (running ones stay); a caller lists and gets only its own jobs, a page at
// a time.
func TestJobsArePrunedAndPrivate(t *testing.T) {
	for _, tc := range []struct {
		top       string
		retention time.Duration
	}{{"", DefaultJobRetention}, {"job_retention: 1h\n", time.Hour}} {
		h := newHarness(t, 0, "", tc.top)
		j := h.gw.jobs
		now := time.Now().UTC().Add(time.Hour)
		mk := func(id, caller, state string, updated time.Time) model.Job {
			job := model.Job{ID: id, Kind: model.JobCreateImage, Driver: "counting", Provider: h.gw.Defaults().Provider,
				Target: "img-" + id, Caller: caller, State: state, Created: updated.Add(-time.Minute), Updated: updated}
			putJob(t, h.gw, job)
			return job
		}
		mk("old-done", "alice", model.JobSucceeded, now.Add(-tc.retention-time.Minute))
		mk("old-failed", "bob", model.JobFailed, now.Add(-tc.retention-time.Hour))
		mk("old-running", "alice", model.JobRunning, now.Add(-tc.retention-time.Hour))
		mk("recent", "alice", model.JobSucceeded, now.Add(-tc.retention+time.Minute))
		n, err := j.pruneAt(context.Background(), now)
		if err != nil || n != 2 {
			t.Fatalf("retention %v: Prune = %d, %v; want 2", tc.retention, n, err)
		}
		for id, want := range map[string]bool{"old-done": false, "old-failed": false, "old-running": true, "recent": true} {
			_, err := j.Get(context.Background(), id)
			if (err == nil) != want {
				t.Errorf("retention %v: job %s kept %v, want %v", tc.retention, id, err == nil, want)
			}
		}
		if _, err := j.ForImage(context.Background(), h.gw.Defaults(), "img-old-done"); !model.IsNotFound(err) {
			t.Errorf("the image index of a pruned job: %v, want NotFound", err)
		}
	}

	h := newHarness(t, 0, "", "")
	j := h.gw.jobs
	base := time.Now().UTC()
	var want []string
	for i := range 5 {
		id := fmt.Sprintf("a%d", i)
		want = append(want, id)
		putJob(t, h.gw, model.Job{ID: id, Caller: "alice", State: model.JobRunning, Created: base.Add(time.Duration(i) * time.Second), Target: id})
		putJob(t, h.gw, model.Job{ID: fmt.Sprintf("b%d", i), Caller: "bob", State: model.JobRunning, Created: base.Add(time.Duration(i) * time.Second), Target: "b" + id})
	}
	var got []string
	cursor, pages := "", 0
	for {
		p, err := j.ListFor(context.Background(), JobQuery{Caller: "alice", Limit: 2, Cursor: cursor})
		if err != nil {
			t.Fatal(err)
		}
		pages++
		for _, job := range p.Jobs {
			got = append(got, job.ID)
		}
		if cursor = p.NextCursor; cursor == "" {
			break
		}
	}
	if fmt.Sprint(got) != fmt.Sprint(want) || pages != 3 {
		t.Errorf("alice's jobs in pages of 2: %v in %d pages, want %v in 3", got, pages, want)
	}
	if p, err := j.ListFor(context.Background(), JobQuery{}); err != nil || len(p.Jobs) != 0 {
		t.Errorf("no caller: %v, %v; want none", p.Jobs, err)
	}
	if _, err := j.ListFor(context.Background(), JobQuery{Caller: "alice", Cursor: "garbage!"}); model.CodeOf(err) != model.InvalidArgument {
		t.Errorf("bad cursor: %v, want InvalidArgument", err)
	}
	if _, err := j.GetFor(context.Background(), "bob", "a1"); !model.IsNotFound(err) {
		t.Errorf("bob gets alice's job: %v, want NotFound", err)
	}
	if job, err := j.GetFor(context.Background(), "alice", "a1"); err != nil || job.ID != "a1" {
		t.Errorf("alice gets her job: %+v, %v", job, err)
	}
}
