package server_test

import (
	"net/http"
	"os"
	"strings"
	"testing"

	"go.uber.org/goleak"

	"github.com/imagegw/imagegw/api/apitest"
	"github.com/imagegw/imagegw/gateway"
)

// TestFailuresLeakNothing: 200 answers of a cloud that is down (502) or
// too slow (504) leave no goroutine and no file descriptor behind.
func TestFailuresLeakNothing(t *testing.T) {
	fds := func() int {
		entries, err := os.ReadDir("/proc/self/fd")
		if err != nil {
			t.Skipf("no /proc/self/fd: %v", err)
		}
		return len(entries)
	}
	fd0 := fds()
	opts := goleak.IgnoreCurrent()
	cfg, _ := gateway.ParseConfig(strings.NewReader("providers:\n  - {name: down, driver: failing}\n"))
	s := apitest.NewServer(t, cfg)
	for i := range 200 {
		path, want := "/api;driver=failing/images", 502
		if i%2 == 1 {
			path, want = "/api;driver=failing/images/img1", 504
		}
		res, err := http.Get(s.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != want {
			t.Fatalf("%s: status %d, want %d", path, res.StatusCode, want)
		}
	}
	s.Close()
	http.DefaultClient.CloseIdleConnections()
	goleak.VerifyNone(t, opts)
	if fd := fds(); fd > fd0+2 {
		t.Errorf("%d file descriptors open after 200 failures, %d before", fd, fd0)
	}
}
