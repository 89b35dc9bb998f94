package ec2_test

import (
	"context"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"syscall"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	ec2driver "github.com/imagegw/imagegw/drivers/ec2"
	"github.com/imagegw/imagegw/model"
)

// loseFirstCreate is an http.RoundTripper that spoils the first CreateImage
// attempt in one of three ways and passes everything else on.
type loseFirstCreate struct {
	next  http.RoundTripper
	fault string // "5xx after", "reset after", "refused before"

	mu      sync.Mutex
	creates int
}

func (l *loseFirstCreate) RoundTrip(req *http.Request) (*http.Response, error) {
	body, err := io.ReadAll(req.Body)
	req.Body.Close()
	if err != nil {
		return nil, err
	}
	req.Body = io.NopCloser(strings.NewReader(string(body)))
	if !strings.Contains(string(body), "Action=CreateImage") {
		return l.next.RoundTrip(req)
	}
	l.mu.Lock()
	l.creates++
	first := l.creates == 1
	l.mu.Unlock()
	if !first {
		return l.next.RoundTrip(req)
	}
	if l.fault == "refused before" {
		return nil, &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}
	}
	// EC2 makes the image; its answer does not reach the gateway.
	res, err := l.next.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	io.Copy(io.Discard, res.Body)
	res.Body.Close()
	if l.fault == "reset after" {
		return nil, &net.OpError{Op: "read", Net: "tcp", Err: syscall.ECONNRESET}
	}
	return &http.Response{StatusCode: 500, Status: "500 Internal Server Error", Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header:  http.Header{"Content-Type": {"text/xml"}},
		Body:    io.NopCloser(strings.NewReader(`<Response><Errors><Error><Code>InternalError</Code><Message>answer lost</Message></Error></Errors><RequestID>lost</RequestID></Response>`)),
		Request: req}, nil
}

// A CreateImage attempt whose answer is lost after EC2 made the image
// (moto answers, the gateway sees a 500 or a reset connection) must not be
// retried into a second image: CreateImage has no ClientToken, and the
// SDK's own retry made two (seen in CI under load, when moto failed an
// answer). An attempt refused before it reached EC2 is retried.
func TestCreateImageAnswerLost(t *testing.T) {
	tests := []struct {
		fault       string
		wantCreates int // CreateImage requests sent
	}{
		{"5xx after", 1},
		{"reset after", 1},
		{"refused before", 2},
	}
	for _, tc := range tests {
		t.Run(strings.ReplaceAll(tc.fault, " ", "-"), func(t *testing.T) {
			s := needMoto(t)
			ctx := context.Background()
			raw := rawClient(s, "us-east-1")
			inst, err := runInstance(ctx, raw)
			if err != nil {
				t.Fatal(err)
			}
			lose := &loseFirstCreate{fault: tc.fault}
			t.Cleanup(ec2driver.SetTestTransport("moto-us-east-1", func(next http.RoundTripper) http.RoundTripper {
				lose.next = next
				return lose
			}))
			d := connect(t, s, "us-east-1", map[string]any{"max_backoff": "20ms"})
			name := "lost-answer-" + strings.ReplaceAll(tc.fault, " ", "-")
			img, err := d.CreateImage(ctx, model.CreateImage{InstanceID: inst, Name: name, Token: "job-" + name})
			if err != nil {
				t.Fatalf("CreateImage = %v; want the image made by the attempt whose answer was lost", err)
			}
			out, err := raw.DescribeImages(ctx, &ec2.DescribeImagesInput{Owners: []string{"self"},
				Filters: []types.Filter{{Name: aws.String("name"), Values: []string{name}}}})
			if err != nil {
				t.Fatal(err)
			}
			var ids []string
			for _, im := range out.Images {
				ids = append(ids, aws.ToString(im.ImageId))
			}
			if len(ids) != 1 || ids[0] != img.ID {
				t.Errorf("EC2 has images %v named %s; want exactly the one CreateImage returned (%s)", ids, name, img.ID)
			}
			if lose.creates != tc.wantCreates {
				t.Errorf("CreateImage sent %d times, want %d", lose.creates, tc.wantCreates)
			}
		})
	}
}
