package ec2_test

import (
	"context"
	"encoding/json"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
)

// neverAnswers is a loopback endpoint that accepts connections and never
// replies.
func neverAnswers(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		var conns []net.Conn
		defer func() {
			for _, c := range conns {
				c.Close()
			}
		}()
		for {
			c, err := l.Accept()
			if err != nil {
				<-done
				return
			}
			conns = append(conns, c)
		}
	}()
	t.Cleanup(func() { l.Close(); close(done) })
	return "http://" + l.Addr().String()
}

// Federated search on the native front: ;driver=ec2;provider=* over two
// moto regions and a provider that never answers.
func TestFederatedSearchAcrossRegions(t *testing.T) {
	s := needMoto(t)
	const deadline = time.Second
	srv := e2eServer(t, s, `  - {name: dead, driver: ec2, region: eu-west-1, endpoint: "`+neverAnswers(t)+`", request_timeout: 1s}
`)
	ctx := context.Background()
	want := map[string]string{}
	for _, region := range []string{"us-east-1", "us-west-2"} {
		raw := rawClient(s, region)
		inst, err := runInstance(ctx, raw)
		if err != nil {
			t.Fatal(err)
		}
		out, err := raw.CreateImage(ctx, &ec2.CreateImageInput{InstanceId: aws.String(inst), Name: aws.String("fed-" + region)})
		if err != nil {
			t.Fatal(err)
		}
		want[aws.ToString(out.ImageId)] = map[string]string{"us-east-1": "moto-east", "us-west-2": "moto-west"}[region]
	}
	// moto lists instance types slowly (seconds): let each region's
	// provider cache them before the deadline counts
	for _, p := range []string{"moto-east", "moto-west"} {
		call(t, "GET", srv.URL+"/api;driver=ec2;provider="+p+"/hardware_profiles", testKey, testSecret).Want(t, "warm "+p, 200)
	}
	start := time.Now()
	r := call(t, "GET", srv.URL+"/api;driver=ec2;provider=*/images?format=json&owner_id=123456789012", testKey, testSecret)
	took := time.Since(start)
	r.Want(t, "federated list", 200)
	var l struct {
		Images []struct {
			Image struct{ ID, Href, Provider, Name string }
		}
		Failures []struct {
			Provider, Message string
			Status            int
		}
	}
	if err := json.Unmarshal(r.Body, &l); err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, im := range l.Images {
		got[im.Image.ID] = im.Image.Provider
		if !strings.Contains(im.Image.Href, "/api;driver=ec2;provider="+im.Image.Provider+"/images/"+im.Image.ID) {
			t.Errorf("href %s does not select %s", im.Image.Href, im.Image.Provider)
		}
	}
	if len(got) != 2 || len(want) != 2 {
		t.Errorf("images %v, want %v", got, want)
	}
	for id, p := range want {
		if got[id] != p {
			t.Errorf("image %s in %q, want %s", id, got[id], p)
		}
	}
	if len(l.Failures) != 1 || l.Failures[0].Provider != "dead" || l.Failures[0].Status != 504 || l.Failures[0].Message != "provider dead unavailable: no answer within 1s" {
		t.Errorf("failures %+v", l.Failures)
	}
	if w := r.Header.Values("Warning"); len(w) != 1 || !strings.Contains(w[0], "provider dead failed") {
		t.Errorf("Warning %q", w)
	}
	if took < deadline || took > deadline+time.Second {
		t.Errorf("took %v; want the dead provider's deadline (%v) and a little", took, deadline)
	}
	// XML: the failure listed, images served
	r = call(t, "GET", srv.URL+"/api;driver=ec2;provider=moto-west,dead/images?owner_id=123456789012", testKey, testSecret)
	if r.Status != 200 || !strings.Contains(string(r.Body), `<failure provider="dead" status="504" code="GatewayTimeout">provider dead unavailable: no answer within 1s</failure>`) ||
		!strings.Contains(string(r.Body), "<provider>moto-west</provider>") {
		t.Errorf("XML: %d %s", r.Status, r.Body)
	}
	// only the dead one: its error
	r = call(t, "GET", srv.URL+"/api;driver=ec2;provider=dead,dead/images?format=json", testKey, testSecret)
	if r.Status != 504 {
		t.Errorf("all failing: %d %s", r.Status, r.Body)
	}
}
