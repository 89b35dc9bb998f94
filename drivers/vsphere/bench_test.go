package vsphere_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/vmware/govmomi/session"
	"github.com/vmware/govmomi/view"
	"github.com/vmware/govmomi/vim25/mo"

	"github.com/imagegw/imagegw/model"
)

// BenchmarkListTemplates lists the scale inventory's 500 templates (among
// 1,000 VMs) three ways, reporting vCenter round trips per list:
//
//   - govmomi: one RetrievePropertiesEx over a container view with the
//     driver's properties, the floor;
//   - driver: vsphere's ListImages;
//   - gateway: GET /api;driver=vsphere;provider=lab/images?format=json
//     through the whole gateway over loopback HTTP.
func BenchmarkListTemplates(b *testing.B) {
	ctx := context.Background()
	trips := func(b *testing.B, f func()) {
		b.Helper()
		f() // log in, make views
		b.ReportAllocs()
		b.ResetTimer()
		before := scale.trips.Load()
		for b.Loop() {
			f()
		}
		b.ReportMetric(float64(scale.trips.Load()-before)/float64(b.N), "roundtrips/op")
	}

	b.Run("govmomi", func(b *testing.B) {
		c, err := scale.frontClient(ctx)
		if err != nil {
			b.Fatal(err)
		}
		defer session.NewManager(c).Logout(ctx)
		v, err := view.NewManager(c).CreateContainerView(ctx, c.ServiceContent.RootFolder, []string{"VirtualMachine"}, true)
		if err != nil {
			b.Fatal(err)
		}
		trips(b, func() {
			var vms []mo.VirtualMachine
			if err := v.Retrieve(ctx, []string{"VirtualMachine"}, benchProps, &vms); err != nil {
				b.Fatal(err)
			}
			n := 0
			for _, vm := range vms {
				if vm.Config != nil && vm.Config.Template {
					n++
				}
			}
			if n < scaleTemplates {
				b.Fatalf("%d templates", n)
			}
		})
	})

	b.Run("driver", func(b *testing.B) {
		d := scale.connect(b, nil)
		trips(b, func() {
			imgs, err := d.ListImages(ctx, model.ImageQuery{})
			if err != nil || len(imgs) < scaleTemplates {
				b.Fatalf("%d images, %v", len(imgs), err)
			}
		})
	})

	b.Run("gateway", func(b *testing.B) {
		cfg := `providers: [{name: lab, driver: vsphere, url: "` + scale.url + `", datacenter: DC0}]`
		srv := e2eServerCfg(b, cfg)
		req, _ := http.NewRequest("GET", srv.URL+"/api;driver=vsphere;provider=lab/images?format=json", nil)
		req.SetBasicAuth(simUser, simPass)
		trips(b, func() {
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				b.Fatal(err)
			}
			var list imageList
			err = json.NewDecoder(res.Body).Decode(&list)
			_, _ = io.Copy(io.Discard, res.Body)
			res.Body.Close()
			if err != nil || res.StatusCode != 200 || len(list.Images) < scaleTemplates {
				b.Fatalf("status %d, %d images, %v", res.StatusCode, len(list.Images), err)
			}
		})
	})
}

// benchProps are the properties the driver reads (kept equal to vmProps).
var benchProps = strings.Fields(`name config.template config.instanceUuid config.annotation
	config.guestId config.guestFullName config.createDate config.hardware.numCPU
	config.hardware.memoryMB summary.config.numVirtualDisks summary.storage.committed runtime.powerState`)
