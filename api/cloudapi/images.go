package cloudapi

import (
	"cmp"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/gorilla/mux"

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
func (c *call) owner(img model.Image, m model.ImageMeta) (string, bool) {
	creds := c.acct.CredentialsFor(c.target.Driver)
	if m.Creator != "" && m.Creator != c.login {
		// made through the gateway by another account (which may share
		// the cloud identity): that account owns it, also once removed
		if id := c.accountID(m.Creator); id != "" {
			return id, false
		}
		return gateway.SchemeUUID.ID(c.target.Driver, c.target.Provider, gateway.KindOwners, "account:"+m.Creator), false
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
	u := gateway.SchemeUUID.ID(c.target.Driver, c.target.Provider, gateway.KindOwners, img.OwnerID)
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

// render builds the Image of a catalog image (its overlay applied).
func (c *call) render(img model.Image, id string) imageJSON {
	var m model.ImageMeta
	if img.Meta != nil {
		m = *img.Meta
	}
	out := imageJSON{ID: id, Name: img.Name, Version: img.Version, OS: strings.ToLower(img.OS),
		Requirements: map[string]any{}, Description: img.Description, Homepage: m.Homepage, EULA: m.EULA,
		State: cloudState(img.State), Origin: m.Origin}
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
	public := isPublic(img, m, mine)
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
	tags                                 map[string]string // tag.KEY=VALUE
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
	// tag.KEY=VALUE, as upstream: images whose tag KEY has that value (a
	// boolean or number tag as its JSON text).
	for k := range c.in {
		key, ok := strings.CutPrefix(k, "tag.")
		if !ok {
			continue
		}
		if key == "" {
			return fl, invalidArg("tag. needs a tag name: tag.NAME=VALUE")
		}
		if fl.tags == nil {
			fl.tags = map[string]string{}
		}
		fl.tags[key] = c.in.str(k)
	}
	return fl, nil
}

// cloudStates are the model states of each CloudAPI state the portable
// query can select ("unactivated" is everything else: the front filters).
var cloudStates = map[string][]string{
	"active":   {model.ImageAvailable},
	"creating": {model.ImagePending, "QUEUED", "SAVING", "CREATING", "IMPORTING", "UPLOADING"},
	"failed":   {model.ImageFailed},
	"disabled": {model.ImageDisabled, "DEPRECATED", "UNAVAILABLE"},
}

// pushdown is the part of a ListImages filter the gateway's query answers;
// the front checks the rest (owner and public depend on the account) on
// what it renders.
func (fl imageFilter) pushdown() model.ImageQuery {
	q := model.ImageQuery{States: cloudStates[fl.state]}
	switch {
	case strings.HasPrefix(fl.name, "~"):
		q.NamePattern = "*" + fl.name[1:] + "*"
	case fl.name != "":
		q.Name = fl.name
	}
	if validOS[fl.os] && fl.os != "other" {
		q.OS = fl.os // "other" is also every OS CloudAPI does not know
	}
	if validTypes[fl.typ] && fl.typ != "zvol" {
		q.Type = fl.typ // "zvol" is also every type CloudAPI does not know
	}
	if fl.version != "" && !strings.HasPrefix(fl.version, "~") && fl.version != "1.0.0" {
		q.Version = fl.version // 1.0.0 is also the version of images without one
	}
	q.Tags = fl.tags // the cloud's tags or the overlay's, as rendered
	return q
}

func (f *Front) listImages(c *call) error {
	fl, err := c.imageFilter()
	if err != nil {
		return err
	}
	limit, offset := 0, 0
	for _, p := range []struct {
		name string
		dst  *int
		min  int
		max  int
	}{{"limit", &limit, 1, model.MaxLimit}, {"offset", &offset, 0, 1 << 30}} {
		if !c.in.has(p.name) {
			continue
		}
		n, err := strconv.Atoi(c.in.str(p.name))
		if err != nil || n < p.min || n > p.max {
			return invalidArg(p.name + " must be a number from " + strconv.Itoa(p.min) + " to " + strconv.Itoa(p.max) + ", not " + c.in.str(p.name))
		}
		*p.dst = n
	}
	sess, err := c.session()
	if err != nil {
		return err
	}
	p, err := sess.QueryImages(c.r.Context(), fl.pushdown(), model.ListOptions{})
	if err != nil {
		return err
	}
	if p.Warning != "" {
		c.w.Header().Set("Warning", p.Warning)
	}
	key := ""
	if p.Generation != 0 {
		key = fmt.Sprintf("images|%s|%d|%s", c.login, p.Generation, c.r.URL.Query().Encode())
	}
	return c.sendKeyed(http.StatusOK, key, func(w io.Writer) error {
		out := make([]imageJSON, 0, p.Len())
		uuid := sess.IDs(p.Listing(), gateway.SchemeUUID)
		for i := range p.Len() {
			img := p.At(i)
			if !c.allowed(*img, opRead) {
				continue
			}
			if j := c.render(*img, uuid(img.ID)); fl.match(j) {
				out = append(out, j)
			}
		}
		sort.Slice(out, func(i, j int) bool {
			if out[i].PublishedAt != out[j].PublishedAt {
				return out[i].PublishedAt < out[j].PublishedAt
			}
			return out[i].ID < out[j].ID
		})
		out = out[min(offset, len(out)):]
		if limit > 0 {
			out = out[:min(limit, len(out))]
		}
		return writeList(w, out)
	})
}

// loadImage resolves and fetches the image of the {id} path variable.
func (c *call) loadImage() (string, model.Image, error) {
	sess, err := c.session()
	if err != nil {
		return "", model.Image{}, err
	}
	id := strings.ToLower(mux.Vars(c.r)["id"])
	native, err := sess.ResolveImage(c.r.Context(), gateway.SchemeUUID, id)
	if model.IsNotFound(err) {
		return "", model.Image{}, notFound("image " + id + " not found")
	}
	if err != nil {
		return "", model.Image{}, err
	}
	img, err := sess.GetImage(c.r.Context(), native)
	if model.IsNotFound(err) || err == nil && strings.EqualFold(img.State, model.ImageDeleted) {
		return "", model.Image{}, notFound("image " + id + " not found")
	}
	return id, img, err
}

func (f *Front) getImage(c *call) error {
	id, img, err := c.loadImageFor(opRead)
	if err != nil {
		return err
	}
	return c.sendJSON(http.StatusOK, c.render(img, id))
}

func (f *Front) deleteImage(c *call) error {
	_, img, err := c.loadImageFor(opDelete)
	if err != nil {
		return err
	}
	if err := c.sess.DeleteImage(c.r.Context(), img.ID); err != nil {
		return err
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
	inst, err := sess.ResolveInstance(ctx, gateway.SchemeUUID, machine)
	if err != nil {
		return err
	}
	name, version, desc := c.in.str("name"), c.in.str("version"), c.in.str("description")
	img, job, err := sess.CreateImage(ctx, model.CreateImage{InstanceID: inst, Name: name, Description: desc, Version: version},
		gateway.JobMeta{Params: map[string]string{"name": name, "version": version, "machine": machine},
			Meta: func(m *model.ImageMeta) {
				m.Version, m.Homepage, m.EULA, m.Tags, m.Creator = version, c.in.str("homepage"), c.in.str("eula"), tags, c.login
			}})
	if model.IsNotFound(err) {
		return notFound("machine " + machine + " not found")
	}
	if err != nil {
		return err
	}
	id := sess.ID(gateway.SchemeUUID, gateway.KindImages, img.ID)
	c.w.Header().Set("Location", "/"+c.login+"/images/"+id)
	c.w.Header().Set("x-joyent-jobid", job.ID)
	return c.sendJSON(http.StatusCreated, partialImage{ID: id, Name: name, Version: version,
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
	id, img, err := c.loadImageFor(opUpdate)
	if err != nil {
		return err
	}
	ctx := c.r.Context()
	name, desc := c.in.optStr("name"), c.in.optStr("description")
	if name != nil && *name == "" {
		return invalidArg("name must not be empty")
	}
	img, err = c.sess.UpdateImageMeta(ctx, img.ID, model.ImageUpdate{Name: name, Description: desc}, func(m *model.ImageMeta) {
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
	return c.sendJSON(http.StatusOK, c.render(img, id))
}

func (f *Front) cloneImage(c *call) error {
	id, src, err := c.loadImageFor(opClone)
	if err != nil {
		return err
	}
	ctx := c.r.Context()
	img, _, err := c.sess.CloneImage(ctx, model.CloneImage{SourceImageID: src.ID},
		gateway.JobMeta{Params: map[string]string{"source": id}, Meta: func(m *model.ImageMeta) {
			m.Creator, m.Origin, m.ACL = c.login, id, nil
			if m.Version == "" {
				m.Version = src.Version
			}
		}})
	if err != nil {
		return err
	}
	j := c.render(img, c.sess.ID(gateway.SchemeUUID, gateway.KindImages, img.ID))
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
	if !gateway.IsUUID(id) {
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
	native, err := src.ResolveImage(ctx, gateway.SchemeUUID, id)
	if model.IsNotFound(err) {
		return notFound("image " + id + " not found")
	}
	if err != nil {
		return err
	}
	if srcImg, err := src.GetImage(ctx, native); err == nil && !c.allowed(srcImg, opClone) {
		return newErr(http.StatusForbidden, "NotAuthorized", c.login+" is not allowed to import image "+id+": it belongs to another account")
	}
	if gateway.IsUUID(native) {
		if _, err := sess.GetImage(ctx, native); err == nil {
			return newErr(http.StatusConflict, "ImageUuidAlreadyExists", "image "+native+" already exists in "+c.target.Provider)
		}
	}
	img, _, err := sess.CopyImage(ctx, dc, native, "", "",
		gateway.JobMeta{Params: map[string]string{"source": id, "datacenter": dc}, Meta: func(m *model.ImageMeta) {
			if m.Creator == "" {
				m.Creator = c.login
			}
		}})
	if model.CodeOf(err) == model.AlreadyExists {
		return newErr(http.StatusConflict, "ImageUuidAlreadyExists", model.MessageOf(err))
	}
	if err != nil {
		return err
	}
	return c.sendJSON(http.StatusOK, c.render(img, sess.ID(gateway.SchemeUUID, gateway.KindImages, img.ID)))
}
