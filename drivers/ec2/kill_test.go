package ec2_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/ec2"
)

// buildGateway compiles imagegw into a temporary directory.
func buildGateway(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "imagegw")
	out, err := exec.Command("go", "build", "-o", bin, "github.com/imagegw/imagegw/cmd/imagegw").CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// gatewayProc is a running `imagegw serve`.
type gatewayProc struct {
	cmd *exec.Cmd
	url string
}

// startGateway starts bin on a free loopback port and waits until it
// answers; it is killed (by its pid) at the end of the test.
func startGateway(t *testing.T, bin, data, cfg string, logf io.Writer) *gatewayProc {
	t.Helper()
	addr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	cmd := exec.Command(bin, "serve", "--listen", addr, "--data", data, "--config", cfg, "--log-level", "info")
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	g := &gatewayProc{cmd: cmd, url: "http://" + addr}
	t.Cleanup(g.kill)
	for deadline := time.Now().Add(30 * time.Second); ; {
		res, err := http.Get(g.url + "/api")
		if err == nil {
			res.Body.Close()
			return g
		}
		if time.Now().After(deadline) {
			t.Fatalf("imagegw did not answer on %s: %v", addr, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (g *gatewayProc) kill() {
	if g.cmd.ProcessState == nil {
		_ = g.cmd.Process.Signal(syscall.SIGKILL)
		_ = g.cmd.Wait()
	}
}

// TestKilledMidCreate: 50 concurrent creates against the real binary, which
// is SIGKILLed 0.25 s in. After a restart on the same data directory every
// image the gateway made in the cloud has a job, and every 201 has an image.
func TestKilledMidCreate(t *testing.T) {
	s := needMoto(t)
	raw := rawClient(s, "us-east-1")
	ctx := context.Background()
	inst, err := runInstance(ctx, raw)
	if err != nil {
		t.Fatal(err)
	}
	bin := buildGateway(t)
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	cfg := filepath.Join(dir, "imagegw.yaml")
	if err := os.WriteFile(cfg, []byte(`job_poll_interval: 100ms
providers:
  - {name: moto-east, driver: ec2, region: us-east-1, endpoint: "`+s.URL+`", request_timeout: 2m}
`), 0o600); err != nil {
		t.Fatal(err)
	}
	logf, err := os.Create(filepath.Join(dir, "imagegw.log"))
	if err != nil {
		t.Fatal(err)
	}
	defer logf.Close()
	gw := startGateway(t, bin, data, cfg, logf)
	base := "/api;driver=ec2;provider=moto-east"

	const n = 50
	client := &http.Client{Timeout: 30 * time.Second}
	var mu sync.Mutex
	created := map[string]bool{} // image ids answered 201
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			form := url.Values{"instance_id": {inst}, "name": {fmt.Sprintf("killed-%02d", i)}}
			req, _ := http.NewRequest("POST", gw.url+base+"/images?format=json", strings.NewReader(form.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.SetBasicAuth(testKey, testSecret)
			res, err := client.Do(req)
			if err != nil {
				return // killed before it answered
			}
			defer res.Body.Close()
			var body struct {
				Image struct {
					ID string `json:"id"`
				} `json:"image"`
			}
			if res.StatusCode == http.StatusCreated && json.NewDecoder(res.Body).Decode(&body) == nil {
				mu.Lock()
				created[body.Image.ID] = true
				mu.Unlock()
			}
		})
	}
	time.Sleep(250 * time.Millisecond)
	gw.kill()
	wg.Wait()

	gw = startGateway(t, bin, data, cfg, logf)
	made := func() map[string]bool {
		out, err := raw.DescribeImages(ctx, &ec2.DescribeImagesInput{Owners: []string{"self"}})
		if err != nil {
			t.Fatal(err)
		}
		ids := map[string]bool{}
		for _, img := range out.Images {
			ids[*img.ImageId] = true
		}
		return ids
	}
	jobs := func() map[string]bool {
		req, _ := http.NewRequest("GET", gw.url+base+"/jobs?format=json&limit=1000", nil)
		req.SetBasicAuth(testKey, testSecret) // jobs are the caller's
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		var list struct {
			Jobs []struct {
				Job struct {
					Image struct {
						ID string `json:"id"`
					} `json:"image"`
				} `json:"job"`
			} `json:"jobs"`
		}
		if err := json.NewDecoder(res.Body).Decode(&list); err != nil {
			t.Fatal(err)
		}
		ids := map[string]bool{}
		for _, j := range list.Jobs {
			ids[j.Job.Image.ID] = true
		}
		return ids
	}
	var untracked []string
	var images map[string]bool
	for deadline := time.Now().Add(60 * time.Second); ; {
		images, untracked = made(), nil
		tracked := jobs()
		for id := range images {
			if !tracked[id] {
				untracked = append(untracked, id)
			}
		}
		if len(untracked) == 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Logf("%d creates: %d answered 201 before the kill, %d images in the cloud", n, len(created), len(images))
	if len(untracked) > 0 {
		log, _ := os.ReadFile(logf.Name())
		t.Errorf("%d images in the cloud have no job: %v\nlog:\n%s", len(untracked), untracked, log)
	}
	for id := range created {
		if !images[id] {
			t.Errorf("image %s was answered 201 but is not in the cloud", id)
		}
	}
}
