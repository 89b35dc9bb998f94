package coopr_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	_ "github.com/imagegw/imagegw/drivers/ec2"
)

// The EC2 tests run the gateway against moto_server; under CI=true a
// missing moto_server fails the run, elsewhere those tests skip.

const (
	motoKey    = "AKIDIMAGEGWTEST"
	motoSecret = "imagegw-test-secret"
	// motoAccount is the account moto's own images belong to.
	motoAccount = "123456789012"
)

var (
	motoURL string
	motoErr error
	motoCmd *exec.Cmd
)

func TestMain(m *testing.M) { os.Exit(runMain(m)) }

func runMain(m *testing.M) int {
	for _, k := range []string{"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE", "AWS_REGION", "AWS_DEFAULT_REGION"} {
		os.Unsetenv(k)
	}
	dir, err := os.MkdirTemp("", "imagegw-coopr-test")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	os.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	os.Setenv("AWS_CONFIG_FILE", filepath.Join(dir, "none"))
	os.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(dir, "none"))
	motoErr = startMoto(dir)
	if motoErr != nil {
		if os.Getenv("CI") == "true" {
			fmt.Fprintf(os.Stderr, "FAIL: the coopr front's EC2 tests need moto_server under CI: %v\n", motoErr)
			return 1
		}
		fmt.Fprintf(os.Stderr, "coopr tests against moto will skip: %v\n", motoErr)
	} else {
		defer stopMoto()
	}
	return m.Run()
}

func startMoto(dir string) error {
	path, err := exec.LookPath("moto_server")
	if err != nil {
		return errors.New("moto_server is not on PATH; install it with: pip install 'moto[server]'")
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	logf := filepath.Join(dir, "moto.log")
	out, err := os.Create(logf)
	if err != nil {
		return err
	}
	defer out.Close()
	motoCmd = exec.Command(path, "-H", "127.0.0.1", "-p", strconv.Itoa(port))
	motoCmd.Stdout, motoCmd.Stderr = out, out
	motoCmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := motoCmd.Start(); err != nil {
		return fmt.Errorf("starting moto_server: %w", err)
	}
	motoURL = "http://127.0.0.1:" + strconv.Itoa(port)
	deadline := time.Now().Add(60 * time.Second)
	for {
		resp, err := http.Get(motoURL + "/moto-api/")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		if time.Now().After(deadline) {
			stopMoto()
			log, _ := os.ReadFile(logf)
			return fmt.Errorf("moto_server did not answer within 60s: %v\n%s", err, log)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// stopMoto stops the moto_server process group this test binary started.
func stopMoto() {
	if motoCmd == nil || motoCmd.Process == nil {
		return
	}
	_ = syscall.Kill(-motoCmd.Process.Pid, syscall.SIGTERM)
	done := make(chan struct{})
	go func() { _ = motoCmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		_ = syscall.Kill(-motoCmd.Process.Pid, syscall.SIGKILL)
		<-done
	}
}

// needMoto resets moto and returns its URL, or skips outside CI.
func needMoto(t testing.TB) string {
	t.Helper()
	if motoErr != nil {
		t.Skipf("skipping: %v", motoErr)
	}
	resp, err := http.Post(motoURL+"/moto-api/reset", "application/json", nil)
	if err != nil {
		t.Fatalf("resetting moto: %v", err)
	}
	resp.Body.Close()
	return motoURL
}

func motoClient(region string) *ec2.Client {
	return ec2.New(ec2.Options{Region: region, BaseEndpoint: aws.String(motoURL),
		Credentials: credentials.NewStaticCredentialsProvider(motoKey, motoSecret, "")})
}

// registerAMI makes an AMI named name in region from an instance of one of
// moto's x86_64 images (moto's RegisterImage drops the architecture) and
// returns its id.
func registerAMI(t testing.TB, region, name string) string {
	t.Helper()
	ctx := context.Background()
	c := motoClient(region)
	imgs, err := c.DescribeImages(ctx, &ec2.DescribeImagesInput{Owners: []string{"amazon"},
		Filters: []types.Filter{{Name: aws.String("architecture"), Values: []string{"x86_64"}}}})
	if err != nil || len(imgs.Images) == 0 {
		t.Fatalf("moto has no x86_64 image: %v", err)
	}
	run, err := c.RunInstances(ctx, &ec2.RunInstancesInput{ImageId: imgs.Images[0].ImageId,
		InstanceType: types.InstanceTypeT2Micro, MinCount: aws.Int32(1), MaxCount: aws.Int32(1)})
	if err != nil {
		t.Fatalf("RunInstances: %v", err)
	}
	out, err := c.CreateImage(ctx, &ec2.CreateImageInput{InstanceId: run.Instances[0].InstanceId, Name: aws.String(name)})
	if err != nil {
		t.Fatalf("CreateImage %s: %v", name, err)
	}
	return aws.ToString(out.ImageId)
}

// switchable is a loopback endpoint that forwards to moto until it is
// told to hang; then it accepts every request and never answers.
type switchable struct {
	URL  string
	hang atomic.Bool
}

func newSwitchable(t testing.TB, target string) *switchable {
	t.Helper()
	u, _ := url.Parse(target)
	proxy := httputil.NewSingleHostReverseProxy(u)
	s := &switchable{}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if s.hang.Load() {
			<-r.Context().Done() // never answer; the client gives up
			return
		}
		proxy.ServeHTTP(w, r)
	})}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	s.URL = "http://" + l.Addr().String()
	return s
}
