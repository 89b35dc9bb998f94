package ec2_test

import (
	"context"
	"io"
	"net/http"
	"runtime"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/ec2"

	"github.com/imagegw/imagegw/model"
)

// BenchmarkListImages lists moto's seeded catalog (owner amazon: 1,177 AMIs)
// four ways in one run, so that their ratio shows the gateway's cost over
// the SDK alone: a direct SDK DescribeImages loop, the driver, and the whole
// gateway over HTTP in JSON and XML. moto's own time dominates all four.
//
//	go test -run '^$' -bench BenchmarkListImages -benchtime 5x ./drivers/ec2/
func BenchmarkListImages(b *testing.B) {
	s := needMoto(b)
	ctx := context.Background()
	raw := rawClient(s, "us-east-1")
	in := &ec2.DescribeImagesInput{Owners: []string{"amazon"}}

	b.Run("sdk", func(b *testing.B) {
		b.ReportAllocs()
		n := 0
		for b.Loop() {
			pg := ec2.NewDescribeImagesPaginator(raw, in)
			for pg.HasMorePages() {
				out, err := pg.NextPage(ctx)
				if err != nil {
					b.Fatal(err)
				}
				n = len(out.Images)
			}
		}
		b.ReportMetric(float64(n), "images")
	})

	b.Run("driver", func(b *testing.B) {
		d := connect(b, s, "us-east-1", nil)
		if _, err := d.ListHardwareProfiles(ctx); err != nil { // warm the instance-type cache
			b.Fatal(err)
		}
		b.ReportAllocs()
		n := 0
		for b.Loop() {
			imgs, err := d.ListImages(ctx, model.ImageQuery{OwnerID: "amazon"})
			if err != nil {
				b.Fatal(err)
			}
			n = len(imgs)
		}
		b.ReportMetric(float64(n), "images")
	})

	// moto-small offers 8 instance types (instance_types), so that each
	// image lists a few hardware profiles instead of the ~900 of moto-east.
	srv := e2eServer(b, s, `  - {name: moto-small, driver: ec2, region: us-east-1, endpoint: "`+s.URL+`", instance_types: ["t3.*", "m6g.large"]}
`)
	for _, tc := range []struct{ name, provider, format string }{
		{"gateway-http-json", "moto-east", "json"},
		{"gateway-http-xml", "moto-east", "xml"},
		{"gateway-http-json-8-types", "moto-small", "json"},
	} {
		b.Run(tc.name, func(b *testing.B) {
			url := srv.URL + "/api;driver=ec2;provider=" + tc.provider + "/images?owner_id=amazon&format=" + tc.format
			get := func() int64 {
				req, _ := http.NewRequest("GET", url, nil)
				req.SetBasicAuth(testKey, testSecret)
				res, err := http.DefaultClient.Do(req)
				if err != nil {
					b.Fatal(err)
				}
				defer res.Body.Close()
				n, _ := io.Copy(io.Discard, res.Body)
				if res.StatusCode != 200 {
					b.Fatalf("status %d", res.StatusCode)
				}
				return n
			}
			get() // warm the instance-type cache
			b.ReportAllocs()
			var size int64
			for b.Loop() {
				size = get()
			}
			b.ReportMetric(float64(size), "body-bytes")
		})
	}
}

// BenchmarkImageHeap measures the live heap a listed catalog holds, per
// 1,000 images: what the gateway keeps while it renders a list.
//
//	go test -run '^$' -bench BenchmarkImageHeap -benchtime 3x ./drivers/ec2/
func BenchmarkImageHeap(b *testing.B) {
	s := needMoto(b)
	ctx := context.Background()
	d := connect(b, s, "us-east-1", nil)
	if _, err := d.ListHardwareProfiles(ctx); err != nil {
		b.Fatal(err)
	}
	var perK float64
	for b.Loop() {
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		imgs, err := d.ListImages(ctx, model.ImageQuery{OwnerID: "amazon"})
		if err != nil {
			b.Fatal(err)
		}
		runtime.GC()
		runtime.ReadMemStats(&after)
		perK = float64(after.HeapAlloc-before.HeapAlloc) / float64(len(imgs)) * 1000
		runtime.KeepAlive(imgs)
	}
	b.ReportMetric(perK, "heap-bytes/1000img")
}
