package triton

import (
	"context"
	"encoding/json"
	"sort"
	"strconv"
	"strings"

	"github.com/joyent/triton-go/client"
	"github.com/joyent/triton-go/compute"

	"github.com/imagegw/imagegw/model"
)

// profileOf converts a package. The profile id is the package name, which
// machines refer to their package by (and CloudAPI's GetPackage takes);
// the package UUID is the native "id". CloudAPI's memory, swap and disk are
// MiB: memory is shown in MB as CloudAPI's MiB (as imagegw's CloudAPI front
// reads it back), disk as GB = MiB / 1024. vcpus 0 means "not set" and
// gives no cpu property. swap (MiB) and lwps (count) have no model property
// and are native fields, under the names the CloudAPI front reads.
func profileOf(p *compute.Package) model.HardwareProfile {
	hp := model.HardwareProfile{ID: p.Name, Name: p.Name, Native: map[string]string{
		"id":      p.ID,
		"swap":    strconv.FormatInt(p.Swap, 10),
		"lwps":    strconv.FormatInt(p.LWPs, 10),
		"version": p.Version,
	}}
	if p.VCPUs > 0 {
		hp.Properties = append(hp.Properties, model.FixedProp(model.PropCPU, model.UnitCount, strconv.FormatInt(p.VCPUs, 10)))
	}
	hp.Properties = append(hp.Properties,
		model.FixedProp(model.PropMemory, model.UnitMB, strconv.FormatInt(p.Memory, 10)),
		model.FixedProp(model.PropStorage, model.UnitGB, strconv.FormatFloat(float64(p.Disk)/1024, 'f', -1, 64)))
	for k, v := range map[string]string{"group": p.Group, "description": p.Description, "brand": p.Brand} {
		if v != "" {
			hp.Native[k] = v
		}
	}
	if p.FlexibleDisk {
		hp.Native["flexible_disk"] = "true"
	}
	if len(p.Disks) > 0 {
		if b, err := json.Marshal(p.Disks); err == nil {
			hp.Native["disks"] = string(b)
		}
	}
	return hp
}

// newerVersion reports whether semver-ish version a is above b, comparing
// dotted numeric parts (non-numeric parts compare as strings).
func newerVersion(a, b string) bool {
	pa, pb := strings.Split(a, "."), strings.Split(b, ".")
	for i := 0; i < len(pa) || i < len(pb); i++ {
		var x, y string
		if i < len(pa) {
			x = pa[i]
		}
		if i < len(pb) {
			y = pb[i]
		}
		if x == y {
			continue
		}
		nx, ex := strconv.Atoi(x)
		ny, ey := strconv.Atoi(y)
		if ex == nil && ey == nil {
			return nx > ny
		}
		return x > y
	}
	return false
}

// ListHardwareProfiles lists the account's packages (ListPackages). They
// are per account on Triton, so they are not shared between callers. Of
// packages with the same name, the highest version is kept, as CloudAPI's
// GetPackage by name does.
func (d *Driver) ListHardwareProfiles(ctx context.Context) ([]model.HardwareProfile, error) {
	var pkgs []*compute.Package
	err := d.do(ctx, "listing packages", func(ctx context.Context, c *client.Client) error {
		var err error
		pkgs, err = (&compute.ComputeClient{Client: c}).Packages().List(ctx, &compute.ListPackagesInput{})
		return err
	})
	if err != nil {
		return nil, err
	}
	byName := map[string]*compute.Package{}
	var order []string
	for _, p := range pkgs {
		if cur, ok := byName[p.Name]; !ok {
			order = append(order, p.Name)
			byName[p.Name] = p
		} else if newerVersion(p.Version, cur.Version) {
			byName[p.Name] = p
		}
	}
	out := make([]model.HardwareProfile, 0, len(order))
	for _, name := range order {
		out = append(out, profileOf(byName[name]))
	}
	return out, nil
}

// datacenter is one entry of ListDatacenters.
type datacenter struct{ Name, URL string }

// datacenters lists the cloud's datacenters, sorted by name.
func (d *Driver) datacenters(ctx context.Context) ([]datacenter, error) {
	var dcs []*compute.DataCenter
	err := d.do(ctx, "listing datacenters", func(ctx context.Context, c *client.Client) error {
		var err error
		dcs, err = (&compute.ComputeClient{Client: c}).Datacenters().List(ctx, &compute.ListDataCentersInput{})
		return err
	})
	if err != nil {
		return nil, err
	}
	out := make([]datacenter, 0, len(dcs))
	for _, dc := range dcs {
		out = append(out, datacenter{Name: dc.Name, URL: dc.URL})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// ListRealms returns the cloud's datacenters (ListDatacenters) as realms.
func (d *Driver) ListRealms(ctx context.Context) ([]model.Realm, error) {
	dcs, err := d.datacenters(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]model.Realm, 0, len(dcs))
	for _, dc := range dcs {
		out = append(out, model.Realm{ID: dc.Name, Name: dc.Name, State: "AVAILABLE"})
	}
	return out, nil
}

// GetRealm returns one datacenter, or NotFound.
func (d *Driver) GetRealm(ctx context.Context, id string) (model.Realm, error) {
	realms, err := d.ListRealms(ctx)
	if err != nil {
		return model.Realm{}, err
	}
	for _, r := range realms {
		if strings.EqualFold(r.ID, id) {
			return r, nil
		}
	}
	return model.Realm{}, model.Errorf(model.NotFound, "triton: datacenter %s not found", id)
}
