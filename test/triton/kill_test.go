package triton

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
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

	"golang.org/x/crypto/ssh"

	"github.com/imagegw/imagegw/api/cloudapi/httpsig"
	"github.com/imagegw/imagegw/gateway"
	"github.com/imagegw/imagegw/model"
	"github.com/imagegw/imagegw/store"
)

// buildImagegw compiles the binary into a temp dir.
func buildImagegw(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "imagegw")
	out, err := exec.Command("go", "build", "-o", bin, "github.com/imagegw/imagegw/cmd/imagegw").CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// serve starts `imagegw serve` and returns the process.
func serve(t *testing.T, bin, addr, data, cfg string, logf *os.File) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(bin, "serve", "--listen", addr, "--data", data, "--config", cfg)
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		}
	})
	return cmd
}

// signedDo sends a signed CloudAPI request.
func signedDo(key ed25519.PrivateKey, keyID, method, url string, body any) (*http.Response, []byte, error) {
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = strings.NewReader(string(b))
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		return nil, nil, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept-Version", "~9||~8")
	if err := httpsig.Sign(req, keyID, "ed25519-sha512", key, httpsig.FormRequestTarget); err != nil {
		return nil, nil, err
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, nil, err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	return res, b, err
}

// TestJobsSurviveSIGKILL kills the gateway with SIGKILL while 20 image
// creations are in flight, restarts it, and checks that every job reaches
// a terminal state and every image is active, or failed with a reason,
// with nothing lost or doubled.
func TestJobsSurviveSIGKILL(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the imagegw binary")
	}
	bin := buildImagegw(t)
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	cfg := filepath.Join(dir, "imagegw.yaml")
	if err := os.WriteFile(cfg, []byte(`
mock_create_delay: 10s
job_poll_interval: 200ms
providers:
  - {name: mock, driver: mock, fail_instances: [inst2]}
`), 0o600); err != nil {
		t.Fatal(err)
	}
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	pub, _ := ssh.NewPublicKey(priv.Public())
	pubFile := filepath.Join(dir, "id_ed25519.pub")
	if err := os.WriteFile(pubFile, ssh.MarshalAuthorizedKey(pub), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(bin, "accounts", "add", "testuser", "--driver", "mock", "--key", pubFile, "--data", data).CombinedOutput(); err != nil {
		t.Fatalf("imagegw accounts add: %v\n%s", err, out)
	}
	keyID := "/testuser/keys/" + ssh.FingerprintLegacyMD5(pub)
	logf, err := os.Create(filepath.Join(dir, "serve.log"))
	if err != nil {
		t.Fatal(err)
	}
	defer logf.Close()
	defer func() {
		if t.Failed() {
			b, _ := os.ReadFile(logf.Name())
			t.Logf("server log:\n%s", b)
		}
	}()

	addr := freeAddr(t)
	base := "http://" + addr
	first := serve(t, bin, addr, data, cfg, logf)
	waitPing(t, base)

	type started struct{ name, image, job, machine string }
	const n = 20
	got := make([]started, n)
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			machine := "inst1"
			if i%4 == 3 {
				machine = "inst2" // the mock fails these
			}
			name := fmt.Sprintf("kill-%02d", i)
			res, body, err := signedDo(priv, keyID, "POST", base+"/testuser/images", map[string]string{"machine": machine, "name": name, "version": "1.0.0"})
			if err != nil {
				errs <- err
				return
			}
			if res.StatusCode != 201 {
				errs <- fmt.Errorf("create %s: %d %s", name, res.StatusCode, body)
				return
			}
			var img struct{ ID, State string }
			if err := json.Unmarshal(body, &img); err != nil {
				errs <- err
				return
			}
			got[i] = started{name, img.ID, res.Header.Get("x-joyent-jobid"), machine}
		}(i)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	// Every creation is acknowledged and its job still running (the native
	// front lists the jobs): kill -9 now.
	res, err := getJobs(base + "/api/jobs?format=json&limit=1000")
	if err != nil {
		t.Fatal(err)
	}
	var before struct {
		Jobs []struct{ Job struct{ ID, State string } }
	}
	err = json.NewDecoder(res.Body).Decode(&before)
	res.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	running := 0
	for _, j := range before.Jobs {
		if j.Job.State == model.JobRunning {
			running++
		}
	}
	if running != n {
		t.Fatalf("%d of %d jobs running before the kill (%d jobs)", running, n, len(before.Jobs))
	}
	if err := first.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = first.Wait()

	second := serve(t, bin, addr, data, cfg, logf)
	waitPing(t, base)
	deadline := time.Now().Add(90 * time.Second)
	for _, s := range got {
		for {
			res, body, err := signedDo(priv, keyID, "GET", base+"/testuser/images/"+s.image, nil)
			if err != nil || res.StatusCode != 200 {
				t.Fatalf("get %s: %v %s", s.name, err, body)
			}
			var img struct {
				State string
				Error *struct{ Code, Message string }
			}
			if err := json.Unmarshal(body, &img); err != nil {
				t.Fatal(err)
			}
			if img.State == "active" || img.State == "failed" {
				wantState := map[string]string{"inst1": "active", "inst2": "failed"}[s.machine]
				if img.State != wantState {
					t.Errorf("%s from %s is %s, want %s", s.name, s.machine, img.State, wantState)
				}
				if img.State == "failed" && (img.Error == nil || img.Error.Message == "") {
					t.Errorf("%s failed without a reason: %s", s.name, body)
				}
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s still %s after the restart", s.name, img.State)
			}
			time.Sleep(200 * time.Millisecond)
		}
	}
	res, body, err := signedDo(priv, keyID, "GET", base+"/testuser/images?state=all&name=~kill-", nil)
	if err != nil || res.StatusCode != 200 {
		t.Fatalf("list: %v %s", err, body)
	}
	var list []struct{ ID, Name string }
	if err := json.Unmarshal(body, &list); err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, img := range list {
		if seen[img.Name] {
			t.Errorf("image %s is doubled", img.Name)
		}
		seen[img.Name] = true
	}
	if len(list) != n {
		t.Errorf("%d kill-* images, want %d", len(list), n)
	}

	// The jobs follow the images with backoff: wait (on the native front's
	// /api/jobs) until each has noticed its image's end.
	for _, s := range got {
		for {
			res, err := getJobs(base + "/api/jobs/" + s.job + "?format=json")
			if err != nil {
				t.Fatal(err)
			}
			var j struct{ Job struct{ State string } }
			err = json.NewDecoder(res.Body).Decode(&j)
			res.Body.Close()
			if err != nil || res.StatusCode != 200 {
				t.Fatalf("job %s of %s: %d %v", s.job, s.name, res.StatusCode, err)
			}
			if j.Job.State != model.JobRunning {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("job %s of %s still running after the restart", s.job, s.name)
			}
			time.Sleep(200 * time.Millisecond)
		}
	}

	// Stop the server and read the jobs from its store: one per creation,
	// each terminal, each with the id the client was given.
	if err := second.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := second.Wait(); err != nil {
		t.Fatalf("imagegw serve after SIGTERM: %v", err)
	}
	ctx := context.Background()
	st, err := store.Open(ctx, filepath.Join(data, "imagegw.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	gwCfg, err := gateway.LoadConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	g, err := gateway.New(ctx, gwCfg, gateway.Options{Store: st, DataDir: data})
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	jobs, err := g.Jobs().List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	byID := map[string]model.Job{}
	targets := map[string]bool{}
	for _, j := range jobs {
		byID[j.ID] = j
		if targets[j.Target] {
			t.Errorf("two jobs drive image %s", j.Target)
		}
		targets[j.Target] = true
	}
	if len(jobs) != n {
		t.Errorf("%d jobs, want %d", len(jobs), n)
	}
	for _, s := range got {
		j, ok := byID[s.job]
		switch {
		case !ok:
			t.Errorf("job %s of %s is lost", s.job, s.name)
		case !j.Terminal():
			t.Errorf("job %s of %s is %s", s.job, s.name, j.State)
		case s.machine == "inst2" && (j.State != model.JobFailed || j.Error == ""):
			t.Errorf("job of %s: %s %q, want failed with a reason", s.name, j.State, j.Error)
		case s.machine == "inst1" && j.State != model.JobSucceeded:
			t.Errorf("job of %s: %s (%s)", s.name, j.State, j.Error)
		}
	}
	resumed := 0
	for _, j := range jobs {
		for _, l := range j.Log {
			if strings.Contains(l.Message, "resumed") {
				resumed++
				break
			}
		}
	}
	if resumed != n {
		t.Errorf("%d of %d jobs say they were resumed after the restart", resumed, n)
	}
}

// getJobs asks the native front for jobs as the account's cloud identity
// (the mock's mockuser): a caller sees only its own jobs.
func getJobs(url string) (*http.Response, error) {
	req, err := http.NewRequest("GET", url, nil)
	if err != nil {
		return nil, err
	}
	req.SetBasicAuth("mockuser", "mockpassword")
	return http.DefaultClient.Do(req)
}
