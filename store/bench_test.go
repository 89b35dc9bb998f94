package store

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"testing"
)

// benchDocs is the size of the namespace the benchmarks read.
const benchDocs = 10000

// benchValue is a document of a realistic size (an image's JSON).
var benchValue = []byte(`{"id":"ami-0123456789abcdef0","name":"benchmark image","owner_id":"123456789012",` +
	`"description":"a synthetic image of about three hundred bytes, like the ones the mock cloud stores",` +
	`"architecture":"x86_64","state":"AVAILABLE","hardware_profiles":["m1-small","m1-large","m1-xlarge"]}`)

func benchStore(b *testing.B, o options) Store {
	b.Helper()
	s, err := open(context.Background(), filepath.Join(b.TempDir(), FileName), o)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	return s
}

// fill writes benchDocs documents to ns in one transaction.
func fill(b *testing.B, s Store, ns string) {
	b.Helper()
	err := s.Update(context.Background(), func(tx Tx) error {
		for i := 0; i < benchDocs; i++ {
			if err := tx.Put(ns, fmt.Sprintf("img%06d", i), benchValue); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
}

// BenchmarkPut is one Update (one durable commit) per document.
func BenchmarkPut(b *testing.B) {
	for _, sync := range []string{"FULL", "NORMAL"} {
		b.Run("synchronous="+sync, func(b *testing.B) {
			s := benchStore(b, options{synchronous: sync})
			ctx := context.Background()
			b.ReportAllocs()
			b.SetBytes(int64(len(benchValue)))
			for i := 0; b.Loop(); i++ {
				if err := Put(ctx, s, "images", fmt.Sprintf("img%06d", i%benchDocs), benchValue); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkPutBatch is 100 Puts in one Update; ns/op is per document.
func BenchmarkPutBatch(b *testing.B) {
	s := benchStore(b, options{})
	ctx := context.Background()
	b.ReportAllocs()
	b.SetBytes(100 * int64(len(benchValue)))
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
}

// BenchmarkGet is one View reading one of 10,000 documents.
func BenchmarkGet(b *testing.B) {
	s := benchStore(b, options{})
	fill(b, s, "images")
	ctx := context.Background()
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		if _, err := Get(ctx, s, "images", fmt.Sprintf("img%06d", (i*7919)%benchDocs)); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkGetParallel is BenchmarkGet from GOMAXPROCS goroutines at once,
// across the reader pool.
func BenchmarkGetParallel(b *testing.B) {
	s := benchStore(b, options{})
	fill(b, s, "images")
	ctx := context.Background()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			i++
			if _, err := Get(ctx, s, "images", fmt.Sprintf("img%06d", (i*7919)%benchDocs)); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkScan reads all 10,000 documents of a namespace in one Scan.
func BenchmarkScan(b *testing.B) {
	s := benchStore(b, options{})
	fill(b, s, "images")
	fill(b, s, "other") // a neighbouring namespace Scan must skip
	ctx := context.Background()
	b.ReportAllocs()
	b.SetBytes(benchDocs * int64(len(benchValue)))
	for b.Loop() {
		n := 0
		err := s.View(ctx, func(tx Tx) error {
			return tx.Scan("images", "", func(string, []byte) error { n++; return nil })
		})
		if err != nil || n != benchDocs {
			b.Fatalf("Scan: %d docs, %v", n, err)
		}
	}
}

// BenchmarkScanFirst stops a Scan of 10,000 documents after the first one:
// its cost next to BenchmarkScan's shows that Scan streams rows rather than
// loading the namespace.
func BenchmarkScanFirst(b *testing.B) {
	s := benchStore(b, options{})
	fill(b, s, "images")
	ctx := context.Background()
	stop := errors.New("stop")
	b.ReportAllocs()
	for b.Loop() {
		err := s.View(ctx, func(tx Tx) error {
			return tx.Scan("images", "", func(string, []byte) error { return stop })
		})
		if err != stop {
			b.Fatal(err)
		}
	}
}
