package cycle

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/gorilla/mux"

	"github.com/imagegw/imagegw/gateway"
	"github.com/imagegw/imagegw/model"
	"github.com/imagegw/imagegw/store"
)

// Job kinds of the front's task jobs (gateway.RegisterTask).
const (
	kindDelete = "cycle.delete"
	kindPrune  = "cycle.prune"
	kindImport = "cycle.import"
)

// Job parameters the front keeps with its jobs.
const (
	pAction  = "cycle.action"
	pHub     = "cycle.hub"
	pKey     = "cycle.key"
	pCaption = "cycle.caption"
	pInput   = "cycle.input"  // the task's input, as JSON
	pImage   = "cycle.image"  // the image rendered at the request (delete)
	pOutput  = "cycle.output" // the task's output, as JSON
	pAsked   = "cycle.asked"  // "1" once the cloud was asked to delete
)

// nsTombstones keeps the last view of images deleted through the front:
// hub id/image id → image JSON, so that a GET shows them "deleted".
const nsTombstones = "cycle_deleted"

func init() {
	gateway.RegisterTask(kindDelete, deleteStep)
	gateway.RegisterTask(kindPrune, pruneStep)
	gateway.RegisterTask(kindImport, importStep)
}

// startJob starts a task job of the call's hub and key and answers its
// JobDescriptor.
func (c *call) startJob(status int, kind, action, target, caption string, input map[string]string, extra map[string]string) error {
	in, _ := json.Marshal(input)
	params := map[string]string{pAction: action, pHub: c.hub.ID, pKey: c.key.ID, pCaption: caption, pInput: string(in)}
	for k, v := range extra {
		params[k] = v
	}
	job, err := c.sess.StartTask(c.ctx, gateway.TaskSpec{
		ID: NewObjectID(c.f.now()), Kind: kind, Target: target, Params: params,
		Message: caption + " (queued)",
	})
	if err != nil {
		return err
	}
	return c.send(status, map[string]any{"data": map[string]any{
		"action": action,
		"job": map[string]any{
			"id": job.ID, "accepted": true, "queue": "images", "schedule": ts(job.Created),
			"parallel": map[string]any{"sub_queue": nil, "tasks": false},
			"tasks":    []map[string]any{{"caption": caption, "header": "images." + action, "input": input, "steps": nil}},
		},
	}})
}

// deleteImage is DELETE /v1/images/{id}: marks the image deleting and
// starts a delete job.
func (f *Front) deleteImage(c *call) error {
	img, id, err := c.imageToChange()
	if err != nil {
		return err
	}
	if st := cycleState(&img); st == stDeleting || st == stDeleted {
		return newErr(403, "403.invalid-state", "the image is already "+st)
	}
	now := c.f.now().UTC()
	img, err = c.sess.UpdateImageMeta(c.ctx, img.ID, model.ImageUpdate{}, func(m *model.ImageMeta) {
		if m.Fields == nil {
			m.Fields = map[string]string{}
		}
		m.Fields[fState], m.Fields[fChanged] = stDeleting, now.Format(time.RFC3339Nano)
	})
	if err != nil {
		return toErr(err, "404.image")
	}
	view, _ := json.Marshal(c.render(&img, id))
	return c.startJob(200, kindDelete, "delete", img.ID, "Delete image "+img.Name,
		map[string]string{"image_id": id}, map[string]string{pImage: string(view)})
}

// deleteStep asks the cloud once to delete the job's image, then polls
// until it is gone and keeps its tombstone.
func deleteStep(ctx context.Context, t *gateway.Task) (bool, error) {
	s, job := t.Session, t.Job
	if job.Params[pAsked] != "1" {
		err := s.DeleteImage(ctx, job.Target)
		switch code := model.CodeOf(err); {
		case err == nil, code == model.NotFound:
			job.Params[pAsked] = "1"
			logf(job, "the cloud was asked to delete image %s", job.Target)
		case code == model.Unavailable || code == model.DeadlineExceeded || code == model.ResourceExhausted:
			return false, err
		default: // it stays: not deleting any more
			_, _ = s.UpdateImageMeta(ctx, job.Target, model.ImageUpdate{}, func(m *model.ImageMeta) {
				delete(m.Fields, fState)
				delete(m.Fields, fChanged)
			})
			return false, err
		}
	}
	gone, err := s.ImageGone(ctx, job.Target)
	if err != nil || !gone {
		return false, err
	}
	var input map[string]string
	_ = json.Unmarshal([]byte(job.Params[pInput]), &input)
	if err := tombstone(ctx, t.Gateway().Store(), job.Params[pHub], input["image_id"], job.Params[pImage]); err != nil {
		return false, err
	}
	setOutput(job, map[string]string{"deleted": input["image_id"]})
	logf(job, "image %s is deleted", job.Target)
	return true, nil
}

func logf(job *model.Job, format string, args ...any) {
	job.Log = append(job.Log, model.JobLogEntry{Time: time.Now().UTC(), Message: fmt.Sprintf(format, args...)})
}

func setOutput(job *model.Job, out map[string]string) {
	b, _ := json.Marshal(out)
	job.Params[pOutput] = string(b)
}

// tombstone keeps the view of a deleted image, state deleted.
func tombstone(ctx context.Context, st store.Store, hub, id, view string) error {
	var img map[string]any
	if err := json.Unmarshal([]byte(view), &img); err != nil {
		return nil // nothing to keep
	}
	now := ts(time.Now())
	img["state"] = map[string]any{"current": stDeleted, "changed": now}
	if ev, ok := img["events"].(map[string]any); ok {
		ev["deleted"], ev["updated"] = now, now
	}
	b, err := json.Marshal(img)
	if err != nil {
		return err
	}
	return store.Put(ctx, st, nsTombstones, hub+"/"+id, b)
}

// tombstone returns the kept view of a deleted image of the call's hub.
func (c *call) tombstone(id string) (json.RawMessage, bool) {
	v, err := store.Get(c.ctx, c.f.gw.Store(), nsTombstones, c.hub.ID+"/"+id)
	if err != nil {
		return nil, false
	}
	return v, true
}

// pruneImages is POST /v1/images/tasks {"action":"prune","contents":{"source_ids":[…]}}.
func (f *Front) pruneImages(c *call) error {
	m, err := c.readBody()
	if err != nil {
		return err
	}
	action, ok, err := stringField(m, "action", "/action")
	if err != nil {
		return err
	}
	if !ok {
		return newErr(422, "422.missing-argument", `action is required: "prune"`).at("/action")
	}
	if action != "prune" {
		return newErr(422, "422.invalid-argument", fmt.Sprintf(`action %q is not "prune"`, action)).at("/action")
	}
	var contents struct {
		SourceIDs *[]string `json:"source_ids"`
	}
	if raw, ok := m["contents"]; ok {
		if err := json.Unmarshal(raw, &contents); err != nil {
			return newErr(422, "422.invalid-argument", "contents.source_ids must be a list of source ids").at("/contents/source_ids")
		}
	}
	if contents.SourceIDs == nil || len(*contents.SourceIDs) == 0 {
		return newErr(422, "422.missing-argument", "contents.source_ids is required: the sources whose unused images to delete").at("/contents/source_ids")
	}
	var natives []string
	for i, id := range *contents.SourceIDs {
		native := id
		if gateway.IsObjectID(id) {
			n, err := c.sess.ResolveInstance(c.ctx, gateway.SchemeObjectID, id)
			switch {
			case err == nil:
				native = n
			case model.IsNotFound(err):
				// a source gone since: its images keep its ObjectID
			default:
				return toErr(err, "404.image.source").at(fmt.Sprintf("/contents/source_ids/%d", i))
			}
		}
		if strings.TrimSpace(native) == "" {
			return newErr(422, "422.invalid-argument", "a source id is empty").at(fmt.Sprintf("/contents/source_ids/%d", i))
		}
		natives = append(natives, native)
	}
	srcs, _ := json.Marshal(natives)
	return c.startJob(202, kindPrune, "prune", "", "Prune images", map[string]string{"source_ids": strings.Join(*contents.SourceIDs, ",")},
		map[string]string{"cycle.sources": string(srcs)})
}

// pruneStep deletes every image made through the front from one of the
// job's sources that no instance uses, and lists what it deleted and kept.
func pruneStep(ctx context.Context, t *gateway.Task) (bool, error) {
	s, job := t.Session, t.Job
	var srcs []string
	_ = json.Unmarshal([]byte(job.Params["cycle.sources"]), &srcs)
	p, err := s.QueryImages(ctx, model.ImageQuery{Fields: map[string]string{fSourceType: "direct"}}, model.ListOptions{})
	if err != nil {
		return false, err
	}
	insts, err := s.ListInstances(ctx)
	if err != nil && model.CodeOf(err) != model.Unimplemented {
		return false, err
	}
	used := map[string]bool{}
	for _, in := range insts {
		used[in.ImageID] = true
	}
	var deleted, kept []string
	imgs := p.Images()
	for i := range imgs {
		img := &imgs[i]
		src := field(img, fSource)
		srcOID := s.ID(gateway.SchemeObjectID, gateway.KindInstances, src)
		match := false
		for _, want := range srcs {
			match = match || want == src || strings.EqualFold(want, srcOID)
		}
		if !match {
			continue
		}
		oid := s.ID(gateway.SchemeObjectID, gateway.KindImages, img.ID)
		if used[img.ID] {
			kept = append(kept, oid)
			continue
		}
		if err := s.DeleteImage(ctx, img.ID); err != nil && !model.IsNotFound(err) {
			return false, err
		}
		logf(job, "deleted image %s (%s)", img.ID, oid)
		deleted = append(deleted, oid) // gone: a GET answers 404.image
	}
	setOutput(job, map[string]string{"deleted": strings.Join(deleted, ","), "kept": strings.Join(kept, ",")})
	return true, nil
}

// importImage is POST /v1/images/{id}/tasks {"action":"import"}.
func (f *Front) importImage(c *call) error {
	m, err := c.readBody()
	if err != nil {
		return err
	}
	action, ok, err := stringField(m, "action", "/action")
	if err != nil {
		return err
	}
	if !ok {
		return newErr(422, "422.missing-argument", `action is required: "import"`).at("/action")
	}
	if action != "import" {
		return newErr(422, "422.invalid-argument", fmt.Sprintf(`action %q is not "import"`, action)).at("/action")
	}
	img, id, err := c.imageToChange()
	if e, ok := err.(*cyErr); ok && e.Code == "404.image" && gateway.IsObjectID(id) {
		if sib, src, ok := c.findSibling(id); ok {
			return c.startJob(200, kindImport, "import", "", "Import image "+src.Name+" from "+sib,
				map[string]string{"image_id": id}, map[string]string{pCopyFrom: sib, pCopySrc: src.ID, pCopyName: src.Name, pCopyDesc: src.Description})
		}
	}
	if err != nil {
		return err
	}
	if st := cycleState(&img); st == stDeleting || st == stDeleted {
		return newErr(403, "403.invalid-state", "the image is "+st)
	}
	return c.startJob(200, kindImport, "import", img.ID, "Import image "+img.Name,
		map[string]string{"image_id": id}, map[string]string{"cycle.before": img.State + "\x00" + img.Name + "\x00" + fmt.Sprint(img.SizeBytes)})
}

// Parameters of an import that copies from a sibling provider.
const (
	pCopyFrom = "cycle.copy_from" // the sibling provider
	pCopySrc  = "cycle.copy_src"  // the image's native id there
	pCopyName = "cycle.copy_name"
	pCopyDesc = "cycle.copy_desc"
	pCopied   = "cycle.copied" // the copy's native id in the hub's provider
)

// findSibling looks for an image the hub's provider lacks in the other
// providers of its driver (with the hub's credentials): its provider and
// the image.
func (c *call) findSibling(id string) (string, model.Image, bool) {
	info, err := c.f.gw.Driver(c.sess.Target.Driver)
	if err != nil {
		return "", model.Image{}, false
	}
	for _, p := range info.Providers {
		if p == c.sess.Target.Provider {
			continue
		}
		sib, err := c.f.gw.Open(c.ctx, gateway.Target{Driver: c.sess.Target.Driver, Provider: p}, c.sess.Credentials())
		if err != nil {
			continue
		}
		native, err := sib.ResolveImage(c.ctx, gateway.SchemeObjectID, id)
		if err != nil {
			continue
		}
		if img, err := sib.GetImage(c.ctx, native); err == nil {
			return p, img, true
		}
	}
	return "", model.Image{}, false
}

// copyStep copies the image from the sibling provider once, then follows
// the copy until it is terminal.
func copyStep(ctx context.Context, t *gateway.Task) (bool, error) {
	s, job := t.Session, t.Job
	if job.Params[pCopied] == "" {
		img, _, err := s.CopyImage(ctx, job.Params[pCopyFrom], job.Params[pCopySrc], job.Params[pCopyName], job.Params[pCopyDesc], gateway.JobMeta{
			Params: map[string]string{"front": "cycle", "hub": job.Params[pHub]},
			Meta: func(m *model.ImageMeta) {
				if m.Fields == nil {
					m.Fields = map[string]string{}
				}
				m.Fields[fState] = stDownloading
				m.Fields[fHub] = job.Params[pHub]
			}})
		if err != nil {
			return false, err
		}
		job.Params[pCopied], job.Target = img.ID, img.ID
		logf(job, "copying image %s from %s as %s", job.Params[pCopySrc], job.Params[pCopyFrom], img.ID)
		return false, nil
	}
	img, err := s.RefreshImage(ctx, job.Params[pCopied])
	if err != nil || !img.Terminal() {
		return false, err
	}
	if !strings.EqualFold(img.State, model.ImageAvailable) {
		return false, model.Errorf(model.FailedPrecondition, "the copy %s ended %s", img.ID, img.State)
	}
	setOutput(job, map[string]string{"copied": s.ID(gateway.SchemeObjectID, gateway.KindImages, img.ID), "from": job.Params[pCopyFrom], "state": cycleState(&img), "changed": "true"})
	logf(job, "image %s is copied: %s", img.ID, img.State)
	return true, nil
}

// importStep refreshes the gateway's record of the image from the cloud,
// or copies it from a sibling provider.
func importStep(ctx context.Context, t *gateway.Task) (bool, error) {
	s, job := t.Session, t.Job
	if job.Params[pCopyFrom] != "" {
		return copyStep(ctx, t)
	}
	img, err := s.RefreshImage(ctx, job.Target)
	if err != nil {
		return false, err
	}
	if !img.Terminal() {
		return false, nil // still in progress: poll again
	}
	changed := job.Params["cycle.before"] != img.State+"\x00"+img.Name+"\x00"+fmt.Sprint(img.SizeBytes)
	out := map[string]string{"image_id": s.ID(gateway.SchemeObjectID, gateway.KindImages, img.ID), "state": cycleState(&img), "changed": fmt.Sprint(changed)}
	setOutput(job, out)
	if changed {
		logf(job, "refreshed image %s from the cloud: %s", img.ID, img.State)
	} else {
		logf(job, "image %s is current: no change", img.ID)
	}
	return true, nil
}

// getJob is GET /v1/jobs/{id}.
func (f *Front) getJob(c *call) error {
	id := strings.ToLower(mux.Vars(c.r)["id"])
	if !gateway.IsObjectID(id) {
		return newErr(404, "404.job", "job ids are 24 hex digits")
	}
	job, err := c.f.gw.Jobs().Get(c.ctx, id)
	if err != nil {
		return toErr(err, "404.job")
	}
	if job.Params[pHub] != c.hub.ID {
		return newErr(404, "404.job", "job "+id+" not found")
	}
	return c.send(200, map[string]any{"data": renderJob(job)})
}

// renderJob is a job in the spec's Job shape.
func renderJob(job model.Job) map[string]any {
	action := job.Params[pAction]
	var input, output map[string]string
	_ = json.Unmarshal([]byte(job.Params[pInput]), &input)
	_ = json.Unmarshal([]byte(job.Params[pOutput]), &output)
	if input == nil {
		input = map[string]string{}
	}
	if output == nil {
		output = map[string]string{}
	}
	state, taskState := "queued", "pending"
	started, completed := zeroTime, zeroTime
	if job.Attempts > 0 {
		state, taskState, started = "running", "running", job.Created
	}
	var jobErr, taskErr any
	switch job.State {
	case model.JobSucceeded:
		state, taskState, completed = "completed", "completed", job.Updated
	case model.JobFailed:
		state, taskState, completed = "error", "error", job.Updated
		jobErr = map[string]any{"message": job.Error}
		taskErr = map[string]any{"message": job.Error}
	}
	if started.IsZero() && !completed.IsZero() {
		started = job.Created
	}
	sum := sha256.Sum256([]byte(action + job.Params[pInput]))
	tsum := sha256.Sum256([]byte(job.ID + "/task/0"))
	events := map[string]any{"queued": ts(job.Created), "started": ts(started), "completed": ts(completed)}
	return map[string]any{
		"id": job.ID, "hub_id": job.Params[pHub], "queue": "images", "caption": job.Params[pCaption],
		"events": events, "schedule": ts(job.Created), "expires": ts(job.Created.Add(24 * time.Hour)),
		"tasks": []map[string]any{{
			"id": hex.EncodeToString(tsum[:12]), "caption": job.Params[pCaption], "header": "images." + action,
			"events": events, "steps": []any{}, "state": map[string]any{"current": taskState, "changed": ts(job.Updated)},
			"input": input, "output": output, "error": taskErr,
		}},
		"hash": hex.EncodeToString(sum[:]), "limit_duplicates": false,
		"creator": creatorRef{ID: job.Params[pKey], Type: "api-key"},
		"state":   map[string]any{"current": state, "changed": ts(job.Updated), "error": jobErr},
	}
}
