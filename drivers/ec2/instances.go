package ec2

import (
	"context"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/imagegw/imagegw/model"
)

// ListRealms returns the region's availability zones.
func (d *Driver) ListRealms(ctx context.Context) ([]model.Realm, error) {
	out, err := d.client.DescribeAvailabilityZones(ctx, &ec2.DescribeAvailabilityZonesInput{})
	if err != nil {
		return nil, mapError(err, "listing availability zones")
	}
	realms := make([]model.Realm, 0, len(out.AvailabilityZones))
	for _, z := range out.AvailabilityZones {
		r := model.Realm{ID: aws.ToString(z.ZoneName), Name: aws.ToString(z.ZoneName), State: "UNAVAILABLE"}
		if z.State == types.AvailabilityZoneStateAvailable {
			r.State = "AVAILABLE"
		}
		realms = append(realms, r)
	}
	return realms, nil
}

// GetRealm returns one availability zone by name, or model.NotFound.
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
	return model.Realm{}, model.Errorf(model.NotFound, "realm %s not found in region %s", id, d.p.settings.Region)
}

// ListInstances returns the caller's instances (DescribeInstances, through
// the SDK's paginator).
func (d *Driver) ListInstances(ctx context.Context) ([]model.Instance, error) {
	out := []model.Instance{}
	pg := ec2.NewDescribeInstancesPaginator(d.client, &ec2.DescribeInstancesInput{MaxResults: aws.Int32(1000)})
	for pg.HasMorePages() {
		page, err := pg.NextPage(ctx)
		if err != nil {
			return nil, mapError(err, "listing instances")
		}
		for _, r := range page.Reservations {
			for i := range r.Instances {
				out = append(out, instanceOf(&r.Instances[i], aws.ToString(r.OwnerId)))
			}
		}
	}
	return out, nil
}

// GetInstance returns one instance, or model.NotFound.
func (d *Driver) GetInstance(ctx context.Context, id string) (model.Instance, error) {
	in, owner, err := d.instance(ctx, id, "getting instance "+id)
	if err != nil {
		return model.Instance{}, err
	}
	return instanceOf(in, owner), nil
}

// instance describes one instance and returns it with its owner.
func (d *Driver) instance(ctx context.Context, id, what string) (*types.Instance, string, error) {
	if id == "" {
		return nil, "", model.Errorf(model.NotFound, "instance %q not found", id)
	}
	out, err := d.client.DescribeInstances(ctx, &ec2.DescribeInstancesInput{InstanceIds: []string{id}})
	if err != nil {
		return nil, "", mapError(err, what)
	}
	for _, r := range out.Reservations {
		for i := range r.Instances {
			if aws.ToString(r.Instances[i].InstanceId) == id {
				return &r.Instances[i], aws.ToString(r.OwnerId), nil
			}
		}
	}
	return nil, "", model.Errorf(model.NotFound, "instance %s not found", id)
}

func instanceOf(in *types.Instance, owner string) model.Instance {
	m := model.Instance{
		ID:        aws.ToString(in.InstanceId),
		OwnerID:   owner,
		ImageID:   aws.ToString(in.ImageId),
		ProfileID: string(in.InstanceType),
		Native:    map[string]string{},
	}
	for _, t := range in.Tags {
		if aws.ToString(t.Key) == "Name" {
			m.Name = aws.ToString(t.Value)
		}
	}
	if in.Placement != nil {
		m.RealmID = aws.ToString(in.Placement.AvailabilityZone)
	}
	state := types.InstanceStateName("")
	if in.State != nil {
		state = in.State.Name
		m.State = strings.ToUpper(string(state))
	}
	if v := aws.ToString(in.PublicDnsName); v != "" {
		m.PublicAddresses = append(m.PublicAddresses, v)
	}
	if v := aws.ToString(in.PublicIpAddress); v != "" {
		m.PublicAddresses = append(m.PublicAddresses, v)
	}
	if v := aws.ToString(in.PrivateDnsName); v != "" {
		m.PrivateAddresses = append(m.PrivateAddresses, v)
	}
	if v := aws.ToString(in.PrivateIpAddress); v != "" {
		m.PrivateAddresses = append(m.PrivateAddresses, v)
	}
	m.CanCreateImage = in.RootDeviceType != types.DeviceTypeInstanceStore &&
		(state == types.InstanceStateNameRunning || state == types.InstanceStateNameStopped)
	if in.LaunchTime != nil {
		m.Created = in.LaunchTime.UTC()
	}
	if in.RootDeviceType != "" {
		m.Native["root_device_type"] = string(in.RootDeviceType)
	}
	if in.Architecture != "" {
		m.Native["architecture"] = string(in.Architecture)
	}
	if v := aws.ToString(in.KeyName); v != "" {
		m.Native["key_name"] = v
	}
	if v := aws.ToString(in.VpcId); v != "" {
		m.Native["vpc_id"] = v
	}
	return m
}
