package ec2_test

import (
	"bytes"
	"io"
	"net/http"
	"net/url"
	"sync"
	"testing"

	"github.com/imagegw/imagegw/drivers/ec2"
)

// callCounter is an http.RoundTripper that records the EC2 query-protocol
// requests (their form) a provider sends, at the SDK's HTTP transport.
type callCounter struct {
	next  http.RoundTripper
	mu    sync.Mutex
	calls []url.Values
}

// countCalls makes the providers named provider, opened from now on (by the
// gateway too), send their requests through a callCounter, until the end of
// the test.
func countCalls(t testing.TB, provider string) *callCounter {
	t.Helper()
	c := &callCounter{}
	remove := ec2.SetTestTransport(provider, func(next http.RoundTripper) http.RoundTripper {
		c.next = next
		return c
	})
	t.Cleanup(remove)
	return c
}

// RoundTrip records the request's form and sends it on unchanged.
func (c *callCounter) RoundTrip(req *http.Request) (*http.Response, error) {
	var body []byte
	switch {
	case req.GetBody != nil:
		if rc, err := req.GetBody(); err == nil {
			body, _ = io.ReadAll(rc)
			rc.Close()
		}
	case req.Body != nil:
		b, err := io.ReadAll(req.Body)
		req.Body.Close()
		if err != nil {
			return nil, err
		}
		body = b
		req.Body = io.NopCloser(bytes.NewReader(b))
	}
	form, _ := url.ParseQuery(string(body))
	c.mu.Lock()
	c.calls = append(c.calls, form)
	c.mu.Unlock()
	return c.next.RoundTrip(req)
}

// actions returns the recorded requests of one action (DescribeImages, ...).
func (c *callCounter) actions(action string) []url.Values {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []url.Values
	for _, f := range c.calls {
		if f.Get("Action") == action {
			out = append(out, f)
		}
	}
	return out
}

// reset forgets the recorded requests.
func (c *callCounter) reset() {
	c.mu.Lock()
	c.calls = nil
	c.mu.Unlock()
}
