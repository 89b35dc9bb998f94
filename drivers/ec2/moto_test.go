package ec2_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/imagegw/imagegw/drivers"
	_ "github.com/imagegw/imagegw/drivers/ec2"
	"github.com/imagegw/imagegw/model"
)

// Credentials the tests use against moto, which accepts any keys unless
// its IAM authentication is on (the auth server below).
const (
	testKey    = "AKIDIMAGEGWTEST"
	testSecret = "imagegw-test-secret"
)

const installHint = "moto_server is not on PATH; install it with: pip install 'moto[server]'"

// motoServer is a moto_server process started by the tests.
type motoServer struct {
	URL  string
	cmd  *exec.Cmd
	logf string
}

// motoMain is the shared moto_server (AMI validation on, default AMIs
// loaded), reset between tests; motoErr says why it is missing.
var (
	motoMain *motoServer
	motoErr  error

	authOnce sync.Once
	motoAuth *motoServer // IAM authentication on: every key is rejected
	authErr  error
)

func TestMain(m *testing.M) {
	os.Exit(runMain(m))
}

func runMain(m *testing.M) int {
	// Keep the SDK's default credential chain hermetic: no instance
	// metadata lookups, no shared files, no keys from the environment.
	for _, k := range []string{"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE", "AWS_REGION", "AWS_DEFAULT_REGION"} {
		os.Unsetenv(k)
	}
	dir, err := os.MkdirTemp("", "imagegw-ec2-test")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	os.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	os.Setenv("AWS_CONFIG_FILE", filepath.Join(dir, "none"))
	os.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(dir, "none"))

	motoMain, motoErr = startMoto(dir, "main", "MOTO_ENABLE_AMI_VALIDATION=true")
	if motoErr != nil {
		if os.Getenv("CI") == "true" {
			fmt.Fprintf(os.Stderr, "FAIL: the ec2 driver tests need moto_server under CI: %v\n", motoErr)
			return 1
		}
		fmt.Fprintf(os.Stderr, "ec2 tests against moto will skip: %v\n", motoErr)
	} else {
		defer motoMain.stop()
	}
	code := m.Run()
	for _, p := range shared {
		p.Close()
	}
	if motoAuth != nil {
		motoAuth.stop()
	}
	return code
}

// needMoto returns the shared moto server, reset to its initial state, or
// skips the test (outside CI) when moto_server is missing.
func needMoto(t testing.TB) *motoServer {
	t.Helper()
	if motoMain == nil {
		t.Skipf("skipping: %v", motoErr)
	}
	motoMain.reset(t)
	return motoMain
}

// needMotoAuth returns a moto server with IAM authentication on and no
// users, so that every access key is rejected as AWS rejects bad keys.
func needMotoAuth(t testing.TB) *motoServer {
	t.Helper()
	needMoto(t)
	authOnce.Do(func() {
		motoAuth, authErr = startMoto(os.TempDir(), "auth", "INITIAL_NO_AUTH_ACTION_COUNT=0")
	})
	if authErr != nil {
		t.Fatalf("starting moto_server with authentication: %v", authErr)
	}
	return motoAuth
}

func startMoto(dir, name string, env ...string) (*motoServer, error) {
	path, err := exec.LookPath("moto_server")
	if err != nil {
		return nil, errors.New(installHint)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	logf := filepath.Join(dir, "moto-"+name+".log")
	out, err := os.Create(logf)
	if err != nil {
		return nil, err
	}
	defer out.Close()
	cmd := exec.Command(path, "-H", "127.0.0.1", "-p", strconv.Itoa(port))
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdout, cmd.Stderr = out, out
	// Its own process group, so that stop reaches the python behind the
	// pyenv shim; and killed with the test binary even if a test panics
	// before TestMain can stop it.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting moto_server: %w", err)
	}
	s := &motoServer{URL: "http://127.0.0.1:" + strconv.Itoa(port), cmd: cmd, logf: logf}
	deadline := time.Now().Add(60 * time.Second)
	for {
		resp, err := http.Get(s.URL + "/moto-api/")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return s, nil
			}
		}
		if time.Now().After(deadline) {
			s.stop()
			log, _ := os.ReadFile(logf)
			return nil, fmt.Errorf("moto_server did not answer on %s within 60s: %v\n%s", s.URL, err, log)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// stop kills the moto_server process group this test started, by its id.
func (s *motoServer) stop() {
	if s.cmd.Process == nil {
		return
	}
	_ = syscall.Kill(-s.cmd.Process.Pid, syscall.SIGTERM)
	done := make(chan struct{})
	go func() { _ = s.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		_ = syscall.Kill(-s.cmd.Process.Pid, syscall.SIGKILL)
		<-done
	}
}

// reset restores moto's initial state (POST /moto-api/reset).
func (s *motoServer) reset(t testing.TB) {
	t.Helper()
	resp, err := http.Post(s.URL+"/moto-api/reset", "application/json", nil)
	if err != nil {
		t.Fatalf("resetting moto: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("resetting moto: %s", resp.Status)
	}
}

// openProvider opens an ec2 provider at the moto server with extra settings,
// with its own shared parts as the gateway's catalog would keep them.
func openProvider(t testing.TB, s *motoServer, region string, extra map[string]any) drivers.Provider {
	t.Helper()
	return openProviderEnv(t, s, region, extra, drivers.Env{Shared: newCatalogParts()})
}

// openProviderEnv is openProvider with a given Env.
func openProviderEnv(t testing.TB, s *motoServer, region string, extra map[string]any, env drivers.Env) drivers.Provider {
	t.Helper()
	settings := map[string]any{"region": region, "endpoint": s.URL}
	for k, v := range extra {
		settings[k] = v
	}
	reg, ok := drivers.Lookup("ec2")
	if !ok {
		t.Fatal("driver ec2 is not registered")
	}
	p, err := reg.Open(context.Background(), model.ProviderConfig{Name: "moto-" + region, Driver: "ec2", Settings: settings}, env)
	if err != nil {
		t.Fatalf("opening provider: %v", err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

// shared holds one provider per region with default settings, opened once
// for the whole run as the gateway would, with shared parts that hold the
// instance types as the gateway's catalog does: it saves moto's slow
// DescribeInstanceTypes (seconds) in every test. Closed by runMain.
var (
	sharedMu sync.Mutex
	shared   = map[string]drivers.Provider{}
)

func sharedProvider(t testing.TB, s *motoServer, region string) drivers.Provider {
	t.Helper()
	sharedMu.Lock()
	defer sharedMu.Unlock()
	if p, ok := shared[region]; ok {
		return p
	}
	reg, _ := drivers.Lookup("ec2")
	p, err := reg.Open(context.Background(), model.ProviderConfig{Name: "moto-" + region, Driver: "ec2",
		Settings: map[string]any{"region": region, "endpoint": s.URL}}, drivers.Env{Shared: newCatalogParts()})
	if err != nil {
		t.Fatalf("opening provider: %v", err)
	}
	shared[region] = p
	return p
}

// connect connects with the test credentials to a provider with extra
// settings, or to the region's shared provider when there are none.
func connect(t testing.TB, s *motoServer, region string, extra map[string]any) drivers.Driver {
	t.Helper()
	var p drivers.Provider
	if extra == nil {
		p = sharedProvider(t, s, region)
	} else {
		p = openProvider(t, s, region, extra)
	}
	d, err := p.Connect(context.Background(), model.Credentials{User: testKey, Password: testSecret})
	if err != nil {
		t.Fatalf("Connect: %v", err)
	}
	return d
}

// rawClient is a plain SDK client at moto, for arranging and checking state
// beside the driver.
func rawClient(s *motoServer, region string) *ec2.Client {
	return ec2.New(ec2.Options{
		Region:       region,
		BaseEndpoint: aws.String(s.URL),
		Credentials:  credentials.NewStaticCredentialsProvider(testKey, testSecret, ""),
	})
}

// runInstance starts an instance of an EBS-backed x86_64 AMI from moto's
// seeded catalog and returns its id.
func runInstance(ctx context.Context, c *ec2.Client) (string, error) {
	imgs, err := c.DescribeImages(ctx, &ec2.DescribeImagesInput{
		Owners: []string{"amazon"},
		Filters: []types.Filter{
			{Name: aws.String("root-device-type"), Values: []string{"ebs"}},
			{Name: aws.String("architecture"), Values: []string{"x86_64"}},
		},
	})
	if err != nil {
		return "", err
	}
	if len(imgs.Images) == 0 {
		return "", errors.New("moto has no EBS-backed x86_64 AMI")
	}
	out, err := c.RunInstances(ctx, &ec2.RunInstancesInput{
		ImageId:      imgs.Images[0].ImageId,
		InstanceType: types.InstanceTypeT2Micro,
		MinCount:     aws.Int32(1),
		MaxCount:     aws.Int32(1),
		TagSpecifications: []types.TagSpecification{{
			ResourceType: types.ResourceTypeInstance,
			Tags:         []types.Tag{{Key: aws.String("Name"), Value: aws.String("imagegw-test")}},
		}},
	})
	if err != nil {
		return "", err
	}
	return aws.ToString(out.Instances[0].InstanceId), nil
}
