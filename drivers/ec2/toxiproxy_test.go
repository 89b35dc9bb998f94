package ec2_test

// The fault suite: Toxiproxy (github.com/Shopify/toxiproxy/v2, its server
// built from the module pinned in go.mod as a tool) between the whole
// gateway and moto_server, for the faults of a real network: a slow or
// black-holed cloud, reset connections, a cloud that is down; and recovery
// once the fault goes, without a restart.

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	toxiclient "github.com/Shopify/toxiproxy/v2/client"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
)

// toxiproxyPkg is the server's package, a tool of this module (go.mod).
const toxiproxyPkg = "github.com/Shopify/toxiproxy/v2/cmd/server"

var (
	toxiBuildOnce sync.Once
	toxiBin       string
	toxiBuildErr  error
)

// needToxiproxy builds the Toxiproxy server once, starts one for the test
// on loopback and returns its client. Without a go command or the module it
// skips, except under CI=true, where it fails.
func needToxiproxy(t *testing.T) *toxiclient.Client {
	t.Helper()
	toxiBuildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "imagegw-toxiproxy")
		if err != nil {
			toxiBuildErr = err
			return
		}
		toxiBin = filepath.Join(dir, "toxiproxy-server")
		gocmd := filepath.Join(runtime.GOROOT(), "bin", "go")
		if _, err := os.Stat(gocmd); err != nil {
			gocmd = "go"
		}
		out, err := exec.Command(gocmd, "build", "-o", toxiBin, toxiproxyPkg).CombinedOutput()
		if err != nil {
			toxiBuildErr = fmt.Errorf("building %s: %v\n%s", toxiproxyPkg, err, out)
		}
	})
	if toxiBuildErr != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("the fault suite needs Toxiproxy under CI: %v", toxiBuildErr)
		}
		t.Skipf("skipping: %v", toxiBuildErr)
	}
	port := freePort(t)
	cmd := exec.Command(toxiBin, "-host", "127.0.0.1", "-port", strconv.Itoa(port))
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	logf, err := os.Create(filepath.Join(t.TempDir(), "toxiproxy.log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting toxiproxy: %v", err)
	}
	t.Cleanup(func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		_ = cmd.Wait()
		logf.Close()
	})
	addr := "127.0.0.1:" + strconv.Itoa(port)
	for deadline := time.Now().Add(20 * time.Second); ; {
		res, err := http.Get("http://" + addr + "/version")
		if err == nil {
			res.Body.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("toxiproxy did not answer on %s: %v", addr, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	return toxiclient.NewClient(addr)
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// openFDs counts this process's open file descriptors.
func openFDs(t *testing.T) int {
	t.Helper()
	entries, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skipf("no /proc/self/fd: %v", err)
	}
	return len(entries)
}

// TestFaultsThroughToxiproxy: what a client sees through the gateway when
// the network between it and EC2 (moto) goes bad, with request_timeout 2s.
func TestFaultsThroughToxiproxy(t *testing.T) {
	s := needMoto(t)
	toxi := needToxiproxy(t)
	proxyAddr := "127.0.0.1:" + strconv.Itoa(freePort(t))
	proxy, err := toxi.CreateProxy("moto", proxyAddr, strings.TrimPrefix(s.URL, "http://"))
	if err != nil {
		t.Fatalf("creating the proxy: %v", err)
	}
	const deadline = 4 * time.Second // request_timeout below
	srv := e2eServer(t, s, `  - {name: toxic, driver: ec2, region: us-east-1, endpoint: "http://`+proxyAddr+`", request_timeout: 4s}
`)
	// An image that exists: one of moto's seeded AMIs.
	ami := seededAMI(t, s)
	url := srv.URL + "/api;driver=ec2;provider=toxic/images/" + ami + "?format=json"
	get := func() (int, time.Duration) {
		start := time.Now()
		r := call(t, "GET", url, testKey, testSecret)
		return r.Status, time.Since(start)
	}
	// The first request also fills the catalog and loads the region's
	// instance types (moto takes seconds): the fill outlives a first 504,
	// so retry until it is there.
	for range 4 {
		if st, _ := get(); st == 200 {
			break
		}
	}
	if st, _ := get(); st != 200 {
		t.Fatalf("through a clean proxy: status %d, want 200", st)
	}

	tests := []struct {
		name   string
		fault  func() error
		heal   func() error
		status int
		within time.Duration
	}{
		{"latency beyond the deadline",
			func() error {
				_, err := proxy.AddToxic("slow", "latency", "downstream", 1, toxiclient.Attributes{"latency": 8000})
				return err
			},
			func() error { return proxy.RemoveToxic("slow") },
			504, deadline + time.Second},
		{"black hole (no data, never closed)",
			func() error {
				_, err := proxy.AddToxic("hole", "timeout", "upstream", 1, toxiclient.Attributes{"timeout": 0})
				return err
			},
			func() error { return proxy.RemoveToxic("hole") },
			504, deadline + time.Second},
		{"reset_peer",
			func() error {
				_, err := proxy.AddToxic("reset", "reset_peer", "upstream", 1, toxiclient.Attributes{"timeout": 0})
				return err
			},
			func() error { return proxy.RemoveToxic("reset") },
			502, 2 * time.Second},
		{"proxy disabled (connection refused)",
			proxy.Disable, proxy.Enable,
			502, 2 * time.Second},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.fault(); err != nil {
				t.Fatalf("adding the fault: %v", err)
			}
			st, took := get()
			if err := tc.heal(); err != nil {
				t.Fatalf("removing the fault: %v", err)
			}
			if st != tc.status || took > tc.within {
				t.Errorf("under the fault: status %d after %v, want %d within %v", st, took, tc.status, tc.within)
			}
			// Recovery without a restart, as soon as the fault is gone.
			if st, _ := get(); st != 200 {
				t.Errorf("after the fault went: status %d, want 200", st)
			}
		})
	}

	t.Run("200 failures leak nothing", func(t *testing.T) {
		http.DefaultClient.CloseIdleConnections()
		settle := func() (int, int) {
			time.Sleep(200 * time.Millisecond)
			return runtime.NumGoroutine(), openFDs(t)
		}
		g0, fd0 := settle()
		if err := proxy.Disable(); err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		sem := make(chan struct{}, 8)
		var mu sync.Mutex
		statuses := map[int]int{}
		client := &http.Client{Timeout: 10 * time.Second}
		for range 200 {
			sem <- struct{}{}
			wg.Go(func() { // no t.Fatal off the test goroutine: a transport error counts as status 0
				defer func() { <-sem }()
				st := 0
				req, _ := http.NewRequest("GET", url, nil)
				req.SetBasicAuth(testKey, testSecret)
				if res, err := client.Do(req); err == nil {
					io.Copy(io.Discard, res.Body)
					res.Body.Close()
					st = res.StatusCode
				}
				mu.Lock()
				statuses[st]++
				mu.Unlock()
			})
		}
		wg.Wait()
		if err := proxy.Enable(); err != nil {
			t.Fatal(err)
		}
		client.CloseIdleConnections()
		if statuses[502] != 200 {
			t.Errorf("statuses %v, want 200 × 502", statuses)
		}
		if st, _ := get(); st != 200 {
			t.Errorf("after the outage: status %d, want 200", st)
		}
		http.DefaultClient.CloseIdleConnections()
		// Allow what one healthy connection pool holds; a leak per failure
		// would be hundreds.
		var g, fd int
		for range 25 {
			if g, fd = settle(); g <= g0+10 && fd <= fd0+10 {
				return
			}
		}
		t.Errorf("after 200 failures: %d goroutines (was %d), %d descriptors (was %d)", g, g0, fd, fd0)
	})
}

// seededAMI returns the id of one of moto's seeded AMIs in us-east-1.
func seededAMI(t *testing.T, s *motoServer) string {
	t.Helper()
	out, err := rawClient(s, "us-east-1").DescribeImages(t.Context(), &ec2.DescribeImagesInput{
		Owners: []string{"amazon"}, MaxResults: aws.Int32(5)})
	if err != nil || len(out.Images) == 0 {
		t.Fatalf("no seeded AMI: %v", err)
	}
	return aws.ToString(out.Images[0].ImageId)
}
