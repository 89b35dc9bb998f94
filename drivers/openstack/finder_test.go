package openstack

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/gophercloud/gophercloud/v2"
	gopenstack "github.com/gophercloud/gophercloud/v2/openstack"
	"github.com/gophercloud/gophercloud/v2/openstack/image/v2/images"

	"github.com/imagegw/imagegw/api/apitest"
	"github.com/imagegw/imagegw/gateway"
	"github.com/imagegw/imagegw/model"
)

// TestFindCreated: CreateImage puts the create's token on the Glance image
// Nova makes (property imagegw_job), and FindCreated finds that image by it,
// asking Glance for the caller's project's images with the property. An
// older public image of another project carrying the same token does not
// count: were the owner filter missing, it would be the one returned (the
// oldest first); were Glance's property filter ignored, the one image asked
// for would be the project's oldest, without the token, and FindCreated
// would answer NotFound.
func TestFindCreated(t *testing.T) {
	env := needStack(t)
	ctx := context.Background()
	p := openStack(t, stackSettings(env))
	d := connect(t, p, demoCreds(env))
	token := uuid.NewString()

	admin := connect(t, p, model.Credentials{User: "admin+admin", Password: env["IMAGEGW_OS_ADMIN_PASSWORD"]})
	ac, err := admin.clients(ctx)
	if err != nil {
		t.Fatal(err)
	}
	public := images.ImageVisibilityPublic
	foreign, err := images.Create(ctx, ac.image, images.CreateOpts{Name: "foreign-" + token, Visibility: &public,
		Properties: map[string]string{TokenProperty: token}}).Extract()
	if err != nil {
		t.Fatalf("admin's image: %v", err)
	}
	t.Cleanup(func() { _ = images.Delete(ctx, ac.image, foreign.ID).ExtractErr() })
	if got, err := d.FindCreated(ctx, token); !model.IsNotFound(err) {
		t.Fatalf("FindCreated before the create = %+v, %v; want NotFound (the token's only image is another project's)", got, err)
	}

	server := freshServer(ctx, t, d)
	img, err := d.CreateImage(ctx, model.CreateImage{InstanceID: server, Name: "finder-" + token, Description: "kept", Token: token})
	if err != nil {
		t.Fatalf("CreateImage: %v", err)
	}
	t.Cleanup(func() { _ = d.DeleteImage(ctx, img.ID) })
	if img.Tags[TokenProperty] != token || img.Description != "kept" {
		t.Errorf("new image: property %s = %q, description %q; want %s and the description kept", TokenProperty, img.Tags[TokenProperty], img.Description, token)
	}
	got, err := d.FindCreated(ctx, token)
	if err != nil || got.ID != img.ID || got.OwnerID != env["IMAGEGW_OS_DEMO_PROJECT_ID"] {
		t.Fatalf("FindCreated = %+v, %v; want the demo project's image %s", got, err, img.ID)
	}
	if got, err := d.FindCreated(ctx, uuid.NewString()); !model.IsNotFound(err) {
		t.Errorf("FindCreated(another token) = %+v, %v; want NotFound", got, err)
	}
}

// lossyNova is a reverse proxy in front of the stack's Nova that passes
// createImage on, so that Nova makes the image, and then loses the answer:
// the client gets a 502, as from a load balancer whose upstream answered
// too late. The Keystone proxy in front of it hands out a catalog whose
// compute endpoint is lossyNova. It returns the auth URL to configure.
func lossyNova(t *testing.T, env map[string]string) string {
	t.Helper()
	ctx := context.Background()
	pc, err := gopenstack.AuthenticatedClient(ctx, gophercloud.AuthOptions{
		IdentityEndpoint: env["OS_AUTH_URL"], Username: "demo", Password: env["IMAGEGW_OS_DEMO_PASSWORD"],
		DomainName: "Default", TenantName: "demo",
	})
	if err != nil {
		t.Fatal(err)
	}
	cc, err := gopenstack.NewComputeV2(pc, gophercloud.EndpointOpts{Region: "RegionOne"})
	if err != nil {
		t.Fatal(err)
	}
	novaURL, err := url.Parse(cc.Endpoint)
	if err != nil {
		t.Fatal(err)
	}
	nova := novaURL.Scheme + "://" + novaURL.Host
	ksURL, err := url.Parse(env["IMAGEGW_OS_AUTH_URL"])
	if err != nil {
		t.Fatal(err)
	}
	const lose = "X-Imagegw-Test-Lose-Answer"
	var novaProxy *httptest.Server
	proxy := func(target string) *httputil.ReverseProxy {
		u, _ := url.Parse(target)
		return &httputil.ReverseProxy{
			Rewrite: func(r *httputil.ProxyRequest) {
				r.SetURL(u)
				r.Out.Header.Del("Accept-Encoding") // bodies are rewritten below
				if r.In.Method == http.MethodPost && strings.HasSuffix(r.In.URL.Path, "/action") && r.In.Body != nil {
					b, _ := io.ReadAll(r.In.Body)
					r.Out.Body = io.NopCloser(bytes.NewReader(b))
					if bytes.Contains(b, []byte(`"createImage"`)) {
						r.Out.Header.Set(lose, "1")
					}
				}
			},
			ModifyResponse: func(res *http.Response) error {
				b, err := io.ReadAll(res.Body)
				res.Body.Close()
				if err != nil {
					return err
				}
				if res.Request.Header.Get(lose) != "" && res.StatusCode < 300 {
					res.StatusCode, res.Status = http.StatusBadGateway, "502 Bad Gateway"
					b = []byte(`{"message": "upstream answered too late"}`)
				}
				b = bytes.ReplaceAll(b, []byte(nova), []byte(novaProxy.URL))
				res.Body = io.NopCloser(bytes.NewReader(b))
				res.ContentLength = int64(len(b))
				res.Header.Set("Content-Length", strconv.Itoa(len(b)))
				return nil
			},
		}
	}
	novaProxy = httptest.NewServer(proxy(nova))
	t.Cleanup(novaProxy.Close)
	ks := httptest.NewServer(proxy(ksURL.Scheme + "://" + ksURL.Host))
	t.Cleanup(ks.Close)
	return ks.URL + ksURL.Path
}

// TestCreateOfLostAnswerGetsItsJob: through the gateway, a create whose
// answer Nova's proxy lost (the client is told it failed, 5xx) still ends
// with the image Nova made followed by a job, found by the token, that
// succeeds once the image is active; not with a failed job whose outcome
// is unknown.
func TestCreateOfLostAnswerGetsItsJob(t *testing.T) {
	env := needStack(t)
	ctx := context.Background()
	cfg, err := gateway.ParseConfig(strings.NewReader(`
job_poll_interval: 100ms
providers:
  - {name: regionone, driver: openstack, auth_url: "` + lossyNova(t, env) + `", region: RegionOne, domain: Default}
`))
	if err != nil {
		t.Fatal(err)
	}
	srv := apitest.NewServer(t, cfg)
	api := srv.URL + "/api;driver=openstack;provider=regionone"
	user, pass := "demo+demo", env["IMAGEGW_OS_DEMO_PASSWORD"]

	d := connect(t, openStack(t, stackSettings(env)), demoCreds(env))
	server := freshServer(ctx, t, d)
	sctx, stop := context.WithCancel(ctx)
	defer stop()
	go func() { _ = computeStandIn(sctx, env, server) }() // the image turns active, as with a compute host

	name := "lost-answer-" + uuid.NewString()
	r := call(t, "POST", api+"/images?format=json", user, pass, url.Values{"instance_id": {server}, "name": {name}})
	if r.Status < 500 {
		t.Fatalf("POST /images through the lossy proxy: %d %s; want a 5xx (the answer was lost)", r.Status, r.Body)
	}
	var made images.Image // the image Nova made, found in Glance by its name
	for deadline := time.Now().Add(30 * time.Second); made.ID == ""; {
		c, err := d.clients(ctx)
		if err != nil {
			t.Fatal(err)
		}
		page, err := images.List(c.image, images.ListOpts{Name: name}).AllPages(ctx)
		if err != nil {
			t.Fatal(err)
		}
		imgs, _ := images.ExtractImages(page)
		if len(imgs) > 0 {
			made = imgs[0]
			t.Cleanup(func() { _ = d.DeleteImage(ctx, made.ID) })
		} else if time.Now().After(deadline) {
			t.Fatalf("Nova made no image %s", name)
		} else {
			time.Sleep(100 * time.Millisecond)
		}
	}

	job := apitest.WaitForOnlyJob(t, api, user, pass, 60*time.Second, 200*time.Millisecond)
	if job.State != model.JobSucceeded || job.Image.ID != made.ID {
		t.Errorf("job = %+v; want SUCCEEDED following image %s", job, made.ID)
	}
	if made.Properties[TokenProperty] != job.ID {
		t.Errorf("image %s has %s = %v; want the job's id %s", made.ID, TokenProperty, made.Properties[TokenProperty], job.ID)
	}
}
