package server_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/imagegw/imagegw/api/server"
	"github.com/imagegw/imagegw/gateway"
	"github.com/imagegw/imagegw/store"

	_ "github.com/imagegw/imagegw/api/deltacloud"
	_ "github.com/imagegw/imagegw/drivers/mock"
)

// discard is a ResponseWriter that keeps nothing but the status.
type discard struct {
	h      http.Header
	status int
	n      int
}

func (d *discard) Header() http.Header { return d.h }
func (d *discard) Write(p []byte) (int, error) {
	if d.status == 0 {
		d.status = 200
	}
	d.n += len(p)
	return len(p), nil
}
func (d *discard) WriteHeader(s int) { d.status = s }

func benchHandler(b *testing.B, images int) http.Handler {
	b.Helper()
	return benchHandlerConfig(b, "mock_images: "+itoa(images)+"\n")
}

// benchHandlerConfig is the whole server over a gateway configured by yaml.
func benchHandlerConfig(b *testing.B, yaml string) http.Handler {
	b.Helper()
	dir := b.TempDir()
	st, err := store.Open(context.Background(), filepath.Join(dir, "imagegw.db"))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })
	cfg, err := gateway.ParseConfig(strings.NewReader(yaml))
	if err != nil {
		b.Fatal(err)
	}
	gw, err := gateway.New(context.Background(), cfg, gateway.Options{Store: st, DataDir: dir})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { gw.Close() })
	return server.New(gw, server.Options{})
}

func itoa(n int) string {
	s := ""
	for ; n > 0; n /= 10 {
		s = string(rune('0'+n%10)) + s
	}
	if s == "" {
		return "0"
	}
	return s
}

func serve(b *testing.B, h http.Handler, path string, want int) {
	b.Helper()
	w := &discard{h: http.Header{}}
	r := httptest.NewRequest("GET", path, nil)
	r.SetBasicAuth("mockuser", "mockpassword")
	h.ServeHTTP(w, r)
	if w.status != want {
		b.Fatalf("GET %s: %d, want %d", path, w.status, want)
	}
}

// BenchmarkServeImageList serves GET /api/images over the mock with
// 10,000 synthetic images (10,003 in all), in-process: what one request
// costs once the gateway is warm.
func BenchmarkServeImageList(b *testing.B) {
	h := benchHandler(b, 10000)
	for _, format := range []string{"json", "xml"} {
		b.Run(format, func(b *testing.B) {
			path := "/api/images?format=" + format
			serve(b, h, path, 200) // warm
			b.ReportAllocs()
			for b.Loop() {
				serve(b, h, path, 200)
			}
		})
	}
}

// BenchmarkServeUnknownImage asks again and again for images that do not
// exist, with the catalog warm: after the first asks, no cloud call.
func BenchmarkServeUnknownImage(b *testing.B) {
	h := benchHandler(b, 10000)
	serve(b, h, "/api/images?format=json", 200)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		i++
		serve(b, h, "/api/images/bogus"+itoa(i%4)+"?format=json", 404)
	}
}

// BenchmarkCatalogHeap reports the live heap per image of a loaded
// 100,000-image catalog.
func BenchmarkCatalogHeap(b *testing.B) {
	for b.Loop() {
		runtime.GC()
		var before runtime.MemStats
		runtime.ReadMemStats(&before)
		h := benchHandler(b, 100000)
		serve(b, h, "/api/images/img1?format=json", 200)
		serve(b, h, "/api/images?format=json&architecture=none", 200) // loads the catalog, renders nothing
		runtime.GC()
		var after runtime.MemStats
		runtime.ReadMemStats(&after)
		b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/100000, "heapB/image")
		runtime.KeepAlive(h)
	}
}

// BenchmarkServeSmallList serves the default 3-image list: the per-request
// path (request id, selection, auth, negotiation, logging, the stored
// answer).
func BenchmarkServeSmallList(b *testing.B) {
	h := benchHandler(b, 0)
	serve(b, h, "/api/images?format=json", 200)
	b.ReportAllocs()
	for b.Loop() {
		serve(b, h, "/api/images?format=json", 200)
	}
}

// BenchmarkServeFederatedList serves GET /api;driver=mock;provider=*/images
// over two mock providers of 5,000 synthetic images each, in-process.
func BenchmarkServeFederatedList(b *testing.B) {
	h := benchHandlerConfig(b, `providers:
  - {name: a, driver: mock, synthetic_images: 5000}
  - {name: b, driver: mock, synthetic_images: 5000}
`)
	const path = "/api;driver=mock;provider=*/images?format=json&sort=name"
	serve(b, h, path, 200)
	b.ReportAllocs()
	for b.Loop() {
		serve(b, h, path, 200)
	}
}
