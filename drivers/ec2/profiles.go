package ec2

import (
	"context"
	"fmt"
	"path"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/imagegw/imagegw/model"
)

// instanceTypesKey names the region's instance types among the provider's
// shared parts (drivers.Shared).
const instanceTypesKey = "instance-types"

// profileSnapshot is one fetch of the region's instance types, as offered
// by the provider (instance_types). Instance types are the same for every
// account of a region, so the snapshot is a shared part: the gateway's
// catalog holds it once per provider, for every set of credentials, and
// keeps it fresh by the provider's catalog_ttl. The driver keeps no copy.
type profileSnapshot struct {
	profiles []model.HardwareProfile
	// fit memoizes fitting: it maps "arch|virtualization|root device type"
	// to the sorted ids of the profiles that can run such an image. It is
	// derived from this fetch only, so it lives and dies with the snapshot.
	// The slices are shared by every image that fits them and must not be
	// modified.
	mu  sync.Mutex
	fit map[string][]string
	raw []types.InstanceTypeInfo
}

// snapshot returns the region's instance types through the provider's
// shared parts, fetching them with this driver's client when the catalog
// has none fresh (or keeps none: drivers.NoShared fetches every time).
func (d *Driver) snapshot(ctx context.Context) (*profileSnapshot, error) {
	v, err := d.p.shared.Load(ctx, instanceTypesKey, func(ctx context.Context) (any, error) {
		return d.fetchInstanceTypes(ctx)
	})
	if err != nil {
		return nil, err
	}
	s, ok := v.(*profileSnapshot)
	if !ok {
		return nil, model.Errorf(model.Internal, "ec2: shared part %q holds a %T, not instance types", instanceTypesKey, v)
	}
	return s, nil
}

// fetchInstanceTypes lists the offered instance types with
// DescribeInstanceTypes. The instance_types patterns go into the request's
// instance-type filter when EC2 can evaluate them (see typeFilter), so that
// a provider offering a few families does not page through the whole
// region; offered still checks every answer, as EC2's wildcards may match
// more than path.Match does.
func (d *Driver) fetchInstanceTypes(ctx context.Context) (*profileSnapshot, error) {
	patterns := d.p.settings.InstanceTypes
	in := &ec2.DescribeInstanceTypesInput{MaxResults: aws.Int32(100), Filters: typeFilter(patterns)}
	var raw []types.InstanceTypeInfo
	pg := ec2.NewDescribeInstanceTypesPaginator(d.client, in)
	for pg.HasMorePages() {
		out, err := pg.NextPage(ctx)
		if err != nil {
			return nil, mapError(err, "listing instance types")
		}
		for _, it := range out.InstanceTypes {
			if offered(patterns, string(it.InstanceType)) {
				raw = append(raw, it)
			}
		}
	}
	return newSnapshot(raw), nil
}

// typeFilter returns the DescribeInstanceTypes filter for the
// instance_types patterns, or nil (no filter: every type) when there are
// none or when one of them uses what EC2's wildcards lack.
//
// EC2 filter values know "*" (any run of characters) and "?" (one
// character; the EC2 user guide says "zero or one"), with "\" escaping
// them. path.Match, which defines the setting, agrees on "*" (instance type
// names have no "/") and on "?" where EC2 reads it as exactly one; where
// EC2 reads it as zero or one, EC2 answers a superset that offered
// narrows. A character class ("[a-z]") has no EC2 counterpart, and EC2
// would take it literally and drop types the pattern means, so then nothing
// is pushed (values of one filter are ORed: one pattern cannot be left
// out alone). Escapes are not pushed either, to keep the two dialects from
// disagreeing on them.
func typeFilter(patterns []string) []types.Filter {
	if len(patterns) == 0 {
		return nil
	}
	for _, p := range patterns {
		if strings.ContainsAny(p, `[\`) {
			return nil
		}
	}
	return []types.Filter{{Name: aws.String("instance-type"), Values: append([]string(nil), patterns...)}}
}

// offered reports whether an instance type matches one of the patterns, or
// there are none.
func offered(patterns []string, typ string) bool {
	if len(patterns) == 0 {
		return true
	}
	for _, p := range patterns {
		if ok, _ := path.Match(p, typ); ok {
			return true
		}
	}
	return false
}

func newSnapshot(raw []types.InstanceTypeInfo) *profileSnapshot {
	sort.Slice(raw, func(i, j int) bool { return raw[i].InstanceType < raw[j].InstanceType })
	s := &profileSnapshot{raw: raw, fit: map[string][]string{}}
	seen := map[string]bool{}
	for _, it := range raw {
		hp := profileOf(it)
		if hp.ID == "" || seen[hp.ID] {
			continue
		}
		seen[hp.ID] = true
		s.profiles = append(s.profiles, hp)
	}
	return s
}

// fitting returns the ids of the profiles that can run an image of the given
// architecture, virtualization type and root device type ("" matches any).
func (s *profileSnapshot) fitting(arch, virt, root string) []string {
	key := arch + "|" + virt + "|" + root
	s.mu.Lock()
	defer s.mu.Unlock()
	if ids, ok := s.fit[key]; ok {
		return ids
	}
	ids := []string{}
	for _, it := range s.raw {
		if arch != "" && (it.ProcessorInfo == nil || !containsArch(it.ProcessorInfo.SupportedArchitectures, arch)) {
			continue
		}
		if virt != "" && len(it.SupportedVirtualizationTypes) > 0 && !containsString(it.SupportedVirtualizationTypes, virt) {
			continue
		}
		if root != "" && len(it.SupportedRootDeviceTypes) > 0 && !containsString(it.SupportedRootDeviceTypes, root) {
			continue
		}
		ids = append(ids, string(it.InstanceType))
	}
	s.fit[key] = ids
	return ids
}

func containsArch(list []types.ArchitectureType, v string) bool {
	for _, a := range list {
		if string(a) == v {
			return true
		}
	}
	return false
}

func containsString[T ~string](list []T, v string) bool {
	for _, a := range list {
		if string(a) == v {
			return true
		}
	}
	return false
}

// profileOf maps an instance type: vCPUs, memory in MiB, instance storage in
// GB (absent when EBS-only), architectures as an enum; GPU, network and the
// rest as native fields.
func profileOf(it types.InstanceTypeInfo) model.HardwareProfile {
	id := string(it.InstanceType)
	hp := model.HardwareProfile{ID: id, Name: id, Native: map[string]string{}}
	if it.VCpuInfo != nil && it.VCpuInfo.DefaultVCpus != nil {
		hp.Properties = append(hp.Properties, model.FixedProp(model.PropCPU, model.UnitCount, strconv.Itoa(int(*it.VCpuInfo.DefaultVCpus))))
	}
	if it.MemoryInfo != nil && it.MemoryInfo.SizeInMiB != nil {
		hp.Properties = append(hp.Properties, model.FixedProp(model.PropMemory, model.UnitMB, strconv.FormatInt(*it.MemoryInfo.SizeInMiB, 10)))
	}
	if aws.ToBool(it.InstanceStorageSupported) && it.InstanceStorageInfo != nil && it.InstanceStorageInfo.TotalSizeInGB != nil {
		hp.Properties = append(hp.Properties, model.FixedProp(model.PropStorage, model.UnitGB, strconv.FormatInt(*it.InstanceStorageInfo.TotalSizeInGB, 10)))
		var disks []string
		for _, d := range it.InstanceStorageInfo.Disks {
			disks = append(disks, fmt.Sprintf("%d x %d GB %s", aws.ToInt32(d.Count), aws.ToInt64(d.SizeInGB), d.Type))
		}
		hp.Native["instance_storage"] = strings.Join(disks, ", ")
	} else {
		hp.Native["instance_storage"] = "ebs-only"
	}
	if it.ProcessorInfo != nil && len(it.ProcessorInfo.SupportedArchitectures) > 0 {
		var archs []string
		for _, a := range it.ProcessorInfo.SupportedArchitectures {
			archs = append(archs, string(a))
		}
		hp.Properties = append(hp.Properties, model.EnumProp(model.PropArchitecture, model.UnitLabel, "", archs...))
		if it.ProcessorInfo.SustainedClockSpeedInGhz != nil {
			hp.Native["clock_ghz"] = strconv.FormatFloat(*it.ProcessorInfo.SustainedClockSpeedInGhz, 'f', -1, 64)
		}
		if m := aws.ToString(it.ProcessorInfo.Manufacturer); m != "" {
			hp.Native["processor"] = m
		}
	}
	if g := it.GpuInfo; g != nil && len(g.Gpus) > 0 {
		var gpus []string
		total := 0
		for _, d := range g.Gpus {
			n := int(aws.ToInt32(d.Count))
			total += n
			s := fmt.Sprintf("%d x %s %s", n, aws.ToString(d.Manufacturer), aws.ToString(d.Name))
			if d.MemoryInfo != nil && d.MemoryInfo.SizeInMiB != nil {
				s += fmt.Sprintf(" (%d MiB)", *d.MemoryInfo.SizeInMiB)
			}
			gpus = append(gpus, s)
		}
		hp.Native["gpu"] = strings.Join(gpus, ", ")
		hp.Native["gpu_count"] = strconv.Itoa(total)
		if g.TotalGpuMemoryInMiB != nil {
			hp.Native["gpu_memory_mib"] = strconv.Itoa(int(*g.TotalGpuMemoryInMiB))
		}
	}
	if n := it.NetworkInfo; n != nil {
		if v := aws.ToString(n.NetworkPerformance); v != "" {
			hp.Native["network_performance"] = v
		}
		if n.MaximumNetworkInterfaces != nil {
			hp.Native["max_network_interfaces"] = strconv.Itoa(int(*n.MaximumNetworkInterfaces))
		}
		if n.EnaSupport != "" {
			hp.Native["ena_support"] = string(n.EnaSupport)
		}
		if n.Ipv6Supported != nil {
			hp.Native["ipv6"] = strconv.FormatBool(*n.Ipv6Supported)
		}
	}
	if it.Hypervisor != "" {
		hp.Native["hypervisor"] = string(it.Hypervisor)
	}
	if it.CurrentGeneration != nil {
		hp.Native["current_generation"] = strconv.FormatBool(*it.CurrentGeneration)
	}
	if it.BurstablePerformanceSupported != nil && *it.BurstablePerformanceSupported {
		hp.Native["burstable"] = "true"
	}
	if it.BareMetal != nil && *it.BareMetal {
		hp.Native["bare_metal"] = "true"
	}
	if len(it.SupportedVirtualizationTypes) > 0 {
		hp.Native["virtualization_types"] = joinStrings(it.SupportedVirtualizationTypes)
	}
	if len(it.SupportedRootDeviceTypes) > 0 {
		hp.Native["root_device_types"] = joinStrings(it.SupportedRootDeviceTypes)
	}
	return hp
}

func joinStrings[T ~string](list []T) string {
	s := make([]string, len(list))
	for i, v := range list {
		s[i] = string(v)
	}
	return strings.Join(s, ",")
}

// ListHardwareProfiles returns the region's instance types, sorted by id,
// from the provider's shared parts (held by the gateway's catalog, for
// catalog_ttl). The slice is the caller's; the
// profiles' Properties and Native are shared and must not be modified.
func (d *Driver) ListHardwareProfiles(ctx context.Context) ([]model.HardwareProfile, error) {
	s, err := d.snapshot(ctx)
	if err != nil {
		return nil, err
	}
	return append([]model.HardwareProfile(nil), s.profiles...), nil
}
