package ec2

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/smithy-go"
	"github.com/google/uuid"

	"github.com/imagegw/imagegw/model"
)

// pageSize is the default DescribeImages page size when paginating (EC2 allows
// 1000 at most, and no MaxResults together with ImageIds).
const pageSize = 1000

// pageSize is the provider's DescribeImages page size.
func (p *Provider) pageSize() int32 {
	if p.settings.PageSize > 0 {
		return int32(p.settings.PageSize)
	}
	return pageSize
}

// ListImages lists images with DescribeImages. owner_id becomes Owners
// ("self" is the caller); architecture, name and state become filters; ids
// become ImageIds. Without owner_id nor ids it lists the caller's own images
// plus the provider's configured owners, never the whole public catalog.
func (d *Driver) ListImages(ctx context.Context, q model.ImageQuery) ([]model.Image, error) {
	in := d.describeInput(q)
	raw, err := d.describeImages(ctx, in, "listing images")
	if model.IsNotFound(err) && len(q.IDs) > 0 {
		// EC2 fails the whole call when one of the ids is unknown; a
		// list leaves the unknown ones out.
		raw, err = d.describeEach(ctx, in)
	}
	if err != nil {
		return nil, err
	}
	return d.imagesOf(ctx, q, raw), nil
}

// ListImagesPage is one DescribeImages page of the images q selects, at
// the provider's page_size (default and most 1,000); the token is EC2's
// NextToken.
func (d *Driver) ListImagesPage(ctx context.Context, q model.ImageQuery, token string) ([]model.Image, string, error) {
	if len(q.IDs) > 0 {
		if token != "" {
			return nil, "", model.Errorf(model.InvalidArgument, "ec2: a list of ids has one page")
		}
		imgs, err := d.ListImages(ctx, q)
		return imgs, "", err
	}
	in := d.describeInput(q)
	if token != "" {
		in.NextToken = aws.String(token)
	}
	out, err := d.client.DescribeImages(ctx, in)
	if err != nil {
		return nil, "", mapError(err, "listing images")
	}
	return d.imagesOf(ctx, q, out.Images), aws.ToString(out.NextToken), nil
}

// describeInput is the DescribeImages request of q: ids, filters and
// owners pushed down (by default the caller's own and the configured
// owners' images).
func (d *Driver) describeInput(q model.ImageQuery) *ec2.DescribeImagesInput {
	in := &ec2.DescribeImagesInput{ImageIds: q.IDs, Filters: filtersOf(q)}
	switch {
	case q.OwnerID != "":
		in.Owners = []string{q.OwnerID}
	case len(q.IDs) == 0:
		in.Owners = append([]string{"self"}, d.p.settings.Owners...)
	}
	if len(q.IDs) == 0 {
		in.MaxResults = aws.Int32(d.p.pageSize())
	}
	return in
}

// imagesOf converts DescribeImages' images, once each.
func (d *Driver) imagesOf(ctx context.Context, q model.ImageQuery, raw []types.Image) []model.Image {
	fit := d.fitter(ctx)
	out := make([]model.Image, 0, len(raw))
	seen := make(map[string]bool, len(raw))
	for i := range raw {
		id := aws.ToString(raw[i].ImageId)
		if id == "" || seen[id] {
			continue
		}
		seen[id] = true
		img := imageOf(&raw[i], fit)
		// An owner alias (amazon, aws-marketplace) selects images whose
		// OwnerId is an account number: show the alias the client asked
		// for, so that the gateway's exact owner match keeps them.
		if q.OwnerID != "" && q.OwnerID != "self" && img.OwnerID != q.OwnerID && aws.ToString(raw[i].ImageOwnerAlias) == q.OwnerID {
			img.OwnerID = q.OwnerID
		}
		out = append(out, img)
	}
	return out
}

// describeImages runs DescribeImages through the SDK's paginator.
func (d *Driver) describeImages(ctx context.Context, in *ec2.DescribeImagesInput, what string) ([]types.Image, error) {
	var raw []types.Image
	pg := ec2.NewDescribeImagesPaginator(d.client, in)
	for pg.HasMorePages() {
		page, err := pg.NextPage(ctx)
		if err != nil {
			return nil, mapError(err, what)
		}
		raw = append(raw, page.Images...)
	}
	return raw, nil
}

// describeEach describes in's images one id at a time, skipping the
// unknown ones.
func (d *Driver) describeEach(ctx context.Context, in *ec2.DescribeImagesInput) ([]types.Image, error) {
	var raw []types.Image
	for _, id := range in.ImageIds {
		one := *in
		one.ImageIds = []string{id}
		r, err := d.describeImages(ctx, &one, "listing image "+id)
		if model.IsNotFound(err) {
			continue
		}
		if err != nil {
			return nil, err
		}
		raw = append(raw, r...)
	}
	return raw, nil
}

func filtersOf(q model.ImageQuery) []types.Filter {
	var f []types.Filter
	add := func(name, v string) {
		if v != "" {
			f = append(f, types.Filter{Name: aws.String(name), Values: []string{v}})
		}
	}
	add("architecture", q.Architecture)
	add("name", q.Name)
	if q.State != "" {
		add("state", awsState(q.State))
	}
	return f
}

// awsState maps a model state back to EC2's lower-case state.
func awsState(s string) string {
	switch strings.ToUpper(s) {
	case model.ImageDeleted:
		return "deregistered"
	case model.ImageFailed:
		return "failed"
	}
	return strings.ToLower(s)
}

// fitter returns a function giving an image's fitting profiles, or one
// returning nil ("cannot tell") when the instance types are unavailable to
// these credentials: an image list never fails for want of profiles.
func (d *Driver) fitter(ctx context.Context) func(arch, virt, root string) []string {
	s, err := d.snapshot(ctx)
	if err != nil {
		d.p.log.DebugContext(ctx, "instance types unavailable; images list every profile", "err", err)
		return func(string, string, string) []string { return nil }
	}
	return s.fitting
}

// GetImage returns one image by id; an unknown or malformed id is
// model.NotFound.
func (d *Driver) GetImage(ctx context.Context, id string) (model.Image, error) {
	raw, err := d.getRaw(ctx, id, "getting image "+id)
	if err != nil {
		return model.Image{}, err
	}
	return imageOf(raw, d.fitter(ctx)), nil
}

func (d *Driver) getRaw(ctx context.Context, id, what string) (*types.Image, error) {
	if id == "" {
		return nil, model.Errorf(model.NotFound, "image %q not found", id)
	}
	out, err := d.client.DescribeImages(ctx, &ec2.DescribeImagesInput{ImageIds: []string{id}})
	if err != nil {
		return nil, mapError(err, what)
	}
	for i := range out.Images {
		if aws.ToString(out.Images[i].ImageId) == id {
			return &out.Images[i], nil
		}
	}
	return nil, model.Errorf(model.NotFound, "image %s not found", id)
}

// CreateImage makes an image from an EBS-backed instance and returns it at
// once as PENDING. EC2 requires a name: the default is
// "<instance>-<UTC timestamp>". Option no_reboot=true skips the reboot.
//
// It does not wait for DescribeImages to see the new image: EC2 is
// eventually consistent and may answer InvalidAMIID.NotFound for a while,
// which the job runner takes as "not visible yet" for the driver's
// NotFoundGrace.
func (d *Driver) CreateImage(ctx context.Context, req model.CreateImage) (model.Image, error) {
	if req.InstanceID == "" {
		return model.Image{}, model.Errorf(model.InvalidArgument, "instance_id is required")
	}
	noReboot := false
	if v, ok := req.Options["no_reboot"]; ok && v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return model.Image{}, model.Errorf(model.InvalidArgument, "no_reboot must be true or false, not %q", v)
		}
		noReboot = b
	}
	inst, owner, err := d.instance(ctx, req.InstanceID, "creating an image")
	if err != nil {
		return model.Image{}, err
	}
	if inst.RootDeviceType == types.DeviceTypeInstanceStore {
		return model.Image{}, model.Errorf(model.FailedPrecondition,
			"instance %s is instance-store backed: EC2 makes images only of EBS-backed instances (use ec2-bundle-vol for instance-store)", req.InstanceID)
	}
	if inst.State != nil {
		switch inst.State.Name {
		case types.InstanceStateNamePending, types.InstanceStateNameShuttingDown, types.InstanceStateNameTerminated:
			return model.Image{}, model.Errorf(model.FailedPrecondition, "instance %s is %s: an image can be made only of a running or stopped instance", req.InstanceID, inst.State.Name)
		}
	}
	now := time.Now().UTC()
	name := req.Name
	if name == "" {
		name = req.InstanceID + "-" + now.Format("20060102T150405Z")
	}
	in := &ec2.CreateImageInput{InstanceId: aws.String(req.InstanceID), Name: aws.String(name), NoReboot: aws.Bool(noReboot)}
	if req.Description != "" {
		in.Description = aws.String(req.Description)
	}
	// Every create is tagged, with the gateway's token (its job id) or one
	// of its own: the tag is what lets a retry find an image already made.
	token := req.Token
	if token == "" {
		token = uuid.NewString()
	}
	in.TagSpecifications = []types.TagSpecification{{ResourceType: types.ResourceTypeImage,
		Tags: []types.Tag{{Key: aws.String(TokenTag), Value: aws.String(token)}}}}
	id, err := d.sendCreateImage(ctx, in, token)
	if err != nil {
		return model.Image{}, mapError(err, "creating an image of "+req.InstanceID)
	}
	img := model.Image{
		ID:          id,
		Name:        name,
		Description: req.Description,
		OwnerID:     owner,
		State:       model.ImagePending,
		Created:     now,
		RootType:    model.RootPersistent,
		Visibility:  model.VisibilityPrivate,
		Native:      map[string]string{"source_instance_id": req.InstanceID},
	}
	img.Architecture = string(inst.Architecture)
	img.OS = osOf(inst.Platform, aws.ToString(inst.PlatformDetails))
	img.HardwareProfiles = d.fitter(ctx)(img.Architecture, string(inst.VirtualizationType), string(types.DeviceTypeEbs))
	return img, nil
}

// sendCreateImage sends CreateImage so that an answer lost makes no second
// image, and returns the new image's id. CreateImage, unlike CopyImage, has
// no ClientToken: the SDK's own retry of an attempt whose answer did not
// arrive (a connection reset, a 5xx after EC2 made the image, a timeout)
// makes another image. So the SDK does not retry it: this loop does, with
// the provider's attempts and backoff, and before each retry it looks for
// an image tagged with token. A retry refused as InvalidAMIName.Duplicate
// means an earlier attempt made the image and DescribeImages does not show
// it yet (EC2 is eventually consistent): it keeps looking, it does not make
// another. Neither does it while the lookup fails. Out of attempts, the
// error is the last unanswered attempt's (Unavailable, DeadlineExceeded),
// so that the gateway keeps looking for the image in the background
// (gateway/intents.go).
func (d *Driver) sendCreateImage(ctx context.Context, in *ec2.CreateImageInput, token string) (string, error) {
	r := newRetryer(d.p.settings)
	var last error
	made := false // an attempt was refused as a duplicate: no more creates
	for attempt := 1; attempt <= r.MaxAttempts(); attempt++ {
		if attempt > 1 {
			delay, err := r.RetryDelay(attempt, last)
			if err != nil {
				return "", last
			}
			select {
			case <-ctx.Done():
				return "", last
			case <-time.After(delay):
			}
			img, err := d.FindCreated(ctx, token)
			switch {
			case err == nil:
				return img.ID, nil
			case ctx.Err() != nil:
				return "", last
			case made || !model.IsNotFound(err):
				continue // made, or unknown whether it was: look again
			}
		}
		out, err := d.client.CreateImage(ctx, in, func(o *ec2.Options) { o.RetryMaxAttempts = 1 })
		if err == nil {
			return aws.ToString(out.ImageId), nil
		}
		if attempt > 1 && apiCode(err) == "InvalidAMIName.Duplicate" {
			made = true
			continue
		}
		last = err
		if !r.IsErrorRetryable(err) {
			return "", err
		}
	}
	return "", last
}

// apiCode is the AWS error code of err, or "".
func apiCode(err error) string {
	var api smithy.APIError
	if errors.As(err, &api) {
		return api.ErrorCode()
	}
	return ""
}

// TokenTag is the tag CreateImage puts on a new image, whose value is the
// gateway's token for the create (its job id), for FindCreated.
const TokenTag = "imagegw:job"

// FindCreated returns the caller's image tagged with token by CreateImage,
// or model.NotFound.
func (d *Driver) FindCreated(ctx context.Context, token string) (model.Image, error) {
	out, err := d.client.DescribeImages(ctx, &ec2.DescribeImagesInput{
		Owners:  []string{"self"},
		Filters: []types.Filter{{Name: aws.String("tag:" + TokenTag), Values: []string{token}}},
	})
	if err != nil {
		return model.Image{}, mapError(err, "finding the image of create "+token)
	}
	if len(out.Images) == 0 {
		return model.Image{}, model.Errorf(model.NotFound, "no image is tagged %s=%s", TokenTag, token)
	}
	return imageOf(&out.Images[0], d.fitter(ctx)), nil
}

// DeleteImage deregisters an image, and deletes its EBS snapshots too when
// the provider sets delete_snapshots.
func (d *Driver) DeleteImage(ctx context.Context, id string) error {
	var snaps []string
	if d.p.settings.DeleteSnapshots {
		raw, err := d.getRaw(ctx, id, "deleting image "+id)
		if err != nil {
			return err
		}
		for _, bd := range raw.BlockDeviceMappings {
			if bd.Ebs != nil && aws.ToString(bd.Ebs.SnapshotId) != "" {
				snaps = append(snaps, *bd.Ebs.SnapshotId)
			}
		}
	}
	if _, err := d.client.DeregisterImage(ctx, &ec2.DeregisterImageInput{ImageId: aws.String(id)}); err != nil {
		return mapError(err, "deleting image "+id)
	}
	for _, s := range snaps {
		if _, err := d.client.DeleteSnapshot(ctx, &ec2.DeleteSnapshotInput{SnapshotId: aws.String(s)}); err != nil {
			// The image is gone; a snapshot left behind is not worth failing
			// the delete for, but the operator should know.
			d.p.log.WarnContext(ctx, "image deregistered but its snapshot was not deleted", "image", id, "snapshot", s, "err", mapError(err, "deleting snapshot "+s))
		}
	}
	return nil
}

// UpdateImage changes an image's description (ModifyImageAttribute) and
// tags (CreateTags, DeleteTags for empty values). EC2 image names cannot
// change: a different name is model.InvalidArgument.
func (d *Driver) UpdateImage(ctx context.Context, id string, u model.ImageUpdate) (model.Image, error) {
	raw, err := d.getRaw(ctx, id, "updating image "+id)
	if err != nil {
		return model.Image{}, err
	}
	if u.Name != nil && *u.Name != aws.ToString(raw.Name) {
		return model.Image{}, model.Errorf(model.InvalidArgument, "EC2 cannot rename image %s: copy it under the new name instead", id)
	}
	if u.Description != nil {
		_, err := d.client.ModifyImageAttribute(ctx, &ec2.ModifyImageAttributeInput{
			ImageId:     aws.String(id),
			Description: &types.AttributeValue{Value: u.Description},
		})
		if err != nil {
			return model.Image{}, mapError(err, "updating the description of "+id)
		}
	}
	var set []types.Tag
	var del []types.Tag
	for k, v := range u.Tags {
		if k == "" {
			return model.Image{}, model.Errorf(model.InvalidArgument, "a tag key must not be empty")
		}
		if v == "" {
			del = append(del, types.Tag{Key: aws.String(k)})
		} else {
			set = append(set, types.Tag{Key: aws.String(k), Value: aws.String(v)})
		}
	}
	if len(set) > 0 {
		if _, err := d.client.CreateTags(ctx, &ec2.CreateTagsInput{Resources: []string{id}, Tags: set}); err != nil {
			return model.Image{}, mapError(err, "tagging image "+id)
		}
	}
	if len(del) > 0 {
		if _, err := d.client.DeleteTags(ctx, &ec2.DeleteTagsInput{Resources: []string{id}, Tags: del}); err != nil {
			return model.Image{}, mapError(err, "untagging image "+id)
		}
	}
	return d.GetImage(ctx, id)
}

// CopyImage copies an image from another region (the source provider, which
// must be an ec2 provider at the same endpoint) into this one with
// CopyImage, acting with this driver's credentials. Without a name the copy
// keeps the source's. It returns at once with the new image PENDING, which
// DescribeImages may not show yet (see CreateImage).
func (d *Driver) CopyImage(ctx context.Context, req model.CopyImage) (model.Image, error) {
	if req.SourceProvider.Driver != "" && req.SourceProvider.Driver != DriverID {
		return model.Image{}, model.Errorf(model.InvalidArgument, "cannot copy into ec2 from a %s provider", req.SourceProvider.Driver)
	}
	var src Settings
	if err := decodeSource(req.SourceProvider, &src); err != nil {
		return model.Image{}, err
	}
	if src.Endpoint != d.p.settings.Endpoint {
		return model.Image{}, model.Errorf(model.InvalidArgument, "provider %s is at another endpoint: EC2 copies only between regions of one cloud", req.SourceProvider.Name)
	}
	return d.copyFrom(ctx, src.Region, req.SourceImageID, req.Name, req.Description)
}

// CloneImage copies an image within the provider's region (CopyImage with
// the same source and destination region). Without a name the clone is
// named "<source name>-copy-<UTC timestamp>".
func (d *Driver) CloneImage(ctx context.Context, req model.CloneImage) (model.Image, error) {
	return d.copyFrom(ctx, d.p.settings.Region, req.SourceImageID, req.Name, req.Description)
}

func (d *Driver) copyFrom(ctx context.Context, region, srcID, name, desc string) (model.Image, error) {
	srcDriver := d
	if region != d.p.settings.Region {
		srcDriver = &Driver{p: d.p, client: d.p.clientFor(d.client, region)}
	}
	src, err := srcDriver.getRaw(ctx, srcID, "copying image "+srcID+" from "+region)
	if err != nil {
		return model.Image{}, err
	}
	if name == "" {
		// Names are unique per region: a copy into another region keeps
		// the source's, a clone gets a new one.
		name = aws.ToString(src.Name)
		if name == "" {
			name = srcID
		}
		if region == d.p.settings.Region {
			name += "-copy-" + time.Now().UTC().Format("20060102T150405Z")
		}
	}
	if desc == "" {
		desc = aws.ToString(src.Description)
	}
	// The SDK fills in a ClientToken, the same for each retry of this
	// call: an attempt whose answer was lost does not make a second copy.
	in := &ec2.CopyImageInput{SourceImageId: aws.String(srcID), SourceRegion: aws.String(region), Name: aws.String(name)}
	if desc != "" {
		in.Description = aws.String(desc)
	}
	out, err := d.client.CopyImage(ctx, in)
	if err != nil {
		return model.Image{}, mapError(err, "copying image "+srcID+" from "+region)
	}
	img := imageOf(src, d.fitter(ctx))
	img.ID = aws.ToString(out.ImageId)
	img.Name, img.Description = name, desc
	img.State, img.StateReason = model.ImagePending, ""
	img.Created = time.Now().UTC()
	img.Visibility = model.VisibilityPrivate
	img.OwnerID = ""
	img.Tags = nil
	img.Native = map[string]string{"source_image_id": srcID, "source_region": region}
	return img, nil
}

// decodeSource reads a source provider's settings, leniently about keys
// that are not ours to check here.
func decodeSource(cfg model.ProviderConfig, out *Settings) error {
	out.Region = cfg.Setting("region")
	out.Endpoint = cfg.Setting("endpoint")
	if out.Region == "" {
		return model.Errorf(model.InvalidArgument, "source provider %s has no region", cfg.Name)
	}
	return nil
}

// imageOf maps an EC2 image. fit gives the fitting profiles.
func imageOf(im *types.Image, fit func(arch, virt, root string) []string) model.Image {
	img := model.Image{
		ID:           aws.ToString(im.ImageId),
		Name:         aws.ToString(im.Name),
		Description:  aws.ToString(im.Description),
		OwnerID:      aws.ToString(im.OwnerId),
		Architecture: string(im.Architecture),
		State:        stateOf(im.State),
		Type:         string(im.ImageType),
		OS:           osOf(im.Platform, aws.ToString(im.PlatformDetails)),
		Visibility:   model.VisibilityPrivate,
	}
	if aws.ToBool(im.Public) {
		img.Visibility = model.VisibilityPublic
	}
	if im.StateReason != nil {
		img.StateReason = aws.ToString(im.StateReason.Message)
	}
	if t, err := time.Parse(time.RFC3339, aws.ToString(im.CreationDate)); err == nil {
		img.Created = t.UTC()
	}
	switch im.RootDeviceType {
	case types.DeviceTypeEbs:
		img.RootType = model.RootPersistent
	case types.DeviceTypeInstanceStore:
		img.RootType = model.RootTransient
	}
	native := map[string]string{}
	set := func(k, v string) {
		if v != "" {
			native[k] = v
		}
	}
	set("owner_alias", aws.ToString(im.ImageOwnerAlias))
	set("image_location", aws.ToString(im.ImageLocation))
	set("virtualization_type", string(im.VirtualizationType))
	set("hypervisor", string(im.Hypervisor))
	set("root_device_type", string(im.RootDeviceType))
	set("root_device_name", aws.ToString(im.RootDeviceName))
	set("platform_details", aws.ToString(im.PlatformDetails))
	set("boot_mode", string(im.BootMode))
	set("kernel_id", aws.ToString(im.KernelId))
	set("ramdisk_id", aws.ToString(im.RamdiskId))
	set("source_instance_id", aws.ToString(im.SourceInstanceId))
	set("deprecation_time", aws.ToString(im.DeprecationTime))
	if im.EnaSupport != nil {
		native["ena_support"] = strconv.FormatBool(*im.EnaSupport)
	}
	var devs []string
	for _, bd := range im.BlockDeviceMappings {
		dev := aws.ToString(bd.DeviceName)
		switch {
		case bd.Ebs != nil:
			e := bd.Ebs
			dev += "=" + aws.ToString(e.SnapshotId) + ":" + strconv.Itoa(int(aws.ToInt32(e.VolumeSize))) + "GiB"
			if e.VolumeType != "" {
				dev += ":" + string(e.VolumeType)
			}
			img.SizeBytes += int64(aws.ToInt32(e.VolumeSize)) << 30
		case bd.VirtualName != nil:
			dev += "=" + *bd.VirtualName
		case bd.NoDevice != nil:
			dev += "=none"
		}
		devs = append(devs, dev)
	}
	if len(devs) > 0 {
		native["block_devices"] = strings.Join(devs, ",")
	}
	if len(native) > 0 {
		img.Native = native
	}
	if len(im.Tags) > 0 {
		img.Tags = make(map[string]string, len(im.Tags))
		for _, t := range im.Tags {
			img.Tags[aws.ToString(t.Key)] = aws.ToString(t.Value)
		}
	}
	if fit != nil {
		img.HardwareProfiles = fit(img.Architecture, string(im.VirtualizationType), string(im.RootDeviceType))
	}
	return img
}

// stateOf maps EC2 image states: deregistered is DELETED, error and invalid
// are FAILED, others are upper-cased (AVAILABLE, PENDING, DISABLED, ...).
func stateOf(s types.ImageState) string {
	switch s {
	case types.ImageStateDeregistered:
		return model.ImageDeleted
	case types.ImageStateError, types.ImageStateFailed, types.ImageStateInvalid:
		return model.ImageFailed
	case "":
		return "UNKNOWN"
	}
	return strings.ToUpper(string(s))
}

// osOf derives the OS family: EC2 sets Platform only for Windows.
func osOf(platform types.PlatformValues, details string) string {
	if platform == types.PlatformValuesWindows || strings.Contains(strings.ToLower(details), "windows") {
		return "windows"
	}
	return "linux"
}
