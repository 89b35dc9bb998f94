package gateway

import (
	"context"
	crand "crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"sync"
	"time"

	"github.com/imagegw/imagegw/model"
	"github.com/imagegw/imagegw/store"
)

// Jobs leased across replicas.
//
// When the store is a store.Leaser (PostgreSQL, shared by several
// replicas), each job is followed by one replica at a time: the replica
// that starts a job takes its lease first and renews it every third of
// job_lease while it polls; every replica claims, every third of
// job_lease, the leases that expired (their holder died or stalled) and
// resumes those jobs from their recorded state. Each lease change bumps the
// lease's epoch, and every write of a job record is fenced by it (see
// persist): a replica that lost a lease can no longer write the job, so a
// job's terminal state is written, and its hooks run, exactly once.
//
// Without a Leaser (SQLite: one process) the runner follows every job
// itself and resumes all of them at a restart, as before; epochs stay 0.

// defaultJobLease is job_lease's default.
const defaultJobLease = 15 * time.Second

// claimBatch bounds the expired leases one claim takes.
const claimBatch = 16

// leasing is the job runner's use of a store.Leaser.
type leasing struct {
	j      *Jobs
	l      store.Leaser
	ttl    time.Duration
	holder string
	once   sync.Once

	mu      sync.Mutex
	intents map[string]bool // intents this replica follows
}

// replicaID names this process in job logs, leases and notifications:
// host, pid and a random suffix (a restarted replica is a new holder).
func replicaID() string {
	host, _ := os.Hostname()
	b := make([]byte, 3)
	crand.Read(b)
	return fmt.Sprintf("%s:%d:%s", host, os.Getpid(), hex.EncodeToString(b))
}

// newLeasing returns the runner's leasing, or nil when the store has no
// Leaser.
func newLeasing(j *Jobs) *leasing {
	l, ok := j.g.store.(store.Leaser)
	if !ok {
		return nil
	}
	ttl := j.g.cfg.JobLease
	if ttl <= 0 {
		ttl = defaultJobLease
	}
	return &leasing{j: j, l: l, ttl: ttl, holder: j.g.replica}
}

// acquire takes the lease of a new job; the caller records the job with the
// epoch it returns.
func (ls *leasing) acquire(ctx context.Context, id string) (int64, error) {
	if ls == nil {
		return 0, nil
	}
	epoch, ok, err := ls.l.Acquire(ctx, nsJobs, id, ls.holder, ls.ttl)
	if err != nil {
		return 0, err
	}
	if !ok {
		return 0, model.Errorf(model.Internal, "job %s: its new lease is held elsewhere", id)
	}
	return epoch, nil
}

// hold keeps rec's lease while its follower runs: the context it returns
// ends when the lease is lost (another replica took the job over) or
// cannot be renewed in time. done stops renewing, then finishes the lease
// if the job is terminal and otherwise releases it, so that another
// replica takes the job at once (a graceful shutdown).
func (ls *leasing) hold(parent context.Context, rec jobRecord) (ctx context.Context, done func()) {
	if ls == nil {
		return parent, func() {}
	}
	ctx, cancel := context.WithCancel(parent)
	stopped := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	id, epoch := rec.Job.ID, rec.Epoch
	log := ls.j.g.log.With("job", id, "lease_epoch", epoch)
	go func() {
		defer wg.Done()
		renewed := time.Now()
		t := time.NewTicker(ls.ttl / 3)
		defer t.Stop()
		for {
			select {
			case <-stopped:
				return
			case <-ctx.Done():
				return
			case <-t.C:
			}
			rctx, rcancel := context.WithTimeout(ctx, ls.ttl/3)
			err := ls.l.Renew(rctx, nsJobs, id, ls.holder, epoch, ls.ttl)
			rcancel()
			switch {
			case err == nil:
				renewed = time.Now()
			case errors.Is(err, store.ErrLeaseLost):
				log.Warn("job lease lost: another replica follows the job now")
				cancel()
				return
			case time.Since(renewed) > ls.ttl*2/3:
				log.Warn("job lease could not be renewed in time: stopping so that another replica can take over", "err", err)
				cancel()
				return
			default:
				log.Warn("renewing job lease failed; retrying", "err", err)
			}
		}
	}()
	return ctx, func() {
		close(stopped)
		wg.Wait()
		lost := ctx.Err() != nil && parent.Err() == nil
		cancel()
		if lost {
			return
		}
		fctx, fcancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer fcancel()
		job, err := ls.j.Get(fctx, id)
		switch {
		case err == nil && job.Terminal():
			err = ls.l.Finish(fctx, nsJobs, id)
		default:
			err = ls.l.Release(fctx, nsJobs, id, ls.holder)
		}
		if err != nil {
			log.Warn("ending job lease", "err", err)
		}
	}
}

// adopt makes this replica the follower of a job whose lease it just took
// (at a restart or by Claim): it records the epoch and a log line in the
// job, unless the job is already terminal or gone (the lease is then
// finished). ok says whether to follow rec.
func (ls *leasing) adopt(ctx context.Context, id string, epoch int64, previous string) (rec jobRecord, ok bool, err error) {
	err = ls.j.g.store.Update(ctx, func(tx store.Tx) error {
		v, err := tx.Get(nsJobs, id)
		if model.IsNotFound(err) {
			return nil // its starter died before recording it
		}
		if err != nil {
			return err
		}
		if err := json.Unmarshal(v, &rec); err != nil {
			return model.Wrap(model.Internal, err, "corrupt job %s", id)
		}
		if rec.Job.Terminal() || rec.Epoch > epoch {
			return nil
		}
		msg := fmt.Sprintf("followed by replica %s (lease %d)", ls.holder, epoch)
		if previous != "" && previous != ls.holder {
			msg = fmt.Sprintf("taken over by replica %s from %s, whose lease ended (lease %d)", ls.holder, previous, epoch)
		}
		rec.Epoch = epoch
		rec.Job.Log = append(rec.Job.Log, model.JobLogEntry{Time: ls.j.now().UTC(), Message: msg})
		b, err := json.Marshal(rec)
		if err != nil {
			return err
		}
		ok = true
		return tx.Put(nsJobs, id, b)
	})
	if err == nil && !ok {
		err = ls.l.Finish(ctx, nsJobs, id)
	}
	return rec, ok && err == nil, err
}

// resumeOne takes the lease of a job found running at start: ok is false
// when a live replica holds it (it goes on following it; if it dies, Claim
// brings the job here or elsewhere).
func (ls *leasing) resumeOne(ctx context.Context, rec jobRecord) (jobRecord, bool, error) {
	epoch, ok, err := ls.l.Acquire(ctx, nsJobs, rec.Job.ID, ls.holder, ls.ttl)
	if err != nil || !ok {
		return rec, false, err
	}
	return ls.adopt(ctx, rec.Job.ID, epoch, "")
}

// startClaiming claims expired job leases every third of the lease, with
// jitter, until the runner closes, and follows their jobs.
func (ls *leasing) startClaiming() {
	if ls == nil {
		return
	}
	ls.once.Do(func() {
		ls.j.wg.Add(1)
		go func() {
			defer ls.j.wg.Done()
			for {
				wait := ls.ttl/3 + rand.N(ls.ttl/6+1)
				select {
				case <-ls.j.ctx.Done():
					return
				case <-time.After(wait):
				}
				ls.claim()
				ls.sweepIntents()
			}
		}()
	})
}

// claim takes expired leases until none is left and follows their jobs.
func (ls *leasing) claim() {
	log := ls.j.g.log
	for ls.j.ctx.Err() == nil {
		ctx, cancel := context.WithTimeout(ls.j.ctx, ls.ttl)
		leases, err := ls.l.Claim(ctx, nsJobs, ls.holder, ls.ttl, claimBatch)
		if err != nil {
			cancel()
			log.Warn("claiming expired job leases", "err", err)
			return
		}
		for _, l := range leases {
			rec, ok, err := ls.adopt(ctx, l.Key, l.Epoch, l.Previous)
			if err != nil {
				log.Warn("taking a job over", "job", l.Key, "err", err)
				// The lease expires again and is claimed later.
				continue
			}
			if ok {
				log.Info("job taken over", "job", l.Key, "from", l.Previous, "lease_epoch", l.Epoch)
				ls.j.follow(rec)
			}
		}
		cancel()
		if len(leases) < claimBatch {
			return
		}
	}
}

// persist writes job as epoch's follower, fenced: nothing is written, and
// persist returns false, when the stored job is already terminal or a
// later lease epoch follows it. Without leases epoch is 0 and only the
// terminal check applies.
func (j *Jobs) persist(ctx context.Context, job model.Job, creds []byte, epoch int64) (bool, error) {
	if job.Terminal() {
		creds = nil // no longer needed: do not keep them
	}
	b, err := json.Marshal(jobRecord{Job: job, Creds: creds, Epoch: epoch})
	if err != nil {
		return false, err
	}
	wrote := false
	err = j.g.store.Update(ctx, func(tx store.Tx) error {
		v, err := tx.Get(nsJobs, job.ID)
		if err == nil {
			var cur jobRecord
			if err := json.Unmarshal(v, &cur); err != nil {
				return model.Wrap(model.Internal, err, "corrupt job %s", job.ID)
			}
			if cur.Job.Terminal() || cur.Epoch > epoch {
				return nil
			}
		} else if !model.IsNotFound(err) {
			return err
		}
		wrote = true
		return tx.Put(nsJobs, job.ID, b)
	})
	return wrote && err == nil, err
}

// Creates in flight (intents.go) across replicas.
//
// An intent is recorded before the cloud call and settled by the replica
// that made the call; only one left behind by a replica that died is an
// orphan. With a Leaser, a replica therefore takes up an intent only once it
// is older than orphanAfter (no create call lasts that long: each is bounded
// by its provider's request_timeout), and only under the intent's lease, so
// that one replica reconciles it. Every claim tick also sweeps the intents
// for orphans, so that a dead replica's are reconciled without a restart.
// Without a Leaser every intent found at a start is an orphan, as before.

// nsIntentLeases names the leases of intents.
const nsIntentLeases = "intents"

// orphanAfter is how old an intent must be before another replica takes it
// up: past the longest create call (request_timeout) and a margin.
func (ls *leasing) orphanAfter() time.Duration {
	d := 5 * time.Minute
	for _, p := range ls.j.g.providers {
		d = max(d, 2*p.cfg.RequestTimeout)
	}
	return d
}

// young reports whether rec may still be in the hands of the replica that
// is making it: then no one else takes it up.
func (ls *leasing) young(rec intentRecord) bool {
	return ls != nil && ls.j.now().Sub(rec.Created) < ls.orphanAfter()
}

// takeIntent takes the lease of intent id and keeps renewing it until the
// returned done is called; ok is false when another replica holds it, or
// this one already follows it.
func (ls *leasing) takeIntent(id string) (done func(), ok bool) {
	if ls == nil {
		return func() {}, true
	}
	ls.mu.Lock()
	if ls.intents[id] {
		ls.mu.Unlock()
		return nil, false
	}
	ctx, cancel := context.WithTimeout(ls.j.ctx, ls.ttl)
	epoch, ok, err := ls.l.Acquire(ctx, nsIntentLeases, id, ls.holder, ls.ttl)
	cancel()
	if err != nil || !ok {
		ls.mu.Unlock()
		if err != nil {
			ls.j.g.log.Warn("leasing an unfinished create", "job", id, "err", err)
		}
		return nil, false
	}
	if ls.intents == nil {
		ls.intents = map[string]bool{}
	}
	ls.intents[id] = true
	ls.mu.Unlock()
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(ls.ttl / 3)
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case <-t.C:
			}
			rctx, rcancel := context.WithTimeout(context.Background(), ls.ttl/3)
			if err := ls.l.Renew(rctx, nsIntentLeases, id, ls.holder, epoch, ls.ttl); err != nil {
				ls.j.g.log.Warn("renewing the lease of an unfinished create", "job", id, "err", err)
			}
			rcancel()
		}
	}()
	return func() {
		close(stop)
		wg.Wait()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if _, err := ls.j.getIntent(id); model.IsNotFound(err) {
			err = ls.l.Finish(ctx, nsIntentLeases, id)
		} else {
			err = ls.l.Release(ctx, nsIntentLeases, id, ls.holder)
		}
		if err != nil {
			ls.j.g.log.Warn("ending the lease of an unfinished create", "job", id, "err", err)
		}
		ls.mu.Lock()
		delete(ls.intents, id)
		ls.mu.Unlock()
	}, true
}

// sweepIntents takes up the orphaned intents (older than orphanAfter) no
// replica follows.
func (ls *leasing) sweepIntents() {
	var recs []intentRecord
	ctx, cancel := context.WithTimeout(ls.j.ctx, ls.ttl)
	defer cancel()
	err := ls.j.g.store.View(ctx, func(tx store.Tx) error {
		return tx.Scan(nsIntents, "", func(_ string, v []byte) error {
			var rec intentRecord
			if json.Unmarshal(v, &rec) == nil && !ls.young(rec) {
				recs = append(recs, rec)
			}
			return nil
		})
	})
	if err != nil {
		ls.j.g.log.Warn("looking for unfinished creates", "err", err)
		return
	}
	for _, rec := range recs {
		ls.j.followIntent(rec)
	}
}
