package ec2_test

import (
	"context"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/ec2"

	"github.com/imagegw/imagegw/drivers"
	"github.com/imagegw/imagegw/drivers/drivertest"
	"github.com/imagegw/imagegw/model"
)

// canonical is an owner with two of moto's seeded AMIs: listing the
// caller's images plus this owner keeps the conformance lists small but not
// empty.
const canonical = "099720109477"

type harness struct {
	t    *testing.T
	moto *motoServer
	prov drivers.Provider
	raw  *ec2.Client
}

// harnessMaker shares one provider among the subtests, as the gateway
// does: its shared parts (the catalog's, in the gateway) keep the instance
// types and save moto's slow DescribeInstanceTypes (about 5 s) in every
// subtest. moto itself is reset for each.
func harnessMaker(prov drivers.Provider) drivertest.HarnessMaker {
	return func(_ context.Context, t *testing.T) (drivertest.Harness, error) {
		s := needMoto(t)
		return &harness{t: t, moto: s, prov: prov, raw: rawClient(s, "us-east-1")}, nil
	}
}

func (h *harness) Driver(ctx context.Context) (drivers.Driver, error) {
	return h.prov.Connect(ctx, model.Credentials{User: testKey, Password: testSecret})
}

func (h *harness) BadCredentialsDriver(ctx context.Context) (drivers.Driver, error) {
	auth := needMotoAuth(h.t)
	return openProvider(h.t, auth, "us-east-1", nil).Connect(ctx, model.Credentials{User: "AKIDNOSUCHKEY", Password: "wrong"})
}

func (h *harness) ImageableInstance(ctx context.Context) (string, error) {
	return runInstance(ctx, h.raw)
}

func (h *harness) UnknownImageID() string    { return "ami-0123456789abcdef0" }
func (h *harness) UnknownInstanceID() string { return "i-0123456789abcdef0" }
func (h *harness) Close()                    {}

func TestConformance(t *testing.T) {
	s := needMoto(t)
	prov := openProvider(t, s, "us-east-1", map[string]any{"owners": []any{canonical}})
	drivertest.RunConformanceTests(t, harnessMaker(prov), drivertest.Options{
		CreateTimeout: 30 * time.Second,
		PollInterval:  100 * time.Millisecond,
	})
}
