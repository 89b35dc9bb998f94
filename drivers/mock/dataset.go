package mock

import (
	"fmt"
	"time"

	"github.com/imagegw/imagegw/model"
)

// The upstream Deltacloud mock dataset (apache/deltacloud
// server/lib/deltacloud/drivers/mock/), as the native front's spec lists it.

// Credentials the mock accepts.
const (
	User     = "mockuser"
	Password = "mockpassword"
)

// seedTime is the creation time every seeded image shares:
// Thu Oct 25 14:27:53 CEST 2012.
var seedTime = time.Date(2012, 10, 25, 14, 27, 53, 0, time.FixedZone("CEST", 2*3600))

// Every mock image fits every profile. The mock leaves
// Image.HardwareProfiles nil, which means just that, rather than keep four
// ids with each of possibly many images.

func seedImages() []model.Image {
	img := func(id, arch, owner, desc string) model.Image {
		return model.Image{
			ID: id, Name: id, Description: desc, OwnerID: owner, Architecture: arch,
			State: model.ImageAvailable, Created: seedTime,
			RootType: model.RootTransient, OS: "linux", Visibility: model.VisibilityPublic,
			DiskFormat: "raw",
		}
	}
	return []model.Image{
		img("img1", "x86_64", "fedoraproject", "Fedora 10"),
		img("img2", "i386", "fedoraproject", "Fedora 10"),
		img("img3", "i386", User, "JBoss"),
	}
}

// syntheticImage returns the n-th (1-based) deterministic synthetic image
// seeded for benchmarks.
func syntheticImage(n int) model.Image {
	arch := "x86_64"
	if n%3 == 0 {
		arch = "i386"
	}
	owner := fmt.Sprintf("owner%02d", n%17)
	return model.Image{
		ID: fmt.Sprintf("synth%06d", n), Name: fmt.Sprintf("synthetic-%06d", n),
		Description: fmt.Sprintf("Synthetic image %d", n), OwnerID: owner, Architecture: arch,
		State: model.ImageAvailable, Created: seedTime.Add(time.Duration(n) * time.Minute),
		RootType: model.RootTransient, OS: "linux",
		Visibility: model.VisibilityPublic, DiskFormat: "raw",
	}
}

func profiles() []model.HardwareProfile {
	return []model.HardwareProfile{
		{ID: "m1-small", Name: "m1-small", Properties: []model.Property{
			model.FixedProp(model.PropCPU, model.UnitCount, "1"),
			model.FixedProp(model.PropMemory, model.UnitMB, "1740.8"),
			model.FixedProp(model.PropStorage, model.UnitGB, "160"),
			model.FixedProp(model.PropArchitecture, model.UnitLabel, "i386"),
		}},
		{ID: "m1-large", Name: "m1-large", Properties: []model.Property{
			model.RangeProp(model.PropCPU, model.UnitCount, "1", "6", "1"),
			model.RangeProp(model.PropMemory, model.UnitMB, "7680", "15360", "10240"),
			model.EnumProp(model.PropStorage, model.UnitGB, "850", "850", "1024"),
			model.FixedProp(model.PropArchitecture, model.UnitLabel, "x86_64"),
		}},
		{ID: "m1-xlarge", Name: "m1-xlarge", Properties: []model.Property{
			model.FixedProp(model.PropCPU, model.UnitCount, "4"),
			model.RangeProp(model.PropMemory, model.UnitMB, "12288", "32768", "12288"),
			model.EnumProp(model.PropStorage, model.UnitGB, "1024", "1024", "2048", "4096"),
			model.FixedProp(model.PropArchitecture, model.UnitLabel, "x86_64"),
		}},
		{ID: "opaque", Name: "opaque"},
	}
}

func realms() []model.Realm {
	return []model.Realm{
		{ID: "us", Name: "United States", State: "AVAILABLE"},
		{ID: "eu", Name: "Europe", State: "AVAILABLE"},
	}
}

// faultRealms are realm ids that answer with an error, for fault injection.
var faultRealms = map[string]model.Code{
	"500": model.Internal,
	"501": model.Unimplemented,
	"502": model.Unavailable,
	"504": model.DeadlineExceeded,
}

func instances() []model.Instance {
	inst := func(id, name, image, profile, realm string, canImage bool, addrImage string) model.Instance {
		return model.Instance{
			ID: id, Name: name, OwnerID: User, ImageID: image, RealmID: realm, ProfileID: profile,
			State: "RUNNING", CanCreateImage: canImage,
			PublicAddresses:  []string{fmt.Sprintf("%s.%s.public.com", addrImage, id)},
			PrivateAddresses: []string{fmt.Sprintf("%s.%s.private.com", addrImage, id)},
		}
	}
	i0 := inst("inst0", "Mock Instance With Profile Change", "img1", "m1-large", "us", true, "img1")
	i0.ProfileOverrides = []model.Property{model.FixedProp(model.PropMemory, model.UnitMB, "12288")}
	return []model.Instance{
		i0,
		inst("inst1", "MockUserInstance", "img3", "m1-small", "us", true, "img1"),
		inst("inst2", "AnotherInstance", "img1", "m1-large", "us", true, "img1"),
		inst("inst3", "", "img3", "m1-small", "eu", false, "img3"),
	}
}
