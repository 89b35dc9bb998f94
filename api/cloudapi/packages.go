package cloudapi

import (
	"math"
	"net/http"
	"strconv"
	"strings"

	"github.com/gorilla/mux"

	"github.com/imagegw/imagegw/api/cloudapi/apiversion"
	"github.com/imagegw/imagegw/gateway"
	"github.com/imagegw/imagegw/model"
)

// packageJSON is a CloudAPI Package, built from a hardware profile.
type packageJSON struct {
	ID           string        `json:"id"`
	Name         string        `json:"name"`
	Memory       int64         `json:"memory"`
	Disk         int64         `json:"disk"`
	Swap         int64         `json:"swap"`
	VCPUs        int64         `json:"vcpus"`
	Version      string        `json:"version"`
	Default      bool          `json:"default"`
	Lwps         *int64        `json:"lwps,omitempty"`
	Group        string        `json:"group,omitempty"`
	Description  string        `json:"description,omitempty"`
	Brand        string        `json:"brand,omitempty"`
	FlexibleDisk *bool         `json:"flexible_disk,omitempty"`
	Disks        []packageDisk `json:"disks,omitempty"`
}

type packageDisk struct {
	Size any `json:"size"` // MiB, or "remaining"
}

func nativeInt(hp model.HardwareProfile, key string) (int64, bool) {
	v, ok := hp.Native[key]
	if !ok {
		return 0, false
	}
	f, err := strconv.ParseFloat(v, 64)
	return int64(math.Floor(f)), err == nil
}

// toPackage maps a profile: memory MB → MiB (floor), disk GB × 1024, vcpus
// = cpu, swap the native swap or 0; a missing property is 0.
func (c *call) toPackage(hp model.HardwareProfile, id string) packageJSON {
	p := packageJSON{ID: id, Name: hp.ID, Version: "1.0.0"}
	if v, ok := hp.DefaultFloat(model.PropMemory); ok {
		p.Memory = int64(math.Floor(v))
	}
	if v, ok := hp.DefaultFloat(model.PropStorage); ok {
		p.Disk = int64(math.Floor(v * 1024))
	}
	if v, ok := hp.DefaultFloat(model.PropCPU); ok {
		p.VCPUs = int64(math.Floor(v))
	}
	p.Swap, _ = nativeInt(hp, "swap")
	if v, ok := nativeInt(hp, "lwps"); ok {
		p.Lwps = &v
	}
	p.Group, p.Description, p.Brand = hp.Native["group"], hp.Native["description"], hp.Native["brand"]
	if p.Brand == "bhyve" {
		flex := hp.Native["flexible_disk"] == "true"
		p.FlexibleDisk = &flex
		p.Disks = []packageDisk{{Size: "remaining"}}
	}
	return p
}

func (c *call) packages() ([]packageJSON, error) {
	sess, err := c.session()
	if err != nil {
		return nil, err
	}
	ctx := c.r.Context()
	hps, err := sess.ListHardwareProfiles(ctx, "")
	if err != nil {
		return nil, err
	}
	out := make([]packageJSON, len(hps))
	for i, hp := range hps {
		out[i] = c.toPackage(hp, sess.ID(gateway.SchemeUUID, gateway.KindPackages, hp.ID))
	}
	return out, nil
}

// packageFilter is ListPackages' query: numbers exact, strings with *
// wildcards, all ANDed.
type packageFilter struct {
	nums map[string]int64
	strs map[string]string
}

var (
	pkgNumFilters = []string{"memory", "disk", "swap", "lwps", "vcpus"}
	pkgStrFilters = []string{"name", "version", "group", "flexible_disk", "brand"}
)

func (c *call) packageFilter() (packageFilter, error) {
	fl := packageFilter{nums: map[string]int64{}, strs: map[string]string{}}
	for _, k := range pkgNumFilters {
		if !c.in.has(k) {
			continue
		}
		v := c.in.str(k)
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return fl, invalidArg(k + " must be a number, not " + v)
		}
		fl.nums[k] = n
	}
	for _, k := range pkgStrFilters {
		if c.in.has(k) {
			fl.strs[k] = c.in.str(k)
		}
	}
	return fl, nil
}

func (fl packageFilter) match(p packageJSON) bool {
	for k, want := range fl.nums {
		var got int64
		switch k {
		case "memory":
			got = p.Memory
		case "disk":
			got = p.Disk
		case "swap":
			got = p.Swap
		case "vcpus":
			got = p.VCPUs
		case "lwps":
			if p.Lwps == nil {
				return false
			}
			got = *p.Lwps
		}
		if got != want {
			return false
		}
	}
	for k, want := range fl.strs {
		var got string
		switch k {
		case "name":
			got = p.Name
		case "version":
			got = p.Version
		case "group":
			got = p.Group
		case "brand":
			got = p.Brand
		case "flexible_disk":
			if p.FlexibleDisk != nil {
				got = strconv.FormatBool(*p.FlexibleDisk)
			}
		}
		if !model.MatchPattern(want, got) {
			return false
		}
	}
	return true
}

func (f *Front) listPackages(c *call) error {
	fl, err := c.packageFilter()
	if err != nil {
		return err
	}
	all, err := c.packages()
	if err != nil {
		return err
	}
	out := make([]packageJSON, 0, len(all))
	for _, p := range all {
		if fl.match(p) {
			out = append(out, p)
		}
	}
	return sendList(c, out)
}

// getPackage looks a UUID up directly; anything else is a name, the
// highest semver version winning.
func (f *Front) getPackage(c *call) error {
	key := mux.Vars(c.r)["id"]
	all, err := c.packages()
	if err != nil {
		return err
	}
	var best *packageJSON
	for i := range all {
		p := &all[i]
		if gateway.IsUUID(key) {
			if p.ID == strings.ToLower(key) {
				best = p
				break
			}
			continue
		}
		if p.Name != key {
			continue
		}
		if best == nil || newer(p.Version, best.Version) {
			best = p
		}
	}
	if best == nil {
		return notFound(key + " not found")
	}
	return c.sendJSON(http.StatusOK, best)
}

func newer(a, b string) bool {
	va, errA := apiversion.Parse(a)
	vb, errB := apiversion.Parse(b)
	if errA != nil || errB != nil {
		return a > b
	}
	return apiversion.Compare(va, vb) > 0
}
