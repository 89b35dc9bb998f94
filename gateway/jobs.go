package gateway

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/imagegw/imagegw/model"
	"github.com/imagegw/imagegw/store"
)

// Store namespaces the job runner uses.
const (
	nsJobs     = "jobs"
	nsJobIndex = "jobs_by_target" // driver/provider/target → job id
)

// maxJobAge is how long a job may stay running before the runner gives up.
const maxJobAge = 24 * time.Hour

// maxPoll caps the backoff between polls.
const maxPoll = 30 * time.Second

// JobMeta is what a front adds to a write that starts a job.
type JobMeta struct {
	Params map[string]string // kind-specific inputs, kept with the job
	// Meta, if set, changes the new image's overlay (validated before the
	// cloud is called).
	Meta func(*model.ImageMeta)
	// ID is the job's id, reserved by a create's intent (intents.go); ""
	// for a new one.
	ID string
}

// defaultNotFoundGrace is how long after a create NotFound means "not
// visible yet" for drivers that do not say (drivers.Registration).
const defaultNotFoundGrace = 60 * time.Second

// jobRecord is a job as the store keeps it.
type jobRecord struct {
	Job   model.Job
	Creds []byte `json:",omitempty"` // sealed credentials to follow it with
	// Epoch is the lease epoch of the replica that follows the job (0
	// without leases); see lease.go.
	Epoch int64 `json:",omitempty"`
}

// Jobs records long operations durably and follows each with its own
// goroutine until a terminal state, polling the driver with backoff. Jobs
// still running at a restart are resumed by New.
type Jobs struct {
	g      *Gateway
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
	poll   time.Duration

	mu    sync.Mutex
	hooks []func(context.Context, model.Job)
	subs  map[string][]chan struct{}
	now   func() time.Time
	lease *leasing // nil unless the store is a store.Leaser
}

func newJobs(g *Gateway) *Jobs {
	ctx, cancel := context.WithCancel(context.Background())
	poll := g.cfg.JobPollInterval
	if poll <= 0 {
		poll = pollDefault
	}
	j := &Jobs{g: g, ctx: ctx, cancel: cancel, poll: poll, subs: map[string][]chan struct{}{}, now: time.Now}
	j.lease = newLeasing(j)
	return j
}

// OnFinish registers fn to be called, in the job's goroutine, each time a
// job reaches a terminal state (also for jobs resumed after a restart).
// Register hooks before serving requests.
func (j *Jobs) OnFinish(fn func(context.Context, model.Job)) {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.hooks = append(j.hooks, fn)
}

func (j *Jobs) close() {
	j.cancel()
	j.wg.Wait()
}

func indexKey(driver, provider, target string) string {
	return driver + "/" + provider + "/" + target
}

// start records a job for img, made by sess, and follows it unless img is
// already terminal.
func (j *Jobs) start(ctx context.Context, sess *Session, kind string, img model.Image, meta JobMeta) (model.Job, error) {
	now := j.now().UTC()
	job := model.Job{
		ID: meta.jobID(), Kind: kind, Driver: sess.Target.Driver, Provider: sess.Target.Provider,
		Target: img.ID, Caller: sess.identity, State: model.JobRunning, Created: now, Updated: now,
		Params: meta.Params,
	}
	job.Log = append(job.Log, model.JobLogEntry{Time: now, Message: fmt.Sprintf("%s started: image %s is %s", kind, img.ID, img.State)})
	sealed, err := j.g.secrets.Seal(sess.creds)
	if err != nil {
		return model.Job{}, model.Wrap(model.Internal, err, "sealing job credentials")
	}
	terminal := img.Terminal()
	if terminal {
		j.settle(&job, img)
	}
	rec := jobRecord{Job: job, Creds: sealed}
	if !terminal && j.lease != nil {
		if rec.Epoch, err = j.lease.acquire(ctx, job.ID); err != nil {
			return model.Job{}, model.Wrap(model.Internal, err, "leasing job")
		}
		rec.Job.Log = append(rec.Job.Log, model.JobLogEntry{Time: now, Message: fmt.Sprintf("followed by replica %s (lease %d)", j.g.replica, rec.Epoch)})
		job = rec.Job
	}
	if err := j.g.store.Update(ctx, func(tx store.Tx) error {
		b, err := json.Marshal(rec)
		if err != nil {
			return err
		}
		if err := tx.Insert(nsJobs, job.ID, b); err != nil {
			return err
		}
		return tx.Put(nsJobIndex, indexKey(job.Driver, job.Provider, job.Target), []byte(job.ID))
	}); err != nil {
		if rec.Epoch != 0 {
			// claimable again: a claimer that finds no job finishes it
			j.lease.l.Release(context.WithoutCancel(ctx), nsJobs, job.ID, j.g.replica)
		}
		return model.Job{}, model.Wrap(model.Internal, err, "recording job")
	}
	if terminal {
		j.finished(job)
	} else {
		j.follow(rec)
	}
	return job, nil
}

// settle sets job's terminal state from img's.
func (j *Jobs) settle(job *model.Job, img model.Image) {
	now := j.now().UTC()
	job.Updated = now
	if strings.EqualFold(img.State, model.ImageAvailable) {
		job.State = model.JobSucceeded
		job.Log = append(job.Log, model.JobLogEntry{Time: now, Message: fmt.Sprintf("image %s is %s", img.ID, img.State)})
		return
	}
	job.State = model.JobFailed
	job.Error = img.StateReason
	if job.Error == "" {
		job.Error = fmt.Sprintf("image %s ended in state %s", img.ID, img.State)
	}
	job.Log = append(job.Log, model.JobLogEntry{Time: now, Message: "failed: " + job.Error})
}

func (j *Jobs) fail(job *model.Job, msg string) {
	now := j.now().UTC()
	job.State, job.Error, job.Updated = model.JobFailed, msg, now
	job.Log = append(job.Log, model.JobLogEntry{Time: now, Message: "failed: " + msg})
}

func (j *Jobs) follow(rec jobRecord) {
	j.wg.Add(1)
	go func() {
		defer j.wg.Done()
		ctx, done := j.lease.hold(j.ctx, rec)
		defer done()
		j.run(ctx, rec)
	}()
}

// run polls the job's image until it is terminal, the job is too old, or
// ctx ends: the runner closes (the job then resumes at the next start) or
// the job's lease passed to another replica. It stops as soon as a write of
// the job is fenced off (persist).
func (j *Jobs) run(ctx context.Context, rec jobRecord) {
	if fn, ok := taskFor(rec.Job.Kind); ok {
		j.runTask(ctx, rec, fn) // a task job (tasks.go)
		return
	}
	job := rec.Job
	log := j.g.log.With("job", job.ID, "kind", job.Kind, "driver", job.Driver, "provider", job.Provider, "image", job.Target)
	creds, err := j.g.secrets.Open(rec.Creds)
	if err != nil {
		j.fail(&job, "cannot resume: "+err.Error())
		if j.save(job, rec.Creds, rec.Epoch) {
			j.finished(job)
		}
		return
	}
	wait := j.poll
	lastErr, last, unseen := "", "", false
	for {
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
		wait = min(wait*2, maxPoll)
		job.Attempts++
		img, err := j.poll1(ctx, job, creds, last)
		if err == nil {
			last = img.State
		}
		switch code := model.CodeOf(err); {
		case err == nil && img.Terminal():
			j.settle(&job, img)
		case code == model.NotFound && j.now().Sub(job.Created) < j.grace(job.Provider):
			if !unseen {
				unseen = true
				job.Log = append(job.Log, model.JobLogEntry{Time: j.now().UTC(), Message: fmt.Sprintf("image %s is not visible in the cloud yet; still polling", job.Target)})
				if !j.save(job, rec.Creds, rec.Epoch) {
					return
				}
			}
		case code == model.NotFound:
			j.fail(&job, fmt.Sprintf("image %s disappeared", job.Target))
		case code == model.Unauthenticated || code == model.PermissionDenied:
			j.fail(&job, "the cloud refused the job's credentials: "+model.MessageOf(err))
		case code == model.Canceled && ctx.Err() != nil:
			return
		case err != nil:
			if msg := model.MessageOf(err); msg != lastErr {
				lastErr = msg
				job.Log = append(job.Log, model.JobLogEntry{Time: j.now().UTC(), Message: "poll failed, retrying: " + msg})
				log.Warn("job poll failed", "err", err)
				if !j.save(job, rec.Creds, rec.Epoch) {
					return
				}
			}
		}
		if !job.Terminal() && j.now().Sub(job.Created) > maxJobAge {
			j.fail(&job, fmt.Sprintf("gave up after %v", maxJobAge))
		}
		if job.Terminal() {
			if !j.save(job, rec.Creds, rec.Epoch) {
				log.Info("job finished elsewhere: not recording it again")
				return
			}
			log.Info("job finished", "state", job.State, "error", job.Error, "polls", job.Attempts)
			j.finished(job)
			return
		}
	}
}

func (j *Jobs) poll1(ctx context.Context, job model.Job, creds model.Credentials, last string) (model.Image, error) {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	sess, err := j.g.openAs(ctx, Target{Driver: job.Driver, Provider: job.Provider}, creds)
	if err != nil {
		return model.Image{}, err
	}
	return sess.pollImage(ctx, job.Target, last)
}

// grace is the provider's driver's NotFoundGrace.
func (j *Jobs) grace(provider string) time.Duration {
	if pe, ok := j.g.providers[provider]; ok && pe.reg.NotFoundGrace > 0 {
		return pe.reg.NotFoundGrace
	}
	return defaultNotFoundGrace
}

// save records job as the follower of lease epoch epoch, and reports
// whether the follower may go on: false when the write was fenced off (the
// job is terminal already, or another replica follows it; see persist).
// A failed write is logged and the follower goes on.
func (j *Jobs) save(job model.Job, creds []byte, epoch int64) bool {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	wrote, err := j.persist(ctx, job, creds, epoch)
	if err != nil {
		j.g.log.Error("saving job", "job", job.ID, "err", err)
		return !job.Terminal()
	}
	return wrote
}

// finished runs the hooks and wakes waiters.
func (j *Jobs) finished(job model.Job) {
	j.mu.Lock()
	hooks := slices.Clone(j.hooks)
	subs := j.subs[job.ID]
	delete(j.subs, job.ID)
	j.mu.Unlock()
	for _, h := range hooks {
		h(j.ctx, job)
	}
	for _, c := range subs {
		close(c)
	}
}

// resume follows every job that was running when the gateway stopped.
func (j *Jobs) resume(ctx context.Context) error {
	var recs []jobRecord
	err := j.g.store.View(ctx, func(tx store.Tx) error {
		return tx.Scan(nsJobs, "", func(_ string, v []byte) error {
			var rec jobRecord
			if err := json.Unmarshal(v, &rec); err != nil {
				return err
			}
			if !rec.Job.Terminal() {
				recs = append(recs, rec)
			}
			return nil
		})
	})
	if err != nil {
		return fmt.Errorf("resuming jobs: %w", err)
	}
	defer j.lease.startClaiming()
	for _, rec := range recs {
		if _, ok := j.g.providers[rec.Job.Provider]; !ok {
			j.fail(&rec.Job, fmt.Sprintf("provider %s is no longer configured", rec.Job.Provider))
			j.save(rec.Job, nil, rec.Epoch)
			continue
		}
		if j.lease != nil {
			var ok bool
			if rec, ok, err = j.lease.resumeOne(ctx, rec); err != nil {
				return fmt.Errorf("resuming job %s: %w", rec.Job.ID, err)
			} else if !ok {
				continue // a live replica follows it
			}
		}
		rec.Job.Log = append(rec.Job.Log, model.JobLogEntry{Time: j.now().UTC(), Message: "resumed after a restart"})
		j.g.log.Info("resuming job", "job", rec.Job.ID, "kind", rec.Job.Kind, "image", rec.Job.Target)
		j.follow(rec)
	}
	return j.reconcileIntents(ctx) // creates the gateway did not see finish: intents.go
}

// Get returns a job, or model.NotFound.
func (j *Jobs) Get(ctx context.Context, id string) (model.Job, error) {
	v, err := store.Get(ctx, j.g.store, nsJobs, id)
	if model.IsNotFound(err) {
		return model.Job{}, model.Errorf(model.NotFound, "job %s not found", id)
	}
	if err != nil {
		return model.Job{}, err
	}
	var rec jobRecord
	if err := json.Unmarshal(v, &rec); err != nil {
		return model.Job{}, model.Wrap(model.Internal, err, "corrupt job %s", id)
	}
	return rec.Job, nil
}

// ForImage returns the latest job that drove an image, or model.NotFound.
func (j *Jobs) ForImage(ctx context.Context, t Target, imageID string) (model.Job, error) {
	v, err := store.Get(ctx, j.g.store, nsJobIndex, indexKey(t.Driver, t.Provider, imageID))
	if model.IsNotFound(err) {
		return model.Job{}, model.Errorf(model.NotFound, "no job for image %s", imageID)
	}
	if err != nil {
		return model.Job{}, err
	}
	return j.Get(ctx, string(v))
}

// List returns every job, oldest first.
func (j *Jobs) List(ctx context.Context) ([]model.Job, error) {
	out := []model.Job{}
	err := j.g.store.View(ctx, func(tx store.Tx) error {
		return tx.Scan(nsJobs, "", func(_ string, v []byte) error {
			var rec jobRecord
			if err := json.Unmarshal(v, &rec); err != nil {
				return err
			}
			out = append(out, rec.Job)
			return nil
		})
	})
	slices.SortFunc(out, func(a, b model.Job) int {
		if c := a.Created.Compare(b.Created); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	return out, err
}

// Wait blocks until job id is terminal or ctx ends, and returns it.
func (j *Jobs) Wait(ctx context.Context, id string) (model.Job, error) {
	ch := make(chan struct{})
	j.mu.Lock()
	j.subs[id] = append(j.subs[id], ch)
	j.mu.Unlock()
	defer j.unsubscribe(id, ch)
	tick := time.NewTicker(time.Second) // jobs followed by another replica
	defer tick.Stop()
	for {
		job, err := j.Get(ctx, id)
		if err != nil || job.Terminal() {
			return job, err
		}
		select {
		case <-ch: // finished here: the next Get sees it
		case <-tick.C:
		case <-ctx.Done():
			return job, ctx.Err()
		}
	}
}

// unsubscribe drops a waiter's channel if finished has not already.
func (j *Jobs) unsubscribe(id string, ch chan struct{}) {
	j.mu.Lock()
	defer j.mu.Unlock()
	subs := slices.DeleteFunc(j.subs[id], func(c chan struct{}) bool { return c == ch })
	if len(subs) == 0 {
		delete(j.subs, id)
	} else {
		j.subs[id] = subs
	}
}
