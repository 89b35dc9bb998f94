package gateway

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"slices"
	"strings"
	"time"

	"github.com/imagegw/imagegw/model"
	"github.com/imagegw/imagegw/store"
)

// DefaultJobRetention is how long a finished job is kept when the
// configuration does not say (job_retention).
const DefaultJobRetention = 7 * 24 * time.Hour

// pruneEvery is how often the runner removes expired finished jobs.
const pruneEvery = time.Hour

// retention is the configured job_retention, or the default.
func (j *Jobs) retention() time.Duration {
	if r := j.g.cfg.JobRetention; r > 0 {
		return r
	}
	return DefaultJobRetention
}

// Prune removes the jobs that finished more than job_retention before now
// (and their image index entries), and returns how many it removed.
// Running jobs are never removed.
func (j *Jobs) Prune(ctx context.Context) (int, error) { return j.pruneAt(ctx, j.now()) }

func (j *Jobs) pruneAt(ctx context.Context, now time.Time) (int, error) {
	cutoff := now.Add(-j.retention())
	var old []model.Job
	err := j.g.store.View(ctx, func(tx store.Tx) error {
		return tx.Scan(nsJobs, "", func(_ string, v []byte) error {
			var rec jobRecord
			if json.Unmarshal(v, &rec) == nil && rec.Job.Terminal() && rec.Job.Updated.Before(cutoff) {
				old = append(old, rec.Job)
			}
			return nil
		})
	})
	if err != nil || len(old) == 0 {
		return 0, err
	}
	err = j.g.store.Update(ctx, func(tx store.Tx) error {
		for _, job := range old {
			if err := tx.Delete(nsJobs, job.ID); err != nil && !model.IsNotFound(err) {
				return err
			}
			ik := indexKey(job.Driver, job.Provider, job.Target)
			if v, err := tx.Get(nsJobIndex, ik); err == nil && string(v) == job.ID {
				if err := tx.Delete(nsJobIndex, ik); err != nil && !model.IsNotFound(err) {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	return len(old), nil
}

// startPruner prunes at once and then every hour until the runner closes.
func (j *Jobs) startPruner() {
	prune := func() {
		if n, err := j.Prune(j.ctx); err != nil && j.ctx.Err() == nil {
			j.g.log.Warn("pruning finished jobs", "err", err)
		} else if n > 0 {
			j.g.log.Info("pruned finished jobs", "count", n, "retention", j.retention().String())
		}
	}
	prune() // before the gateway serves
	j.wg.Add(1)
	go func() {
		defer j.wg.Done()
		tick := time.NewTicker(pruneEvery)
		defer tick.Stop()
		for {
			select {
			case <-j.ctx.Done():
				return
			case <-tick.C:
				prune()
			}
		}
	}()
}

// JobPage is one page of a caller's jobs, oldest first.
type JobPage struct {
	Jobs []model.Job
	// NextCursor continues the list (JobQuery.Cursor); "" on the last
	// page.
	NextCursor string
}

// DefaultJobLimit and MaxJobLimit bound a page of jobs.
const (
	DefaultJobLimit = 100
	MaxJobLimit     = 1000
)

// JobQuery selects a page of one caller's jobs.
type JobQuery struct {
	// Caller is the identity whose jobs are listed (Session.Identity()):
	// required, a caller never sees another's jobs.
	Caller string
	// Limit is the page size: 0 is DefaultJobLimit; at most MaxJobLimit.
	Limit int
	// Cursor is a previous page's NextCursor.
	Cursor string
}

// jobCursor is where a page of jobs continues: after (Created, ID).
type jobCursor struct {
	Created time.Time `json:"c"`
	ID      string    `json:"i"`
}

func jobBefore(a model.Job, c jobCursor) bool {
	if d := a.Created.Compare(c.Created); d != 0 {
		return d < 0
	}
	return a.ID <= c.ID
}

// ListFor returns a page of the jobs q.Caller started, oldest first. An
// empty caller lists nothing; a malformed cursor is model.InvalidArgument.
func (j *Jobs) ListFor(ctx context.Context, q JobQuery) (JobPage, error) {
	if q.Limit == 0 {
		q.Limit = DefaultJobLimit
	}
	if q.Limit < 0 || q.Limit > MaxJobLimit {
		return JobPage{}, model.Errorf(model.InvalidArgument, "limit must be a number from 1 to %d", MaxJobLimit)
	}
	var after *jobCursor
	if q.Cursor != "" {
		b, err := base64.RawURLEncoding.DecodeString(q.Cursor)
		var c jobCursor
		if err != nil || json.Unmarshal(b, &c) != nil || c.ID == "" {
			return JobPage{}, model.Errorf(model.InvalidArgument, "marker %q is not a marker this list gave", q.Cursor)
		}
		after = &c
	}
	page := JobPage{Jobs: []model.Job{}}
	if q.Caller == "" {
		return page, nil
	}
	var mine []model.Job
	err := j.g.store.View(ctx, func(tx store.Tx) error {
		return tx.Scan(nsJobs, "", func(_ string, v []byte) error {
			var rec jobRecord
			if err := json.Unmarshal(v, &rec); err != nil {
				return nil // a corrupt record is nobody's
			}
			if rec.Job.Caller == q.Caller && (after == nil || !jobBefore(rec.Job, *after)) {
				mine = append(mine, rec.Job)
			}
			return nil
		})
	})
	if err != nil {
		return JobPage{}, model.Wrap(model.Internal, err, "listing jobs")
	}
	slices.SortFunc(mine, func(a, b model.Job) int {
		if c := a.Created.Compare(b.Created); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	if len(mine) > q.Limit {
		last := mine[q.Limit-1]
		b, _ := json.Marshal(jobCursor{Created: last.Created, ID: last.ID})
		page.NextCursor = base64.RawURLEncoding.EncodeToString(b)
		mine = mine[:q.Limit]
	}
	page.Jobs = append(page.Jobs, mine...)
	return page, nil
}

// GetFor returns a job the caller started; another caller's job, or one
// that does not exist, is model.NotFound alike.
func (j *Jobs) GetFor(ctx context.Context, caller, id string) (model.Job, error) {
	job, err := j.Get(ctx, id)
	if err == nil && (caller == "" || job.Caller != caller) {
		return model.Job{}, model.Errorf(model.NotFound, "job %s not found", id)
	}
	return job, err
}
