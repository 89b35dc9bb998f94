package gateway

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"

	"github.com/imagegw/imagegw/drivers"
	"github.com/imagegw/imagegw/model"
	"github.com/imagegw/imagegw/store"
)

// Session is one driver connection for one request (or job), acting as one
// identity: it reads through the gateway's catalog, keeps the catalog and
// the overlay up to date with its writes, checks capabilities and
// classifies errors.
type Session struct {
	Target
	g        *Gateway
	pe       *providerEntry
	d        drivers.Driver
	creds    model.Credentials
	identity string
}

// keyFor is the session's catalog entry, scoped to an owner ("" for the
// unscoped one).
func (s *Session) keyFor(owner string) entryKey {
	return entryKey{provider: s.Target.Provider, identity: s.identity, owner: owner}
}

// ownerScope is the owner a query's list is scoped to: its owner when the
// driver filters owners natively (a view of the cloud the unscoped listing
// may not hold), else "" (the gateway filters the unscoped listing).
func (s *Session) ownerScope(q model.ImageQuery) string {
	if f, ok := s.d.(drivers.FeatureReporter); ok && f.Features().OwnerFilter {
		return q.OwnerID
	}
	return ""
}

// Identity returns the keyed hash of the session's credentials (see
// secrets.Box.Identity): what jobs record as their caller.
func (s *Session) Identity() string { return s.identity }

// Capabilities says what a session's driver can do beyond the required
// interface.
type Capabilities struct {
	Update, Clone, Copy, Export, Realms, Instances, CheckCredentials bool
	Features                                                         model.Features
}

// Capability names, as errors and fronts show them.
const (
	CapCreateImage = "create_image"
	CapUpdateImage = "update_image"
	CapCloneImage  = "clone_image"
	CapCopyImage   = "copy_image"
	CapExportImage = "export_image"
	CapRealms      = "realms"
	CapInstances   = "instances"
)

// Capabilities reports the driver's optional capabilities. Export is also
// true where the gateway exports to its own directory (export_dir).
func (s *Session) Capabilities() Capabilities {
	var c Capabilities
	_, c.Update = s.d.(drivers.ImageUpdater)
	_, c.Clone = s.d.(drivers.ImageCloner)
	_, c.Copy = s.d.(drivers.ImageCopier)
	_, c.Export = s.d.(drivers.ImageExporter)
	c.Export = c.Export || s.g.cfg.ExportDir != ""
	_, c.Realms = s.d.(drivers.RealmLister)
	_, c.Instances = s.d.(drivers.InstanceLister)
	_, c.CheckCredentials = s.d.(drivers.CredentialChecker)
	if f, ok := s.d.(drivers.FeatureReporter); ok {
		c.Features = f.Features()
	}
	return c
}

// Credentials returns the credentials the session acts with.
func (s *Session) Credentials() model.Credentials { return s.creds }

// Unsupported is the error of a capability the session's driver lacks: one
// place for every front's "not supported" answers.
func (s *Session) Unsupported(capability string) error {
	return drivers.Unsupported(s.Target.Driver, capability)
}

// CheckCredentials asks the cloud whether the session's credentials are
// good: through the driver's CredentialChecker, else by listing images.
func (s *Session) CheckCredentials(ctx context.Context) error {
	defer s.cloudCall(&ctx, "CheckCredentials")() // request_timeout and trace: deadline.go
	if c, ok := s.d.(drivers.CredentialChecker); ok {
		return classify(c.CheckCredentials(ctx))
	}
	_, err := s.d.ListImages(ctx, model.ImageQuery{IDs: []string{"imagegw-credential-check"}})
	if model.CodeOf(err) == model.NotFound {
		return nil
	}
	return classify(err)
}

// ListImages lists the images q selects from the catalog, sorted by native
// id. An OwnerID of "self" selects the images whose owner is the cloud
// identity the session acts as, where the driver can tell (see
// drivers.Driver.ListImages); the catalog answers it by asking the driver.
func (s *Session) ListImages(ctx context.Context, q model.ImageQuery) (Listing, error) {
	defer s.cloudCall(&ctx, "ListImages")() // request_timeout and trace: deadline.go
	if q.OwnerID == "self" {
		imgs, err := s.d.ListImages(ctx, q)
		if err != nil {
			return Listing{}, classify(err)
		}
		out := make([]model.Image, 0, len(imgs))
		for _, img := range imgs {
			if q.Match(img) {
				out = append(out, img)
			}
		}
		slices.SortFunc(out, func(a, b model.Image) int { return strings.Compare(a.ID, b.ID) })
		return Listing{Images: out}, nil
	}
	snap, warn, err := s.g.catalog.images(ctx, s, s.ownerScope(q))
	if err != nil {
		return Listing{}, err
	}
	l := Listing{Generation: snap.gen, Warning: warn, snap: snap}
	for _, img := range snap.images {
		if q.Match(img) {
			l.Images = append(l.Images, img)
		}
	}
	if l.Images == nil {
		l.Images = []model.Image{}
	}
	return l, nil
}

// IDs returns the scheme ids of a listing's images, by native id, from the
// catalog's index (computed once per entry, not per request).
func (s *Session) IDs(l Listing, scheme Scheme) func(native string) string {
	if l.snap == nil {
		return func(n string) string { return scheme.ID(s.Target.Driver, s.Target.Provider, KindImages, n) }
	}
	ix := s.g.catalog.schemeIDs(s, l.snap, scheme)
	return func(n string) string {
		if id, ok := ix.fwd[n]; ok {
			return id
		}
		return scheme.ID(s.Target.Driver, s.Target.Provider, KindImages, n)
	}
}

// ID returns the scheme id of one native id.
func (s *Session) ID(scheme Scheme, kind, native string) string {
	return scheme.ID(s.Target.Driver, s.Target.Provider, kind, native)
}

// ResolveImage returns the native id of an image's scheme id: from the
// catalog's index, a native id passed through (UUIDs), or the ids the
// gateway recorded for images it made. It never lists the cloud for an id
// a fresh entry lacks; an unknown id is model.NotFound.
func (s *Session) ResolveImage(ctx context.Context, scheme Scheme, id string) (string, error) {
	nf := model.Errorf(model.NotFound, "image %s not found", id)
	if !scheme.Valid(id) {
		return "", nf
	}
	id = strings.ToLower(id)
	if scheme.passThrough(id) {
		if _, found, _ := s.g.catalog.cached(s, id, true); found {
			return id, nil
		}
	}
	// (a scheme id of an image outside the unscoped listing resolves only
	// if the gateway recorded it)
	if n, ok, err := recordedID(ctx, s.g.store, scheme, s.Target.Driver, s.Target.Provider, KindImages, id); err != nil || ok {
		return n, err
	}
	snap, _, err := s.g.catalog.images(ctx, s, "")
	if err != nil {
		return "", err
	}
	if n, ok := s.g.catalog.schemeIDs(s, snap, scheme).rev[id]; ok {
		return n, nil
	}
	if scheme.passThrough(id) {
		return id, nil // maybe a native UUID the catalog has not seen: GetImage decides
	}
	return "", nf
}

// GetImage returns one image from the catalog; an id the catalog lacks is
// asked of the driver (the image may be new from elsewhere), at most a few
// times a second per entry, and an id the cloud does not know is answered
// NotFound without asking again for a few seconds.
func (s *Session) GetImage(ctx context.Context, id string) (model.Image, error) {
	defer s.cloudCall(&ctx, "GetImage")() // request_timeout and trace: deadline.go
	img, found, err := s.g.catalog.cached(s, id, false)
	if found || err != nil {
		return img, err
	}
	img, err = s.d.GetImage(ctx, id)
	if err == nil && strings.EqualFold(img.State, model.ImageDeleted) {
		err = model.Errorf(model.NotFound, "image %s not found", id)
	}
	if model.IsNotFound(err) {
		s.g.catalog.noteUnknown(s, id)
	}
	if err != nil {
		return model.Image{}, classify(err)
	}
	img = s.g.catalog.upsert(ctx, s, img, false)
	s.g.catalog.probedFound(s, img)
	return img, nil
}

// pollImage asks the driver for an image's state (never the catalog) and
// lays the answer over the catalog: what the job runner calls.
func (s *Session) pollImage(ctx context.Context, id string, last string) (model.Image, error) {
	defer s.cloudCall(&ctx, "GetImage")() // request_timeout and trace: deadline.go
	img, err := s.d.GetImage(ctx, id)
	if err != nil {
		return model.Image{}, classify(err)
	}
	if img.State != last {
		img = s.g.catalog.upsert(ctx, s, img, true)
	}
	return img, nil
}

// metaFor runs fn over a copy of base and validates the result, before any
// cloud call: a write that the overlay would refuse changes nothing.
func metaFor(base *model.ImageMeta, fn func(*model.ImageMeta)) error {
	if fn == nil {
		return nil
	}
	m := model.ImageMeta{}
	if base != nil {
		m = *base
	}
	fn(&m)
	return validateMeta(&m)
}

// recordNew stores the overlay and scheme ids of an image the gateway made,
// keeping the name and description the driver dropped, and lays the image
// over the catalog.
func (s *Session) recordNew(ctx context.Context, img model.Image, name, desc string, base *model.ImageMeta, fn func(*model.ImageMeta)) (model.Image, error) {
	err := s.g.store.Update(ctx, func(tx store.Tx) error {
		if err := recordIDs(tx, s.Target.Driver, s.Target.Provider, KindImages, img.ID); err != nil {
			return err
		}
		_, err := putOverlay(tx, s.Target.Driver, s.Target.Provider, img.ID, func(m *model.ImageMeta) {
			if base != nil {
				*m = *base
			}
			if name != "" && img.Name != name {
				m.Name = &name
			}
			if desc != "" && img.Description != desc {
				m.Description = &desc
			}
			if fn != nil {
				fn(m)
			}
		})
		return err
	})
	if err != nil {
		return img, model.Wrap(model.Internal, err, "recording image %s", img.ID)
	}
	return s.g.catalog.upsert(ctx, s, img, true), nil
}

// CreateImage starts an image from an instance and records a job that
// follows it to a terminal state. The image is in the catalog at once
// (normally PENDING), with meta.Meta's overlay.
func (s *Session) CreateImage(ctx context.Context, req model.CreateImage, meta JobMeta) (model.Image, model.Job, error) {
	defer s.cloudCall(&ctx, "CreateImage")() // request_timeout and trace: deadline.go
	if err := metaFor(nil, meta.Meta); err != nil {
		return model.Image{}, model.Job{}, err
	}
	// Record the create before the cloud call (intents.go).
	req, meta, err := s.intend(ctx, req, meta)
	if err != nil {
		return model.Image{}, model.Job{}, err
	}
	img, err := s.d.CreateImage(ctx, req)
	if err != nil {
		s.g.jobs.settleIntent(meta, classify(err)) // intents.go
		return model.Image{}, model.Job{}, classify(err)
	}
	if img, err = s.recordNew(ctx, img, req.Name, req.Description, nil, meta.Meta); err != nil {
		s.g.jobs.settleIntent(meta, err) // intents.go
		return img, model.Job{}, err
	}
	job, err := s.g.jobs.start(ctx, s, model.JobCreateImage, img, meta)
	s.g.jobs.settleIntent(meta, err) // intents.go
	return img, job, err
}

// DeleteImage deletes an image and its overlay; no list shows it after.
func (s *Session) DeleteImage(ctx context.Context, id string) error {
	defer s.cloudCall(&ctx, "DeleteImage")() // request_timeout and trace: deadline.go
	if err := s.d.DeleteImage(ctx, id); err != nil {
		return classify(err)
	}
	s.g.catalog.remove(s, id)
	err := s.g.store.Update(ctx, func(tx store.Tx) error {
		return tx.Delete(nsOverlay, overlayKey(s.Target.Driver, s.Target.Provider, id))
	})
	if err != nil && !model.IsNotFound(err) {
		s.g.log.Warn("removing image metadata", "image", id, "err", err)
	}
	return nil
}

// UpdateImage changes an image's name, description or tags: through the
// driver's ImageUpdater where it has one, else in the overlay, so that
// every driver can be renamed. It returns the image as every front now
// shows it.
func (s *Session) UpdateImage(ctx context.Context, id string, u model.ImageUpdate) (model.Image, error) {
	return s.UpdateImageMeta(ctx, id, u, nil)
}

// UpdateImageMeta is UpdateImage that also changes the image's overlay
// with fn (validated before anything is written).
func (s *Session) UpdateImageMeta(ctx context.Context, id string, u model.ImageUpdate, fn func(*model.ImageMeta)) (model.Image, error) {
	defer s.cloudCall(&ctx, "UpdateImage")() // request_timeout and trace: deadline.go
	img, err := s.GetImage(ctx, id)
	if err != nil {
		return model.Image{}, err
	}
	if err := metaFor(img.Meta, fn); err != nil {
		return model.Image{}, err
	}
	up, native := s.d.(drivers.ImageUpdater)
	if native && (u.Name != nil || u.Description != nil || len(u.Tags) > 0) {
		if img, err = up.UpdateImage(ctx, id, u); err != nil {
			return model.Image{}, classify(err)
		}
	}
	err = s.g.store.Update(ctx, func(tx store.Tx) error {
		_, err := putOverlay(tx, s.Target.Driver, s.Target.Provider, id, func(m *model.ImageMeta) {
			if native {
				if u.Name != nil {
					m.Name = nil
				}
				if u.Description != nil {
					m.Description = nil
				}
			} else {
				if u.Name != nil {
					m.Name = u.Name
				}
				if u.Description != nil {
					m.Description = u.Description
				}
				for k, v := range u.Tags {
					if m.Tags == nil {
						m.Tags = map[string]any{}
					}
					if v == "" {
						delete(m.Tags, k)
					} else {
						m.Tags[k] = v
					}
				}
			}
			if fn != nil {
				fn(m)
			}
		})
		return err
	})
	if err != nil {
		return model.Image{}, err
	}
	defer s.g.catalog.publish(ctx, s.Target.Provider, opPut, id) // coherence.go
	if native {
		return s.g.catalog.upsert(ctx, s, img, false), nil
	}
	raw, err := s.d.GetImage(ctx, id)
	if err != nil {
		return model.Image{}, classify(err)
	}
	return s.g.catalog.upsert(ctx, s, raw, false), nil
}

// CloneImage copies an image within the provider and follows the copy as a
// job, or returns model.Unimplemented. The clone inherits the source's
// overlay, changed by meta.Meta.
func (s *Session) CloneImage(ctx context.Context, req model.CloneImage, meta JobMeta) (model.Image, model.Job, error) {
	defer s.cloudCall(&ctx, "CloneImage")() // request_timeout and trace: deadline.go
	c, ok := s.d.(drivers.ImageCloner)
	if !ok {
		return model.Image{}, model.Job{}, s.Unsupported(CapCloneImage)
	}
	base, err := s.g.loadOverlay(ctx, s.Target.Driver, s.Target.Provider, req.SourceImageID)
	if err != nil {
		return model.Image{}, model.Job{}, err
	}
	if err := metaFor(base, meta.Meta); err != nil {
		return model.Image{}, model.Job{}, err
	}
	img, err := c.CloneImage(ctx, req)
	if err != nil {
		return model.Image{}, model.Job{}, classify(err)
	}
	if img, err = s.recordNew(ctx, img, req.Name, req.Description, base, meta.Meta); err != nil {
		return img, model.Job{}, err
	}
	job, err := s.g.jobs.start(ctx, s, model.JobCloneImage, img, meta)
	return img, job, err
}

// CopyImage copies an image from another provider of the same driver into
// the session's provider and follows the copy as a job, or returns
// model.Unimplemented. The copy inherits the source's overlay, changed by
// meta.Meta.
func (s *Session) CopyImage(ctx context.Context, sourceProvider, imageID, name, desc string, meta JobMeta) (model.Image, model.Job, error) {
	defer s.cloudCall(&ctx, "CopyImage")() // request_timeout and trace: deadline.go
	c, ok := s.d.(drivers.ImageCopier)
	if !ok {
		return model.Image{}, model.Job{}, s.Unsupported(CapCopyImage)
	}
	src, err := s.g.ProviderConfig(sourceProvider)
	if err != nil || src.Driver != s.Target.Driver {
		return model.Image{}, model.Job{}, model.Errorf(model.InvalidArgument, "provider %q is not configured for driver %s; valid providers: %v", sourceProvider, s.Target.Driver, s.g.byDriver[s.Target.Driver])
	}
	base, err := s.g.loadOverlay(ctx, src.Driver, src.Name, imageID)
	if err != nil {
		return model.Image{}, model.Job{}, err
	}
	if err := metaFor(base, meta.Meta); err != nil {
		return model.Image{}, model.Job{}, err
	}
	img, err := c.CopyImage(ctx, model.CopyImage{SourceProvider: src, SourceImageID: imageID, Name: name, Description: desc})
	if err != nil {
		return model.Image{}, model.Job{}, classify(err)
	}
	if img, err = s.recordNew(ctx, img, name, desc, base, meta.Meta); err != nil {
		return img, model.Job{}, err
	}
	job, err := s.g.jobs.start(ctx, s, model.JobCopyImage, img, meta)
	return img, job, err
}

// ExportImage exports an image: with the driver's native export where it
// has one, else to the gateway's export directory (export_dir) as a
// placeholder disk file and req.Manifest, else model.Unimplemented.
func (s *Session) ExportImage(ctx context.Context, id string, req model.ExportRequest) (model.ExportResult, error) {
	defer s.cloudCall(&ctx, "ExportImage")() // request_timeout and trace: deadline.go
	if e, ok := s.d.(drivers.ImageExporter); ok {
		res, err := e.ExportImage(ctx, id, req)
		return res, classify(err)
	}
	if s.g.cfg.ExportDir == "" {
		return model.ExportResult{}, model.Errorf(model.Unimplemented, "%s: it has no native export and the gateway has no export_dir configured", model.MessageOf(s.Unsupported(CapExportImage)))
	}
	img, err := s.GetImage(ctx, id)
	if err != nil {
		return model.ExportResult{}, err
	}
	return s.g.exportToDir(img, s.Target, req)
}

// ListHardwareProfiles lists the provider's profiles from the catalog; a
// non-empty architecture keeps the profiles whose architecture property
// allows it. The slice is the caller's; the profiles are shared.
func (s *Session) ListHardwareProfiles(ctx context.Context, architecture string) ([]model.HardwareProfile, error) {
	defer s.cloudCall(&ctx, "ListHardwareProfiles")() // request_timeout and trace: deadline.go
	hps, _, err := s.HardwareProfiles(ctx)
	if err != nil {
		return nil, err
	}
	return slices.DeleteFunc(slices.Clone(hps), func(hp model.HardwareProfile) bool {
		if architecture == "" {
			return false
		}
		p, ok := hp.Property(model.PropArchitecture)
		return !ok || !p.Contains(architecture)
	}), nil
}

// HardwareProfiles returns the catalog's profiles of the provider, shared
// (read-only), and a stamp that changes whenever they do (0 when the
// catalog is off), for answers keyed by what they were made from.
func (s *Session) HardwareProfiles(ctx context.Context) ([]model.HardwareProfile, uint64, error) {
	defer s.cloudCall(&ctx, "ListHardwareProfiles")() // request_timeout and trace: deadline.go
	e := s.g.catalog.lookup(s.keyFor(""), true)
	v, err := e.profiles.load(ctx, s.g.catalog.ctx, s.g.catalog.now(), s.pe.catalog, func(ctx context.Context) (any, error) {
		hps, err := s.d.ListHardwareProfiles(ctx)
		if err != nil {
			return nil, classify(err)
		}
		if hps == nil {
			hps = []model.HardwareProfile{}
		}
		return hps, nil
	})
	if err != nil {
		return nil, 0, err
	}
	e.profiles.mu.Lock()
	stamp := e.profiles.stamp
	e.profiles.mu.Unlock()
	if s.pe.catalog.ttl <= 0 {
		stamp = 0
	}
	return v.([]model.HardwareProfile), stamp, nil
}

// GetHardwareProfile returns one profile, or model.NotFound.
func (s *Session) GetHardwareProfile(ctx context.Context, id string) (model.HardwareProfile, error) {
	hps, err := s.ListHardwareProfiles(ctx, "")
	if err != nil {
		return model.HardwareProfile{}, err
	}
	for _, hp := range hps {
		if hp.ID == id {
			return hp, nil
		}
	}
	return model.HardwareProfile{}, model.Errorf(model.NotFound, "hardware profile %s not found", id)
}

// ListRealms lists realms from the catalog, or returns model.Unimplemented.
func (s *Session) ListRealms(ctx context.Context) ([]model.Realm, error) {
	defer s.cloudCall(&ctx, "ListRealms")() // request_timeout and trace: deadline.go
	r, ok := s.d.(drivers.RealmLister)
	if !ok {
		return nil, s.Unsupported(CapRealms)
	}
	e := s.g.catalog.lookup(s.keyFor(""), true)
	v, err := e.realms.load(ctx, s.g.catalog.ctx, s.g.catalog.now(), s.pe.catalog, func(ctx context.Context) (any, error) {
		out, err := r.ListRealms(ctx)
		if err != nil {
			return nil, classify(err)
		}
		if out == nil {
			out = []model.Realm{}
		}
		return out, nil
	})
	if err != nil {
		return nil, err
	}
	return slices.Clone(v.([]model.Realm)), nil
}

// GetRealm returns one realm, or model.Unimplemented.
func (s *Session) GetRealm(ctx context.Context, id string) (model.Realm, error) {
	defer s.cloudCall(&ctx, "GetRealm")() // request_timeout and trace: deadline.go
	r, ok := s.d.(drivers.RealmLister)
	if !ok {
		return model.Realm{}, s.Unsupported(CapRealms)
	}
	out, err := r.GetRealm(ctx, id)
	return out, classify(err)
}

// ListInstances lists instances, or returns model.Unimplemented.
func (s *Session) ListInstances(ctx context.Context) ([]model.Instance, error) {
	defer s.cloudCall(&ctx, "ListInstances")() // request_timeout and trace: deadline.go
	il, ok := s.d.(drivers.InstanceLister)
	if !ok {
		return nil, s.Unsupported(CapInstances)
	}
	out, err := il.ListInstances(ctx)
	return out, classify(err)
}

// GetInstance returns one instance, or model.Unimplemented.
func (s *Session) GetInstance(ctx context.Context, id string) (model.Instance, error) {
	defer s.cloudCall(&ctx, "GetInstance")() // request_timeout and trace: deadline.go
	il, ok := s.d.(drivers.InstanceLister)
	if !ok {
		return model.Instance{}, s.Unsupported(CapInstances)
	}
	out, err := il.GetInstance(ctx, id)
	return out, classify(err)
}

// ResolveInstance returns the native id of an instance's scheme id or
// native id: a native id the driver knows, or the instance whose scheme id
// matches (by listing instances, which the catalog does not hold). Drivers
// without instances pass the id through for the create to decide.
func (s *Session) ResolveInstance(ctx context.Context, scheme Scheme, id string) (string, error) {
	nf := model.Errorf(model.NotFound, "machine %s not found", id)
	if scheme.Valid(id) {
		if n, ok, err := recordedID(ctx, s.g.store, scheme, s.Target.Driver, s.Target.Provider, KindInstances, id); err != nil || ok {
			return n, err
		}
		insts, err := s.ListInstances(ctx)
		if model.CodeOf(err) == model.Unimplemented {
			return id, nil
		}
		if err != nil {
			return "", err
		}
		for _, in := range insts {
			if in.ID == id || strings.EqualFold(s.ID(scheme, KindInstances, in.ID), id) {
				return in.ID, nil
			}
		}
		return "", nf
	}
	in, err := s.GetInstance(ctx, id)
	switch model.CodeOf(err) {
	case model.OK:
		return in.ID, nil
	case model.Unimplemented:
		return id, nil
	case model.NotFound:
		return "", nf
	}
	return "", err
}

// exportToDir writes an image's placeholder disk file and the front's
// manifest under the export directory: image first, manifest last, each
// atomically, so a manifest means a whole export.
func (g *Gateway) exportToDir(img model.Image, t Target, req model.ExportRequest) (model.ExportResult, error) {
	root, err := filepath.Abs(g.cfg.ExportDir)
	if err != nil {
		return model.ExportResult{}, model.Wrap(model.Internal, err, "export directory")
	}
	ext := fileSafe(img.DiskFormat)
	if ext == "" {
		ext = "raw"
	}
	mp := req.Path
	local := filepath.Join(root, filepath.FromSlash(mp))
	base := mp
	if st, err := os.Stat(local); strings.HasSuffix(mp, "/") || err == nil && st.IsDir() {
		base = strings.TrimSuffix(mp, "/") + "/" + fileSafe(cmpOr(req.FileName, img.ID))
	}
	imagePath, manifestPath := base+"."+ext, base+".imgmanifest"
	for _, p := range []string{imagePath, manifestPath} {
		if rel, err := filepath.Rel(root, filepath.Join(root, filepath.FromSlash(p))); err != nil || strings.HasPrefix(rel, "..") {
			return model.ExportResult{}, model.Errorf(model.InvalidArgument, "export path %s leaves the export directory", mp)
		}
	}
	placeholder := []byte("imagegw export placeholder: the disk data of " + t.Driver + " image " + img.ID + " (provider " + t.Provider + ") is not downloadable through this driver\n")
	if err := writeFileAtomic(filepath.Join(root, filepath.FromSlash(imagePath)), placeholder); err != nil {
		return model.ExportResult{}, err
	}
	if err := writeFileAtomic(filepath.Join(root, filepath.FromSlash(manifestPath)), append(slices.Clone(req.Manifest), '\n')); err != nil {
		return model.ExportResult{}, err
	}
	baseURL := g.cfg.ExportBaseURL
	if baseURL == "" {
		baseURL = "file://" + filepath.ToSlash(root)
	}
	return model.ExportResult{BaseURL: strings.TrimRight(baseURL, "/"), ImagePath: imagePath, ManifestPath: manifestPath}, nil
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// fileSafe makes a name usable as one path segment.
func fileSafe(s string) string {
	return strings.Map(func(r rune) rune {
		if r == '/' || r == '\\' || r == 0 {
			return '_'
		}
		return r
	}, s)
}

func writeFileAtomic(path string, data []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		if errors.Is(err, fs.ErrExist) || errors.Is(err, syscall.ENOTDIR) {
			return model.Errorf(model.InvalidArgument, "export path crosses an existing file")
		}
		return model.Wrap(model.Internal, err, "export directory")
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".export-*")
	if err != nil {
		return model.Wrap(model.Internal, err, "export")
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return model.Wrap(model.Internal, err, "export")
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return model.Wrap(model.Internal, err, "export")
	}
	if err := tmp.Close(); err != nil {
		return model.Wrap(model.Internal, err, "export")
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return model.Wrap(model.Internal, err, "export")
	}
	return nil
}
