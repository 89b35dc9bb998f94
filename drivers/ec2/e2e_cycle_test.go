package ec2_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/ec2"

	"github.com/imagegw/imagegw/api/cycle"
	"github.com/imagegw/imagegw/api/cycle/cycletest"
	"github.com/imagegw/imagegw/model"
)

// TestEndToEndCycle: the Cycle front's lifecycle on an ec2 hub against
// moto: list, create from an instance until live, its build log, rename,
// include and meta, delete until completed, prune and import, every
// answer validated against the front's OpenAPI document.
func TestEndToEndCycle(t *testing.T) {
	s := needMoto(t)
	srv := e2eServer(t, s, "")
	ctx := context.Background()
	raw := rawClient(s, "us-east-1")
	inst, err := runInstance(ctx, raw)
	if err != nil {
		t.Fatal(err)
	}
	keys := cycle.NewKeys(srv.Store, srv.Gateway.Secrets())
	hub, err := keys.AddHub(ctx, "aws-east", "ec2", "moto-east", model.Credentials{User: testKey, Password: testSecret})
	if err != nil {
		t.Fatal(err)
	}
	_, secret, err := keys.AddKey(ctx, hub.ID, "ci", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	c := cycletest.New(t, srv.URL, secret, hub.ID)

	c.Do("GET", "/v1/images?page[size]=5&sort=name", nil).Want(t, "list", 200)

	var cr struct{ Data cycletest.Image }
	c.Do("POST", "/v1/images", map[string]any{"source_id": inst, "name": "cycle-web"}).Want(t, "create", 201).Decode(t, &cr)
	if !strings.HasPrefix(cr.Data.Backend.FileID, "ami-") || cr.Data.Name != "cycle-web" {
		t.Fatalf("created %+v", cr.Data)
	}
	id := cr.Data.ID
	c.WaitImage(id, "live", 30*time.Second)
	c.Do("GET", "/v1/images/"+id+"/build-log", nil).Want(t, "build log", 200)
	r := c.Do("GET", "/v1/images?filter[source_id]="+inst+"&include=creators,sources", nil).Want(t, "by source", 200)
	if !strings.Contains(string(r.Body), `"identifier":"`+inst+`"`) || !strings.Contains(string(r.Body), `"name":"imagegw-test"`) {
		t.Errorf("sources include: %s", r.Body)
	}
	var p struct{ Data cycletest.Image }
	c.Do("PATCH", "/v1/images/"+id, map[string]string{"name": "cycle-web-2"}).Want(t, "rename", 200).Decode(t, &p)
	if p.Data.Name != "cycle-web-2" || p.Data.Backend.FileName != "cycle-web" {
		t.Errorf("renamed: %+v", p.Data)
	}
	if got := names(t, c.Do("GET", "/v1/images?filter[identifier]=cycle-web-2", nil).Want(t, "by name", 200)); len(got) != 1 {
		t.Errorf("filter[identifier]=cycle-web-2: %v", got)
	}
	var withMeta struct{ Data []cycletest.Image }
	c.Do("GET", "/v1/images?filter[source_id]="+inst+"&meta=containers_count", nil).Want(t, "meta", 200).Decode(t, &withMeta)
	if len(withMeta.Data) != 1 || withMeta.Data[0].Meta == nil || withMeta.Data[0].Meta.ContainersCount.Total != 0 {
		t.Errorf("containers_count: %+v", withMeta.Data)
	}
	var page struct{ Data []cycletest.Image }
	c.Do("GET", "/v1/images?page[size]=5&page[number]=1&sort=-name", nil).Want(t, "page", 200).Decode(t, &page)
	if len(page.Data) != 1 || page.Data[0].ID != id {
		t.Errorf("page: %+v", page.Data)
	}

	var d struct{ Data cycletest.JobDescriptor }
	c.Do("POST", "/v1/images/"+id+"/tasks", map[string]string{"action": "import"}).Want(t, "import", 200).Decode(t, &d)
	if j := c.WaitJob(d.Data.Job.ID, 30*time.Second); j.State.Current != "completed" {
		t.Errorf("import job %+v", j)
	}
	c.Do("DELETE", "/v1/images/"+id, nil).Want(t, "delete", 200).Decode(t, &d)
	if j := c.WaitJob(d.Data.Job.ID, 30*time.Second); j.State.Current != "completed" {
		t.Errorf("delete job %+v", j)
	}
	c.WaitImage(id, "deleted", time.Second)
	imgs, err := raw.DescribeImages(ctx, &ec2.DescribeImagesInput{ImageIds: []string{cr.Data.Backend.FileID}})
	if err == nil && len(imgs.Images) > 0 && imgs.Images[0].State != "deregistered" {
		t.Errorf("EC2 still has %s: %s", cr.Data.Backend.FileID, imgs.Images[0].State)
	}

	c.Do("POST", "/v1/images", map[string]any{"source_id": inst}).Want(t, "create", 201).Decode(t, &cr)
	c.WaitImage(cr.Data.ID, "live", 30*time.Second)
	c.Do("POST", "/v1/images/tasks", map[string]any{"action": "prune", "contents": map[string]any{"source_ids": []string{inst}}}).Want(t, "prune", 202).Decode(t, &d)
	if j := c.WaitJob(d.Data.Job.ID, 30*time.Second); j.State.Current != "completed" || j.Tasks[0].Output["deleted"] != cr.Data.ID {
		t.Errorf("prune job %+v", j)
	}
	c.Do("GET", "/v1/images/"+cr.Data.ID, nil).Want(t, "pruned", 404)
}

func names(t *testing.T, r cycletest.Response) []string {
	t.Helper()
	var l struct{ Data []cycletest.Image }
	r.Decode(t, &l)
	out := []string{}
	for _, i := range l.Data {
		out = append(out, i.Name)
	}
	return out
}
