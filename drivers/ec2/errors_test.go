package ec2

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/imagegw/imagegw/drivers"
	"github.com/imagegw/imagegw/model"
)

// apiErr builds the error the SDK returns for an EC2 error response.
func apiErr(code string, status int, fault smithy.ErrorFault) error {
	return &smithy.OperationError{ServiceID: "EC2", OperationName: "DescribeImages", Err: &awshttp.ResponseError{
		RequestID: "req-1",
		ResponseError: &smithyhttp.ResponseError{
			Response: &smithyhttp.Response{Response: &http.Response{StatusCode: status, Header: http.Header{}}},
			Err:      &smithy.GenericAPIError{Code: code, Message: "says " + code, Fault: fault},
		},
	}}
}

func TestMapError(t *testing.T) {
	tests := []struct {
		err  error
		want model.Code
	}{
		{apiErr("AuthFailure", 401, smithy.FaultClient), model.Unauthenticated},
		{apiErr("InvalidClientTokenId", 403, smithy.FaultClient), model.Unauthenticated},
		{apiErr("SignatureDoesNotMatch", 403, smithy.FaultClient), model.Unauthenticated},
		{apiErr("UnauthorizedOperation", 403, smithy.FaultClient), model.PermissionDenied},
		{apiErr("InvalidAMIID.NotFound", 400, smithy.FaultClient), model.NotFound},
		{apiErr("InvalidAMIID.Malformed", 400, smithy.FaultClient), model.NotFound},
		{apiErr("InvalidAMIID.Unavailable", 400, smithy.FaultClient), model.NotFound},
		{apiErr("InvalidInstanceID.NotFound", 400, smithy.FaultClient), model.NotFound},
		{apiErr("InvalidInstanceID.Malformed", 400, smithy.FaultClient), model.NotFound},
		{apiErr("IncorrectInstanceState", 400, smithy.FaultClient), model.FailedPrecondition},
		{apiErr("InvalidAMIName.Duplicate", 400, smithy.FaultClient), model.AlreadyExists},
		{apiErr("RequestLimitExceeded", 503, smithy.FaultClient), model.ResourceExhausted},
		{apiErr("Throttling", 400, smithy.FaultClient), model.ResourceExhausted},
		{apiErr("InvalidParameterValue", 400, smithy.FaultClient), model.InvalidArgument},
		{apiErr("InternalError", 500, smithy.FaultServer), model.Unavailable},
		{apiErr("SomethingNew", 503, smithy.FaultServer), model.Unavailable},
		{apiErr("SomethingElse", 400, smithy.FaultClient), model.InvalidArgument},
		{fmt.Errorf("op: %w", context.DeadlineExceeded), model.DeadlineExceeded},
		{fmt.Errorf("op: %w", context.Canceled), model.Canceled},
		// The retry quota runs out after failures: an outage (502), not throttling...
		{errors.Join(errors.New("dial tcp 127.0.0.1:1: connect: connection refused"), ratelimit.QuotaExceededError{Available: 0, Requested: 5}), model.Unavailable},
		// ...unless the cloud itself said it throttles (429).
		{errors.Join(apiErr("RequestLimitExceeded", 503, smithy.FaultClient), ratelimit.QuotaExceededError{Available: 0, Requested: 5}), model.ResourceExhausted},
		{errors.New("operation error EC2: DescribeImages, get identity: failed to refresh cached credentials, no EC2 IMDS role found"), model.Unauthenticated},
		{errors.New("dial tcp 127.0.0.1:1: connect: connection refused"), model.Unavailable},
		{model.Errorf(model.NotFound, "already mapped"), model.NotFound},
	}
	for _, tc := range tests {
		got := mapError(tc.err, "listing images")
		if c := model.CodeOf(got); c != tc.want {
			t.Errorf("mapError(%v) code %v, want %v", tc.err, c, tc.want)
		}
		var api smithy.APIError
		if errors.As(tc.err, &api) {
			msg := model.MessageOf(got)
			if !strings.Contains(msg, api.ErrorCode()) || !strings.Contains(msg, "req-1") || !strings.Contains(msg, "listing images") {
				t.Errorf("message %q lacks the AWS code, request id or operation", msg)
			}
			if !errors.Is(got, tc.err) {
				t.Errorf("mapped error does not wrap the SDK error")
			}
		}
		if tc.want == model.ResourceExhausted && model.RetryAfterOf(got) <= 0 {
			t.Errorf("mapError(%v): no RetryAfter", tc.err)
		}
	}
	if mapError(nil, "x") != nil {
		t.Error("mapError(nil) != nil")
	}
}

func TestClientCache(t *testing.T) {
	p, err := Open(context.Background(), model.ProviderConfig{Name: "p", Driver: "ec2",
		Settings: map[string]any{"region": "us-east-1", "endpoint": "http://127.0.0.1:1", "max_clients": 2}}, envForTest())
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	prov := p.(*Provider)
	conn := func(user, pass string) *Driver {
		d, err := prov.Connect(context.Background(), model.Credentials{User: user, Password: pass})
		if err != nil {
			t.Fatal(err)
		}
		return d.(*Driver)
	}
	a1, a2 := conn("AKIDA", "secret-a"), conn("AKIDA", "secret-a")
	if a1.client != a2.client {
		t.Error("the same credentials got two clients; want one, reused")
	}
	if b := conn("AKIDA", "secret-b"); b.client == a1.client {
		t.Error("another secret shares the client")
	}
	conn("AKIDC", "secret-c")
	prov.mu.Lock()
	n := prov.lru.Len()
	for k := range prov.clients {
		if strings.Contains(k, "secret") || strings.Contains(k, "AKID") {
			t.Errorf("cache key %q holds the credentials in clear", k)
		}
	}
	prov.mu.Unlock()
	if n != 2 {
		t.Errorf("%d cached clients, want max_clients 2", n)
	}
	if a3 := conn("AKIDA", "secret-a"); a3.client == a1.client {
		t.Error("the least recently used client was not evicted")
	}
}

func envForTest() drivers.Env { return drivers.Env{} }
