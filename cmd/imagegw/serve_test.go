package main_test

import (
	"bufio"
	"encoding/xml"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

// binary builds imagegw once per test run.
func binary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "imagegw-bin")
		if err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, "imagegw")
		out, err := exec.Command("go", "build", "-o", binPath, ".").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

type gw struct {
	cmd  *exec.Cmd
	addr string
	logs *strings.Builder
	mu   *sync.Mutex
	done chan error
}

// start runs `imagegw serve` and waits until it answers.
func start(t *testing.T, data string, args ...string) *gw {
	t.Helper()
	addr := freeAddr(t)
	cmd := exec.Command(binary(t), append([]string{"serve", "--listen", addr, "--data", data}, args...)...)
	stderr, _ := cmd.StderrPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	g := &gw{cmd: cmd, addr: addr, logs: &strings.Builder{}, mu: &sync.Mutex{}, done: make(chan error, 1)}
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			g.mu.Lock()
			g.logs.WriteString(sc.Text() + "\n")
			g.mu.Unlock()
		}
		g.done <- cmd.Wait()
	}()
	t.Cleanup(func() { cmd.Process.Kill() })
	for i := 0; i < 300; i++ {
		if res, err := http.Get("http://" + addr + "/api"); err == nil {
			res.Body.Close()
			return g
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("imagegw did not start:\n%s", g.log())
	return nil
}

func (g *gw) log() string {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.logs.String()
}

func get(addr, path string) (*http.Response, error) {
	req, _ := http.NewRequest("GET", "http://"+addr+path, nil)
	req.SetBasicAuth("mockuser", "mockpassword")
	return http.DefaultClient.Do(req)
}

// TestGracefulShutdown: SIGTERM while a large list is being served lets the
// list finish whole, then the process exits 0.
func TestGracefulShutdown(t *testing.T) {
	g := start(t, t.TempDir(), "--mock-images", "20000")
	res, err := get(g.addr, "/api/images?format=json")
	if err != nil {
		t.Fatal(err)
	}
	if err := g.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(res.Body)
	res.Body.Close()
	if err != nil || res.StatusCode != 200 || !strings.HasSuffix(strings.TrimSpace(string(body)), "]}") || strings.Count(string(body), `"image":`) != 20003 {
		t.Errorf("in-flight list: status %d, %d bytes, err %v", res.StatusCode, len(body), err)
	}
	select {
	case err := <-g.done:
		if err != nil {
			t.Errorf("exit: %v\n%s", err, g.log())
		}
	case <-time.After(30 * time.Second):
		t.Fatal("no exit after SIGTERM")
	}
	if !strings.Contains(g.log(), "msg=stopped") {
		t.Errorf("logs do not say it stopped:\n%s", g.log())
	}
	if _, err := get(g.addr, "/api"); err == nil {
		t.Errorf("still answering after shutdown")
	}
}

// TestKillKeepsAcknowledgedCreates: SIGKILL during a stream of image
// creations; after a restart every create that got its 201 is there, and
// the jobs still running at the kill finish.
func TestKillKeepsAcknowledgedCreates(t *testing.T) {
	data := t.TempDir()
	g := start(t, data, "--mock-create-delay", "1s")
	var acked []string
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var mu sync.Mutex
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				req, _ := http.NewRequest("POST", "http://"+g.addr+"/api/images?instance_id=inst1", nil)
				req.SetBasicAuth("mockuser", "mockpassword")
				res, err := http.DefaultClient.Do(req)
				if err != nil {
					return // killed
				}
				io.Copy(io.Discard, res.Body)
				res.Body.Close()
				if res.StatusCode == 201 {
					loc := res.Header.Get("Location")
					mu.Lock()
					acked = append(acked, loc[strings.LastIndex(loc, "/")+1:])
					mu.Unlock()
				}
			}
		}()
	}
	for {
		mu.Lock()
		n := len(acked)
		mu.Unlock()
		if n >= 60 {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	g.cmd.Process.Kill() // SIGKILL
	close(stop)
	wg.Wait()
	<-g.done

	g2 := start(t, data, "--mock-create-delay", "1s")
	res, err := get(g2.addr, "/api/images?owner_id=mockuser")
	if err != nil {
		t.Fatal(err)
	}
	var list struct {
		Images []struct {
			ID    string `xml:"id,attr"`
			State string `xml:"state"`
		} `xml:"image"`
	}
	err = xml.NewDecoder(res.Body).Decode(&list)
	res.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	have := map[string]bool{}
	for _, img := range list.Images {
		have[img.ID] = true
	}
	for _, id := range acked {
		if !have[id] {
			t.Errorf("acknowledged image %s is lost after SIGKILL", id)
		}
	}
	if len(have) != len(list.Images) {
		t.Errorf("an image id is doubled")
	}
	t.Logf("%d creates acknowledged before SIGKILL, %d mockuser images after restart", len(acked), len(list.Images))
	// Jobs resumed after the restart all finish.
	deadline := time.Now().Add(30 * time.Second)
	for {
		res, err := get(g2.addr, "/api/jobs?format=json&limit=1000")
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if !strings.Contains(string(b), `"state":"running"`) {
			if n := strings.Count(string(b), `"state":"succeeded"`); n < len(acked) {
				t.Errorf("%d jobs succeeded, want at least %d", n, len(acked))
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("jobs still running 30 s after restart")
		}
		time.Sleep(200 * time.Millisecond)
	}
}
