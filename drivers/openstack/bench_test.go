package openstack

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"sync"
	"testing"

	"github.com/gophercloud/gophercloud/v2"
	gopenstack "github.com/gophercloud/gophercloud/v2/openstack"
	"github.com/gophercloud/gophercloud/v2/openstack/image/v2/images"
)

const benchImages = 1000

// benchImageClient returns a Glance client of the bench project, which holds
// benchImages private images (made on first use, queued, without data).
func benchImageClient(b *testing.B, env map[string]string) *gophercloud.ServiceClient {
	b.Helper()
	ctx := context.Background()
	pc, err := gopenstack.AuthenticatedClient(ctx, gophercloud.AuthOptions{
		IdentityEndpoint: env["OS_AUTH_URL"], Username: "bench", Password: env["IMAGEGW_OS_DEMO_PASSWORD"],
		DomainName: "Default", TenantName: "bench", AllowReauth: true,
	})
	if err != nil {
		b.Fatal(err)
	}
	ic, err := gopenstack.NewImageV2(pc, gophercloud.EndpointOpts{Region: "RegionOne"})
	if err != nil {
		b.Fatal(err)
	}
	have := countImages(b, ic)
	if have >= benchImages {
		return ic
	}
	jobs := make(chan int)
	var wg sync.WaitGroup
	var once sync.Once
	var firstErr error
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range jobs {
				_, err := images.Create(ctx, ic, images.CreateOpts{
					Name: fmt.Sprintf("bench-%04d", i), DiskFormat: "raw", ContainerFormat: "bare",
					Properties: map[string]string{"architecture": "x86_64"},
				}).Extract()
				if err != nil {
					once.Do(func() { firstErr = err })
				}
			}
		}()
	}
	for i := have; i < benchImages; i++ {
		jobs <- i
	}
	close(jobs)
	wg.Wait()
	if firstErr != nil {
		b.Fatalf("making bench images: %v", firstErr)
	}
	return ic
}

func countImages(b *testing.B, ic *gophercloud.ServiceClient) int {
	b.Helper()
	page, err := images.List(ic, images.ListOpts{Owner: ownerOf(b, ic)}).AllPages(context.Background())
	if err != nil {
		b.Fatal(err)
	}
	imgs, err := images.ExtractImages(page)
	if err != nil {
		b.Fatal(err)
	}
	return len(imgs)
}

func ownerOf(b *testing.B, ic *gophercloud.ServiceClient) string {
	b.Helper()
	if p := projectOf(ic.ProviderClient); p != "" {
		return p
	}
	b.Fatal("no project in the bench token")
	return ""
}

// BenchmarkList1000Images lists the bench project's 1,000 Glance images
// (private, so each listing sees 1,000 plus the public ones) directly with
// gophercloud's pager and through the whole gateway (native front, JSON).
func BenchmarkList1000Images(b *testing.B) {
	env := needStack(b)
	ic := benchImageClient(b, env)
	ctx := context.Background()
	want := 0
	b.Run("gophercloud-pager", func(b *testing.B) {
		for b.Loop() {
			page, err := images.List(ic, images.ListOpts{}).AllPages(ctx)
			if err != nil {
				b.Fatal(err)
			}
			imgs, err := images.ExtractImages(page)
			if err != nil {
				b.Fatal(err)
			}
			want = len(imgs)
		}
		b.ReportMetric(float64(want), "images/op")
	})
	srv := e2eServer(b, env)
	url := srv.URL + "/api;driver=openstack;provider=regionone/images?format=json"
	b.Run("gateway-json", func(b *testing.B) {
		n := 0
		for b.Loop() {
			req, _ := http.NewRequest("GET", url, nil)
			req.SetBasicAuth("bench+bench", env["IMAGEGW_OS_DEMO_PASSWORD"])
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				b.Fatal(err)
			}
			var list struct{ Images []json.RawMessage }
			err = json.NewDecoder(res.Body).Decode(&list)
			res.Body.Close()
			if err != nil || res.StatusCode != 200 {
				b.Fatalf("status %d, %v", res.StatusCode, err)
			}
			n = len(list.Images)
		}
		if want != 0 && n != want {
			b.Errorf("gateway listed %d images, gophercloud %d", n, want)
		}
		b.ReportMetric(float64(n), "images/op")
	})
}
