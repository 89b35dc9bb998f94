package ec2_test

import (
	"context"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/imagegw/imagegw/drivers"
	"github.com/imagegw/imagegw/model"
)

// closedEndpoint returns a loopback URL where nothing listens (connections
// are refused).
func closedEndpoint(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	u := "http://" + l.Addr().String()
	l.Close()
	return u
}

// TestOutageIsNotThrottling: with the cloud down, 200 parallel requests of
// one tenant on a provider with the default retry settings all end quickly
// as Unavailable (502), none as ResourceExhausted (429, "retry quota
// exhausted").
func TestOutageIsNotThrottling(t *testing.T) {
	reg, _ := drivers.Lookup("ec2")
	p, err := reg.Open(context.Background(), model.ProviderConfig{Name: "down", Driver: "ec2",
		Settings: map[string]any{"region": "us-east-1", "endpoint": closedEndpoint(t)}}, drivers.Env{})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	const n = 200
	codes := make([]model.Code, n)
	took := make([]time.Duration, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			drv, err := p.Connect(context.Background(), model.Credentials{User: testKey, Password: testSecret})
			if err != nil {
				t.Error(err)
				return
			}
			start := time.Now()
			_, err = drv.GetImage(context.Background(), "ami-1")
			codes[i], took[i] = model.CodeOf(err), time.Since(start)
		})
	}
	wg.Wait()
	count := map[model.Code]int{}
	for i := range n {
		count[codes[i]]++
		if took[i] > 2*time.Second {
			t.Errorf("request %d took %v: a refused connection must fail within 2s", i, took[i])
			break
		}
	}
	if count[model.Unavailable] != n {
		t.Errorf("codes %v, want all %d Unavailable", count, n)
	}
}

// TestRetryBudgetPerIdentity: one tenant failing against a broken account
// does not spend the retry quota of another, whose transient 500 is still
// retried and succeeds.
func TestRetryBudgetPerIdentity(t *testing.T) {
	var mu sync.Mutex
	tried := map[string]bool{}
	d := newDouble(t, func(r *http.Request, form url.Values) (int, string) {
		if strings.Contains(r.Header.Get("Authorization"), "Credential=AKIDBROKEN/") {
			return 503, awsError("Unavailable", "try later", "rid-a")
		}
		mu.Lock()
		defer mu.Unlock()
		if !tried[form.Get("ImageId.1")] { // the first attempt of each request fails
			tried[form.Get("ImageId.1")] = true
			return 500, awsError("InternalError", "transient", "rid-b")
		}
		return 200, respond("DescribeImages", `<imagesSet>`+imageItem(form.Get("ImageId.1"), "available", "")+`</imagesSet>`)
	})
	reg, _ := drivers.Lookup("ec2")
	p, err := reg.Open(context.Background(), model.ProviderConfig{Name: "double", Driver: "ec2",
		Settings: map[string]any{"region": "us-east-1", "endpoint": d.URL, "max_backoff": "1ms"}}, drivers.Env{})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	broken, _ := p.Connect(context.Background(), model.Credentials{User: "AKIDBROKEN", Password: "x"})
	for range 40 { // 40 × 4 retries × 5 tokens: far past one bucket of 500
		if _, err := broken.GetImage(context.Background(), "ami-a"); model.CodeOf(err) != model.Unavailable {
			t.Fatalf("broken tenant: %v, want Unavailable", err)
		}
	}
	good, _ := p.Connect(context.Background(), model.Credentials{User: testKey, Password: testSecret})
	for _, id := range []string{"ami-1", "ami-2", "ami-3"} {
		if _, err := good.GetImage(context.Background(), id); err != nil {
			t.Errorf("other tenant's GetImage(%s) after a transient 500: %v", id, err)
		}
	}
}
