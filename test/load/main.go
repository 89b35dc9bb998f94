// Command load is imagegw's load generator for `make bench-load`: it keeps
// -c connections busy for -d with a weighted mix of read requests against a
// running gateway, and prints requests/s, latency percentiles per request
// and every error. It exits 1 if any request failed (a transport error or
// a status other than 200), so a run with errors cannot pass as a
// benchmark.
//
//	go run ./test/load -url http://127.0.0.1:3001 -c 64 -d 60s
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"
)

// mix is what the load asks for, with weights: mostly single resources, as
// clients and UIs do, and some full lists.
var mix = []struct {
	path   string
	weight int
}{
	{"/api/images/img1", 20},
	{"/api/images/img1?format=json", 20},
	{"/api/hardware_profiles?format=json", 15},
	{"/api/hardware_profiles/m1-small", 10},
	{"/api", 10},
	{"/api/realms?format=json", 10},
	{"/api/instances?format=json", 10},
	{"/api/images?format=json", 5},
}

type result struct {
	path  string
	took  time.Duration
	bytes int64
	err   string // "" when the answer was 200 and read whole
}

func main() {
	base := flag.String("url", "http://127.0.0.1:3001", "the gateway's base URL")
	conns := flag.Int("c", 64, "connections (one worker each)")
	dur := flag.Duration("d", 60*time.Second, "how long to run")
	user := flag.String("user", "mockuser", "Basic user")
	pass := flag.String("pass", "mockpassword", "Basic password")
	timeout := flag.Duration("timeout", 30*time.Second, "per-request timeout")
	flag.Parse()

	var weighted []string
	for _, m := range mix {
		for range m.weight {
			weighted = append(weighted, m.path)
		}
	}
	tr := &http.Transport{MaxIdleConns: *conns, MaxIdleConnsPerHost: *conns, MaxConnsPerHost: *conns}
	client := &http.Client{Transport: tr, Timeout: *timeout}
	ctx, cancel := context.WithTimeout(context.Background(), *dur)
	defer cancel()

	results := make([][]result, *conns)
	var wg sync.WaitGroup
	start := time.Now()
	for w := range *conns {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(w), 14))
			for ctx.Err() == nil {
				path := weighted[rng.IntN(len(weighted))]
				results[w] = append(results[w], get(client, *base+path, *user, *pass, path))
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	tr.CloseIdleConnections()

	var all []result
	for _, r := range results {
		all = append(all, r...)
	}
	os.Exit(report(os.Stdout, all, *conns, elapsed))
}

func get(c *http.Client, url, user, pass, path string) result {
	req, err := http.NewRequest("GET", url, nil)
	if err != nil {
		return result{path: path, err: err.Error()}
	}
	req.SetBasicAuth(user, pass)
	t0 := time.Now()
	res, err := c.Do(req)
	if err != nil {
		return result{path: path, took: time.Since(t0), err: "transport: " + err.Error()}
	}
	n, err := io.Copy(io.Discard, res.Body)
	res.Body.Close()
	r := result{path: path, took: time.Since(t0), bytes: n}
	switch {
	case err != nil:
		r.err = "body: " + err.Error()
	case res.StatusCode != http.StatusOK:
		r.err = "status " + res.Status
	}
	return r
}

func pct(d []time.Duration, p float64) time.Duration {
	if len(d) == 0 {
		return 0
	}
	return d[min(len(d)-1, int(float64(len(d))*p))]
}

// report prints the figures as a Markdown table and returns the exit code.
func report(w io.Writer, all []result, conns int, elapsed time.Duration) int {
	byPath := map[string][]time.Duration{}
	errs := map[string]int{}
	var bytes int64
	var lat []time.Duration
	for _, r := range all {
		if r.err != "" {
			errs[r.path+": "+r.err]++
			continue
		}
		byPath[r.path] = append(byPath[r.path], r.took)
		lat = append(lat, r.took)
		bytes += r.bytes
	}
	slices.Sort(lat)
	fmt.Fprintf(w, "%d connections, %v: %d requests, %.0f requests/s, %.1f MiB/s, %d errors\n\n",
		conns, elapsed.Round(time.Millisecond), len(all), float64(len(all))/elapsed.Seconds(),
		float64(bytes)/elapsed.Seconds()/(1<<20), len(all)-len(lat))
	fmt.Fprintln(w, "| request | share | p50 | p90 | p99 | max |")
	fmt.Fprintln(w, "|---|---|---|---|---|---|")
	paths := make([]string, 0, len(byPath))
	for p := range byPath {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	row := func(name string, d []time.Duration) {
		slices.Sort(d)
		fmt.Fprintf(w, "| `%s` | %.0f%% | %v | %v | %v | %v |\n", name, 100*float64(len(d))/float64(len(all)),
			pct(d, .5).Round(10*time.Microsecond), pct(d, .9).Round(10*time.Microsecond),
			pct(d, .99).Round(10*time.Microsecond), d[len(d)-1].Round(10*time.Microsecond))
	}
	for _, p := range paths {
		row("GET "+p, byPath[p])
	}
	if len(lat) > 0 {
		row("all", lat)
	}
	if len(errs) > 0 {
		fmt.Fprintln(w, "\nerrors:")
		keys := make([]string, 0, len(errs))
		for k := range errs {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			fmt.Fprintf(w, "  %d × %s\n", errs[k], strings.TrimSpace(k))
		}
		return 1
	}
	return 0
}
