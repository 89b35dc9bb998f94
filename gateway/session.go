package gateway

import (
	"context"
	"slices"

	"github.com/imagegw/imagegw/drivers"
	"github.com/imagegw/imagegw/model"
)

// Session is one driver connection for one request (or job): it applies the
// portable filters, checks capabilities and classifies errors.
type Session struct {
	Target
	g     *Gateway
	d     drivers.Driver
	creds model.Credentials
}

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

// Capabilities reports the driver's optional capabilities.
func (s *Session) Capabilities() Capabilities {
	var c Capabilities
	_, c.Update = s.d.(drivers.ImageUpdater)
	_, c.Clone = s.d.(drivers.ImageCloner)
	_, c.Copy = s.d.(drivers.ImageCopier)
	_, c.Export = s.d.(drivers.ImageExporter)
	_, c.Realms = s.d.(drivers.RealmLister)
	_, c.Instances = s.d.(drivers.InstanceLister)
	_, c.CheckCredentials = s.d.(drivers.CredentialChecker)
	if f, ok := s.d.(drivers.FeatureReporter); ok {
		c.Features = f.Features()
	}
	return c
}

// Driver returns the session's raw driver, for fronts that need a native
// capability the gateway does not wrap.
func (s *Session) Driver() drivers.Driver { return s.d }

// Credentials returns the credentials the session acts with.
func (s *Session) Credentials() model.Credentials { return s.creds }

func (s *Session) unsupported(capability string) error {
	return drivers.Unsupported(s.Target.Driver, capability)
}

// CheckCredentials asks the cloud whether the session's credentials are
// good: through the driver's CredentialChecker, else by listing images.
func (s *Session) CheckCredentials(ctx context.Context) error {
	if c, ok := s.d.(drivers.CredentialChecker); ok {
		return classify(c.CheckCredentials(ctx))
	}
	_, err := s.d.ListImages(ctx, model.ImageQuery{IDs: []string{"imagegw-credential-check"}})
	if model.CodeOf(err) == model.NotFound {
		return nil
	}
	return classify(err)
}

// ListImages lists the images q selects, in the driver's order.
func (s *Session) ListImages(ctx context.Context, q model.ImageQuery) ([]model.Image, error) {
	imgs, err := s.d.ListImages(ctx, q)
	if err != nil {
		return nil, classify(err)
	}
	out := imgs[:0] // filter in place: lists can be large
	for _, img := range imgs {
		if q.Match(img) {
			out = append(out, img)
		}
	}
	clear(imgs[len(out):])
	if out == nil {
		out = []model.Image{}
	}
	return out, nil
}

// GetImage returns one image.
func (s *Session) GetImage(ctx context.Context, id string) (model.Image, error) {
	img, err := s.d.GetImage(ctx, id)
	return img, classify(err)
}

// CreateImage starts an image from an instance and records a job that
// follows it to a terminal state. The image is returned as the driver gave
// it (normally PENDING).
func (s *Session) CreateImage(ctx context.Context, req model.CreateImage, meta JobMeta) (model.Image, model.Job, error) {
	img, err := s.d.CreateImage(ctx, req)
	if err != nil {
		return model.Image{}, model.Job{}, classify(err)
	}
	job, err := s.g.jobs.start(ctx, s, model.JobCreateImage, img, meta)
	return img, job, err
}

// DeleteImage deletes an image.
func (s *Session) DeleteImage(ctx context.Context, id string) error {
	return classify(s.d.DeleteImage(ctx, id))
}

// UpdateImage changes an image, or returns model.Unimplemented.
func (s *Session) UpdateImage(ctx context.Context, id string, u model.ImageUpdate) (model.Image, error) {
	up, ok := s.d.(drivers.ImageUpdater)
	if !ok {
		return model.Image{}, s.unsupported(CapUpdateImage)
	}
	img, err := up.UpdateImage(ctx, id, u)
	return img, classify(err)
}

// CloneImage copies an image within the provider and follows the copy as a
// job, or returns model.Unimplemented.
func (s *Session) CloneImage(ctx context.Context, req model.CloneImage, meta JobMeta) (model.Image, model.Job, error) {
	c, ok := s.d.(drivers.ImageCloner)
	if !ok {
		return model.Image{}, model.Job{}, s.unsupported(CapCloneImage)
	}
	img, err := c.CloneImage(ctx, req)
	if err != nil {
		return model.Image{}, model.Job{}, classify(err)
	}
	job, err := s.g.jobs.start(ctx, s, model.JobCloneImage, img, meta)
	return img, job, err
}

// CopyImage copies an image from another provider of the same driver into
// the session's provider and follows the copy as a job, or returns
// model.Unimplemented.
func (s *Session) CopyImage(ctx context.Context, sourceProvider, imageID, name, desc string, meta JobMeta) (model.Image, model.Job, error) {
	c, ok := s.d.(drivers.ImageCopier)
	if !ok {
		return model.Image{}, model.Job{}, s.unsupported(CapCopyImage)
	}
	src, err := s.g.ProviderConfig(sourceProvider)
	if err != nil || src.Driver != s.Target.Driver {
		return model.Image{}, model.Job{}, model.Errorf(model.InvalidArgument, "provider %q is not configured for driver %s; valid providers: %v", sourceProvider, s.Target.Driver, s.g.byDriver[s.Target.Driver])
	}
	img, err := c.CopyImage(ctx, model.CopyImage{SourceProvider: src, SourceImageID: imageID, Name: name, Description: desc})
	if err != nil {
		return model.Image{}, model.Job{}, classify(err)
	}
	job, err := s.g.jobs.start(ctx, s, model.JobCopyImage, img, meta)
	return img, job, err
}

// ExportImage uses the driver's native export, or returns
// model.Unimplemented (the caller may then export to the gateway's own
// directory).
func (s *Session) ExportImage(ctx context.Context, id string, req model.ExportRequest) (model.ExportResult, error) {
	e, ok := s.d.(drivers.ImageExporter)
	if !ok {
		return model.ExportResult{}, s.unsupported(CapExportImage)
	}
	res, err := e.ExportImage(ctx, id, req)
	return res, classify(err)
}

// ListHardwareProfiles lists the provider's profiles; a non-empty
// architecture keeps the profiles whose architecture property allows it.
func (s *Session) ListHardwareProfiles(ctx context.Context, architecture string) ([]model.HardwareProfile, error) {
	hps, err := s.d.ListHardwareProfiles(ctx)
	if err != nil {
		return nil, classify(err)
	}
	if architecture == "" {
		return hps, nil
	}
	return slices.DeleteFunc(slices.Clone(hps), func(hp model.HardwareProfile) bool {
		p, ok := hp.Property(model.PropArchitecture)
		return !ok || !p.Contains(architecture)
	}), nil
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

// ListRealms lists realms, or returns model.Unimplemented.
func (s *Session) ListRealms(ctx context.Context) ([]model.Realm, error) {
	r, ok := s.d.(drivers.RealmLister)
	if !ok {
		return nil, s.unsupported(CapRealms)
	}
	out, err := r.ListRealms(ctx)
	return out, classify(err)
}

// GetRealm returns one realm, or model.Unimplemented.
func (s *Session) GetRealm(ctx context.Context, id string) (model.Realm, error) {
	r, ok := s.d.(drivers.RealmLister)
	if !ok {
		return model.Realm{}, s.unsupported(CapRealms)
	}
	out, err := r.GetRealm(ctx, id)
	return out, classify(err)
}

// ListInstances lists instances, or returns model.Unimplemented.
func (s *Session) ListInstances(ctx context.Context) ([]model.Instance, error) {
	il, ok := s.d.(drivers.InstanceLister)
	if !ok {
		return nil, s.unsupported(CapInstances)
	}
	out, err := il.ListInstances(ctx)
	return out, classify(err)
}

// GetInstance returns one instance, or model.Unimplemented.
func (s *Session) GetInstance(ctx context.Context, id string) (model.Instance, error) {
	il, ok := s.d.(drivers.InstanceLister)
	if !ok {
		return model.Instance{}, s.unsupported(CapInstances)
	}
	out, err := il.GetInstance(ctx, id)
	return out, classify(err)
}
