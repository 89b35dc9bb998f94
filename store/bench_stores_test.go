package store

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/imagegw/imagegw/store/pgtest"
)

// BenchmarkStores runs the same operations on both stores, side by side:
// SQLite (synchronous=FULL) and PostgreSQL (the test cluster on loopback,
// fsync on; skipped without one).
func BenchmarkStores(b *testing.B) {
	kinds := []struct {
		name string
		open func(b *testing.B) Store
	}{
		{"sqlite", func(b *testing.B) Store { return benchStore(b, options{}) }},
		{"postgres", func(b *testing.B) Store {
			s, err := OpenPostgres(context.Background(), pgtest.DSN(b))
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { s.Close() })
			return s
		}},
	}
	ctx := context.Background()
	for _, k := range kinds {
		b.Run(k.name+"/Put", func(b *testing.B) {
			s := k.open(b)
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				if err := Put(ctx, s, "images", fmt.Sprintf("img%06d", i%benchDocs), benchValue); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(k.name+"/PutBatch100", func(b *testing.B) {
			s := k.open(b)
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				err := s.Update(ctx, func(tx Tx) error {
					for j := 0; j < 100; j++ {
						i++
						if err := tx.Put("images", fmt.Sprintf("img%06d", i%benchDocs), benchValue); err != nil {
							return err
						}
					}
					return nil
				})
				if err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(i), "ns/doc")
		})
		b.Run(k.name+"/Get", func(b *testing.B) {
			s := k.open(b)
			fill(b, s, "images")
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				if _, err := Get(ctx, s, "images", fmt.Sprintf("img%06d", (i*7919)%benchDocs)); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(k.name+"/Scan10k", func(b *testing.B) {
			s := k.open(b)
			fill(b, s, "images")
			b.ReportAllocs()
			for b.Loop() {
				n := 0
				err := s.View(ctx, func(tx Tx) error {
					return tx.Scan("images", "", func(string, []byte) error { n++; return nil })
				})
				if err != nil || n != benchDocs {
					b.Fatalf("Scan: %d docs, %v", n, err)
				}
			}
		})
	}
}

// BenchmarkClaim3Replicas: three stores on one database (three replicas)
// claim 3,000 expired job leases at once, 16 at a time, as the job runner
// does; leases/s is the throughput of the three together.
func BenchmarkClaim3Replicas(b *testing.B) {
	dsn := pgtest.DSN(b)
	ctx := context.Background()
	var ls [3]*pgStore
	for i := range ls {
		s, err := OpenPostgres(ctx, dsn)
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { s.Close() })
		ls[i] = s.(*pgStore)
	}
	const n = 3000
	total := 0
	var elapsed time.Duration
	for b.Loop() {
		b.StopTimer()
		if _, err := ls[0].pool.Exec(ctx, `INSERT INTO leases (ns, key, holder, epoch, expires)
			SELECT 'jobs'::bytea, convert_to('job' || g, 'UTF8'), 'dead', 1, '-infinity' FROM generate_series(1, $1) g
			ON CONFLICT (ns, key) DO UPDATE SET expires = '-infinity'`, n); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		start := time.Now()
		var wg sync.WaitGroup
		var mu sync.Mutex
		for i, l := range ls {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					got, err := l.Claim(ctx, "jobs", "r"+strconv.Itoa(i), time.Hour, claimBatchBench)
					if err != nil {
						b.Error(err)
						return
					}
					if len(got) == 0 {
						return
					}
					mu.Lock()
					total += len(got)
					mu.Unlock()
				}
			}()
		}
		wg.Wait()
		elapsed += time.Since(start)
	}
	if total != n*b.N {
		b.Fatalf("claimed %d of %d", total, n*b.N)
	}
	b.ReportMetric(float64(total)/elapsed.Seconds(), "leases/s")
}

// claimBatchBench is the gateway's claim batch (gateway/lease.go).
const claimBatchBench = 16

// BenchmarkNotifyLatency: the time from Publish on one store to Next on
// another store's subscription (two replicas), p50 and p99.
func BenchmarkNotifyLatency(b *testing.B) {
	dsn := pgtest.DSN(b)
	ctx := context.Background()
	pub, err := OpenPostgres(ctx, dsn)
	if err != nil {
		b.Fatal(err)
	}
	defer pub.Close()
	subStore, err := OpenPostgres(ctx, dsn)
	if err != nil {
		b.Fatal(err)
	}
	defer subStore.Close()
	sub, err := subStore.(Notifier).Subscribe(ctx, "bench")
	if err != nil {
		b.Fatal(err)
	}
	defer sub.Close()
	var lat []time.Duration
	for b.Loop() {
		start := time.Now()
		if err := pub.(Notifier).Publish(ctx, "bench", []byte("x")); err != nil {
			b.Fatal(err)
		}
		if _, err := sub.Next(ctx); err != nil {
			b.Fatal(err)
		}
		lat = append(lat, time.Since(start))
	}
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-µs")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99-µs")
}
