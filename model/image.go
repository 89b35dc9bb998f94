package model

import (
	"strings"
	"time"
)

// Image states, upper case as the native front shows them. Drivers map their
// cloud's states to these where one fits and may pass others through upper
// cased (for example "DEREGISTERED").
const (
	ImageAvailable = "AVAILABLE"
	ImagePending   = "PENDING"
	ImageFailed    = "FAILED"
	ImageDisabled  = "DISABLED"
	ImageDeleted   = "DELETED"
)

// Root device kinds of an image.
const (
	RootTransient  = "transient"
	RootPersistent = "persistent"
)

// Visibility values of an image.
const (
	VisibilityPublic  = "public"
	VisibilityPrivate = "private"
	VisibilityShared  = "shared"
)

// Image is a machine image in a cloud's catalog.
type Image struct {
	ID           string
	Name         string
	Description  string
	OwnerID      string
	Architecture string // "x86_64", "i386", "arm64", or "" when unknown
	State        string // ImageAvailable, ImagePending, ...
	// StateReason says why an image is in its state, chiefly why it FAILED.
	StateReason string
	Created     time.Time // zero when unknown
	// HardwareProfiles lists the ids of compatible profiles; nil means the
	// driver cannot tell (every profile fits).
	HardwareProfiles []string
	RootType         string // RootTransient or RootPersistent; "" unknown
	Visibility       string // VisibilityPublic, ...; "" when the cloud has none
	OS               string // "linux", "windows", "bsd", "smartos", "illumos", "other" or ""
	Version          string // native version, "" when the cloud has none
	Type             string // native type (Triton "zone-dataset"), "" otherwise
	SizeBytes        int64  // 0 when unknown
	DiskFormat       string // "raw", "qcow2", "vmdk", ... or ""
	Tags             map[string]string
	// Native holds cloud-specific fields worth showing (block devices, guest
	// id, checksum, ...), as strings.
	Native map[string]string
	// Meta is the gateway's overlay of the image, set by the gateway's
	// catalog (never by drivers); nil when it keeps nothing. Name and
	// Description above already include its Name and Description.
	Meta *ImageMeta
}

// Terminal reports whether the image's state will not change on its own.
func (i Image) Terminal() bool {
	switch strings.ToUpper(i.State) {
	case ImagePending, "QUEUED", "SAVING", "IMPORTING", "UPLOADING", "CREATING":
		return false
	}
	return true
}

// CreateImage asks a driver to make an image from an instance.
type CreateImage struct {
	InstanceID  string
	Name        string // "" lets the driver choose
	Description string
	// Version is the image's version, for clouds that keep one (Triton);
	// others ignore it (the gateway's overlay keeps it for them).
	Version string
	// Options are driver-specific switches from the request, for example
	// "mark_as_template" (vsphere) or "no_reboot" (ec2).
	Options map[string]string
	// Token is the gateway's id for this create (the job that will follow
	// it). A driver that can keeps it with the new image (EC2: the tag
	// imagegw:job; OpenStack: the Glance property imagegw_job; vSphere: the
	// template's extraConfig imagegw.job; Triton: the tag imagegw_job; the
	// mock: its record) so that, after the gateway died mid-create or lost
	// the answer, drivers.CreateFinder finds what was made.
	Token string
}

// ImageUpdate changes an image's mutable fields; nil fields stay as they are.
type ImageUpdate struct {
	Name        *string
	Description *string
	Tags        map[string]string // set these tags (an empty value removes one)
}

// CopyImage asks the destination provider's driver to copy an image from
// another provider of the same driver (another region or datacenter).
type CopyImage struct {
	SourceProvider ProviderConfig
	SourceImageID  string
	Name           string
	Description    string
}

// CloneImage asks a driver for a copy of an image within the same provider.
type CloneImage struct {
	SourceImageID string
	Name          string
	Description   string
}

// ExportRequest asks for an image export to a destination path.
type ExportRequest struct {
	// Path is the destination, in the front's terms (a Manta path for
	// CloudAPI). The driver or the gateway's object directory decides where
	// it really lands. A Path ending in "/" (or naming a directory) gets
	// FileName appended.
	Path string
	// FileName is the base file name used when Path is a directory.
	FileName string
	// Manifest is the front's description of the image, written beside the
	// image file when the gateway exports to its own directory.
	Manifest []byte
}

// ExportResult says where an export landed.
type ExportResult struct {
	BaseURL      string // public base URL of the target ("" for a local dir)
	ImagePath    string
	ManifestPath string
}

// Features are the optional image features a driver supports, advertised on
// the native front's entry point.
type Features struct {
	OwnerFilter       bool // images can be filtered by owner_id natively
	CreateName        bool // create_image keeps the given name
	CreateDescription bool // create_image keeps the given description
}
