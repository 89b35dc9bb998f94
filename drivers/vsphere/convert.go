package vsphere

import (
	"strconv"
	"strings"

	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/types"

	"github.com/imagegw/imagegw/model"
)

// vmProps are the properties read for images and instances, in one
// retrieval for a whole list.
var vmProps = []string{
	"name", "config.template", "config.instanceUuid", "config.annotation",
	"config.guestId", "config.guestFullName", "config.createDate",
	"config.hardware.numCPU", "config.hardware.memoryMB",
	"summary.config.numVirtualDisks", "summary.storage.committed",
	"runtime.powerState",
}

// srcProps adds what cloning a VM needs.
var srcProps = append(append([]string(nil), vmProps...), "parent", "resourcePool")

func isTemplate(vm mo.VirtualMachine) bool { return vm.Config != nil && vm.Config.Template }

func instanceUUID(vm mo.VirtualMachine) string {
	if vm.Config == nil {
		return ""
	}
	return strings.ToLower(vm.Config.InstanceUuid)
}

// toImage turns a template into an image.
func toImage(vm mo.VirtualMachine, dc string) model.Image {
	img := model.Image{
		ID:         instanceUUID(vm),
		Name:       vm.Name,
		State:      model.ImageAvailable,
		RootType:   model.RootPersistent,
		Visibility: model.VisibilityPrivate,
		DiskFormat: "vmdk",
		Native:     nativeOf(vm, dc),
	}
	if c := vm.Config; c != nil {
		img.Description = c.Annotation
		img.Architecture = archOf(c.GuestId)
		img.OS = osOf(c.GuestId)
		if c.CreateDate != nil {
			img.Created = c.CreateDate.UTC()
		}
	}
	if vm.Summary.Storage != nil {
		img.SizeBytes = vm.Summary.Storage.Committed
	}
	return img
}

// toInstance turns a VM into an instance.
func toInstance(vm mo.VirtualMachine, dc string) model.Instance {
	in := model.Instance{
		ID:             instanceUUID(vm),
		Name:           vm.Name,
		RealmID:        dc,
		ProfileID:      defaultProfileID,
		State:          stateOf(vm.Runtime.PowerState),
		CanCreateImage: true,
		Native:         nativeOf(vm, dc),
	}
	if c := vm.Config; c != nil {
		if c.CreateDate != nil {
			in.Created = c.CreateDate.UTC()
		}
		in.ProfileOverrides = []model.Property{
			model.FixedProp(model.PropCPU, model.UnitCount, strconv.Itoa(int(c.Hardware.NumCPU))),
			model.FixedProp(model.PropMemory, model.UnitMB, strconv.Itoa(int(c.Hardware.MemoryMB))),
		}
		if a := archOf(c.GuestId); a != "" {
			in.ProfileOverrides = append(in.ProfileOverrides, model.FixedProp(model.PropArchitecture, model.UnitLabel, a))
		}
	}
	return in
}

func nativeOf(vm mo.VirtualMachine, dc string) map[string]string {
	n := map[string]string{"moref": vm.Self.Value, "datacenter": dc}
	if c := vm.Config; c != nil {
		n["guest_id"] = c.GuestId
		n["guest_os"] = c.GuestFullName
		n["cpu"] = strconv.Itoa(int(c.Hardware.NumCPU))
		n["memory_mb"] = strconv.Itoa(int(c.Hardware.MemoryMB))
	}
	if vm.Summary.Config.NumVirtualDisks > 0 || vm.Config != nil {
		n["disks"] = strconv.Itoa(int(vm.Summary.Config.NumVirtualDisks))
	}
	if vm.Summary.Storage != nil {
		n["disk_committed_bytes"] = strconv.FormatInt(vm.Summary.Storage.Committed, 10)
	}
	if vm.Runtime.PowerState != "" {
		n["power_state"] = string(vm.Runtime.PowerState)
	}
	return n
}

func stateOf(p types.VirtualMachinePowerState) string {
	switch p {
	case types.VirtualMachinePowerStatePoweredOn:
		return "RUNNING"
	case types.VirtualMachinePowerStatePoweredOff, types.VirtualMachinePowerStateSuspended:
		return "STOPPED"
	}
	return "UNKNOWN"
}

// archOf guesses the architecture from a vSphere guest id: "ubuntu64Guest"
// and "windows9_64Guest" are x86_64, "otherArm64LinuxGuest" arm64, and ids
// without 64 ("otherGuest", "rhel6Guest") i386.
func archOf(guestID string) string {
	g := strings.ToLower(guestID)
	switch {
	case g == "":
		return ""
	case strings.Contains(g, "arm64"):
		return "arm64"
	case strings.Contains(g, "64"):
		return "x86_64"
	}
	return "i386"
}

var linuxGuests = []string{
	"linux", "rhel", "centos", "ubuntu", "debian", "sles", "suse", "oracle", "fedora",
	"photon", "coreos", "asianux", "amazonlinux", "almalinux", "rocky", "mandr", "turbo",
	"redhat", "opensuse", "miraclelinux", "pardus", "kylin", "crxpod", "crxsys", "vmkernel",
}

// osOf maps a guest id to the model's OS families.
func osOf(guestID string) string {
	g := strings.ToLower(guestID)
	switch {
	case g == "":
		return ""
	case strings.HasPrefix(g, "win"):
		return "windows"
	case strings.Contains(g, "bsd"):
		return "bsd"
	}
	for _, l := range linuxGuests {
		if strings.Contains(g, l) {
			return "linux"
		}
	}
	return "other"
}
