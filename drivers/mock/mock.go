// Package mock is imagegw's embedded default cloud: Deltacloud's mock
// dataset, kept in the gateway's store so that images created and deleted
// through it survive restarts. It needs no network and no cloud, which makes
// it the driver for trying imagegw out, for front tests and for benchmarks.
//
// Provider settings (all optional):
//
//	create_delay: 2s        # how long a new image stays PENDING (0: none)
//	synthetic_images: 0     # extra deterministic images, for benchmarks
//	fail_instances: [inst2] # instances whose images end FAILED (fault injection)
package mock

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/imagegw/imagegw/drivers"
	"github.com/imagegw/imagegw/model"
	"github.com/imagegw/imagegw/store"
)

// ID is the driver's registry id.
const ID = "mock"

func init() {
	drivers.Register(drivers.Registration{
		ID: ID, Name: "Mock", Open: Open,
		DefaultProvider: &model.ProviderConfig{Name: "mock", Driver: ID},
		Anonymous:       true, // no server-side credentials: anonymous callers see public images
	})
}

// Settings are the mock's provider keys.
type Settings struct {
	CreateDelay     *time.Duration `yaml:"create_delay"`
	SyntheticImages int            `yaml:"synthetic_images"`
	FailInstances   []string       `yaml:"fail_instances"`
	// PageSize makes ListImagesPage answer pages of this many images
	// (0: one page of everything), to exercise paging.
	PageSize int `yaml:"page_size"`
}

// storedImage is an image as the mock keeps it.
type storedImage struct {
	Image model.Image
	// ReadyAt is when a PENDING image becomes AVAILABLE (or FAILED).
	ReadyAt time.Time `json:",omitempty"`
	// Fail makes the image end FAILED instead.
	Fail bool `json:",omitempty"`
	// Token is the gateway's token for the create that made the image
	// (model.CreateImage.Token), for FindCreated; the tokens namespace maps
	// it back to the image.
	Token string `json:",omitempty"`
}

// Provider is one mock provider: its own copy of the dataset.
type Provider struct {
	name     string
	st       store.Store
	ns       string
	delay    time.Duration
	failInst map[string]bool
	now      func() time.Time
	pageSize int
}

const defaultDelay = 2 * time.Second

// Open opens a mock provider, seeding its dataset into the store the first
// time.
func Open(ctx context.Context, cfg model.ProviderConfig, env drivers.Env) (drivers.Provider, error) {
	var s Settings
	if err := drivers.DecodeSettings(cfg, &s); err != nil {
		return nil, err
	}
	if env.Store == nil {
		return nil, model.Errorf(model.InvalidArgument, "mock provider %s needs a store", cfg.Name)
	}
	if s.PageSize < 0 {
		return nil, model.Errorf(model.InvalidArgument, "mock provider %s: page_size must not be negative", cfg.Name)
	}
	if s.SyntheticImages < 0 {
		return nil, model.Errorf(model.InvalidArgument, "mock provider %s: synthetic_images must not be negative", cfg.Name)
	}
	p := &Provider{name: cfg.Name, st: env.Store, ns: "mock/" + cfg.Name + "/images", delay: defaultDelay,
		failInst: map[string]bool{}, now: time.Now, pageSize: s.PageSize}
	if s.CreateDelay != nil {
		if *s.CreateDelay < 0 {
			return nil, model.Errorf(model.InvalidArgument, "mock provider %s: create_delay must not be negative", cfg.Name)
		}
		p.delay = *s.CreateDelay
	}
	for _, id := range s.FailInstances {
		p.failInst[id] = true
	}
	if err := p.seed(ctx, s.SyntheticImages); err != nil {
		return nil, err
	}
	return p, nil
}

func (p *Provider) metaNS() string { return "mock/" + p.name + "/meta" }

// tokensNS maps a create's token to the id of the image it made.
func (p *Provider) tokensNS() string { return "mock/" + p.name + "/tokens" }

// seed writes the dataset once, and (re)writes the synthetic images when
// their count changed.
func (p *Provider) seed(ctx context.Context, synthetic int) error {
	return p.st.Update(ctx, func(tx store.Tx) error {
		if _, err := tx.Get(p.metaNS(), "seeded"); model.IsNotFound(err) {
			for _, img := range seedImages() {
				if err := putImage(tx, p.ns, storedImage{Image: img}); err != nil {
					return err
				}
			}
			if err := tx.Put(p.metaNS(), "seeded", []byte(time.Now().UTC().Format(time.RFC3339))); err != nil {
				return err
			}
		} else if err != nil {
			return err
		}
		had := 0
		if v, err := tx.Get(p.metaNS(), "synthetic"); err == nil {
			fmt.Sscan(string(v), &had)
		} else if !model.IsNotFound(err) {
			return err
		}
		if had == synthetic {
			return recount(tx, p)
		}
		for n := synthetic + 1; n <= had; n++ {
			if err := tx.Delete(p.ns, syntheticImage(n).ID); err != nil && !model.IsNotFound(err) {
				return err
			}
		}
		for n := had + 1; n <= synthetic; n++ {
			if err := putImage(tx, p.ns, storedImage{Image: syntheticImage(n)}); err != nil {
				return err
			}
		}
		if err := tx.Put(p.metaNS(), "synthetic", []byte(fmt.Sprint(synthetic))); err != nil {
			return err
		}
		return recount(tx, p)
	})
}

// recount stores the number of images, so that listing can size its slice
// exactly instead of growing it (the list of a large catalog is most of the
// memory a list request takes).
func recount(tx store.Tx, p *Provider) error {
	n := 0
	if err := tx.Scan(p.ns, "", func(string, []byte) error { n++; return nil }); err != nil {
		return err
	}
	return tx.Put(p.metaNS(), "count", []byte(fmt.Sprint(n)))
}

// addCount adds delta to the stored image count.
func addCount(tx store.Tx, p *Provider, delta int) error {
	return tx.Put(p.metaNS(), "count", []byte(fmt.Sprint(count(tx, p)+delta)))
}

func count(tx store.Tx, p *Provider) int {
	n := 0
	if v, err := tx.Get(p.metaNS(), "count"); err == nil {
		fmt.Sscan(string(v), &n)
	}
	return n
}

func putImage(tx store.Tx, ns string, s storedImage) error {
	b, err := json.Marshal(s)
	if err != nil {
		return err
	}
	return tx.Put(ns, s.Image.ID, b)
}

// Connect returns a driver acting as creds. Only mockuser/mockpassword are
// accepted, and only by the calls that need credentials.
func (p *Provider) Connect(_ context.Context, creds model.Credentials) (drivers.Driver, error) {
	return &Driver{p: p, creds: creds}, nil
}

// Close does nothing: the store belongs to the gateway.
func (p *Provider) Close() error { return nil }

// Driver is the mock acting with one set of credentials.
type Driver struct {
	p     *Provider
	creds model.Credentials
}

var (
	_ drivers.Driver            = (*Driver)(nil)
	_ drivers.ImageUpdater      = (*Driver)(nil)
	_ drivers.ImageCloner       = (*Driver)(nil)
	_ drivers.ImageCopier       = (*Driver)(nil)
	_ drivers.RealmLister       = (*Driver)(nil)
	_ drivers.InstanceLister    = (*Driver)(nil)
	_ drivers.CredentialChecker = (*Driver)(nil)
	_ drivers.FeatureReporter   = (*Driver)(nil)
	_ drivers.CreateFinder      = (*Driver)(nil)
)

// CheckCredentials accepts only mockuser/mockpassword.
func (d *Driver) CheckCredentials(context.Context) error {
	if d.creds.Empty() {
		return model.Errorf(model.Unauthenticated, "credentials required")
	}
	if d.creds.User != User || d.creds.Password != Password {
		return model.Errorf(model.Unauthenticated, "Authentication failed")
	}
	return nil
}

// Features says the mock filters owners and keeps names and descriptions.
func (d *Driver) Features() model.Features {
	return model.Features{OwnerFilter: true, CreateName: true, CreateDescription: true}
}

// view resolves the stored image's state at the current time.
func (d *Driver) view(s storedImage) model.Image {
	img := s.Image
	if _, off := img.Created.Zone(); off == 2*3600 {
		img.Created = img.Created.In(seedTime.Location()) // keep the name CEST through JSON
	}
	if img.State == model.ImagePending && !d.p.now().Before(s.ReadyAt) {
		if s.Fail {
			img.State = model.ImageFailed
			img.StateReason = "mock: image creation failed (fault injection)"
		} else {
			img.State = model.ImageAvailable
		}
	}
	return img
}

// ListImages lists the images q selects; the mock filters natively.
func (d *Driver) ListImages(ctx context.Context, q model.ImageQuery) ([]model.Image, error) {
	if err := d.CheckCredentials(ctx); err != nil {
		return nil, err
	}
	if q.OwnerID == "self" {
		q.OwnerID = d.creds.User
	}
	var out []model.Image
	err := d.p.st.View(ctx, func(tx store.Tx) error {
		out = make([]model.Image, 0, count(tx, d.p))
		return tx.Scan(d.p.ns, "", func(_ string, v []byte) error {
			var s storedImage
			if err := json.Unmarshal(v, &s); err != nil {
				return model.Wrap(model.Internal, err, "mock: corrupt image record")
			}
			if img := d.view(s); q.Match(img) {
				out = append(out, img)
			}
			return ctx.Err()
		})
	})
	return out, err
}

// ListImagesPage is ListImages a page at a time (page_size images, in id
// order; the token is the last id of the previous page).
func (d *Driver) ListImagesPage(ctx context.Context, q model.ImageQuery, token string) ([]model.Image, string, error) {
	if d.p.pageSize == 0 {
		if token != "" {
			return nil, "", model.Errorf(model.InvalidArgument, "mock: unexpected page token %q", token)
		}
		imgs, err := d.ListImages(ctx, q)
		return imgs, "", err
	}
	if err := d.CheckCredentials(ctx); err != nil {
		return nil, "", err
	}
	if q.OwnerID == "self" {
		q.OwnerID = d.creds.User
	}
	var out []model.Image
	next := ""
	errFull := errors.New("page full")
	err := d.p.st.View(ctx, func(tx store.Tx) error {
		return tx.Scan(d.p.ns, "", func(k string, v []byte) error {
			if k <= token {
				return nil
			}
			var s storedImage
			if err := json.Unmarshal(v, &s); err != nil {
				return model.Wrap(model.Internal, err, "mock: corrupt image record")
			}
			if img := d.view(s); q.Match(img) {
				if len(out) == d.p.pageSize {
					next = out[len(out)-1].ID
					return errFull
				}
				out = append(out, img)
			}
			return ctx.Err()
		})
	})
	if errors.Is(err, errFull) {
		err = nil
	}
	return out, next, err
}

func (d *Driver) load(tx store.Tx, id string) (storedImage, error) {
	var s storedImage
	v, err := tx.Get(d.p.ns, id)
	if model.IsNotFound(err) {
		return s, model.Errorf(model.NotFound, "image %s not found", id)
	}
	if err != nil {
		return s, err
	}
	if err := json.Unmarshal(v, &s); err != nil {
		return s, model.Wrap(model.Internal, err, "mock: corrupt image record %s", id)
	}
	return s, nil
}

// GetImage returns one image.
func (d *Driver) GetImage(ctx context.Context, id string) (model.Image, error) {
	if err := d.CheckCredentials(ctx); err != nil {
		return model.Image{}, err
	}
	var s storedImage
	err := d.p.st.View(ctx, func(tx store.Tx) (err error) {
		s, err = d.load(tx, id)
		return err
	})
	if err != nil {
		return model.Image{}, err
	}
	return d.view(s), nil
}

// CreateImage makes an image from an instance: a fresh img<N> id, PENDING
// until the provider's create delay has passed.
func (d *Driver) CreateImage(ctx context.Context, req model.CreateImage) (model.Image, error) {
	if err := d.CheckCredentials(ctx); err != nil {
		return model.Image{}, err
	}
	inst, err := findInstance(req.InstanceID)
	if err != nil {
		return model.Image{}, err
	}
	if !inst.CanCreateImage {
		return model.Image{}, model.Errorf(model.FailedPrecondition, "instance %s does not allow image creation", inst.ID)
	}
	return d.newImage(ctx, req.Name, req.Description, inst.ImageID, d.p.failInst[inst.ID], req.Token)
}

// FindCreated returns the caller's image made by the create with token, or
// model.NotFound (none, deleted since, or another user's).
func (d *Driver) FindCreated(ctx context.Context, token string) (model.Image, error) {
	if err := d.CheckCredentials(ctx); err != nil {
		return model.Image{}, err
	}
	var s storedImage
	err := d.p.st.View(ctx, func(tx store.Tx) error {
		id, err := tx.Get(d.p.tokensNS(), token)
		if err != nil {
			return err
		}
		s, err = d.load(tx, string(id))
		return err
	})
	if err == nil && (s.Token != token || s.Image.OwnerID != d.creds.User) {
		err = model.Errorf(model.NotFound, "")
	}
	if model.IsNotFound(err) {
		return model.Image{}, model.Errorf(model.NotFound, "no image of %s was made by create %s", d.creds.User, token)
	}
	if err != nil {
		return model.Image{}, err
	}
	return d.view(s), nil
}

// newImage stores a new PENDING image whose architecture is that of the
// image archOf, made by the create with token ("": none).
func (d *Driver) newImage(ctx context.Context, name, desc, archOf string, fail bool, token string) (model.Image, error) {
	var out storedImage
	err := d.p.st.Update(ctx, func(tx store.Tx) error {
		arch := ""
		if src, err := d.load(tx, archOf); err == nil {
			arch = src.Image.Architecture
		} else if !model.IsNotFound(err) {
			return err
		}
		n, err := tx.Next(d.p.metaNS(), "image_counter", 4)
		if err != nil {
			return err
		}
		id := fmt.Sprintf("img%d", n)
		if name == "" {
			name = id
		}
		now := d.p.now().UTC()
		out = storedImage{
			Image: model.Image{ID: id, Name: name, Description: desc, OwnerID: d.creds.User,
				Architecture: arch, State: model.ImagePending, Created: now.Truncate(time.Second),
				RootType: model.RootTransient, OS: "linux",
				Visibility: model.VisibilityPrivate, DiskFormat: "raw"},
			ReadyAt: now.Add(d.p.delay),
			Fail:    fail,
			Token:   token,
		}
		if err := addCount(tx, d.p, 1); err != nil {
			return err
		}
		if token != "" {
			if err := tx.Put(d.p.tokensNS(), token, []byte(id)); err != nil {
				return err
			}
		}
		return putImage(tx, d.p.ns, out)
	})
	if err != nil {
		return model.Image{}, err
	}
	img := out.Image // the state at creation: PENDING, whatever the delay
	return img, nil
}

// DeleteImage deletes an image.
func (d *Driver) DeleteImage(ctx context.Context, id string) error {
	if err := d.CheckCredentials(ctx); err != nil {
		return err
	}
	return d.p.st.Update(ctx, func(tx store.Tx) error {
		s, err := d.load(tx, id)
		if err != nil {
			return err
		}
		if err := addCount(tx, d.p, -1); err != nil {
			return err
		}
		if s.Token != "" {
			if err := tx.Delete(d.p.tokensNS(), s.Token); err != nil && !model.IsNotFound(err) {
				return err
			}
		}
		return tx.Delete(d.p.ns, id)
	})
}

// UpdateImage changes an image's name, description or tags.
func (d *Driver) UpdateImage(ctx context.Context, id string, u model.ImageUpdate) (model.Image, error) {
	if err := d.CheckCredentials(ctx); err != nil {
		return model.Image{}, err
	}
	var out storedImage
	err := d.p.st.Update(ctx, func(tx store.Tx) error {
		s, err := d.load(tx, id)
		if err != nil {
			return err
		}
		if u.Name != nil {
			if *u.Name == "" {
				return model.Errorf(model.InvalidArgument, "name must not be empty")
			}
			s.Image.Name = *u.Name
		}
		if u.Description != nil {
			s.Image.Description = *u.Description
		}
		for k, v := range u.Tags {
			if s.Image.Tags == nil {
				s.Image.Tags = map[string]string{}
			}
			if v == "" {
				delete(s.Image.Tags, k)
			} else {
				s.Image.Tags[k] = v
			}
		}
		out = s
		return putImage(tx, d.p.ns, s)
	})
	if err != nil {
		return model.Image{}, err
	}
	return d.view(out), nil
}

// CloneImage copies an image within the provider: a new PENDING image owned
// by the caller.
func (d *Driver) CloneImage(ctx context.Context, req model.CloneImage) (model.Image, error) {
	src, err := d.GetImage(ctx, req.SourceImageID)
	if err != nil {
		return model.Image{}, err
	}
	name, desc := req.Name, req.Description
	if name == "" {
		name = src.Name
	}
	if desc == "" {
		desc = src.Description
	}
	return d.newImage(ctx, name, desc, src.ID, false, "")
}

// CopyImage copies an image from another mock provider into this one.
func (d *Driver) CopyImage(ctx context.Context, req model.CopyImage) (model.Image, error) {
	if err := d.CheckCredentials(ctx); err != nil {
		return model.Image{}, err
	}
	if req.SourceProvider.Driver != ID {
		return model.Image{}, model.Errorf(model.InvalidArgument, "mock can copy only from another mock provider, not from %s", req.SourceProvider.Driver)
	}
	srcNS := "mock/" + req.SourceProvider.Name + "/images"
	var src storedImage
	err := d.p.st.View(ctx, func(tx store.Tx) error {
		v, err := tx.Get(srcNS, req.SourceImageID)
		if model.IsNotFound(err) {
			return model.Errorf(model.NotFound, "image %s not found in %s", req.SourceImageID, req.SourceProvider.Name)
		}
		if err != nil {
			return err
		}
		return json.Unmarshal(v, &src)
	})
	if err != nil {
		return model.Image{}, err
	}
	name, desc := req.Name, req.Description
	if name == "" {
		name = src.Image.Name
	}
	if desc == "" {
		desc = src.Image.Description
	}
	var out storedImage
	err = d.p.st.Update(ctx, func(tx store.Tx) error {
		n, err := tx.Next(d.p.metaNS(), "image_counter", 4)
		if err != nil {
			return err
		}
		now := d.p.now().UTC()
		img := src.Image
		img.ID, img.Name, img.Description = fmt.Sprintf("img%d", n), name, desc
		img.OwnerID, img.State, img.Created = d.creds.User, model.ImagePending, now.Truncate(time.Second)
		out = storedImage{Image: img, ReadyAt: now.Add(d.p.delay)}
		if err := addCount(tx, d.p, 1); err != nil {
			return err
		}
		return putImage(tx, d.p.ns, out)
	})
	return out.Image, err
}

// ListHardwareProfiles returns the four mock profiles; no credentials needed.
func (d *Driver) ListHardwareProfiles(context.Context) ([]model.HardwareProfile, error) {
	return profiles(), nil
}

// ListRealms returns us and eu.
func (d *Driver) ListRealms(ctx context.Context) ([]model.Realm, error) {
	if err := d.CheckCredentials(ctx); err != nil {
		return nil, err
	}
	return realms(), nil
}

// GetRealm returns a realm; ids 500, 501, 502 and 504 fail with that kind
// of error, for fault injection.
func (d *Driver) GetRealm(ctx context.Context, id string) (model.Realm, error) {
	if err := d.CheckCredentials(ctx); err != nil {
		return model.Realm{}, err
	}
	if code, ok := faultRealms[id]; ok {
		e := model.Errorf(code, "mock: injected fault for realm %s", id)
		fmt.Sscan(id, &e.InjectedStatus)
		return model.Realm{}, e
	}
	for _, r := range realms() {
		if r.ID == id {
			return r, nil
		}
	}
	return model.Realm{}, model.Errorf(model.NotFound, "realm %s not found", id)
}

// ListInstances returns inst0..inst3.
func (d *Driver) ListInstances(ctx context.Context) ([]model.Instance, error) {
	if err := d.CheckCredentials(ctx); err != nil {
		return nil, err
	}
	return instances(), nil
}

// GetInstance returns one instance.
func (d *Driver) GetInstance(ctx context.Context, id string) (model.Instance, error) {
	if err := d.CheckCredentials(ctx); err != nil {
		return model.Instance{}, err
	}
	return findInstance(id)
}

func findInstance(id string) (model.Instance, error) {
	for _, in := range instances() {
		if in.ID == id {
			return in, nil
		}
	}
	return model.Instance{}, model.Errorf(model.NotFound, "instance %s not found", strings.TrimSpace(id))
}
