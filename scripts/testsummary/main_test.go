package main

import (
	"bytes"
	"strings"
	"testing"
)

// TestSummarize: package lines and failures pass through; skips are
// listed with their reasons; the counts close the output.
func TestSummarize(t *testing.T) {
	stream := strings.Join([]string{
		`{"Action":"start","Package":"p/a"}`,
		`{"Action":"run","Package":"p/a","Test":"TestOK"}`,
		`{"Action":"output","Package":"p/a","Test":"TestOK","Output":"=== RUN   TestOK\n"}`,
		`{"Action":"pass","Package":"p/a","Test":"TestOK"}`,
		`{"Action":"run","Package":"p/a","Test":"TestSim"}`,
		`{"Action":"output","Package":"p/a","Test":"TestSim","Output":"=== RUN   TestSim\n"}`,
		`{"Action":"output","Package":"p/a","Test":"TestSim","Output":"    sim_test.go:9: moto_server not on PATH; install moto[server]\n"}`,
		`{"Action":"output","Package":"p/a","Test":"TestSim","Output":"--- SKIP: TestSim (0.00s)\n"}`,
		`{"Action":"skip","Package":"p/a","Test":"TestSim"}`,
		`{"Action":"output","Package":"p/a","Output":"PASS\n"}`,
		`{"Action":"output","Package":"p/a","Output":"ok  \tp/a\t0.1s\n"}`,
		`{"Action":"pass","Package":"p/a"}`,
		`{"Action":"run","Package":"p/b","Test":"TestBad"}`,
		`{"Action":"output","Package":"p/b","Test":"TestBad","Output":"    bad_test.go:3: got 1, want 2\n"}`,
		`{"Action":"output","Package":"p/b","Test":"TestBad","Output":"--- FAIL: TestBad (0.00s)\n"}`,
		`{"Action":"fail","Package":"p/b","Test":"TestBad"}`,
		`{"Action":"output","Package":"p/b","Output":"FAIL\tp/b\t0.2s\n"}`,
		`{"ImportPath":"p/c","Action":"build-output","Output":"c.go:1:1: syntax error\n"}`,
	}, "\n")
	var out bytes.Buffer
	skips, counts := summarize(strings.NewReader(stream), &out)
	report(&out, skips, counts)
	got := out.String()
	for _, w := range []string{
		"ok  \tp/a\t0.1s\n",
		"bad_test.go:3: got 1, want 2\n--- FAIL: TestBad",
		"FAIL\tp/b\t0.2s\n",
		"c.go:1:1: syntax error\n",
		"skipped tests (1):\n  p/a TestSim: sim_test.go:9: moto_server not on PATH; install moto[server]\n",
	} {
		if !strings.Contains(got, w) {
			t.Errorf("output lacks %q:\n%s", w, got)
		}
	}
	if !strings.HasSuffix(got, "\ntests: 1 passed, 1 failed, 1 skipped\n") {
		t.Errorf("output does not close with the counts:\n%s", got)
	}
	if strings.Contains(got, "=== RUN") || strings.Contains(got, "TestOK") {
		t.Errorf("passing tests' output shown:\n%s", got)
	}
}
