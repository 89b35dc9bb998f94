package triton

import (
	"context"
	"net/netip"
	"strings"

	"github.com/joyent/triton-go/client"
	"github.com/joyent/triton-go/compute"

	"github.com/imagegw/imagegw/model"
)

// machinePage is ListMachines' page size (CloudAPI's maximum).
const machinePage = 1000

// instanceOf converts a machine. A running or stopped machine can be
// imaged.
func instanceOf(m *compute.Instance) model.Instance {
	in := model.Instance{ID: m.ID, Name: m.Name, ImageID: m.Image, ProfileID: m.Package,
		State: strings.ToUpper(m.State), Created: m.Created, Native: map[string]string{}}
	switch m.State {
	case "provisioning":
		in.State = model.ImagePending
	case "running", "stopped":
		in.CanCreateImage = true
	}
	for _, ip := range m.IPs {
		if isPrivateIP(ip) {
			in.PrivateAddresses = append(in.PrivateAddresses, ip)
		} else {
			in.PublicAddresses = append(in.PublicAddresses, ip)
		}
	}
	for k, v := range map[string]string{"brand": m.Brand, "type": m.Type, "primary_ip": m.PrimaryIP, "compute_node": m.ComputeNode} {
		if v != "" {
			in.Native[k] = v
		}
	}
	return in
}

// isPrivateIP reports private, loopback and link-local addresses.
func isPrivateIP(ip string) bool {
	a, err := netip.ParseAddr(ip)
	return err == nil && (a.IsPrivate() || a.IsLoopback() || a.IsLinkLocalUnicast())
}

// ListInstances lists the account's machines (ListMachines, page by page).
func (d *Driver) ListInstances(ctx context.Context) ([]model.Instance, error) {
	out := []model.Instance{}
	err := d.do(ctx, "listing machines", func(ctx context.Context, c *client.Client) error {
		ic := (&compute.ComputeClient{Client: c}).Instances()
		for offset := 0; ; offset += machinePage {
			page, err := ic.List(ctx, &compute.ListInstancesInput{Limit: machinePage, Offset: uint16(offset)})
			if err != nil {
				return err
			}
			for _, m := range page {
				out = append(out, instanceOf(m))
			}
			if len(page) < machinePage || offset+machinePage > 65535-machinePage {
				return nil
			}
		}
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// GetInstance returns one machine (GetMachine); a deleted one (410) is
// NotFound.
func (d *Driver) GetInstance(ctx context.Context, id string) (model.Instance, error) {
	if !isUUID(id) {
		return model.Instance{}, model.Errorf(model.NotFound, "triton: machine %s not found (Triton machine ids are UUIDs)", id)
	}
	var in model.Instance
	err := d.do(ctx, "getting machine "+id, func(ctx context.Context, c *client.Client) error {
		m, err := (&compute.ComputeClient{Client: c}).Instances().Get(ctx, &compute.GetInstanceInput{ID: id})
		if err != nil {
			return err
		}
		in = instanceOf(m)
		return nil
	})
	return in, err
}
