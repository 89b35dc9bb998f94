package gateway

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/imagegw/imagegw/model"
	"github.com/imagegw/imagegw/store"
)

// Task is one step's view of a task job: a durable job that is not the
// following of one image (a front's delete, prune or import), run by a
// TaskFunc registered for its kind.
type Task struct {
	// Session acts for the job's provider with the job's credentials.
	Session *Session
	// Job is the job; the step may append to its Log and change its
	// Params (kept between steps and across restarts).
	Job *model.Job
}

// Gateway returns the gateway the task runs in (its store, its jobs).
func (t *Task) Gateway() *Gateway { return t.Session.g }

// TaskFunc does one step of a task job. It returns done when the job has
// succeeded; an error of a transient code (Unavailable, DeadlineExceeded,
// ResourceExhausted) is logged and the step is tried again with backoff,
// any other error fails the job. A step must be safe to run again: after
// a restart the step that was running is run once more.
type TaskFunc func(ctx context.Context, t *Task) (done bool, err error)

var (
	taskMu sync.RWMutex
	tasks  = map[string]TaskFunc{}
)

// RegisterTask names the function that runs jobs of kind; call it from an
// init function, so that jobs resumed at a restart find it.
func RegisterTask(kind string, fn TaskFunc) {
	taskMu.Lock()
	defer taskMu.Unlock()
	tasks[kind] = fn
}

func taskFor(kind string) (TaskFunc, bool) {
	taskMu.RLock()
	defer taskMu.RUnlock()
	fn, ok := tasks[kind]
	return fn, ok
}

// TaskSpec describes a task job to start.
type TaskSpec struct {
	// ID is the job's id; "" gives a UUID.
	ID string
	// Kind names the registered TaskFunc.
	Kind string
	// Target is the native id the job is about, if any (informative: task
	// jobs are not indexed by target, so Jobs.ForImage still finds the job
	// that made an image).
	Target string
	Params map[string]string
	// Message is the job log's first line.
	Message string
}

// StartTask records a task job acting with the session's credentials and
// runs its steps in the background until it is done or fails; it survives
// restarts like every job.
func (s *Session) StartTask(ctx context.Context, spec TaskSpec) (model.Job, error) {
	if _, ok := taskFor(spec.Kind); !ok {
		return model.Job{}, model.Errorf(model.Internal, "no task function for job kind %q", spec.Kind)
	}
	j := s.g.jobs
	now := j.now().UTC()
	if spec.ID == "" {
		spec.ID = uuid.NewString()
	}
	job := model.Job{
		ID: spec.ID, Kind: spec.Kind, Driver: s.Target.Driver, Provider: s.Target.Provider,
		Target: spec.Target, Caller: s.identity, State: model.JobRunning, Created: now, Updated: now,
		Params: spec.Params,
	}
	if spec.Message != "" {
		job.Log = append(job.Log, model.JobLogEntry{Time: now, Message: spec.Message})
	}
	sealed, err := j.g.secrets.Seal(s.creds)
	if err != nil {
		return model.Job{}, model.Wrap(model.Internal, err, "sealing job credentials")
	}
	rec := jobRecord{Job: job, Creds: sealed}
	if j.lease != nil {
		if rec.Epoch, err = j.lease.acquire(ctx, job.ID); err != nil {
			return model.Job{}, model.Wrap(model.Internal, err, "leasing job")
		}
		rec.Job.Log = append(rec.Job.Log, model.JobLogEntry{Time: now, Message: fmt.Sprintf("followed by replica %s (lease %d)", j.g.replica, rec.Epoch)})
		job = rec.Job
	}
	b, err := json.Marshal(rec)
	if err != nil {
		return model.Job{}, model.Wrap(model.Internal, err, "recording job")
	}
	if err := j.g.store.Update(ctx, func(tx store.Tx) error { return tx.Insert(nsJobs, job.ID, b) }); err != nil {
		if rec.Epoch != 0 {
			j.lease.l.Release(context.WithoutCancel(ctx), nsJobs, job.ID, j.g.replica)
		}
		return model.Job{}, model.Wrap(model.Internal, err, "recording job")
	}
	j.follow(rec)
	return job, nil
}

// runTask runs a task job's steps until it is terminal, too old, or ctx
// ends (the runner closes, and the job resumes at the next start, or its
// lease passed to another replica). Every save is fenced by the job's
// lease epoch, as run's are: a fenced-off follower stops.
func (j *Jobs) runTask(ctx context.Context, rec jobRecord, fn TaskFunc) {
	job := rec.Job
	log := j.g.log.With("job", job.ID, "kind", job.Kind, "driver", job.Driver, "provider", job.Provider)
	creds, err := j.g.secrets.Open(rec.Creds)
	if err != nil {
		j.fail(&job, "cannot resume: "+err.Error())
		if j.save(job, rec.Creds, rec.Epoch) {
			j.finished(job)
		}
		return
	}
	wait, lastErr := j.poll, ""
	for {
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
		wait = min(wait*2, maxPoll)
		job.Attempts++
		done, err := j.step(ctx, &job, creds, fn)
		switch code := model.CodeOf(err); {
		case err == nil && done:
			now := j.now().UTC()
			job.State, job.Updated = model.JobSucceeded, now
			job.Log = append(job.Log, model.JobLogEntry{Time: now, Message: "completed"})
		case err == nil:
			job.Updated = j.now().UTC()
			if !j.save(job, rec.Creds, rec.Epoch) {
				return
			}
		case code == model.Canceled && ctx.Err() != nil:
			return
		case code == model.Unavailable || code == model.DeadlineExceeded || code == model.ResourceExhausted:
			if msg := model.MessageOf(err); msg != lastErr {
				lastErr = msg
				job.Log = append(job.Log, model.JobLogEntry{Time: j.now().UTC(), Message: "step failed, retrying: " + msg})
				log.Warn("job step failed", "err", err)
				if !j.save(job, rec.Creds, rec.Epoch) {
					return
				}
			}
		default:
			j.fail(&job, model.MessageOf(err))
		}
		if !job.Terminal() && j.now().Sub(job.Created) > maxJobAge {
			j.fail(&job, fmt.Sprintf("gave up after %v", maxJobAge))
		}
		if job.Terminal() {
			if !j.save(job, rec.Creds, rec.Epoch) {
				log.Info("job finished elsewhere: not recording it again")
				return
			}
			log.Info("job finished", "state", job.State, "error", job.Error, "steps", job.Attempts)
			j.finished(job)
			return
		}
	}
}

func (j *Jobs) step(ctx context.Context, job *model.Job, creds model.Credentials, fn TaskFunc) (bool, error) {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	sess, err := j.g.openAs(ctx, Target{Driver: job.Driver, Provider: job.Provider}, creds)
	if err != nil {
		return false, err
	}
	return fn(ctx, &Task{Session: sess, Job: job})
}

// RefreshImage asks the driver for an image (never the catalog) and lays
// the answer over the catalog, as a job poll does.
func (s *Session) RefreshImage(ctx context.Context, id string) (model.Image, error) {
	return s.pollImage(ctx, id, "\x00")
}

// ImageGone asks the driver whether an image is gone (not found, or in
// the DELETED state), without touching the catalog.
func (s *Session) ImageGone(ctx context.Context, id string) (bool, error) {
	img, err := s.d.GetImage(ctx, id)
	if model.IsNotFound(classify(err)) {
		return true, nil
	}
	if err != nil {
		return false, classify(err)
	}
	return img.State == model.ImageDeleted || img.State == "DEREGISTERED", nil
}
