package ec2_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"golang.org/x/crypto/ssh"

	"github.com/imagegw/imagegw/accounts"
	"github.com/imagegw/imagegw/api/apitest"
	_ "github.com/imagegw/imagegw/api/cloudapi" // the CloudAPI front, mounted by the server
	"github.com/imagegw/imagegw/api/cloudapi/httpsig"
	"github.com/imagegw/imagegw/model"
)

// The native front has no copy route: copies between regions go through the
// CloudAPI front's ImportImageFromDatacenter, with an account whose ec2
// credentials are moto's test keys.

type cloudapiClient struct {
	t     *testing.T
	base  string
	keyID string
	key   ed25519.PrivateKey
}

func newCloudAPIClient(t *testing.T, srv *apitest.Server, login, provider string) *cloudapiClient {
	t.Helper()
	ctx := context.Background()
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	sshPub, err := ssh.NewPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	accts := accounts.New(srv.Store, srv.Gateway.Secrets())
	if _, err := accts.Add(ctx, accounts.Account{Login: login, Email: login + "@example.com", Driver: "ec2", Provider: provider,
		Credentials: map[string]model.Credentials{"ec2": {User: testKey, Password: testSecret}}}); err != nil {
		t.Fatal(err)
	}
	k, err := accts.AddKey(ctx, login, "", ssh.MarshalAuthorizedKey(sshPub))
	if err != nil {
		t.Fatal(err)
	}
	return &cloudapiClient{t: t, base: srv.URL, keyID: "/" + login + "/keys/" + k.Fingerprint, key: priv}
}

// do sends a signed CloudAPI request; extra header pairs follow the path.
func (c *cloudapiClient) do(method, path string, hdr ...string) httpResp {
	c.t.Helper()
	req, err := http.NewRequest(method, c.base+path, nil)
	if err != nil {
		c.t.Fatal(err)
	}
	req.Header.Set("Accept-Version", "~9||~8")
	req.Header.Set("Date", time.Now().UTC().Format(http.TimeFormat))
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	if err := httpsig.Sign(req, c.keyID, "ed25519-sha512", c.key, httpsig.FormRequestTarget); err != nil {
		c.t.Fatal(err)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return httpResp{Status: res.StatusCode, Header: res.Header, Body: b}
}

func TestEndToEndCloudAPICopyAcrossRegions(t *testing.T) {
	s := needMoto(t)
	srv := e2eServer(t, s, "")
	ctx := context.Background()
	raw := rawClient(s, "us-east-1")
	inst, err := runInstance(ctx, raw)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := raw.CreateImage(ctx, &ec2.CreateImageInput{InstanceId: aws.String(inst), Name: aws.String("to-copy")}); err != nil {
		t.Fatal(err)
	}
	alice := newCloudAPIClient(t, srv, "alice", "moto-west")

	// The source image's CloudAPI id, in us-east-1.
	r := alice.do("GET", "/alice/images?name=to-copy", "X-Deltacloud-Provider", "moto-east")
	r.Want(t, "list in moto-east", 200)
	var list []struct{ ID, Name, State string }
	r.Decode(t, &list)
	if len(list) != 1 || list[0].Name != "to-copy" {
		t.Fatalf("images named to-copy in us-east-1: %s", r.Body)
	}

	// Import it into us-west-2 (the account's default provider).
	r = alice.do("POST", "/alice/images?action=import-from-datacenter&datacenter=moto-east&id="+list[0].ID)
	r.Want(t, "import-from-datacenter", 200)
	var img struct{ ID, Name, State string }
	r.Decode(t, &img)
	if img.Name != "to-copy" || img.State != "creating" || img.ID == list[0].ID {
		t.Errorf("imported %s", r.Body)
	}
	jobs, err := srv.Gateway.Jobs().List(ctx)
	if err != nil || len(jobs) != 1 || jobs[0].Kind != model.JobCopyImage || jobs[0].Provider != "moto-west" {
		t.Fatalf("jobs = %+v, %v; want one copy job in moto-west", jobs, err)
	}
	wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if job, err := srv.Gateway.Jobs().Wait(wctx, jobs[0].ID); err != nil || job.State != model.JobSucceeded {
		t.Fatalf("copy job = %+v, %v", job, err)
	}
	r = alice.do("GET", "/alice/images/"+img.ID)
	r.Want(t, "the copy in moto-west", 200)
	var got struct{ ID, Name, State string }
	r.Decode(t, &got)
	if got.Name != "to-copy" || got.State != "active" {
		t.Errorf("copy in us-west-2 = %s", r.Body)
	}
	// And EC2 itself has it in us-west-2.
	out, err := rawClient(s, "us-west-2").DescribeImages(ctx, &ec2.DescribeImagesInput{Owners: []string{"self"}})
	if err != nil || len(out.Images) != 1 || aws.ToString(out.Images[0].Name) != "to-copy" {
		b, _ := json.Marshal(out)
		t.Errorf("us-west-2 own images = %s, %v", b, err)
	}
}
