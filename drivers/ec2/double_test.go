package ec2_test

// A small EC2 test double, for what moto_server cannot show: it makes
// CreateImage available at once (no PENDING), never paginates, ignores
// description changes, has no instance-store instances, and cannot throttle,
// fail or hang. Everything else is tested against moto.

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/imagegw/imagegw/drivers"
	"github.com/imagegw/imagegw/drivers/drivertest"
	"github.com/imagegw/imagegw/model"
)

// double answers EC2 query-protocol requests with handle and records them.
type double struct {
	*httptest.Server
	mu     sync.Mutex
	calls  []url.Values
	handle func(r *http.Request, form url.Values) (status int, body string)
}

func newDouble(t *testing.T, handle func(r *http.Request, form url.Values) (int, string)) *double {
	d := &double{handle: handle}
	d.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := r.ParseForm(); err != nil {
			http.Error(w, err.Error(), 400)
			return
		}
		d.mu.Lock()
		d.calls = append(d.calls, r.PostForm)
		d.mu.Unlock()
		status, body := d.handle(r, r.PostForm)
		w.Header().Set("Content-Type", "text/xml")
		w.WriteHeader(status)
		fmt.Fprint(w, body)
	}))
	t.Cleanup(d.Close)
	return d
}

// actions returns the recorded calls of one action.
func (d *double) actions(action string) []url.Values {
	d.mu.Lock()
	defer d.mu.Unlock()
	var out []url.Values
	for _, c := range d.calls {
		if c.Get("Action") == action {
			out = append(out, c)
		}
	}
	return out
}

// driver opens a provider at the double with extra settings and its own
// shared parts (as the gateway's catalog keeps them), and connects with the
// test credentials.
func (d *double) driver(t *testing.T, extra map[string]any) drivers.Driver {
	t.Helper()
	p := d.provider(t, extra, drivers.Env{Shared: newCatalogParts()})
	drv, err := p.Connect(context.Background(), model.Credentials{User: testKey, Password: testSecret})
	if err != nil {
		t.Fatal(err)
	}
	return drv
}

// provider opens a provider at the double with extra settings and env.
func (d *double) provider(t *testing.T, extra map[string]any, env drivers.Env) drivers.Provider {
	t.Helper()
	settings := map[string]any{"region": "us-east-1", "endpoint": d.URL, "max_backoff": "10ms"}
	for k, v := range extra {
		settings[k] = v
	}
	reg, _ := drivers.Lookup("ec2")
	p, err := reg.Open(context.Background(), model.ProviderConfig{Name: "double", Driver: "ec2", Settings: settings}, env)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

func respond(action, inner string) string {
	return `<` + action + `Response xmlns="http://ec2.amazonaws.com/doc/2016-11-15/"><requestId>req-` + action + `</requestId>` + inner + `</` + action + `Response>`
}

func awsError(code, msg, reqID string) string {
	return `<Response><Errors><Error><Code>` + code + `</Code><Message>` + msg + `</Message></Error></Errors><RequestID>` + reqID + `</RequestID></Response>`
}

func imageItem(id, state, extra string) string {
	return `<item><imageId>` + id + `</imageId><name>` + id + `-name</name><imageState>` + state + `</imageState><ownerId>123456789012</ownerId><architecture>x86_64</architecture><rootDeviceType>ebs</rootDeviceType>` + extra + `</item>`
}

func page(items, next string) string {
	if next != "" {
		items += `<nextToken>` + next + `</nextToken>`
	}
	return items
}

func instanceXML(id, state, root string) string {
	return `<reservationSet><item><reservationId>r-1</reservationId><ownerId>123456789012</ownerId><instancesSet><item><instanceId>` + id +
		`</instanceId><imageId>ami-base</imageId><instanceState><code>16</code><name>` + state + `</name></instanceState><instanceType>t2.micro</instanceType><rootDeviceType>` + root +
		`</rootDeviceType><architecture>x86_64</architecture><virtualizationType>hvm</virtualizationType></item></instancesSet></item></reservationSet>`
}

func TestDoublePaging(t *testing.T) {
	d := newDouble(t, func(_ *http.Request, f url.Values) (int, string) {
		tok := f.Get("NextToken")
		switch f.Get("Action") {
		case "DescribeImages":
			switch tok {
			case "":
				return 200, respond("DescribeImages", page(`<imagesSet>`+imageItem("ami-1", "available", "")+imageItem("ami-2", "available", "")+`</imagesSet>`, "p2"))
			case "p2":
				return 200, respond("DescribeImages", page(`<imagesSet>`+imageItem("ami-2", "available", "")+imageItem("ami-3", "available", "")+`</imagesSet>`, "p3"))
			default:
				return 200, respond("DescribeImages", page(`<imagesSet>`+imageItem("ami-4", "available", "")+`</imagesSet>`, ""))
			}
		case "DescribeInstanceTypes":
			typ := map[string]string{"": "t2.micro", "t2": "t3.micro"}[tok]
			next := map[string]string{"": "t2"}[tok]
			return 200, respond("DescribeInstanceTypes", page(`<instanceTypeSet><item><instanceType>`+typ+`</instanceType><vCpuInfo><defaultVCpus>1</defaultVCpus></vCpuInfo><memoryInfo><sizeInMiB>1024</sizeInMiB></memoryInfo><processorInfo><supportedArchitectures><item>x86_64</item></supportedArchitectures></processorInfo></item></instanceTypeSet>`, next))
		case "DescribeInstances":
			id := map[string]string{"": "i-1", "n2": "i-2"}[tok]
			next := map[string]string{"": "n2"}[tok]
			return 200, respond("DescribeInstances", page(instanceXML(id, "running", "ebs"), next))
		}
		return 400, awsError("InvalidAction", "no", "r")
	})
	drv := d.driver(t, map[string]any{"owners": []any{"amazon", "099720109477"}})
	ctx := context.Background()

	imgs, err := drv.ListImages(ctx, model.ImageQuery{Architecture: "x86_64"})
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, img := range imgs {
		ids = append(ids, img.ID)
		if strings.Join(img.HardwareProfiles, ",") != "t2.micro,t3.micro" {
			t.Errorf("%s fits %v, want both pages of instance types", img.ID, img.HardwareProfiles)
		}
	}
	if got := strings.Join(ids, ","); got != "ami-1,ami-2,ami-3,ami-4" {
		t.Errorf("listed %s over three pages, want ami-1..ami-4 once each", got)
	}
	calls := d.actions("DescribeImages")
	if len(calls) != 3 {
		t.Fatalf("%d DescribeImages calls, want 3 pages", len(calls))
	}
	first := calls[0]
	if first.Get("MaxResults") != "1000" || first.Get("Owner.1") != "self" || first.Get("Owner.2") != "amazon" || first.Get("Owner.3") != "099720109477" ||
		first.Get("Filter.1.Name") != "architecture" || first.Get("Filter.1.Value.1") != "x86_64" {
		t.Errorf("first DescribeImages = %v; want MaxResults 1000, owners self+configured, the architecture filter", first)
	}
	if calls[1].Get("NextToken") != "p2" || calls[2].Get("NextToken") != "p3" {
		t.Errorf("tokens %q, %q; want p2, p3", calls[1].Get("NextToken"), calls[2].Get("NextToken"))
	}

	// Ids go as ImageIds without MaxResults or owners (EC2 rejects
	// MaxResults with ImageIds).
	if _, err := drv.ListImages(ctx, model.ImageQuery{IDs: []string{"ami-3"}}); err != nil {
		t.Fatal(err)
	}
	byID := d.actions("DescribeImages")[3]
	if byID.Get("ImageId.1") != "ami-3" || byID.Has("MaxResults") || byID.Has("Owner.1") {
		t.Errorf("DescribeImages by id = %v", byID)
	}

	insts, err := drv.(drivers.InstanceLister).ListInstances(ctx)
	if err != nil || len(insts) != 2 || insts[0].ID != "i-1" || insts[1].ID != "i-2" {
		t.Errorf("ListInstances over two pages = %+v, %v", insts, err)
	}
	hps, err := drv.ListHardwareProfiles(ctx)
	if err != nil || len(hps) != 2 {
		t.Errorf("ListHardwareProfiles over two pages = %+v, %v", hps, err)
	}
	if n := len(d.actions("DescribeInstanceTypes")); n != 2 {
		t.Errorf("%d DescribeInstanceTypes calls; want 2 (two pages, then the shared parts)", n)
	}
}

func TestDoublePendingImage(t *testing.T) {
	var mu sync.Mutex
	polls := 0
	created := false
	d := newDouble(t, func(_ *http.Request, f url.Values) (int, string) {
		switch f.Get("Action") {
		case "DescribeInstances":
			return 200, respond("DescribeInstances", instanceXML(f.Get("InstanceId.1"), "running", "ebs"))
		case "CreateImage":
			mu.Lock()
			created = true
			mu.Unlock()
			return 200, respond("CreateImage", `<imageId>ami-new</imageId>`)
		case "DescribeImages":
			mu.Lock()
			first := created
			created = false
			mu.Unlock()
			if first { // EC2's eventual consistency: not visible yet
				return 400, awsError("InvalidAMIID.NotFound", "The image id '[ami-new]' does not exist", "rid-ec")
			}
			if f.Get("ImageId.1") == "ami-broken" {
				return 200, respond("DescribeImages", `<imagesSet>`+imageItem("ami-broken", "failed", `<stateReason><code>Client.Error</code><message>snapshot failed</message></stateReason>`)+`</imagesSet>`)
			}
			mu.Lock()
			polls++
			state := "pending"
			if polls > 2 {
				state = "available"
			}
			mu.Unlock()
			return 200, respond("DescribeImages", `<imagesSet>`+imageItem("ami-new", state, "")+`</imagesSet>`)
		case "DescribeInstanceTypes":
			return 200, respond("DescribeInstanceTypes", `<instanceTypeSet/>`)
		}
		return 400, awsError("InvalidAction", "no", "r")
	})
	drv := d.driver(t, nil)
	ctx := context.Background()
	img, err := drv.CreateImage(ctx, model.CreateImage{InstanceID: "i-1", Name: "nightly", Options: map[string]string{"no_reboot": "true"}})
	if err != nil {
		t.Fatal(err)
	}
	if img.ID != "ami-new" || img.State != model.ImagePending || img.Terminal() {
		t.Errorf("CreateImage = %+v, want ami-new PENDING", img)
	}
	if c := d.actions("CreateImage")[0]; c.Get("NoReboot") != "true" || c.Get("Name") != "nightly" {
		t.Errorf("CreateImage call = %v", c)
	}
	// CreateImage returns without waiting for DescribeImages to see the
	// image: the first read may still be EC2's NotFound, which the job
	// runner takes as "not visible yet" for the driver's NotFoundGrace.
	if n := len(d.actions("DescribeImages")); n != 0 {
		t.Errorf("%d DescribeImages during CreateImage, want none (no blocking wait)", n)
	}
	if _, err := drv.GetImage(ctx, "ami-new"); !model.IsNotFound(err) {
		t.Errorf("GetImage right after CreateImage: %v, want EC2's NotFound (not visible yet)", err)
	}
	reg, _ := drivers.Lookup("ec2")
	if reg.NotFoundGrace < time.Minute {
		t.Errorf("ec2 NotFoundGrace = %v; the job runner must tolerate EC2's lag for at least a minute", reg.NotFoundGrace)
	}
	got, err := drv.GetImage(ctx, "ami-new")
	if err != nil || got.State != model.ImagePending || got.Terminal() {
		t.Errorf("GetImage while pending = %+v, %v", got, err)
	}
	final, err := drivertest.WaitForImage(ctx, drv, "ami-new", 5*time.Second, 10*time.Millisecond)
	if err != nil || final.State != model.ImageAvailable {
		t.Errorf("after polling: %+v, %v; want AVAILABLE", final, err)
	}
	broken, err := drv.GetImage(ctx, "ami-broken")
	if err != nil || broken.State != model.ImageFailed || broken.StateReason != "snapshot failed" {
		t.Errorf("failed image = %+v, %v; want FAILED with its reason", broken, err)
	}
}

func TestDoubleInstanceStoreAndDescription(t *testing.T) {
	d := newDouble(t, func(_ *http.Request, f url.Values) (int, string) {
		switch f.Get("Action") {
		case "DescribeInstances":
			return 200, respond("DescribeInstances", instanceXML(f.Get("InstanceId.1"), "running", "instance-store"))
		case "DescribeImages":
			return 200, respond("DescribeImages", `<imagesSet>`+imageItem(f.Get("ImageId.1"), "available", "")+`</imagesSet>`)
		case "ModifyImageAttribute":
			return 200, respond("ModifyImageAttribute", `<return>true</return>`)
		case "DescribeInstanceTypes":
			return 200, respond("DescribeInstanceTypes", `<instanceTypeSet/>`)
		}
		return 400, awsError("InvalidAction", "unexpected "+f.Get("Action"), "r")
	})
	drv := d.driver(t, nil)
	ctx := context.Background()
	_, err := drv.CreateImage(ctx, model.CreateImage{InstanceID: "i-store"})
	if c := model.CodeOf(err); c != model.FailedPrecondition || !strings.Contains(err.Error(), "instance-store") {
		t.Errorf("instance-store instance: %v (code %v), want FailedPrecondition with the reason", err, c)
	}
	if n := len(d.actions("CreateImage")); n != 0 {
		t.Errorf("CreateImage was called %d times for an instance-store instance", n)
	}
	insts, err := drv.(drivers.InstanceLister).ListInstances(ctx)
	if err != nil || len(insts) != 1 || insts[0].CanCreateImage {
		t.Errorf("instance-store instance listed as %+v, %v; want CanCreateImage false", insts, err)
	}

	desc := "new words"
	if _, err := drv.(drivers.ImageUpdater).UpdateImage(ctx, "ami-1", model.ImageUpdate{Description: &desc}); err != nil {
		t.Fatal(err)
	}
	mods := d.actions("ModifyImageAttribute")
	if len(mods) != 1 || mods[0].Get("ImageId") != "ami-1" || mods[0].Get("Description.Value") != desc {
		t.Errorf("ModifyImageAttribute calls = %v, want one setting Description.Value", mods)
	}
}

func TestDoubleFaults(t *testing.T) {
	tests := []struct {
		name      string
		status    int
		body      string
		settings  map[string]any
		want      model.Code
		attempts  int
		inMessage []string
		retry     bool
	}{
		{"throttled after retries", 503, awsError("RequestLimitExceeded", "Request limit exceeded.", "rid-throttle"),
			map[string]any{"max_attempts": 3}, model.ResourceExhausted, 3, []string{"RequestLimitExceeded", "rid-throttle"}, true},
		{"internal error", 500, awsError("InternalError", "An internal error has occurred", "rid-500"),
			map[string]any{"max_attempts": 2}, model.Unavailable, 2, []string{"InternalError", "rid-500"}, true},
		{"unknown server fault", 503, awsError("Wobbly", "hm", "rid-503"),
			map[string]any{"max_attempts": 1}, model.Unavailable, 1, []string{"Wobbly"}, true},
		{"unknown client fault", 400, awsError("InvalidSomething", "bad", "rid-400"),
			nil, model.InvalidArgument, 1, []string{"InvalidSomething", "rid-400"}, false},
		{"permission", 403, awsError("UnauthorizedOperation", "You are not authorized", "rid-403"),
			nil, model.PermissionDenied, 1, []string{"UnauthorizedOperation"}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d := newDouble(t, func(*http.Request, url.Values) (int, string) { return tc.status, tc.body })
			drv := d.driver(t, tc.settings)
			_, err := drv.GetImage(context.Background(), "ami-1")
			if c := model.CodeOf(err); c != tc.want {
				t.Fatalf("GetImage: %v (code %v), want %v", err, c, tc.want)
			}
			for _, s := range tc.inMessage {
				if !strings.Contains(model.MessageOf(err), s) {
					t.Errorf("message %q lacks %q", model.MessageOf(err), s)
				}
			}
			if n := len(d.actions("DescribeImages")); n != tc.attempts {
				t.Errorf("%d attempts, want %d", n, tc.attempts)
			}
			if ra := model.RetryAfterOf(err); tc.retry != (ra > 0) {
				t.Errorf("RetryAfter = %v", ra)
			}
		})
	}
}

func TestDoubleTimeoutsAndUnreachable(t *testing.T) {
	d := newDouble(t, func(r *http.Request, _ url.Values) (int, string) {
		select {
		case <-r.Context().Done():
		case <-time.After(5 * time.Second):
		}
		return 200, respond("DescribeImages", `<imagesSet/>`)
	})
	drv := d.driver(t, map[string]any{"timeout": "100ms", "max_attempts": 1})
	_, err := drv.GetImage(context.Background(), "ami-1")
	if c := model.CodeOf(err); c != model.DeadlineExceeded {
		t.Errorf("slow cloud: %v (code %v), want DeadlineExceeded", err, c)
	}
	drv = d.driver(t, map[string]any{"max_attempts": 1})
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	_, err = drv.GetImage(ctx, "ami-1")
	if c := model.CodeOf(err); c != model.DeadlineExceeded {
		t.Errorf("request deadline: %v (code %v), want DeadlineExceeded", err, c)
	}

	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := "http://" + l.Addr().String()
	l.Close()
	reg, _ := drivers.Lookup("ec2")
	p, err := reg.Open(context.Background(), model.ProviderConfig{Name: "down", Driver: "ec2",
		Settings: map[string]any{"region": "us-east-1", "endpoint": closed, "max_attempts": 1}}, drivers.Env{})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	down, _ := p.Connect(context.Background(), model.Credentials{User: testKey, Password: testSecret})
	_, err = down.GetImage(context.Background(), "ami-1")
	if c := model.CodeOf(err); c != model.Unavailable {
		t.Errorf("unreachable endpoint: %v (code %v), want Unavailable", err, c)
	}
}

// TestEndToEndFaults checks what a client of the native front sees when EC2
// throttles, fails or hangs (faults moto cannot produce).
func TestEndToEndFaults(t *testing.T) {
	s := needMoto(t)
	throttle := newDouble(t, func(*http.Request, url.Values) (int, string) {
		return 503, awsError("RequestLimitExceeded", "Request limit exceeded.", "rid-429")
	})
	broken := newDouble(t, func(*http.Request, url.Values) (int, string) {
		return 500, awsError("InternalError", "An internal error has occurred", "rid-502")
	})
	slow := newDouble(t, func(r *http.Request, _ url.Values) (int, string) {
		select {
		case <-r.Context().Done():
		case <-time.After(5 * time.Second):
		}
		return 200, respond("DescribeImages", `<imagesSet/>`)
	})
	srv := e2eServer(t, s, `  - {name: throttled, driver: ec2, region: us-east-1, endpoint: "`+throttle.URL+`", max_attempts: 2, max_backoff: 10ms}
  - {name: broken, driver: ec2, region: us-east-1, endpoint: "`+broken.URL+`", max_attempts: 1}
  - {name: slow, driver: ec2, region: us-east-1, endpoint: "`+slow.URL+`", max_attempts: 1, timeout: 100ms}
`)
	tests := []struct {
		provider string
		status   int
		header   string
		inBody   string
	}{
		{"throttled", 429, "Retry-After", "RequestLimitExceeded"},
		{"broken", 502, "", "InternalError"},
		{"slow", 504, "", ""},
	}
	for _, tc := range tests {
		r := call(t, "GET", srv.URL+"/api;driver=ec2;provider="+tc.provider+"/images/ami-1", testKey, testSecret)
		if r.Status != tc.status {
			t.Errorf("%s: status %d, want %d; body %.300s", tc.provider, r.Status, tc.status, r.Body)
			continue
		}
		if tc.header != "" && r.Header.Get(tc.header) == "" {
			t.Errorf("%s: no %s header", tc.provider, tc.header)
		}
		if !strings.Contains(string(r.Body), tc.inBody) {
			t.Errorf("%s: body %.300s lacks %q", tc.provider, r.Body, tc.inBody)
		}
	}
}

// TestDoublePager walks ListImagesPage over the double's three pages at
// the configured page size: one DescribeImages per page, EC2's NextToken as
// the page token, and the gateway's catalog fills the same way.
func TestDoublePager(t *testing.T) {
	d := newDouble(t, func(_ *http.Request, f url.Values) (int, string) {
		if f.Get("Action") != "DescribeImages" {
			return 400, awsError("InvalidAction", "no", "r")
		}
		switch f.Get("NextToken") {
		case "":
			return 200, respond("DescribeImages", page(`<imagesSet>`+imageItem("ami-1", "available", "")+imageItem("ami-2", "available", "")+`</imagesSet>`, "p2"))
		case "p2":
			return 200, respond("DescribeImages", page(`<imagesSet>`+imageItem("ami-3", "available", "")+imageItem("ami-4", "available", "")+`</imagesSet>`, "p3"))
		}
		return 200, respond("DescribeImages", page(`<imagesSet>`+imageItem("ami-5", "pending", "")+`</imagesSet>`, ""))
	})
	drv := d.driver(t, map[string]any{"page_size": 5, "instance_types": []any{"none.*"}})
	pg, ok := drv.(drivers.ImagePager)
	if !ok {
		t.Fatal("the ec2 driver is not an ImagePager")
	}
	var ids []string
	token, pages := "", 0
	for {
		imgs, next, err := pg.ListImagesPage(context.Background(), model.ImageQuery{}, token)
		if err != nil {
			t.Fatal(err)
		}
		pages++
		for _, img := range imgs {
			ids = append(ids, img.ID)
		}
		if next == "" || pages > 5 {
			break
		}
		token = next
	}
	if got := strings.Join(ids, ","); pages != 3 || got != "ami-1,ami-2,ami-3,ami-4,ami-5" {
		t.Errorf("%d pages: %s", pages, got)
	}
	for _, c := range d.actions("DescribeImages") {
		if c.Get("MaxResults") != "5" {
			t.Errorf("MaxResults %q, want the page_size 5", c.Get("MaxResults"))
		}
	}
}
