package triton_test

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
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/imagegw/imagegw/accounts"
	"github.com/imagegw/imagegw/drivers"
	"github.com/imagegw/imagegw/drivers/drivertest"
	_ "github.com/imagegw/imagegw/drivers/ec2"
	"github.com/imagegw/imagegw/gateway"
	"github.com/imagegw/imagegw/model"
)

// The cloud's CloudAPI over an ec2 provider backed by moto_server: the
// triton driver then sees EC2's AMIs and instance types as Triton images
// and packages, through two gateways.

const (
	motoKey    = "AKIDIMAGEGWTEST"
	motoSecret = "imagegw-test-secret"
	// canonical owns two of moto's seeded AMIs: listing them with the
	// caller's keeps the lists small but not empty.
	canonical = "099720109477"
)

// startMoto starts moto_server on a loopback port for this test and stops
// it (its process group, by id) at the end. Outside CI a missing
// moto_server skips; under CI=true it fails.
func startMoto(t *testing.T) string {
	t.Helper()
	path, err := exec.LookPath("moto_server")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("moto_server is required under CI=true: pip install 'moto[server]'")
		}
		t.Skip("moto_server is not on PATH (pip install 'moto[server]'); skipping the ec2-backed test")
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	logf, err := os.Create(filepath.Join(t.TempDir(), "moto.log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(path, "-H", "127.0.0.1", "-p", strconv.Itoa(port))
	cmd.Env = append(os.Environ(), "MOTO_ENABLE_AMI_VALIDATION=true")
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting moto_server: %v", err)
	}
	t.Cleanup(func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-done
		}
		logf.Close()
	})
	url := "http://127.0.0.1:" + strconv.Itoa(port)
	deadline := time.Now().Add(60 * time.Second)
	for {
		res, err := http.Get(url + "/moto-api/")
		if err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				return url
			}
		}
		if time.Now().After(deadline) {
			b, _ := os.ReadFile(logf.Name())
			t.Fatalf("moto_server did not answer within 60s: %v\n%s", err, b)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// runMotoInstance starts a t2.micro of an EBS-backed x86_64 AMI.
func runMotoInstance(ctx context.Context, c *ec2.Client) (string, error) {
	imgs, err := c.DescribeImages(ctx, &ec2.DescribeImagesInput{Owners: []string{"amazon"}, Filters: []types.Filter{
		{Name: aws.String("root-device-type"), Values: []string{"ebs"}},
		{Name: aws.String("architecture"), Values: []string{"x86_64"}}}})
	if err != nil {
		return "", err
	}
	if len(imgs.Images) == 0 {
		return "", errors.New("moto has no EBS-backed x86_64 AMI")
	}
	out, err := c.RunInstances(ctx, &ec2.RunInstancesInput{ImageId: imgs.Images[0].ImageId,
		InstanceType: types.InstanceTypeT2Micro, MinCount: aws.Int32(1), MaxCount: aws.Int32(1)})
	if err != nil {
		return "", err
	}
	return aws.ToString(out.Instances[0].InstanceId), nil
}

// motoHarness shares one cloud (CloudAPI over moto) among the subtests,
// as one real Triton cloud would be: moto's DescribeInstanceTypes takes
// seconds, and the cloud's catalog keeps it once.
type motoHarness struct {
	s    *setup
	prov drivers.Provider
	raw  *ec2.Client
}

func (h *motoHarness) Driver(ctx context.Context) (drivers.Driver, error) {
	return h.prov.Connect(ctx, model.Credentials{User: "alice", Password: h.s.good})
}

func (h *motoHarness) BadCredentialsDriver(ctx context.Context) (drivers.Driver, error) {
	return h.prov.Connect(ctx, model.Credentials{User: "alice", Password: h.s.bad})
}

// ImageableInstance runs a fresh moto instance and names it by its
// CloudAPI machine UUID.
func (h *motoHarness) ImageableInstance(ctx context.Context) (string, error) {
	id, err := runMotoInstance(ctx, h.raw)
	if err != nil {
		return "", err
	}
	return gateway.SchemeUUID.ID("ec2", "moto-east", gateway.KindInstances, id), nil
}

func (h *motoHarness) UnknownImageID() string    { return unknown }
func (h *motoHarness) UnknownInstanceID() string { return "00000000-0000-4000-8000-000000000002" }
func (h *motoHarness) Close()                    {}

// TestConformanceOverEC2 runs drivertest with the cloud's CloudAPI front
// over an ec2 provider at moto_server.
func TestConformanceOverEC2(t *testing.T) {
	clearTritonEnv(t)
	for _, k := range []string{"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"} {
		t.Setenv(k, "") // restored after the test
		os.Unsetenv(k)  // empty values break moto's boto (AWS_PROFILE="")
	}
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	moto := startMoto(t)
	c := startCloud(t, fmt.Sprintf("  - {name: moto-east, driver: ec2, region: us-east-1, endpoint: %q, owners: [%q], request_timeout: 2m}\n", moto, canonical), "moto-east")
	dir := t.TempDir()
	good, bad := newKey(t, dir, "rsa"), newKey(t, dir, "ed25519")
	ctx := context.Background()
	if _, err := c.accts.Add(ctx, accounts.Account{Login: "alice", Email: "alice@example.com", Driver: "ec2", Provider: "moto-east",
		Credentials: map[string]model.Credentials{"ec2": {User: motoKey, Password: motoSecret}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.accts.AddKey(ctx, "alice", "", good.pub); err != nil {
		t.Fatal(err)
	}
	s := &setup{cloud: c, good: secretName(t), bad: secretName(t), goodKey: good}
	s.keys = fmt.Sprintf("[{account: alice, name: %q, key_file: %q}, {account: alice, name: %q, key_file: %q}]", s.good, good.file, s.bad, bad.file)
	h := &motoHarness{s: s, prov: s.open(t, "moto-east"), raw: ec2.New(ec2.Options{Region: "us-east-1", BaseEndpoint: aws.String(moto),
		Credentials: credentials.NewStaticCredentialsProvider(motoKey, motoSecret, "")})}
	drivertest.RunConformanceTests(t, func(context.Context, *testing.T) (drivertest.Harness, error) { return h, nil },
		drivertest.Options{CreateTimeout: 60 * time.Second, PollInterval: 100 * time.Millisecond})
}
