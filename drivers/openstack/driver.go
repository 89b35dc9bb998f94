package openstack

import (
	"context"
	"fmt"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/gophercloud/gophercloud/v2/openstack/compute/v2/availabilityzones"
	"github.com/gophercloud/gophercloud/v2/openstack/compute/v2/flavors"
	"github.com/gophercloud/gophercloud/v2/openstack/compute/v2/servers"
	"github.com/gophercloud/gophercloud/v2/openstack/image/v2/images"
	"github.com/gophercloud/gophercloud/v2/pagination"

	"github.com/imagegw/imagegw/drivers"
	"github.com/imagegw/imagegw/model"
)

// Driver acts in one OpenStack provider with one set of credentials.
type Driver struct {
	sess *session
	err  error // set when the driver cannot act at all (no credentials)
}

// Capabilities the driver offers beyond drivers.Driver.
var (
	_ drivers.ImageUpdater      = (*Driver)(nil)
	_ drivers.RealmLister       = (*Driver)(nil)
	_ drivers.InstanceLister    = (*Driver)(nil)
	_ drivers.CredentialChecker = (*Driver)(nil)
	_ drivers.FeatureReporter   = (*Driver)(nil)
	_ drivers.CreateFinder      = (*Driver)(nil)
)

func (d *Driver) clients(ctx context.Context) (*clients, error) {
	if d.err != nil {
		return nil, d.err
	}
	return d.sess.get(ctx)
}

// Features reports that Glance filters by owner and that created images keep
// their name and description.
func (d *Driver) Features() model.Features {
	return model.Features{OwnerFilter: true, CreateName: true, CreateDescription: true}
}

// CheckCredentials authenticates with Keystone (once per credentials).
func (d *Driver) CheckCredentials(ctx context.Context) error {
	_, err := d.clients(ctx)
	return err
}

// ListImages lists Glance images, following Glance's marker/limit paging to
// the end. Name, owner, state and a single id are pushed down to Glance.
func (d *Driver) ListImages(ctx context.Context, q model.ImageQuery) ([]model.Image, error) {
	out := []model.Image{}
	err := d.eachPage(ctx, q, "", func(imgs []images.Image) bool {
		for i := range imgs {
			out = append(out, toImage(&imgs[i]))
		}
		return true
	})
	return out, err
}

// ListImagesPage is one Glance list request of page_size images (marker
// paging: the token is the last image's id).
func (d *Driver) ListImagesPage(ctx context.Context, q model.ImageQuery, token string) ([]model.Image, string, error) {
	out := []model.Image{}
	next := ""
	err := d.eachPage(ctx, q, token, func(imgs []images.Image) bool {
		for i := range imgs {
			out = append(out, toImage(&imgs[i]))
		}
		if len(imgs) > 0 && len(imgs) >= d.sess.pageSize {
			next = imgs[len(imgs)-1].ID
		}
		return false // one page
	})
	return out, next, err
}

// eachPage lists the Glance images q selects from marker on, page_size at
// a time, until fn returns false or the pages end.
func (d *Driver) eachPage(ctx context.Context, q model.ImageQuery, marker string, fn func([]images.Image) bool) error {
	c, err := d.clients(ctx)
	if err != nil {
		return err
	}
	opts := images.ListOpts{Name: q.Name, Owner: q.OwnerID, Limit: d.sess.pageSize, Marker: marker}
	if q.OwnerID == "self" {
		opts.Owner = c.project
	}
	if len(q.IDs) == 1 {
		opts.ID = q.IDs[0]
	}
	if st, ok := glanceStatus(q.State); ok {
		opts.Status = st
	} else if q.State != "" {
		return nil
	}
	err = images.List(c.image, opts).EachPage(ctx, func(_ context.Context, page pagination.Page) (bool, error) {
		imgs, err := images.ExtractImages(page)
		if err != nil {
			return false, err
		}
		return fn(imgs), nil
	})
	if err != nil {
		return mapError(err, "listing images")
	}
	return nil
}

// GetImage returns one Glance image.
func (d *Driver) GetImage(ctx context.Context, id string) (model.Image, error) {
	c, err := d.clients(ctx)
	if err != nil {
		return model.Image{}, err
	}
	img, err := images.Get(ctx, c.image, id).Extract()
	if err != nil {
		return model.Image{}, mapError(err, "image %s", id)
	}
	return toImage(img), nil
}

// CreateImage asks Nova to snapshot a server (createImage, microversion
// 2.45+ so the answer carries the image id) and returns the new Glance image,
// queued at first (PENDING) and active (AVAILABLE) once the compute host has
// uploaded the snapshot.
func (d *Driver) CreateImage(ctx context.Context, req model.CreateImage) (model.Image, error) {
	c, err := d.clients(ctx)
	if err != nil {
		return model.Image{}, err
	}
	if req.InstanceID == "" {
		return model.Image{}, model.Errorf(model.InvalidArgument, "an instance id is required")
	}
	for k := range req.Options {
		return model.Image{}, model.Errorf(model.InvalidArgument, "the openstack driver has no create option %q", k)
	}
	name := req.Name
	if name == "" {
		name = fmt.Sprintf("%s-snapshot-%s", req.InstanceID, time.Now().UTC().Format("20060102T150405Z"))
	}
	opts := servers.CreateImageOpts{Name: name, Metadata: map[string]string{}}
	if req.Description != "" {
		opts.Metadata["description"] = req.Description
	}
	if req.Token != "" { // Nova makes it a property of the Glance image, for FindCreated
		opts.Metadata[TokenProperty] = req.Token
	}
	id, err := servers.CreateImage(ctx, c.compute, req.InstanceID, opts).ExtractImageID()
	if err != nil {
		return model.Image{}, mapError(err, "creating an image from server %s", req.InstanceID)
	}
	img, err := d.GetImage(ctx, id)
	if err != nil {
		if model.IsNotFound(err) {
			// Glance has not caught up (or the image went away at once):
			// report what Nova promised.
			return model.Image{ID: id, Name: name, Description: req.Description, OwnerID: c.project, State: model.ImagePending}, nil
		}
		return model.Image{}, err
	}
	return img, nil
}

// TokenProperty is the Glance image property CreateImage sets (through
// Nova's createImage metadata) to the gateway's token for the create (its
// job id), for FindCreated. Glance accepts it as a custom property and
// filters on it.
const TokenProperty = "imagegw_job"

// FindCreated returns the image of the caller's project whose TokenProperty
// is token, or model.NotFound. Glance filters (one request: the project's
// images with that property, the oldest first, at most one): a snapshot of
// a server booted from the found image inherits its properties, the
// token too, but is younger.
func (d *Driver) FindCreated(ctx context.Context, token string) (model.Image, error) {
	c, err := d.clients(ctx)
	if err != nil {
		return model.Image{}, err
	}
	if token == "" {
		return model.Image{}, model.Errorf(model.NotFound, "no image has an empty %s", TokenProperty)
	}
	opts := propertyListOpts{ListOpts: images.ListOpts{Owner: c.project, Limit: 1, Sort: "created_at:asc"},
		property: TokenProperty, value: token}
	var found *images.Image
	err = images.List(c.image, opts).EachPage(ctx, func(_ context.Context, page pagination.Page) (bool, error) {
		imgs, err := images.ExtractImages(page)
		for i := range imgs {
			if imgs[i].Owner == c.project && imgs[i].Properties[TokenProperty] == token {
				found = &imgs[i]
			}
		}
		return false, err // the first page (of one) is all
	})
	if err != nil {
		return model.Image{}, mapError(err, "finding the image of create %s", token)
	}
	if found == nil {
		return model.Image{}, model.Errorf(model.NotFound, "no image of project %s has %s=%s", c.project, TokenProperty, token)
	}
	return toImage(found), nil
}

// propertyListOpts is Glance's image list with a filter on one custom
// property (Glance v2 filters on any property given as a query parameter;
// gophercloud's ListOpts has no field for it).
type propertyListOpts struct {
	images.ListOpts
	property, value string
}

func (o propertyListOpts) ToImageListQuery() (string, error) {
	q, err := o.ListOpts.ToImageListQuery()
	if err != nil {
		return "", err
	}
	sep := "&"
	if q == "" {
		sep = "?"
	}
	return q + sep + url.QueryEscape(o.property) + "=" + url.QueryEscape(o.value), nil
}

// DeleteImage deletes a Glance image.
func (d *Driver) DeleteImage(ctx context.Context, id string) error {
	c, err := d.clients(ctx)
	if err != nil {
		return err
	}
	return mapError(images.Delete(ctx, c.image, id).ExtractErr(), "deleting image %s", id)
}

// UpdateImage changes an image's name, description (the "description"
// property) and properties (Tags: a value sets the property, an empty value
// removes it) with one Glance JSON patch.
func (d *Driver) UpdateImage(ctx context.Context, id string, u model.ImageUpdate) (model.Image, error) {
	c, err := d.clients(ctx)
	if err != nil {
		return model.Image{}, err
	}
	cur, err := images.Get(ctx, c.image, id).Extract()
	if err != nil {
		return model.Image{}, mapError(err, "image %s", id)
	}
	var patch images.UpdateOpts
	if u.Name != nil {
		patch = append(patch, images.ReplaceImageName{NewName: *u.Name})
	}
	set := func(k, v string) {
		_, exists := cur.Properties[k]
		switch {
		case v == "" && exists:
			patch = append(patch, images.UpdateImageProperty{Op: images.RemoveOp, Name: k})
		case v == "":
		case exists:
			patch = append(patch, images.UpdateImageProperty{Op: images.ReplaceOp, Name: k, Value: v})
		default:
			patch = append(patch, images.UpdateImageProperty{Op: images.AddOp, Name: k, Value: v})
		}
	}
	if u.Description != nil {
		set("description", *u.Description)
	}
	keys := make([]string, 0, len(u.Tags))
	for k := range u.Tags {
		if k == "" || reservedProperty[k] {
			return model.Image{}, model.Errorf(model.InvalidArgument, "image property %q cannot be set", k)
		}
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		set(k, u.Tags[k])
	}
	if len(patch) == 0 {
		return toImage(cur), nil
	}
	img, err := images.Update(ctx, c.image, id, patch).Extract()
	if err != nil {
		return model.Image{}, mapError(err, "updating image %s", id)
	}
	return toImage(img), nil
}

// ListHardwareProfiles lists Nova flavors (public and private, detailed,
// paged to the end).
func (d *Driver) ListHardwareProfiles(ctx context.Context) ([]model.HardwareProfile, error) {
	c, err := d.clients(ctx)
	if err != nil {
		return nil, err
	}
	out := []model.HardwareProfile{}
	err = flavors.ListDetail(c.flavors, flavors.ListOpts{AccessType: flavors.AllAccess}).EachPage(ctx, func(_ context.Context, page pagination.Page) (bool, error) {
		fs, err := flavors.ExtractFlavors(page)
		if err != nil {
			return false, err
		}
		for i := range fs {
			out = append(out, toProfile(&fs[i]))
		}
		return true, nil
	})
	if model.CodeOf(mapError(err, "")) == model.PermissionDenied {
		// Listing private flavors is for admins; fall back to what we may see.
		out = out[:0]
		err = flavors.ListDetail(c.flavors, flavors.ListOpts{}).EachPage(ctx, func(_ context.Context, page pagination.Page) (bool, error) {
			fs, err := flavors.ExtractFlavors(page)
			for i := range fs {
				out = append(out, toProfile(&fs[i]))
			}
			return err == nil, err
		})
	}
	if err != nil {
		return nil, mapError(err, "listing flavors")
	}
	return out, nil
}

// ListRealms lists Nova availability zones.
func (d *Driver) ListRealms(ctx context.Context) ([]model.Realm, error) {
	c, err := d.clients(ctx)
	if err != nil {
		return nil, err
	}
	page, err := availabilityzones.List(c.compute).AllPages(ctx)
	if err != nil {
		return nil, mapError(err, "listing availability zones")
	}
	zones, err := availabilityzones.ExtractAvailabilityZones(page)
	if err != nil {
		return nil, mapError(err, "listing availability zones")
	}
	out := make([]model.Realm, 0, len(zones))
	for _, z := range zones {
		state := "AVAILABLE"
		if !z.ZoneState.Available {
			state = "UNAVAILABLE"
		}
		out = append(out, model.Realm{ID: z.ZoneName, Name: z.ZoneName, State: state})
	}
	return out, nil
}

// GetRealm returns one availability zone.
func (d *Driver) GetRealm(ctx context.Context, id string) (model.Realm, error) {
	realms, err := d.ListRealms(ctx)
	if err != nil {
		return model.Realm{}, err
	}
	for _, r := range realms {
		if r.ID == id {
			return r, nil
		}
	}
	return model.Realm{}, model.Errorf(model.NotFound, "availability zone %s not found", id)
}

// ListInstances lists Nova servers, paged to the end.
func (d *Driver) ListInstances(ctx context.Context) ([]model.Instance, error) {
	c, err := d.clients(ctx)
	if err != nil {
		return nil, err
	}
	out := []model.Instance{}
	err = servers.List(c.compute, servers.ListOpts{}).EachPage(ctx, func(_ context.Context, page pagination.Page) (bool, error) {
		ss, err := servers.ExtractServers(page)
		if err != nil {
			return false, err
		}
		for i := range ss {
			out = append(out, toInstance(&ss[i]))
		}
		return true, nil
	})
	if err != nil {
		return nil, mapError(err, "listing servers")
	}
	return out, nil
}

// GetInstance returns one Nova server.
func (d *Driver) GetInstance(ctx context.Context, id string) (model.Instance, error) {
	c, err := d.clients(ctx)
	if err != nil {
		return model.Instance{}, err
	}
	s, err := servers.Get(ctx, c.compute, id).Extract()
	if err != nil {
		return model.Instance{}, mapError(err, "server %s", id)
	}
	return toInstance(s), nil
}

// glanceStatus maps a model state filter to Glance's status filter.
func glanceStatus(state string) (images.ImageStatus, bool) {
	switch strings.ToUpper(state) {
	case "":
		return "", true
	case model.ImageAvailable:
		return images.ImageStatusActive, true
	case model.ImageFailed:
		return images.ImageStatusKilled, true
	case model.ImageDisabled:
		return images.ImageStatusDeactivated, true
	case "QUEUED", "SAVING", "IMPORTING", "UPLOADING":
		return images.ImageStatus(strings.ToLower(state)), true
	case model.ImagePending:
		return "", true // several Glance states: the gateway filters
	}
	return "", false
}

// imageState maps a Glance status to a model state.
func imageState(s images.ImageStatus) string {
	switch s {
	case images.ImageStatusActive:
		return model.ImageAvailable
	case images.ImageStatusQueued, images.ImageStatusSaving, images.ImageStatusImporting, "uploading":
		return model.ImagePending
	case images.ImageStatusKilled:
		return model.ImageFailed
	case images.ImageStatusDeactivated:
		return model.ImageDisabled
	case images.ImageStatusDeleted, images.ImageStatusPendingDelete:
		return model.ImageDeleted
	}
	return strings.ToUpper(string(s))
}

// reservedProperty are Glance's own image fields, never shown or set as
// user properties.
var reservedProperty = map[string]bool{
	"id": true, "name": true, "status": true, "tags": true, "container_format": true,
	"disk_format": true, "min_disk": true, "min_ram": true, "owner": true, "protected": true,
	"visibility": true, "os_hidden": true, "checksum": true, "size": true, "virtual_size": true,
	"created_at": true, "updated_at": true, "file": true, "schema": true, "self": true,
	"locations": true, "direct_url": true, "os_hash_algo": true, "os_hash_value": true,
	"stores": true, "description": true,
}

func toImage(g *images.Image) model.Image {
	img := model.Image{
		ID:         g.ID,
		Name:       g.Name,
		OwnerID:    g.Owner,
		State:      imageState(g.Status),
		Created:    g.CreatedAt,
		SizeBytes:  g.SizeBytes,
		DiskFormat: g.DiskFormat,
		RootType:   model.RootTransient,
		Native: map[string]string{
			"status":           string(g.Status),
			"visibility":       string(g.Visibility),
			"container_format": g.ContainerFormat,
			"min_disk":         strconv.Itoa(g.MinDiskGigabytes),
			"min_ram":          strconv.Itoa(g.MinRAMMegabytes),
			"protected":        strconv.FormatBool(g.Protected),
		},
	}
	switch g.Visibility {
	case images.ImageVisibilityPublic, images.ImageVisibilityCommunity:
		img.Visibility = model.VisibilityPublic
	case images.ImageVisibilityShared:
		img.Visibility = model.VisibilityShared
	case images.ImageVisibilityPrivate:
		img.Visibility = model.VisibilityPrivate
	}
	if g.Checksum != "" {
		img.Native["checksum"] = g.Checksum
	}
	if g.VirtualSize > 0 {
		img.Native["virtual_size"] = strconv.FormatInt(g.VirtualSize, 10)
	}
	if len(g.Tags) > 0 {
		img.Native["tags"] = strings.Join(g.Tags, ",")
	}
	for k, v := range g.Properties {
		s, ok := propString(v)
		if !ok {
			continue
		}
		switch k {
		case "description":
			img.Description = s
			continue
		case "architecture":
			img.Architecture = normArch(s)
		case "os_type":
			img.OS = strings.ToLower(s)
		case "os_hash_algo", "os_hash_value", "direct_url":
			img.Native[k] = s
			continue
		case "block_device_mapping", "bdm_v2":
			if k == "bdm_v2" && strings.EqualFold(s, "true") {
				img.RootType = model.RootPersistent
			}
		}
		if reservedProperty[k] || strings.HasPrefix(k, "os_glance") {
			continue
		}
		if img.Tags == nil {
			img.Tags = map[string]string{}
		}
		img.Tags[k] = s
	}
	return img
}

// propString renders a Glance property value as a string; nested values are
// left out.
func propString(v any) (string, bool) {
	switch x := v.(type) {
	case string:
		return x, true
	case bool:
		return strconv.FormatBool(x), true
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64), true
	case nil:
		return "", true
	}
	return "", false
}

// normArch maps Glance architecture names to the model's.
func normArch(a string) string {
	switch strings.ToLower(a) {
	case "x86_64", "amd64", "x64":
		return "x86_64"
	case "i386", "i686", "x86":
		return "i386"
	case "aarch64", "arm64":
		return "arm64"
	}
	return strings.ToLower(a)
}

func toProfile(f *flavors.Flavor) model.HardwareProfile {
	hp := model.HardwareProfile{
		ID:   f.ID,
		Name: f.Name,
		Properties: []model.Property{
			model.FixedProp(model.PropCPU, model.UnitCount, strconv.Itoa(f.VCPUs)),
			model.FixedProp(model.PropMemory, model.UnitMB, strconv.Itoa(f.RAM)),
			model.FixedProp(model.PropStorage, model.UnitGB, strconv.Itoa(f.Disk)),
		},
		Native: map[string]string{
			"ephemeral_gb": strconv.Itoa(f.Ephemeral),
			"swap_mb":      strconv.Itoa(f.Swap),
			"is_public":    strconv.FormatBool(f.IsPublic),
			"rxtx_factor":  strconv.FormatFloat(f.RxTxFactor, 'f', -1, 64),
		},
	}
	if f.Description != "" {
		hp.Native["description"] = f.Description
	}
	for k, v := range f.ExtraSpecs {
		hp.Native["extra_specs:"+k] = v
		if k == "hw:cpu_arch" || k == "capabilities:cpu_arch" {
			hp.Properties = append(hp.Properties, model.FixedProp(model.PropArchitecture, model.UnitLabel, normArch(v)))
		}
	}
	return hp
}

func toInstance(s *servers.Server) model.Instance {
	in := model.Instance{
		ID:      s.ID,
		Name:    s.Name,
		OwnerID: s.TenantID,
		RealmID: s.AvailabilityZone,
		Created: s.Created,
		State:   serverState(s.Status),
		Native: map[string]string{
			"status":     s.Status,
			"vm_state":   s.VmState,
			"task_state": s.TaskState,
			"host_id":    s.HostID,
		},
	}
	if id, ok := s.Image["id"].(string); ok {
		in.ImageID = id
	}
	if id, ok := s.Flavor["id"].(string); ok {
		in.ProfileID = id
	}
	for _, v := range s.Addresses {
		list, _ := v.([]any)
		for _, a := range list {
			m, _ := a.(map[string]any)
			addr, _ := m["addr"].(string)
			if addr == "" {
				continue
			}
			if t, _ := m["OS-EXT-IPS:type"].(string); t == "floating" {
				in.PublicAddresses = append(in.PublicAddresses, addr)
			} else {
				in.PrivateAddresses = append(in.PrivateAddresses, addr)
			}
		}
	}
	switch s.Status {
	case "ACTIVE", "SHUTOFF", "PAUSED", "SUSPENDED":
		in.CanCreateImage = s.TaskState == ""
	}
	return in
}

// serverState maps a Nova server status to a Deltacloud-style state.
func serverState(status string) string {
	switch status {
	case "ACTIVE":
		return "RUNNING"
	case "SHUTOFF":
		return "STOPPED"
	case "BUILD", "REBUILD":
		return "PENDING"
	case "PAUSED", "SUSPENDED":
		return "STOPPED"
	case "DELETED", "SOFT_DELETED":
		return "FINISH"
	}
	return strings.ToUpper(status)
}
