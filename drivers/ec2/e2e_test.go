package ec2_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
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

func e2eServer(t testing.TB, s *motoServer, extra string) *apitest.Server {
	t.Helper()
	cfg, err := gateway.ParseConfig(strings.NewReader(`
job_poll_interval: 50ms
providers:
  - {name: moto-east, driver: ec2, region: us-east-1, endpoint: "` + s.URL + `"}
  - {name: moto-west, driver: ec2, region: us-west-2, endpoint: "` + s.URL + `"}
` + extra))
	if err != nil {
		t.Fatal(err)
	}
	return apitest.NewServer(t, cfg)
}

type httpResp struct {
	status int
	header http.Header
	body   []byte
}

func call(t *testing.T, method, rawURL, user, pass string) httpResp {
	t.Helper()
	req, err := http.NewRequest(method, rawURL, nil)
	if err != nil {
		t.Fatal(err)
	}
	if user != "" {
		req.SetBasicAuth(user, pass)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return httpResp{res.StatusCode, res.Header, b}
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

func (r httpResp) decode(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("decoding %.300s: %v", r.body, err)
	}
}

func (r httpResp) want(t *testing.T, what string, status int) {
	t.Helper()
	if r.status != status {
		t.Fatalf("%s: status %d, want %d; body %.500s", what, r.status, status, r.body)
	}
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
	r.want(t, "GET /api/drivers/ec2", 200)
	if !strings.Contains(string(r.body), `"moto-east"`) || !strings.Contains(string(r.body), `"moto-west"`) || strings.Contains(string(r.body), s.URL) {
		t.Errorf("driver ec2 = %s; want both providers and no endpoint URL", r.body)
	}

	// List with owner_id and architecture over moto's seeded catalog.
	nArm, armIDs := countImages(t, raw, &ec2.DescribeImagesInput{Owners: []string{"amazon"},
		Filters: []types.Filter{{Name: aws.String("architecture"), Values: []string{"arm64"}}}})
	r = get("/images?owner_id=amazon&architecture=arm64&format=json")
	r.want(t, "list arm64 images of amazon", 200)
	var list struct {
		Images []struct {
			Image imageJSON `json:"image"`
		} `json:"images"`
	}
	r.decode(t, &list)
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
	r.want(t, "get image", 200)
	var one struct {
		Image imageJSON `json:"image"`
	}
	r.decode(t, &one)
	if one.Image.ID != target.ID || one.Image.Name != target.Name || one.Image.RootType != "persistent" {
		t.Errorf("got %+v, listed %+v", one.Image, target)
	}
	get("/images/ami-0123456789abcdef0").want(t, "unknown AMI", 404)
	get("/images/not-an-ami").want(t, "malformed AMI id", 404)

	// Profiles from moto's instance types.
	r = get("/hardware_profiles/t2.micro?format=json")
	r.want(t, "profile t2.micro", 200)
	if !strings.Contains(string(r.body), `"1024"`) || !strings.Contains(string(r.body), `"x86_64"`) {
		t.Errorf("t2.micro = %s; want memory 1024 and architecture x86_64", r.body)
	}

	// Create from a RunInstances instance → 201 PENDING, followed to
	// AVAILABLE by the gateway's job; delete → 204, then 404.
	inst, err := runInstance(ctx, raw)
	if err != nil {
		t.Fatal(err)
	}
	r = call(t, "POST", east+"/images?format=json&"+url.Values{"instance_id": {inst}, "name": {"e2e-image"}, "description": {"made over HTTP"}}.Encode(), testKey, testSecret)
	r.want(t, "create image", 201)
	r.decode(t, &one)
	if one.Image.State != "PENDING" || one.Image.Name != "e2e-image" || !strings.HasSuffix(r.header.Get("Location"), "/images/"+one.Image.ID) {
		t.Errorf("created %+v, Location %q", one.Image, r.header.Get("Location"))
	}
	jobID := r.header.Get("X-Job-Id")
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
	r.want(t, "list own images", 200)
	r.decode(t, &list)
	if len(list.Images) != 1 || list.Images[0].Image.ID != newID || list.Images[0].Image.State != "AVAILABLE" || list.Images[0].Image.Description != "made over HTTP" {
		t.Errorf("own images = %+v; want the new image AVAILABLE", list.Images)
	}
	call(t, "POST", east+"/images?instance_id=i-0123456789abcdef0", testKey, testSecret).want(t, "create from unknown instance", 404)
	call(t, "DELETE", east+"/images/"+newID, testKey, testSecret).want(t, "delete image", 204)
	get("/images/"+newID).want(t, "get deleted image", 404)
	call(t, "DELETE", east+"/images/"+newID, testKey, testSecret).want(t, "delete deleted image", 404)

	// Missing credentials → 401 (no server-side ones, an empty default chain).
	r = call(t, "GET", east+"/images", "", "")
	r.want(t, "no credentials", 401)
	if r.header.Get("WWW-Authenticate") == "" {
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
	r.want(t, "get the copy in us-west-2", 200)
	var one struct {
		Image imageJSON `json:"image"`
	}
	r.decode(t, &one)
	if one.Image.Name != "copied-west" || one.Image.State != "AVAILABLE" {
		t.Errorf("copy = %+v", one.Image)
	}
	call(t, "GET", srv.URL+"/api;driver=ec2;provider=moto-east/images/"+img.ID, testKey, testSecret).want(t, "the copy in us-east-1", 404)
}

func TestEndToEndWrongCredentials(t *testing.T) {
	s := needMoto(t)
	auth := needMotoAuth(t)
	srv := e2eServer(t, s, `  - {name: moto-auth, driver: ec2, region: us-east-1, endpoint: "`+auth.URL+`"}
`)
	base := srv.URL + "/api;driver=ec2;provider=moto-auth"
	for _, path := range []string{"/images", "/images/ami-0123456789abcdef0", "/realms", "?force_auth=1"} {
		r := call(t, "GET", base+path, "AKIDNOSUCHKEY", "wrong")
		r.want(t, "wrong credentials on "+path, 401)
		if r.header.Get("WWW-Authenticate") == "" {
			t.Errorf("%s: 401 without WWW-Authenticate", path)
		}
	}
}
