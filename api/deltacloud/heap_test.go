package deltacloud_test

import (
	"io"
	"net/http"
	"runtime"
	"runtime/metrics"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/imagegw/imagegw/api/apitest"
	"github.com/imagegw/imagegw/gateway"
)

// countingDiscard counts bytes it throws away.
type countingDiscard struct{ n int64 }

func (c *countingDiscard) Write(p []byte) (int, error) { c.n += int64(len(p)); return len(p), nil }

// BenchmarkListHeap serves GET /api/images over 100,000 mock images (set
// IMAGEGW_BENCH_IMAGES to change) and reports the peak live heap seen while
// the body streams, next to the size of the body. Lists stream, so the peak
// stays far below the encoded size.
func BenchmarkListHeap(b *testing.B) {
	n := 100000
	s := apitest.NewServer(b, gateway.Config{MockImages: n})
	for _, format := range []string{"xml", "json"} {
		b.Run(format, func(b *testing.B) {
			var peak, peakLive atomic.Uint64
			var bodyBytes int64
			for b.Loop() {
				runtime.GC()
				var base runtime.MemStats
				runtime.ReadMemStats(&base)
				stop := make(chan struct{})
				var wg sync.WaitGroup
				wg.Add(1)
				go func() {
					defer wg.Done()
					var ms runtime.MemStats
					live := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
					for {
						runtime.ReadMemStats(&ms)
						if ms.HeapAlloc > peak.Load() {
							peak.Store(ms.HeapAlloc)
						}
						metrics.Read(live)
						if v := live[0].Value.Uint64(); v > peakLive.Load() {
							peakLive.Store(v)
						}
						select {
						case <-stop:
							return
						case <-time.After(5 * time.Millisecond):
						}
					}
				}()
				req, _ := http.NewRequest("GET", s.URL+"/api/images?format="+format, nil)
				req.SetBasicAuth("mockuser", "mockpassword")
				res, err := http.DefaultClient.Do(req)
				if err != nil {
					b.Fatal(err)
				}
				var cd countingDiscard
				io.Copy(&cd, res.Body)
				res.Body.Close()
				close(stop)
				wg.Wait()
				if res.StatusCode != 200 {
					b.Fatalf("status %d", res.StatusCode)
				}
				bodyBytes = cd.n
			}
			b.ReportMetric(float64(peak.Load())/(1<<20), "peak-heap-MiB")
			b.ReportMetric(float64(peakLive.Load())/(1<<20), "peak-live-heap-MiB")
			b.ReportMetric(float64(bodyBytes)/(1<<20), "body-MiB")
		})
	}
}
