package cloudapi

import (
	"cmp"
	"context"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/gorilla/mux"

	"github.com/imagegw/imagegw/api/cloudapi/ids"
	"github.com/imagegw/imagegw/gateway"
	"github.com/imagegw/imagegw/model"
)

// imageJSON is the CloudAPI 9.x Image. The first five fields are always
// present; the others only with a value.
type imageJSON struct {
	ID           string         `json:"id"`
	Name         string         `json:"name"`
	Version      string         `json:"version"`
	OS           string         `json:"os"`
	Requirements map[string]any `json:"requirements"`
	Type         string         `json:"type,omitempty"`
	Description  string         `json:"description,omitempty"`
	Homepage     string         `json:"homepage,omitempty"`
	EULA         string         `json:"eula,omitempty"`
	PublishedAt  string         `json:"published_at,omitempty"`
	Owner        string         `json:"owner,omitempty"`
	Public       *bool          `json:"public,omitempty"`
	State        string         `json:"state,omitempty"`
	Tags         map[string]any `json:"tags,omitempty"`
	ACL          *[]string      `json:"acl,omitempty"`
	Origin       string         `json:"origin,omitempty"`
	Files        []imageFile    `json:"files,omitempty"`
	ImageSize    int64          `json:"image_size,omitempty"`
	Error        *imageError    `json:"error,omitempty"`
}

type imageFile struct {
	Compression string `json:"compression"`
	SHA1        string `json:"sha1,omitempty"`
	Size        int64  `json:"size"`
}

type imageError struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// Image states and types CloudAPI knows.
var (
	validStates = map[string]bool{"active": true, "unactivated": true, "disabled": true, "creating": true, "failed": true}
	validTypes  = map[string]bool{"zone-dataset": true, "lx-dataset": true, "zvol": true, "docker": true, "lxd": true, "other": true}
	validOS     = map[string]bool{"smartos": true, "linux": true, "windows": true, "bsd": true, "illumos": true, "other": true}
)

// cloudState maps a model state to CloudAPI's.
func cloudState(s string) string {
	switch strings.ToUpper(s) {
	case model.ImageAvailable:
		return "active"
	case model.ImagePending, "QUEUED", "SAVING", "CREATING", "IMPORTING", "UPLOADING":
		return "creating"
	case model.ImageFailed:
		return "failed"
	case model.ImageDisabled, "DEPRECATED", "UNAVAILABLE":
		return "disabled"
	}
	return "unactivated"
}

// owner returns the CloudAPI owner of an image and whether it is the
// caller.
func (c *call) owner(img model.Image, m imageMeta) (string, bool) {
	creds := c.acct.CredentialsFor(c.target.Driver)
	if m.Creator != "" && m.Creator != c.login {
		// made through the gateway by another account (which may share
		// the cloud identity): that account owns it
		if id := c.accountID(m.Creator); id != "" {
			return id, false
		}
	}
	if m.Creator == c.login || (img.OwnerID != "" && img.OwnerID == creds.User) {
		return c.acct.ID, true
	}
	if img.OwnerID == "" {
		return "", false
	}
	if u, ok := c.owners[img.OwnerID]; ok {
		return u, false
	}
	if c.owners == nil {
		c.owners = map[string]string{}
	}
	u := ids.UUID(c.target.Driver, c.target.Provider, ids.Owners, img.OwnerID)
	c.owners[img.OwnerID] = u
	return u, false
}

// accountID returns the id of another login, cached for the request; ""
// when it no longer exists.
func (c *call) accountID(login string) string {
	if id, ok := c.others[login]; ok {
		return id
	}
	if c.others == nil {
		c.others = map[string]string{}
	}
	a, err := c.f.accts.Get(c.r.Context(), login)
	if err != nil {
		a.ID = ""
	}
	c.others[login] = a.ID
	return a.ID
}

// render builds the Image of a model image with its overlay.
func (c *call) render(img model.Image, m imageMeta, id string) imageJSON {
	out := imageJSON{ID: id, Name: img.Name, Version: img.Version, OS: strings.ToLower(img.OS),
		Requirements: map[string]any{}, Description: img.Description, Homepage: m.Homepage, EULA: m.EULA,
		State: cloudState(img.State), Origin: m.Origin}
	if m.Name != nil {
		out.Name = *m.Name
	}
	if m.Description != nil {
		out.Description = *m.Description
	}
	// The cloud's own version first (spec decision 8), then the one the
	// gateway recorded at create or update time, then 1.0.0.
	out.Version = cmp.Or(img.Version, m.Version, "1.0.0")
	if !validOS[out.OS] {
		out.OS = "other"
	}
	out.Type = "zvol"
	if validTypes[img.Type] {
		out.Type = img.Type
	}
	if !img.Created.IsZero() {
		out.PublishedAt = img.Created.UTC().Format(time.RFC3339)
	}
	owner, mine := c.owner(img, m)
	out.Owner = owner
	public := !mine
	switch img.Visibility {
	case model.VisibilityPublic:
		public = true
	case model.VisibilityPrivate, model.VisibilityShared:
		public = false
	}
	out.Public = &public
	if len(img.Tags) > 0 || len(m.Tags) > 0 {
		out.Tags = map[string]any{}
		for k, v := range img.Tags {
			out.Tags[k] = v
		}
		for k, v := range m.Tags {
			out.Tags[k] = v
		}
	}
	if len(m.ACL) > 0 {
		acl := append([]string(nil), m.ACL...)
		out.ACL = &acl
	}
	if img.SizeBytes > 0 {
		comp := "none"
		if strings.HasSuffix(img.DiskFormat, ".gz") {
			comp = "gzip"
		}
		out.Files = []imageFile{{Compression: comp, SHA1: img.Native["sha1"], Size: img.SizeBytes}}
		if out.Type == "zvol" {
			out.ImageSize = img.SizeBytes >> 20
		}
	}
	if out.State == "failed" {
		msg := img.StateReason
		if msg == "" {
			msg = "image creation failed"
		}
		code := "InternalError"
		if strings.Contains(strings.ToLower(msg), "not supported") {
			code = "NotSupported"
		}
		out.Error = &imageError{Code: code, Message: msg}
	}
	return out
}

// imageFilter is ListImages' parsed query.
type imageFilter struct {
	name, version, os, owner, typ, state string
	public                               *bool
}

func matchTilde(want, got string) bool {
	if want == "" {
		return true
	}
	if strings.HasPrefix(want, "~") {
		return strings.Contains(got, want[1:])
	}
	return want == got
}

func (fl imageFilter) match(img imageJSON) bool {
	if !matchTilde(fl.name, img.Name) || !matchTilde(fl.version, img.Version) {
		return false
	}
	if fl.os != "" && fl.os != img.OS || fl.owner != "" && !strings.EqualFold(fl.owner, img.Owner) {
		return false
	}
	if fl.typ == "" && img.Type == "docker" || fl.typ != "" && fl.typ != img.Type {
		return false
	}
	if fl.public != nil && (img.Public == nil || *img.Public != *fl.public) {
		return false
	}
	return fl.state == "all" || fl.state == img.State
}

func (c *call) imageFilter() (imageFilter, error) {
	fl := imageFilter{name: c.in.str("name"), version: c.in.str("version"), os: c.in.str("os"),
		owner: c.in.str("owner"), typ: c.in.str("type"), state: c.in.str("state")}
	if fl.state == "" {
		fl.state = "active"
	}
	if fl.state != "all" && !validStates[fl.state] {
		return fl, invalidArg("state " + fl.state + " is not a valid image state; use all, active, unactivated, disabled, creating or failed")
	}
	if c.in.has("public") {
		switch p := c.in.str("public"); p {
		case "true", "false":
			b := p == "true"
			fl.public = &b
		default:
			return fl, invalidArg("public must be true or false, not " + p)
		}
	}
	return fl, nil
}

func (f *Front) listImages(c *call) error {
	fl, err := c.imageFilter()
	if err != nil {
		return err
	}
	sess, err := c.session()
	if err != nil {
		return err
	}
	ctx := c.r.Context()
	imgs, err := sess.ListImages(ctx, model.ImageQuery{})
	if err != nil {
		return err
	}
	metas, err := f.meta.all(ctx, c.target.Driver, c.target.Provider)
	if err != nil {
		return err
	}
	natives := make([]string, len(imgs))
	for i, img := range imgs {
		natives[i] = img.ID
	}
	uuids, err := f.ids.Map(ctx, c.target.Driver, c.target.Provider, ids.Images, natives...)
	if err != nil {
		return err
	}
	out := make([]imageJSON, 0, len(imgs))
	for i, img := range imgs {
		if j := c.render(img, metas[img.ID], uuids[i]); fl.match(j) {
			out = append(out, j)
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].PublishedAt != out[j].PublishedAt {
			return out[i].PublishedAt < out[j].PublishedAt
		}
		return out[i].ID < out[j].ID
	})
	return sendList(c, out)
}

// resolveImage returns the native id of a CloudAPI image id in sess's
// provider: a recorded mapping, a native UUID, or a recomputation by
// listing. Anything else is 404.
func (c *call) resolveImage(ctx context.Context, sess *gateway.Session, id string) (string, error) {
	nf := notFound("image " + id + " not found")
	if !ids.IsUUID(id) {
		return "", nf
	}
	t := sess.Target
	if n, ok, err := c.f.ids.Resolve(ctx, t.Driver, t.Provider, ids.Images, id); err != nil || ok {
		return n, err
	}
	if _, err := sess.GetImage(ctx, id); err == nil {
		return id, nil
	} else if !model.IsNotFound(err) && model.CodeOf(err) != model.InvalidArgument {
		return "", err
	}
	imgs, err := sess.ListImages(ctx, model.ImageQuery{})
	if err != nil {
		return "", err
	}
	for _, img := range imgs {
		if ids.UUID(t.Driver, t.Provider, ids.Images, img.ID) == strings.ToLower(id) {
			if _, err := c.f.ids.Map(ctx, t.Driver, t.Provider, ids.Images, img.ID); err != nil {
				return "", err
			}
			return img.ID, nil
		}
	}
	return "", nf
}

// loadImage resolves and fetches the image of the {id} path variable.
func (c *call) loadImage() (string, model.Image, error) {
	sess, err := c.session()
	if err != nil {
		return "", model.Image{}, err
	}
	id := strings.ToLower(mux.Vars(c.r)["id"])
	native, err := c.resolveImage(c.r.Context(), sess, id)
	if err != nil {
		return "", model.Image{}, err
	}
	img, err := sess.GetImage(c.r.Context(), native)
	if model.IsNotFound(err) || err == nil && strings.EqualFold(img.State, model.ImageDeleted) {
		return "", model.Image{}, notFound("image " + id + " not found")
	}
	return id, img, err
}

func (c *call) renderByID(img model.Image, id string) (imageJSON, error) {
	m, err := c.f.meta.get(c.r.Context(), c.target.Driver, c.target.Provider, img.ID)
	if err != nil {
		return imageJSON{}, err
	}
	return c.render(img, m, id), nil
}

func (f *Front) getImage(c *call) error {
	id, img, err := c.loadImage()
	if err != nil {
		return err
	}
	j, err := c.renderByID(img, id)
	if err != nil {
		return err
	}
	return c.sendJSON(http.StatusOK, j)
}

func (f *Front) deleteImage(c *call) error {
	_, img, err := c.loadImage()
	if err != nil {
		return err
	}
	if err := c.sess.DeleteImage(c.r.Context(), img.ID); err != nil {
		return err
	}
	if err := f.meta.remove(c.r.Context(), c.target.Driver, c.target.Provider, img.ID); err != nil {
		f.log.Warn("cloudapi: removing image metadata", "image", img.ID, "err", err)
	}
	c.sendEmpty(http.StatusNoContent)
	return nil
}

// limits are the manifest limits of ValidationFailed.
var limits = []struct {
	field string
	max   int
}{{"name", 512}, {"version", 128}, {"description", 512}, {"homepage", 128}, {"eula", 128}}

func (c *call) validateManifest() error {
	var errs []fieldError
	for _, l := range limits {
		if v := c.in.str(l.field); utf8.RuneCountInString(v) > l.max {
			errs = append(errs, fieldError{Field: l.field, Code: "TooLong", Message: l.field + " must be at most " + strconv.Itoa(l.max) + " characters"})
		}
	}
	if len(errs) == 0 {
		return nil
	}
	e := newErr(http.StatusUnprocessableEntity, "ValidationFailed", "invalid image manifest: "+errs[0].Message)
	e.Errors = errs
	return e
}

// postImages is CreateImageFromMachine, or ImportImageFromDatacenter with
// action=import-from-datacenter.
func (f *Front) postImages(c *call) error {
	switch a := c.in.str("action"); a {
	case "":
		return f.createImage(c)
	case "import-from-datacenter":
		return f.importImage(c)
	default:
		return invalidArg("action " + a + " is not a valid argument")
	}
}

// resolveMachine returns the native instance id of a machine UUID or
// native id, or 404.
func (c *call) resolveMachine(ctx context.Context, sess *gateway.Session, machine string) (string, error) {
	t := sess.Target
	nf := notFound("machine " + machine + " not found")
	if ids.IsUUID(machine) {
		if n, ok, err := c.f.ids.Resolve(ctx, t.Driver, t.Provider, ids.Instances, machine); err != nil || ok {
			return n, err
		}
		insts, err := sess.ListInstances(ctx)
		if model.CodeOf(err) == model.Unimplemented {
			return machine, nil // the driver will say whether it exists
		}
		if err != nil {
			return "", err
		}
		for _, in := range insts {
			if ids.UUID(t.Driver, t.Provider, ids.Instances, in.ID) == strings.ToLower(machine) {
				_, err := c.f.ids.Map(ctx, t.Driver, t.Provider, ids.Instances, in.ID)
				return in.ID, err
			}
		}
		return "", nf
	}
	in, err := sess.GetInstance(ctx, machine)
	switch model.CodeOf(err) {
	case model.OK:
		_, err := c.f.ids.Map(ctx, t.Driver, t.Provider, ids.Instances, in.ID)
		return in.ID, err
	case model.Unimplemented:
		return machine, nil
	case model.NotFound:
		return "", nf
	}
	return "", err
}

// partialImage is CreateImageFromMachine's 201 body.
type partialImage struct {
	ID           string         `json:"id"`
	Name         string         `json:"name"`
	Version      string         `json:"version"`
	Requirements map[string]any `json:"requirements"`
	Owner        string         `json:"owner"`
	Public       bool           `json:"public"`
	State        string         `json:"state"`
	Description  string         `json:"description,omitempty"`
	Homepage     string         `json:"homepage,omitempty"`
	EULA         string         `json:"eula,omitempty"`
	ACL          []string       `json:"acl,omitempty"`
	Tags         map[string]any `json:"tags,omitempty"`
}

func (f *Front) createImage(c *call) error {
	for _, p := range []string{"machine", "name", "version"} {
		if c.in.str(p) == "" {
			return missingParam(p)
		}
	}
	if err := c.validateManifest(); err != nil {
		return err
	}
	acl, err := c.in.strList("acl")
	if err != nil {
		return err
	}
	if len(acl) > 0 {
		return newErr(http.StatusNotImplemented, "NotImplemented", "driver "+c.target.Driver+" does not support capability share_image (acl)")
	}
	tags, err := c.in.object("tags")
	if err != nil {
		return err
	}
	sess, err := c.session()
	if err != nil {
		return err
	}
	ctx := c.r.Context()
	machine := c.in.str("machine")
	inst, err := c.resolveMachine(ctx, sess, machine)
	if err != nil {
		return err
	}
	name, version, desc := c.in.str("name"), c.in.str("version"), c.in.str("description")
	img, job, err := sess.CreateImage(ctx, model.CreateImage{InstanceID: inst, Name: name, Description: desc},
		gateway.JobMeta{Account: c.login, Params: map[string]string{"name": name, "version": version, "machine": machine}})
	if model.IsNotFound(err) {
		return notFound("machine " + machine + " not found")
	}
	if err != nil {
		return err
	}
	feats := sess.Capabilities().Features
	if _, err := f.meta.update(ctx, c.target.Driver, c.target.Provider, img.ID, func(m *imageMeta) {
		m.Version, m.Homepage, m.EULA, m.Tags, m.Creator = version, c.in.str("homepage"), c.in.str("eula"), tags, c.login
		if !feats.CreateName && img.Name != name {
			m.Name = &name
		}
		if !feats.CreateDescription && desc != "" && img.Description != desc {
			m.Description = &desc
		}
	}); err != nil {
		return err
	}
	uuids, err := f.ids.Map(ctx, c.target.Driver, c.target.Provider, ids.Images, img.ID)
	if err != nil {
		return err
	}
	c.w.Header().Set("Location", "/"+c.login+"/images/"+uuids[0])
	c.w.Header().Set("x-joyent-jobid", job.ID)
	return c.sendJSON(http.StatusCreated, partialImage{ID: uuids[0], Name: name, Version: version,
		Requirements: map[string]any{}, Owner: c.acct.ID, State: "creating", Description: desc,
		Homepage: c.in.str("homepage"), EULA: c.in.str("eula"), Tags: tags})
}

// imageAction is POST /{login}/images/{id}: update, export or clone.
func (f *Front) imageAction(c *call) error {
	switch a := c.in.str("action"); a {
	case "":
		return missingParam("action")
	case "update":
		return f.updateImage(c)
	case "export":
		return f.exportImage(c)
	case "clone":
		return f.cloneImage(c)
	default:
		return invalidArg("action " + a + " is not a valid argument")
	}
}

func (f *Front) updateImage(c *call) error {
	if err := c.validateManifest(); err != nil {
		return err
	}
	if c.in.has("acl") {
		return newErr(http.StatusNotImplemented, "NotImplemented", "driver "+c.target.Driver+" does not support capability share_image (acl)")
	}
	tags, err := c.in.object("tags")
	if err != nil {
		return err
	}
	id, img, err := c.loadImage()
	if err != nil {
		return err
	}
	ctx := c.r.Context()
	name, desc := c.in.optStr("name"), c.in.optStr("description")
	if name != nil && *name == "" {
		return invalidArg("name must not be empty")
	}
	native := c.sess.Capabilities().Update
	if native && (name != nil || desc != nil) {
		if img, err = c.sess.UpdateImage(ctx, img.ID, model.ImageUpdate{Name: name, Description: desc}); err != nil {
			return err
		}
	}
	m, err := f.meta.update(ctx, c.target.Driver, c.target.Provider, img.ID, func(m *imageMeta) {
		if native {
			if name != nil {
				m.Name = nil
			}
			if desc != nil {
				m.Description = nil
			}
		} else {
			if name != nil {
				m.Name = name
			}
			if desc != nil {
				m.Description = desc
			}
		}
		if v := c.in.optStr("version"); v != nil {
			m.Version = *v
		}
		if v := c.in.optStr("homepage"); v != nil {
			m.Homepage = *v
		}
		if v := c.in.optStr("eula"); v != nil {
			m.EULA = *v
		}
		if c.in.has("tags") {
			m.Tags = tags
		}
	})
	if err != nil {
		return err
	}
	return c.sendJSON(http.StatusOK, c.render(img, m, id))
}

func (f *Front) cloneImage(c *call) error {
	id, src, err := c.loadImage()
	if err != nil {
		return err
	}
	ctx := c.r.Context()
	img, _, err := c.sess.CloneImage(ctx, model.CloneImage{SourceImageID: src.ID},
		gateway.JobMeta{Account: c.login, Params: map[string]string{"source": id}})
	if err != nil {
		return err
	}
	srcMeta, err := f.meta.get(ctx, c.target.Driver, c.target.Provider, src.ID)
	if err != nil {
		return err
	}
	m, err := f.meta.update(ctx, c.target.Driver, c.target.Provider, img.ID, func(m *imageMeta) {
		*m = imageMeta{Name: srcMeta.Name, Description: srcMeta.Description, Version: srcMeta.Version,
			Homepage: srcMeta.Homepage, EULA: srcMeta.EULA, Tags: srcMeta.Tags, Creator: c.login, Origin: id}
		if m.Version == "" {
			m.Version = src.Version
		}
	})
	if err != nil {
		return err
	}
	j, err := c.renderNew(ctx, img, m)
	if err != nil {
		return err
	}
	j.ACL = &[]string{}
	return c.sendJSON(http.StatusOK, j)
}

func (f *Front) importImage(c *call) error {
	for _, p := range []string{"datacenter", "id"} {
		if c.in.str(p) == "" {
			return missingParam(p)
		}
	}
	id, dc := strings.ToLower(c.in.str("id")), strings.ToLower(c.in.str("datacenter"))
	if !ids.IsUUID(id) {
		return invalidArg("id " + c.in.str("id") + " is not a UUID")
	}
	pc, err := f.gw.ProviderConfig(dc)
	if err != nil || pc.Driver != c.target.Driver {
		return notFound("datacenter " + dc + " not found")
	}
	sess, err := c.session()
	if err != nil {
		return err
	}
	ctx := c.r.Context()
	src, err := c.sessionFor(ctx, gateway.Target{Driver: pc.Driver, Provider: dc})
	if err != nil {
		return err
	}
	native, err := c.resolveImage(ctx, src, id)
	if err != nil {
		return err
	}
	if ids.IsUUID(native) {
		if _, err := sess.GetImage(ctx, native); err == nil {
			return newErr(http.StatusConflict, "ImageUuidAlreadyExists", "image "+native+" already exists in "+c.target.Provider)
		}
	}
	img, _, err := sess.CopyImage(ctx, dc, native, "", "",
		gateway.JobMeta{Account: c.login, Params: map[string]string{"source": id, "datacenter": dc}})
	if model.CodeOf(err) == model.AlreadyExists {
		return newErr(http.StatusConflict, "ImageUuidAlreadyExists", model.MessageOf(err))
	}
	if err != nil {
		return err
	}
	srcMeta, err := f.meta.get(ctx, pc.Driver, dc, native)
	if err != nil {
		return err
	}
	m, err := f.meta.update(ctx, c.target.Driver, c.target.Provider, img.ID, func(m *imageMeta) {
		*m = srcMeta
		if m.Creator == "" {
			m.Creator = c.login
		}
	})
	if err != nil {
		return err
	}
	j, err := c.renderNew(ctx, img, m)
	if err != nil {
		return err
	}
	return c.sendJSON(http.StatusOK, j)
}

// renderNew renders an image the gateway just made (a clone, an import),
// recording its UUID.
func (c *call) renderNew(ctx context.Context, img model.Image, m imageMeta) (imageJSON, error) {
	uuids, err := c.f.ids.Map(ctx, c.target.Driver, c.target.Provider, ids.Images, img.ID)
	if err != nil {
		return imageJSON{}, err
	}
	return c.render(img, m, uuids[0]), nil
}
