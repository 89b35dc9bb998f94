package ec2_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"

	"github.com/imagegw/imagegw/api/apitest"
	"github.com/imagegw/imagegw/drivers"
	"github.com/imagegw/imagegw/gateway"
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
		if _, err := d.ListHardwareProfiles(ctx); err != nil { // fill the shared instance types
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
			get() // warm the gateway (and the instance types, once the catalog holds them)
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

// writeAMIs writes n AMIs owned by amazon in MOTO_AMIS_PATH's format (the
// list of objects of moto/ec2/resources/amis.json.gz: ami_id, name,
// owner_id, architecture, ...; moto sets owner_alias "amazon" on each) and
// returns the file's path. Half are x86_64, half arm64.
func writeAMIs(b *testing.B, dir string, n int) string {
	b.Helper()
	amis := make([]map[string]any, n)
	for i := range amis {
		arch := "x86_64"
		if i%2 == 1 {
			arch = "arm64"
		}
		amis[i] = map[string]any{
			"ami_id":              fmt.Sprintf("ami-%017x", i+1),
			"name":                fmt.Sprintf("bench-%s-%05d", arch, i),
			"description":         "imagegw benchmark image " + strconv.Itoa(i),
			"owner_id":            "137112412989",
			"public":              true,
			"virtualization_type": "hvm",
			"architecture":        arch,
			"state":               "available",
			"image_type":          "machine",
			"image_location":      fmt.Sprintf("amazon/bench-%05d", i),
			"hypervisor":          "xen",
			"root_device_name":    "/dev/xvda",
			"root_device_type":    "ebs",
			"sriov":               "simple",
		}
	}
	data, err := json.Marshal(amis)
	if err != nil {
		b.Fatal(err)
	}
	p := filepath.Join(dir, "amis.json")
	if err := os.WriteFile(p, data, 0o644); err != nil {
		b.Fatal(err)
	}
	return p
}

// BenchmarkList20kAMIs lists 20,000 AMIs (owner amazon) from a moto loaded
// through MOTO_AMIS_PATH three ways: the SDK's DescribeImages paginator
// alone; a first list through the whole gateway (native front, JSON, a cold
// provider each time: instance types and images fetched); and a second list
// of a warm provider within the catalog's TTL, which should be a catalog
// answer (no DescribeImages: see describe-images/op). The provider offers 8
// instance types, so that the answer is about images, not profile links.
//
//	go test -run '^$' -bench BenchmarkList20kAMIs -benchtime 3x -timeout 30m ./drivers/ec2/
func BenchmarkList20kAMIs(b *testing.B) {
	const n = 20000
	if motoMain == nil {
		b.Skipf("skipping: %v", motoErr)
	}
	dir := b.TempDir()
	start := time.Now()
	s, err := startMoto(dir, "20k", "MOTO_AMIS_PATH="+writeAMIs(b, dir, n))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(s.stop)
	ctx := context.Background()
	raw := rawClient(s, "us-east-1")
	// The region's backend loads the AMIs on its first request.
	if _, err := raw.DescribeAvailabilityZones(ctx, &ec2.DescribeAvailabilityZonesInput{}); err != nil {
		b.Fatal(err)
	}
	in := &ec2.DescribeImagesInput{Owners: []string{"amazon"}, MaxResults: aws.Int32(1000)}
	// One untimed list, so that none of the timed ones pays for moto's
	// first-call work.
	if _, err := raw.DescribeImages(ctx, in); err != nil {
		b.Fatal(err)
	}
	b.Logf("moto with %d AMIs ready in %v", n, time.Since(start).Round(time.Millisecond))

	b.Run("sdk-paginator", func(b *testing.B) {
		b.ReportAllocs()
		got := 0
		for b.Loop() {
			got = 0
			pg := ec2.NewDescribeImagesPaginator(raw, in)
			for pg.HasMorePages() {
				out, err := pg.NextPage(ctx)
				if err != nil {
					b.Fatal(err)
				}
				got += len(out.Images)
			}
		}
		if got != n {
			b.Fatalf("listed %d images, want %d", got, n)
		}
		b.ReportMetric(float64(got), "images")
	})

	const provider = "moto-20k"
	calls := countCalls(b, provider)
	newServer := func() *apitest.Server {
		cfg, err := gateway.ParseConfig(strings.NewReader(`
providers:
  - {name: ` + provider + `, driver: ec2, region: us-east-1, endpoint: "` + s.URL + `", instance_types: ["t3.*", "m6g.large"]}
`))
		if err != nil {
			b.Fatal(err)
		}
		return apitest.NewServer(b, cfg)
	}
	get := func(srv *apitest.Server) (int64, int) {
		req, _ := http.NewRequest("GET", srv.URL+"/api;driver=ec2;provider="+provider+"/images?owner_id=amazon&format=json", nil)
		req.SetBasicAuth(testKey, testSecret)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		defer res.Body.Close()
		var list struct {
			Images []json.RawMessage `json:"images"`
		}
		cr := &countingReader{r: res.Body}
		if err := json.NewDecoder(cr).Decode(&list); err != nil || res.StatusCode != 200 {
			b.Fatalf("status %d, %v", res.StatusCode, err)
		}
		io.Copy(io.Discard, cr)
		return cr.n, len(list.Images)
	}
	report := func(b *testing.B, size int64, images int, describes int) {
		if images != n {
			b.Fatalf("listed %d images, want %d", images, n)
		}
		b.ReportMetric(float64(size), "body-bytes")
		b.ReportMetric(float64(describes)/float64(b.N), "describe-images/op")
	}

	b.Run("gateway-first", func(b *testing.B) {
		b.ReportAllocs()
		var size int64
		var images int
		calls.reset()
		for b.Loop() {
			b.StopTimer()
			srv := newServer()
			b.StartTimer()
			size, images = get(srv)
			b.StopTimer()
			srv.Close()
			b.StartTimer()
		}
		report(b, size, images, len(calls.actions("DescribeImages")))
	})

	b.Run("gateway-second", func(b *testing.B) {
		srv := newServer()
		defer srv.Close()
		get(srv)
		calls.reset()
		b.ReportAllocs()
		var size int64
		var images int
		for b.Loop() {
			size, images = get(srv)
		}
		report(b, size, images, len(calls.actions("DescribeImages")))
	})
}

// countingReader counts the bytes read through it.
type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// BenchmarkColdInstanceTypes fetches the offered instance types of a cold
// provider (what its first list waits for) with instance_types set to the
// same 8 types two ways: patterns EC2 can evaluate, pushed into the
// instance-type filter, and an equivalent pattern with a character class,
// which is not pushed, so that every type of the region is fetched and
// filtered here (what every provider did before).
//
//	go test -run '^$' -bench BenchmarkColdInstanceTypes -benchtime 5x ./drivers/ec2/
func BenchmarkColdInstanceTypes(b *testing.B) {
	s := needMoto(b)
	ctx := context.Background()
	for _, tc := range []struct {
		name     string
		patterns []any
	}{
		{"pushed", []any{"t3.*", "m6g.large"}},
		{"not-pushed", []any{"t[3].*", "m6g.large"}},
	} {
		b.Run(tc.name, func(b *testing.B) {
			b.ReportAllocs()
			got := 0
			for b.Loop() {
				p := openProviderEnv(b, s, "us-east-1", map[string]any{"instance_types": tc.patterns}, drivers.Env{})
				d, err := p.Connect(ctx, model.Credentials{User: testKey, Password: testSecret})
				if err != nil {
					b.Fatal(err)
				}
				hps, err := d.ListHardwareProfiles(ctx)
				if err != nil {
					b.Fatal(err)
				}
				got = len(hps)
				p.Close()
			}
			if got != 8 {
				b.Fatalf("%d types offered, want 8", got)
			}
			b.ReportMetric(float64(got), "types")
		})
	}
}
