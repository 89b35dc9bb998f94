// Package drivers defines what a cloud driver is: the small Driver interface
// every driver implements, the optional capability interfaces a driver may
// also implement (detected by type assertion, as database/sql/driver does),
// and the registry drivers add themselves to from an init function.
//
// A driver translates one cloud's SDK into package model, and maps every raw
// SDK error once, to a *model.Error with one of model's codes. It does not
// cache, filter beyond what its cloud filters natively, or know HTTP.
package drivers

import (
	"context"
	"log/slog"

	"github.com/imagegw/imagegw/model"
	"github.com/imagegw/imagegw/store"
)

// Driver is what every driver implements, acting in one provider (region,
// datacenter, endpoint) with one set of credentials.
//
// Every method returns errors carrying a model code: model.NotFound for an
// unknown id, model.Unauthenticated for missing or rejected credentials, and
// so on.
type Driver interface {
	// ListImages returns the images q selects. A driver pushes down the
	// filters its cloud supports; the gateway applies q.Match afterwards, so
	// returning more than q selects is fine, fewer is not. An OwnerID of
	// "self" is the driver's to resolve.
	ListImages(ctx context.Context, q model.ImageQuery) ([]model.Image, error)
	// GetImage returns one image, or model.NotFound.
	GetImage(ctx context.Context, id string) (model.Image, error)
	// CreateImage starts making an image from an instance and returns at
	// once with the new image, normally in state model.ImagePending. An
	// unknown instance is model.NotFound; one that cannot be imaged now is
	// model.FailedPrecondition.
	CreateImage(ctx context.Context, req model.CreateImage) (model.Image, error)
	// DeleteImage deletes an image, or returns model.NotFound.
	DeleteImage(ctx context.Context, id string) error
	// ListHardwareProfiles returns the machine sizes of the provider.
	ListHardwareProfiles(ctx context.Context) ([]model.HardwareProfile, error)
}

// ImagePager is implemented by drivers whose cloud lists images a page at
// a time: ListImagesPage returns one page of the images q selects, from
// the page token (empty: the first page), and the token of the next page
// (empty: that was the last). The gateway's catalog walks the pages itself
// (a driver does not loop over pages when the portable layer can); without
// ImagePager it calls ListImages once.
type ImagePager interface {
	ListImagesPage(ctx context.Context, q model.ImageQuery, token string) (images []model.Image, next string, err error)
}

// ImageUpdater is implemented by drivers that can change an image's name,
// description or tags. Without it, updates are model.Unimplemented.
type ImageUpdater interface {
	UpdateImage(ctx context.Context, id string, u model.ImageUpdate) (model.Image, error)
}

// ImageCloner is implemented by drivers that can copy an image within the
// same provider. Without it, clones are model.Unimplemented.
type ImageCloner interface {
	CloneImage(ctx context.Context, req model.CloneImage) (model.Image, error)
}

// ImageCopier is implemented by drivers that can copy an image from another
// provider of the same driver into this one (another region or datacenter).
// It is called on the destination's driver. Without it, copies are
// model.Unimplemented.
type ImageCopier interface {
	CopyImage(ctx context.Context, req model.CopyImage) (model.Image, error)
}

// ImageExporter is implemented by drivers with a native export (an S3 bucket
// for EC2, say). Without it the gateway exports to its own object directory
// where one is configured.
type ImageExporter interface {
	ExportImage(ctx context.Context, id string, dest model.ExportRequest) (model.ExportResult, error)
}

// RealmLister is implemented by drivers that have realms (availability
// zones, datacenters). Without it the realms collection is not offered.
type RealmLister interface {
	ListRealms(ctx context.Context) ([]model.Realm, error)
	GetRealm(ctx context.Context, id string) (model.Realm, error)
}

// InstanceLister is implemented by drivers that can show instances, so that
// clients can find what to make images from. Without it the instances
// collection is not offered.
type InstanceLister interface {
	ListInstances(ctx context.Context) ([]model.Instance, error)
	GetInstance(ctx context.Context, id string) (model.Instance, error)
}

// CredentialChecker is implemented by drivers that can check credentials
// cheaply. It returns nil or a model.Unauthenticated error.
type CredentialChecker interface {
	CheckCredentials(ctx context.Context) error
}

// CreateFinder is implemented by drivers that keep model.CreateImage's
// Token with the image they make. FindCreated returns that image, or
// model.NotFound when no image carries the token. The gateway calls it for
// creates it recorded but did not see finish (it was killed): found, the
// image gets its job; without CreateFinder such a create is recorded as a
// failed job whose outcome in the cloud is unknown.
type CreateFinder interface {
	FindCreated(ctx context.Context, token string) (model.Image, error)
}

// FeatureReporter is implemented by drivers whose images support optional
// features the native front advertises. Without it no feature is offered.
type FeatureReporter interface {
	Features() model.Features
}

// Provider is one configured provider of a driver. It hands out Drivers
// bound to credentials and may keep clients or sessions for reuse.
type Provider interface {
	// Connect returns a Driver acting with creds. Empty creds mean the
	// provider's server-side credentials if it has any; a driver that needs
	// credentials and has none returns model.Unauthenticated from the calls
	// that need them, not from Connect. Connect should not call the cloud
	// unless it must; it is called once per request.
	Connect(ctx context.Context, creds model.Credentials) (Driver, error)
	// Close releases clients and sessions.
	Close() error
}

// Env is what the gateway gives a provider when it opens it.
type Env struct {
	Store  store.Store // durable state (the mock keeps its cloud here)
	Logger *slog.Logger
	// DataDir is the gateway's data directory, for drivers that keep files.
	DataDir string
	// Shared holds provider-wide parts for every caller (see Shared); nil
	// means NoShared.
	Shared Shared
}

// SharedParts returns e.Shared, or NoShared when it is nil.
func (e Env) SharedParts() Shared {
	if e.Shared == nil {
		return NoShared{}
	}
	return e.Shared
}

// Opener opens a provider from its configuration. It must check the
// configuration strictly (unknown keys are errors; see DecodeSettings) and
// return a model.InvalidArgument error naming the problem.
type Opener func(ctx context.Context, cfg model.ProviderConfig, env Env) (Provider, error)

// Wrapper is implemented by drivers that wrap another (metrics' call
// counting): Unwrap returns the wrapped driver.
type Wrapper interface {
	Unwrap() Driver
}

// As finds the optional interface T on d, or on the drivers d wraps
// (following Unwrap, as errors.As does), so that a wrapper need not carry
// every capability the gateway asks for rarely (CreateFinder). A call made
// through what As returns bypasses the wrappers above it.
func As[T any](d Driver) (T, bool) {
	for d != nil {
		if t, ok := d.(T); ok {
			return t, true
		}
		w, ok := d.(Wrapper)
		if !ok {
			break
		}
		d = w.Unwrap()
	}
	var zero T
	return zero, false
}
