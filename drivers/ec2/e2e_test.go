package ec2_test

import (
	"context"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/imagegw/imagegw/api/apitest"
	"github.com/imagegw/imagegw/gateway"
	"github.com/imagegw/imagegw/model"
)

// End to end: the whole gateway over real HTTP (the native Deltacloud
// front), with ec2 providers at moto_server, as curl would use it.

// httpResp is an answer of the gateway under test.
type httpResp = apitest.Response

// call sends one request without a body.
func call(t *testing.T, method, rawURL, user, pass string) httpResp {
	return apitest.Call(t, method, rawURL, user, pass, nil)
}

// e2eServer starts the gateway with moto-east and moto-west at moto plus
// extra providers. Their request_timeout is 2m, not the default 30s: a cold
// listing (every instance type, then the images) under -race, beside the
// other packages' tests on two cores, can take longer, and these tests are
// not about the deadline (toxiproxy_test.go is).
func e2eServer(t testing.TB, s *motoServer, extra string) *apitest.Server {
	t.Helper()
	cfg, err := gateway.ParseConfig(strings.NewReader(`
job_poll_interval: 50ms
providers:
  - {name: moto-east, driver: ec2, region: us-east-1, endpoint: "` + s.URL + `", request_timeout: 2m}
  - {name: moto-west, driver: ec2, region: us-west-2, endpoint: "` + s.URL + `", request_timeout: 2m}
` + extra))
	if err != nil {
		t.Fatal(err)
	}
	return apitest.NewServer(t, cfg)
}

type imageJSON struct {
	ID               string `json:"id"`
	Name             string `json:"name"`
	Description      string `json:"description"`
	OwnerID          string `json:"owner_id"`
	Architecture     string `json:"architecture"`
	State            string `json:"state"`
	RootType         string `json:"root_type"`
	HardwareProfiles []struct {
		ID string `json:"id"`
	} `json:"hardware_profiles"`
}

func TestEndToEnd(t *testing.T) {
	s := needMoto(t)
	srv := e2eServer(t, s, "")
	east := srv.URL + "/api;driver=ec2;provider=moto-east"
	get := func(path string) httpResp { return call(t, "GET", east+path, testKey, testSecret) }
	raw := rawClient(s, "us-east-1")
	ctx := context.Background()

	// The driver and its configured providers.
	r := call(t, "GET", srv.URL+"/api/drivers/ec2?format=json", "", "")
	r.Want(t, "GET /api/drivers/ec2", 200)
	if !strings.Contains(string(r.Body), `"moto-east"`) || !strings.Contains(string(r.Body), `"moto-west"`) || strings.Contains(string(r.Body), s.URL) {
		t.Errorf("driver ec2 = %s; want both providers and no endpoint URL", r.Body)
	}

	// List with owner_id and architecture over moto's seeded catalog.
	nArm, armIDs := countImages(t, raw, &ec2.DescribeImagesInput{Owners: []string{"amazon"},
		Filters: []types.Filter{{Name: aws.String("architecture"), Values: []string{"arm64"}}}})
	r = get("/images?owner_id=amazon&architecture=arm64&format=json")
	r.Want(t, "list arm64 images of amazon", 200)
	var list struct {
		Images []struct {
			Image imageJSON `json:"image"`
		} `json:"images"`
	}
	r.Decode(t, &list)
	if len(list.Images) != nArm || nArm == 0 {
		t.Errorf("listed %d arm64 images, EC2 has %d", len(list.Images), nArm)
	}
	for _, it := range list.Images {
		if it.Image.Architecture != "arm64" || !armIDs[it.Image.ID] || it.Image.State != "AVAILABLE" || len(it.Image.HardwareProfiles) == 0 {
			t.Errorf("listed %+v", it.Image)
			break
		}
	}

	// Get one; an unknown AMI is 404.
	target := list.Images[0].Image
	r = get("/images/" + target.ID + "?format=json")
	r.Want(t, "get image", 200)
	var one struct {
		Image imageJSON `json:"image"`
	}
	r.Decode(t, &one)
	if one.Image.ID != target.ID || one.Image.Name != target.Name || one.Image.RootType != "persistent" {
		t.Errorf("got %+v, listed %+v", one.Image, target)
	}
	get("/images/ami-0123456789abcdef0").Want(t, "unknown AMI", 404)
	get("/images/not-an-ami").Want(t, "malformed AMI id", 404)

	// Profiles from moto's instance types.
	r = get("/hardware_profiles/t2.micro?format=json")
	r.Want(t, "profile t2.micro", 200)
	if !strings.Contains(string(r.Body), `"1024"`) || !strings.Contains(string(r.Body), `"x86_64"`) {
		t.Errorf("t2.micro = %s; want memory 1024 and architecture x86_64", r.Body)
	}

	// Create from a RunInstances instance → 201 PENDING, followed to
	// AVAILABLE by the gateway's job; delete → 204, then 404.
	inst, err := runInstance(ctx, raw)
	if err != nil {
		t.Fatal(err)
	}
	r = call(t, "POST", east+"/images?format=json&"+url.Values{"instance_id": {inst}, "name": {"e2e-image"}, "description": {"made over HTTP"}}.Encode(), testKey, testSecret)
	r.Want(t, "create image", 201)
	r.Decode(t, &one)
	if one.Image.State != "PENDING" || one.Image.Name != "e2e-image" || !strings.HasSuffix(r.Header.Get("Location"), "/images/"+one.Image.ID) {
		t.Errorf("created %+v, Location %q", one.Image, r.Header.Get("Location"))
	}
	jobID := r.Header.Get("X-Job-Id")
	if jobID == "" {
		t.Fatal("no X-Job-Id for the create")
	}
	wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	job, err := srv.Gateway.Jobs().Wait(wctx, jobID)
	if err != nil || job.State != model.JobSucceeded {
		t.Fatalf("job %s = %+v, %v; want succeeded", jobID, job, err)
	}
	newID := one.Image.ID
	r = get("/images?owner_id=self&format=json")
	r.Want(t, "list own images", 200)
	r.Decode(t, &list)
	if len(list.Images) != 1 || list.Images[0].Image.ID != newID || list.Images[0].Image.State != "AVAILABLE" || list.Images[0].Image.Description != "made over HTTP" {
		t.Errorf("own images = %+v; want the new image AVAILABLE", list.Images)
	}
	call(t, "POST", east+"/images?instance_id=i-0123456789abcdef0", testKey, testSecret).Want(t, "create from unknown instance", 404)
	call(t, "DELETE", east+"/images/"+newID, testKey, testSecret).Want(t, "delete image", 204)
	get("/images/"+newID).Want(t, "get deleted image", 404)
	call(t, "DELETE", east+"/images/"+newID, testKey, testSecret).Want(t, "delete deleted image", 404)

	// Missing credentials → 401 (no server-side ones, an empty default chain).
	r = call(t, "GET", east+"/images", "", "")
	r.Want(t, "no credentials", 401)
	if r.Header.Get("WWW-Authenticate") == "" {
		t.Error("401 without WWW-Authenticate")
	}
}

func TestEndToEndCopyAcrossRegions(t *testing.T) {
	s := needMoto(t)
	srv := e2eServer(t, s, "")
	ctx := context.Background()
	raw := rawClient(s, "us-east-1")
	inst, err := runInstance(ctx, raw)
	if err != nil {
		t.Fatal(err)
	}
	out, err := raw.CreateImage(ctx, &ec2.CreateImageInput{InstanceId: aws.String(inst), Name: aws.String("to-copy")})
	if err != nil {
		t.Fatal(err)
	}
	creds := model.Credentials{User: testKey, Password: testSecret}
	sess, err := srv.Gateway.Open(ctx, gateway.Target{Driver: "ec2", Provider: "moto-west"}, creds)
	if err != nil {
		t.Fatal(err)
	}
	img, job, err := sess.CopyImage(ctx, "moto-east", aws.ToString(out.ImageId), "copied-west", "", gateway.JobMeta{})
	if err != nil {
		t.Fatal(err)
	}
	wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if job, err = srv.Gateway.Jobs().Wait(wctx, job.ID); err != nil || job.State != model.JobSucceeded {
		t.Fatalf("copy job = %+v, %v", job, err)
	}
	west := srv.URL + "/api;driver=ec2;provider=moto-west"
	r := call(t, "GET", west+"/images/"+img.ID+"?format=json", testKey, testSecret)
	r.Want(t, "get the copy in us-west-2", 200)
	var one struct {
		Image imageJSON `json:"image"`
	}
	r.Decode(t, &one)
	if one.Image.Name != "copied-west" || one.Image.State != "AVAILABLE" {
		t.Errorf("copy = %+v", one.Image)
	}
	call(t, "GET", srv.URL+"/api;driver=ec2;provider=moto-east/images/"+img.ID, testKey, testSecret).Want(t, "the copy in us-east-1", 404)
}

func TestEndToEndWrongCredentials(t *testing.T) {
	s := needMoto(t)
	auth := needMotoAuth(t)
	srv := e2eServer(t, s, `  - {name: moto-auth, driver: ec2, region: us-east-1, endpoint: "`+auth.URL+`"}
`)
	base := srv.URL + "/api;driver=ec2;provider=moto-auth"
	for _, path := range []string{"/images", "/images/ami-0123456789abcdef0", "/realms", "?force_auth=1"} {
		r := call(t, "GET", base+path, "AKIDNOSUCHKEY", "wrong")
		r.Want(t, "wrong credentials on "+path, 401)
		if r.Header.Get("WWW-Authenticate") == "" {
			t.Errorf("%s: 401 without WWW-Authenticate", path)
		}
	}
}
