package gateway

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/imagegw/imagegw/drivers"
	"github.com/imagegw/imagegw/model"
	"github.com/imagegw/imagegw/store"
)

// Idempotent creates. Before a Session asks the cloud for a new image it
// records an intent: the id the job following the image will have, also
// given to the driver as model.CreateImage.Token (which every driver here
// keeps with the image: docs/drivers.md, CreateFinder). The intent goes once the job is recorded or the cloud refused the
// create. One left behind, because the gateway was killed mid-create or the
// cloud's answer was lost, is reconciled: the driver's CreateFinder looks
// for the image carrying the token; found, it gets its job (with the
// intent's id); not found within intentGrace, nothing was made and the
// intent goes. So every image the gateway made has a job.

// nsIntents holds the creates in flight, by the job id they will have.
const nsIntents = "intents"

// intentGrace is how long after a create a NotFound from FindCreated means
// "not visible yet" (clouds are eventually consistent) rather than "never
// made".
const intentGrace = 2 * time.Minute

// intentRecord is a create in flight, as the store keeps it.
type intentRecord struct {
	ID       string // the job's id to be, and the create's token
	Kind     string
	Driver   string
	Provider string
	Caller   string            `json:",omitempty"` // the session's identity (model.Job.Caller)
	Params   map[string]string `json:",omitempty"`
	Instance string            // what the image is made of, for the logs
	// Name and Description are the create's, for the overlay of a found
	// image (JobMeta.Meta, a function, is not kept: a found image lacks it).
	Name        string `json:",omitempty"`
	Description string `json:",omitempty"`
	Created     time.Time
	Creds       []byte `json:",omitempty"` // sealed, to look for the image with
}

// intend records the intent to create an image before the cloud call. It
// returns req with the token and meta with the job id set to it.
func (s *Session) intend(ctx context.Context, req model.CreateImage, meta JobMeta) (model.CreateImage, JobMeta, error) {
	sealed, err := s.g.secrets.Seal(s.creds)
	if err != nil {
		return req, meta, model.Wrap(model.Internal, err, "sealing job credentials")
	}
	rec := intentRecord{ID: uuid.NewString(), Kind: model.JobCreateImage, Driver: s.Target.Driver, Provider: s.Target.Provider,
		Caller: s.identity, Params: meta.Params, Instance: req.InstanceID, Name: req.Name, Description: req.Description,
		Created: s.g.jobs.now().UTC(), Creds: sealed}
	b, err := json.Marshal(rec)
	if err != nil {
		return req, meta, model.Wrap(model.Internal, err, "recording the create")
	}
	// Not bounded by the request: the record must outlive a client gone.
	if err := store.Put(context.WithoutCancel(ctx), s.g.store, nsIntents, rec.ID, b); err != nil {
		return req, meta, model.Wrap(model.Internal, err, "recording the create")
	}
	req.Token, meta.ID = rec.ID, rec.ID
	return req, meta, nil
}

// settleIntent ends meta's intent after the cloud call (err: its error, or
// the job's): nil or a definite refusal drops it; an outcome the gateway
// cannot know (the cloud unreachable or too slow, the client gone, the job
// not recorded) keeps it and looks for the image in the background.
func (j *Jobs) settleIntent(meta JobMeta, err error) {
	if meta.ID == "" {
		return
	}
	switch model.CodeOf(err) {
	case model.Unavailable, model.DeadlineExceeded, model.Canceled, model.Internal, model.Unknown:
		rec, gerr := j.getIntent(meta.ID)
		if gerr != nil {
			j.g.log.Error("create of unknown outcome not recorded", "job", meta.ID, "err", gerr)
			return
		}
		j.g.log.Warn("create of unknown outcome: looking for its image", "job", meta.ID, "err", err)
		j.followIntent(rec)
		return
	}
	j.dropIntent(meta.ID)
}

func (j *Jobs) getIntent(id string) (intentRecord, error) {
	var rec intentRecord
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	b, err := store.Get(ctx, j.g.store, nsIntents, id)
	if err == nil {
		err = json.Unmarshal(b, &rec)
	}
	return rec, err
}

func (j *Jobs) dropIntent(id string) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	err := j.g.store.Update(ctx, func(tx store.Tx) error { return tx.Delete(nsIntents, id) })
	if err != nil && !model.IsNotFound(err) {
		j.g.log.Error("dropping a settled create", "job", id, "err", err)
	}
}

// reconcileIntents follows every intent left by a gateway that stopped
// mid-create (at a start no request is in flight, so each is an orphan).
func (j *Jobs) reconcileIntents(ctx context.Context) error {
	var recs []intentRecord
	err := j.g.store.View(ctx, func(tx store.Tx) error {
		return tx.Scan(nsIntents, "", func(_ string, v []byte) error {
			var rec intentRecord
			if err := json.Unmarshal(v, &rec); err != nil {
				return err
			}
			recs = append(recs, rec)
			return nil
		})
	})
	if err != nil {
		return fmt.Errorf("reconciling creates: %w", err)
	}
	for _, rec := range recs {
		if j.lease.young(rec) {
			continue // another replica may be making it (lease.go)
		}
		j.g.log.Info("reconciling a create the gateway did not see finish", "job", rec.ID, "driver", rec.Driver, "provider", rec.Provider, "instance", rec.Instance)
		j.followIntent(rec)
	}
	return nil
}

func (j *Jobs) followIntent(rec intentRecord) {
	done, ok := j.lease.takeIntent(rec.ID) // one replica at a time (lease.go)
	if !ok {
		return
	}
	j.wg.Add(1)
	go func() {
		defer j.wg.Done()
		defer done()
		j.runIntent(rec)
	}()
}

// runIntent looks for rec's image until it is found (it gets its job), it
// cannot have been made, or the runner closes (the intent stays for the
// next start).
func (j *Jobs) runIntent(rec intentRecord) {
	log := j.g.log.With("job", rec.ID, "driver", rec.Driver, "provider", rec.Provider, "instance", rec.Instance)
	var wait time.Duration
	for {
		select {
		case <-j.ctx.Done():
			return
		case <-time.After(wait):
		}
		wait = min(max(2*wait, j.poll), maxPoll)
		if _, err := j.Get(j.ctx, rec.ID); err == nil { // its job was recorded after all
			j.dropIntent(rec.ID)
			return
		}
		if _, ok := j.g.providers[rec.Provider]; !ok {
			j.failIntent(rec, fmt.Sprintf("provider %s is no longer configured", rec.Provider))
			return
		}
		creds, err := j.g.secrets.Open(rec.Creds)
		if err != nil {
			j.failIntent(rec, "cannot look for the image: "+err.Error())
			return
		}
		img, sess, err := j.find(rec, creds)
		code := model.CodeOf(err)
		switch {
		case err == nil:
			img, err := sess.recordNew(j.ctx, img, rec.Name, rec.Description, nil, nil)
			var job model.Job
			if err == nil {
				job, err = j.start(j.ctx, sess, rec.Kind, img, JobMeta{ID: rec.ID, Params: rec.Params})
			}
			if err == nil {
				log.Info("found the image of an unfinished create", "image", img.ID, "job_state", job.State)
				j.dropIntent(rec.ID)
				return
			}
			log.Warn("recording the job of a found image", "image", img.ID, "err", err)
		case code == model.Unimplemented:
			j.failIntent(rec, "the gateway stopped during the create and driver "+rec.Driver+" cannot look for what it made: whether the cloud made an image is unknown")
			return
		case code == model.NotFound && j.now().Sub(rec.Created) > intentGrace:
			log.Info("an unfinished create made no image")
			j.dropIntent(rec.ID)
			return
		case code == model.NotFound:
		case code == model.Unauthenticated || code == model.PermissionDenied:
			j.failIntent(rec, "the cloud refused the create's credentials: "+model.MessageOf(err))
			return
		case code == model.Canceled && j.ctx.Err() != nil:
			return
		default:
			log.Warn("looking for the image of an unfinished create", "err", err)
		}
		if j.now().Sub(rec.Created) > maxJobAge {
			j.failIntent(rec, fmt.Sprintf("gave up looking for the image after %v", maxJobAge))
			return
		}
	}
}

// find asks rec's driver for the image tagged with rec.ID.
func (j *Jobs) find(rec intentRecord, creds model.Credentials) (model.Image, *Session, error) {
	ctx, cancel := context.WithTimeout(j.ctx, time.Minute)
	defer cancel()
	sess, err := j.g.openAs(ctx, Target{Driver: rec.Driver, Provider: rec.Provider}, creds)
	if err != nil {
		return model.Image{}, nil, err
	}
	f, ok := drivers.As[drivers.CreateFinder](sess.d) // through the metrics wrapper too
	if !ok {
		return model.Image{}, nil, sess.Unsupported("find_created")
	}
	defer sess.cloudCall(&ctx, "FindCreated")()
	img, err := f.FindCreated(ctx, rec.ID)
	return img, sess, classify(err)
}

// failIntent records rec as a failed job (so that the client who may have
// got no answer sees what happened) and drops the intent.
func (j *Jobs) failIntent(rec intentRecord, msg string) {
	now := j.now().UTC()
	job := model.Job{ID: rec.ID, Kind: rec.Kind, Driver: rec.Driver, Provider: rec.Provider, Caller: rec.Caller,
		State: model.JobRunning, Created: rec.Created, Updated: now, Params: rec.Params}
	j.fail(&job, msg)
	j.save(job, nil, 0)
	j.g.log.Warn("unfinished create failed", "job", rec.ID, "error", msg)
	j.dropIntent(rec.ID)
}

// jobID is the id a job started with meta gets: the intent's, else new.
func (m JobMeta) jobID() string {
	if m.ID != "" {
		return m.ID
	}
	return uuid.NewString()
}
