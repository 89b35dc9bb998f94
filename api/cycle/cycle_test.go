package cycle_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/imagegw/imagegw/api/apitest"
	"github.com/imagegw/imagegw/api/cycle"
	"github.com/imagegw/imagegw/api/cycle/cycletest"
	"github.com/imagegw/imagegw/gateway"
	"github.com/imagegw/imagegw/model"
)

type env struct {
	srv              *apitest.Server
	keys             *cycle.Keys
	hub, other       string
	admin, view, job string // secrets
	c                *cycletest.Client
}

func newEnv(t *testing.T) *env {
	t.Helper()
	delay := 300 * time.Millisecond
	srv := apitest.NewServer(t, gateway.Config{MockCreateDelay: &delay, JobPollInterval: 50 * time.Millisecond})
	ctx := context.Background()
	e := &env{srv: srv, keys: cycle.NewKeys(srv.Store, srv.Gateway.Secrets())}
	mockCreds := model.Credentials{User: "mockuser", Password: "mockpassword"}
	h, err := e.keys.AddHub(ctx, "main", "mock", "", mockCreds)
	if err != nil {
		t.Fatal(err)
	}
	o, err := e.keys.AddHub(ctx, "other", "mock", "", mockCreds)
	if err != nil {
		t.Fatal(err)
	}
	e.hub, e.other = h.ID, o.ID
	key := func(caps ...string) string {
		_, s, err := e.keys.AddKey(ctx, h.ID, "k", caps, 0)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	e.admin, e.view, e.job = key(), key(cycle.CapImagesView), key(cycle.CapJobsView)
	e.c = cycletest.New(t, srv.URL, e.admin, e.hub)
	return e
}

// TestObjectIDVectors: the spec's decision 3 vectors.
func TestObjectIDVectors(t *testing.T) {
	for _, tc := range []struct{ kind, native, want string }{
		{gateway.KindImages, "img1", "9ea1f767eef20e43bea456e4"},
		{gateway.KindImages, "img3", "c19de8d208e13558527d0260"},
		{gateway.KindInstances, "inst1", "fd933dafdc87930ccb1e370c"},
	} {
		if got := gateway.SchemeObjectID.ID("mock", "mock", tc.kind, tc.native); got != tc.want {
			t.Errorf("%s %s: %s, want %s", tc.kind, tc.native, got, tc.want)
		}
	}
	e := newEnv(t)
	var img struct{ Data cycletest.Image }
	e.c.Do("GET", "/v1/images/9ea1f767eef20e43bea456e4", nil).Want(t, "img1", 200).Decode(t, &img)
	if img.Data.Backend.FileID != "img1" || img.Data.ID != "9ea1f767eef20e43bea456e4" {
		t.Errorf("img1 = %+v", img.Data)
	}
	if g := cycle.NewObjectID(time.Unix(0x65a0c0ff, 0)); !gateway.IsObjectID(g) || !strings.HasPrefix(g, "65a0c0ff") {
		t.Errorf("NewObjectID = %s", g)
	}
}

// TestAuth: every auth row of the error table.
func TestAuth(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	_, expired, _ := e.keys.AddKey(ctx, e.hub, "short", nil, time.Nanosecond)
	rk, revoked, _ := e.keys.AddKey(ctx, e.hub, "gone", nil, 0)
	if _, err := e.keys.Revoke(ctx, rk.ID); err != nil {
		t.Fatal(err)
	}
	time.Sleep(time.Millisecond)
	for _, tc := range []struct {
		name, secret, hub, method, path string
		body                            any
		status                          int
		code, capability                string
	}{
		{"no key", "", e.hub, "GET", "/v1/images", nil, 401, "401.auth-invalid", ""},
		{"unknown key", "igw_nope", e.hub, "GET", "/v1/images", nil, 401, "401.auth-invalid", ""},
		{"revoked key", revoked, e.hub, "GET", "/v1/images", nil, 401, "401.auth-invalid", ""},
		{"expired key", expired, e.hub, "GET", "/v1/images", nil, 401, "401.auth-expired", ""},
		{"no hub", e.admin, "", "GET", "/v1/images", nil, 404, "404.hub", ""},
		{"unknown hub", e.admin, "65a0c0ffee0000000000a001", "GET", "/v1/images", nil, 404, "404.hub", ""},
		{"foreign hub", e.admin, e.other, "GET", "/v1/images", nil, 403, "403.wrong-hub", ""},
		{"view-only create", e.view, e.hub, "POST", "/v1/images", map[string]any{"source_id": "inst1"}, 403, "403.permissions", "images-manage"},
		{"view-only delete", e.view, e.hub, "DELETE", "/v1/images/9ea1f767eef20e43bea456e4", nil, 403, "403.permissions", "images-manage"},
		{"view-only import", e.view, e.hub, "POST", "/v1/images/9ea1f767eef20e43bea456e4/tasks", map[string]any{"action": "import"}, 403, "403.permissions", "images-import"},
		{"jobs-only list", e.job, e.hub, "GET", "/v1/images", nil, 403, "403.permissions", "images-view"},
		{"jobs-only job", e.job, e.hub, "GET", "/v1/jobs/65a0d1e2f3a4b5c6d7e8f901", nil, 404, "404.job", ""},
		{"view-only list", e.view, e.hub, "GET", "/v1/images", nil, 200, "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := e.c.As(tc.secret, tc.hub).Do(tc.method, tc.path, tc.body).Want(t, tc.name, tc.status)
			if tc.code == "" {
				return
			}
			er := r.Error(t)
			if er.Code != tc.code || er.Status != tc.status {
				t.Errorf("error = %+v, want %s", er, tc.code)
			}
			if tc.capability != "" && er.Extra["capability"] != tc.capability {
				t.Errorf("extra = %v, want capability %s", er.Extra, tc.capability)
			}
		})
	}
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

// TestList: filter, sort, page, include and meta as a user sees them.
func TestList(t *testing.T) {
	e := newEnv(t)
	for _, tc := range []struct{ query, want string }{
		{"sort=-name", "img3,img2,img1"},
		{"sort=name", "img1,img2,img3"},
		{"sort=name&page[size]=2&page[number]=2", "img3"},
		{"sort=-name&page[size]=2", "img3,img2"},
		{"sort=name&page[number]=9&page[size]=2", ""},
		{"filter[identifier]=img2", "img2"},
		{"filter[identifier]=img1,img3&sort=name", "img1,img3"},
		{"filter[search]=jboss", "img3"},
		{"filter[state]=live&sort=name", "img1,img2,img3"},
		{"filter[state]=building", ""},
		{"filter[source_type]=direct", ""},
		{"filter[source_type]=bucket", ""},
		{"sort=size,id", "img1,img2,img3"},
	} {
		got := strings.Join(names(t, e.c.Do("GET", "/v1/images?"+tc.query, nil).Want(t, tc.query, 200)), ",")
		if got != tc.want {
			t.Errorf("%s: %s, want %s", tc.query, got, tc.want)
		}
	}
	var l struct{ Data []cycletest.Image }
	e.c.Do("GET", "/v1/images?sort=name&meta=containers_count", nil).Want(t, "meta", 200).Decode(t, &l)
	if m := l.Data[0].Meta; m == nil || m.ContainersCount.Total != 2 || m.ContainersCount.State["running"] != 2 || m.ContainersCount.Available != 2 {
		t.Errorf("img1 containers_count = %+v", m)
	}
	if m := l.Data[1].Meta; m == nil || m.ContainersCount.Total != 0 {
		t.Errorf("img2 containers_count = %+v", m)
	}
	r := e.c.Do("GET", "/v1/images?include=creators,sources,stacks", nil).Want(t, "include", 200)
	for _, k := range []string{`"creators":{"api_keys":{}}`, `"sources":{}`, `"stacks":{}`, `"stacks:identifiers":{}`} {
		if !strings.Contains(string(r.Body), k) {
			t.Errorf("include: no %s in %s", k, r.Body)
		}
	}
}

// TestBadInput: malformed queries and bodies, ids and names.
func TestBadInput(t *testing.T) {
	e := newEnv(t)
	big := `{"source_id":"inst1","name":"` + strings.Repeat("x", cycle.MaxBody) + `"}`
	for _, tc := range []struct {
		name, method, path string
		body               any
		hdr                []string
		status             int
		code, source       string
	}{
		{"unknown filter", "GET", "/v1/images?filter[foo]=x", nil, nil, 400, "400.invalid-syntax", "/filter/foo"},
		{"unknown parameter", "GET", "/v1/images?foo=1", nil, nil, 400, "400.invalid-syntax", "/foo"},
		{"unknown sort", "GET", "/v1/images?sort=color", nil, nil, 400, "400.invalid-syntax", "/sort"},
		{"unknown include", "GET", "/v1/images?include=pets", nil, nil, 400, "400.invalid-syntax", "/include"},
		{"unknown meta", "GET", "/v1/images?meta=pets", nil, nil, 400, "400.invalid-syntax", "/meta"},
		{"unknown state", "GET", "/v1/images?filter[state]=happy", nil, nil, 400, "400.invalid-syntax", "/filter/state"},
		{"page size 0", "GET", "/v1/images?page[size]=0", nil, nil, 400, "400.invalid-syntax", "/page/size"},
		{"page size 101", "GET", "/v1/images?page[size]=101", nil, nil, 400, "400.invalid-syntax", "/page/size"},
		{"page size text", "GET", "/v1/images?page[size]=ten", nil, nil, 400, "400.invalid-syntax", "/page/size"},
		{"page number 0", "GET", "/v1/images?page[number]=0", nil, nil, 400, "400.invalid-syntax", "/page/number"},
		{"page number huge", "GET", "/v1/images?page[number]=99999999999999999999", nil, nil, 400, "400.invalid-syntax", "/page/number"},
		{"get unknown include", "GET", "/v1/images/9ea1f767eef20e43bea456e4?include=x", nil, nil, 400, "400.invalid-syntax", "/include"},
		{"not JSON", "POST", "/v1/images", "source_id=inst1", []string{"Content-Type", "application/x-www-form-urlencoded"}, 415, "415.invalid-content-type", ""},
		{"no content type", "POST", "/v1/images", `{"source_id":"inst1"}`, []string{"Content-Type", ""}, 415, "415.invalid-content-type", ""},
		{"malformed JSON", "POST", "/v1/images", `{"source_id":`, nil, 400, "400.invalid-syntax", ""},
		{"JSON array", "POST", "/v1/images", `[1]`, nil, 400, "400.invalid-syntax", ""},
		{"over 1 MiB", "POST", "/v1/images", big, nil, 422, "422.max-exceeded", ""},
		{"over 1 MiB, chunked", "POST", "/v1/images", strings.NewReader(big), nil, 422, "422.max-exceeded", ""},
		{"1 MiB exactly is read", "POST", "/v1/images", strings.NewReader(`{"source_id":"inst9","pad":"` + strings.Repeat("p", cycle.MaxBody-32) + `"}`), nil, 404, "404.image.source", "/source_id"},
		{"no source_id", "POST", "/v1/images", `{"name":"x"}`, nil, 422, "422.missing-argument", "/source_id"},
		{"source_id not a string", "POST", "/v1/images", `{"source_id":7}`, nil, 422, "422.invalid-argument", "/source_id"},
		{"override", "POST", "/v1/images", `{"source_id":"inst1","override":{"target":"x"}}`, nil, 422, "422.invalid-argument", "/override"},
		{"unknown instance", "POST", "/v1/images", `{"source_id":"inst9"}`, nil, 404, "404.image.source", "/source_id"},
		{"unknown instance ObjectID", "POST", "/v1/images", `{"source_id":"65a0c0ffee0000000000a001"}`, nil, 404, "404.image.source", "/source_id"},
		{"inst3 refuses imaging", "POST", "/v1/images", `{"source_id":"inst3"}`, nil, 422, "422.not-compatible", "/source_id"},
		{"10,000-character name", "POST", "/v1/images", `{"source_id":"inst1","name":"` + strings.Repeat("n", 10000) + `"}`, nil, 422, "422.invalid-argument", "/name"},
		{"PATCH unknown key", "PATCH", "/v1/images/9ea1f767eef20e43bea456e4", `{"name":"a","size":3}`, nil, 422, "422.invalid-argument", "/size"},
		{"PATCH empty name", "PATCH", "/v1/images/9ea1f767eef20e43bea456e4", `{"name":""}`, nil, 422, "422.invalid-argument", "/name"},
		{"PATCH 10,000-character name", "PATCH", "/v1/images/9ea1f767eef20e43bea456e4", `{"name":"` + strings.Repeat("n", 10000) + `"}`, nil, 422, "422.invalid-argument", "/name"},
		{"PATCH not JSON", "PATCH", "/v1/images/9ea1f767eef20e43bea456e4", `name=a`, []string{"Content-Type", "text/plain"}, 415, "415.invalid-content-type", ""},
		{"id not hex", "GET", "/v1/images/img1", nil, nil, 404, "404.image", ""},
		{"id 23 hex", "GET", "/v1/images/9ea1f767eef20e43bea456e", nil, nil, 404, "404.image", ""},
		{"unknown id", "GET", "/v1/images/000000000000000000000000", nil, nil, 404, "404.image", ""},
		{"delete id not hex", "DELETE", "/v1/images/zzzzzzzzzzzzzzzzzzzzzzzz", nil, nil, 404, "404.image", ""},
		{"build log of a native image", "GET", "/v1/images/9ea1f767eef20e43bea456e4/build-log", nil, nil, 404, "404.image.build-log", ""},
		{"job id not hex", "GET", "/v1/jobs/xyz", nil, nil, 404, "404.job", ""},
		{"unknown job", "GET", "/v1/jobs/000000000000000000000000", nil, nil, 404, "404.job", ""},
		{"unknown path", "GET", "/v1/nothing", nil, nil, 404, "404.uri", ""},
		{"unknown method", "PUT", "/v1/images", `{}`, nil, 404, "404.uri", ""},
		{"prune no action", "POST", "/v1/images/tasks", `{"contents":{"source_ids":["inst1"]}}`, nil, 422, "422.missing-argument", "/action"},
		{"prune wrong action", "POST", "/v1/images/tasks", `{"action":"explode","contents":{"source_ids":["inst1"]}}`, nil, 422, "422.invalid-argument", "/action"},
		{"prune no sources", "POST", "/v1/images/tasks", `{"action":"prune"}`, nil, 422, "422.missing-argument", "/contents/source_ids"},
		{"prune bad sources", "POST", "/v1/images/tasks", `{"action":"prune","contents":{"source_ids":"inst1"}}`, nil, 422, "422.invalid-argument", "/contents/source_ids"},
		{"import wrong action", "POST", "/v1/images/9ea1f767eef20e43bea456e4/tasks", `{"action":"prune"}`, nil, 422, "422.invalid-argument", "/action"},
		{"import no action", "POST", "/v1/images/9ea1f767eef20e43bea456e4/tasks", `{}`, nil, 422, "422.missing-argument", "/action"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			er := e.c.Do(tc.method, tc.path, tc.body, tc.hdr...).Want(t, tc.name, tc.status).Error(t)
			if er.Code != tc.code || er.Source != tc.source || er.Title == "" {
				t.Errorf("error = %+v, want code %s source %q", er, tc.code, tc.source)
			}
		})
	}
}

// TestLifecycle: create from inst1 until live, its build log, include
// and source filters, rename, delete until completed, then deleted.
func TestLifecycle(t *testing.T) {
	e := newEnv(t)
	var cr struct{ Data cycletest.Image }
	e.c.Do("POST", "/v1/images", map[string]any{"source_id": "fd933dafdc87930ccb1e370c", "name": "web", "build": map[string]any{"args": map[string]string{"a": "b"}, "use_disk": true}, "extra": 1}).
		Want(t, "create", 201).Decode(t, &cr)
	if cr.Data.State.Current != "building" && cr.Data.State.Current != "new" || cr.Data.Name != "web" {
		t.Fatalf("created %+v", cr.Data)
	}
	id := cr.Data.ID
	e.c.WaitImage(id, "live", 10*time.Second)
	var r cycletest.Response
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		r = e.c.Do("GET", "/v1/images/"+id+"/build-log", nil).Want(t, "build log", 200)
		if strings.Contains(string(r.Body), "is AVAILABLE") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("build log %s", r.Body)
		}
	}
	r = e.c.Do("GET", "/v1/images?filter[source_id]=inst1&include=creators,sources", nil).Want(t, "by source", 200)
	if got := names(t, r); len(got) != 1 || got[0] != "web" {
		t.Errorf("filter[source_id]=inst1: %v", got)
	}
	for _, k := range []string{`"sources:identifiers":{"inst1":["fd933dafdc87930ccb1e370c"]}`, `"name":"MockUserInstance"`, `"capabilities":{"all":true,"specific":[]}`, `"build":{"args":{"a":"b"},"use_disk":true}`} {
		if !strings.Contains(string(r.Body), k) {
			t.Errorf("no %s in %s", k, r.Body)
		}
	}
	if strings.Contains(string(r.Body), "secret") {
		t.Errorf("a secret in includes: %s", r.Body)
	}
	if got := names(t, e.c.Do("GET", "/v1/images?filter[source_type]=direct", nil).Want(t, "direct", 200)); len(got) != 1 {
		t.Errorf("direct: %v", got)
	}
	var p struct{ Data cycletest.Image }
	e.c.Do("PATCH", "/v1/images/"+id, map[string]string{"name": "web-2"}).Want(t, "rename", 200).Decode(t, &p)
	if p.Data.Name != "web-2" {
		t.Errorf("renamed: %+v", p.Data)
	}
	var d struct{ Data cycletest.JobDescriptor }
	e.c.Do("DELETE", "/v1/images/"+id, nil).Want(t, "delete", 200).Decode(t, &d)
	if d.Data.Action != "delete" {
		t.Errorf("descriptor %+v", d.Data)
	}
	// (the job may already have finished)
	if r := e.c.Do("DELETE", "/v1/images/"+id, nil); r.Status != 403 && r.Status != 200 {
		t.Errorf("second delete: %d", r.Status)
	}
	job := e.c.As(e.job, e.hub).WaitJob(d.Data.Job.ID, 10*time.Second)
	if job.State.Current != "completed" || job.Tasks[0].Output["deleted"] != id {
		t.Errorf("delete job %+v", job)
	}
	if img := e.c.WaitImage(id, "deleted", time.Second); img.Name != "web-2" {
		t.Errorf("deleted image %+v", img)
	}
	if got := names(t, e.c.Do("GET", "/v1/images", nil).Want(t, "list", 200)); len(got) != 3 {
		t.Errorf("after delete: %v", got)
	}
	for _, w := range []struct {
		method, path string
		body         any
	}{{"PATCH", "/v1/images/" + id, map[string]string{"name": "x"}}, {"DELETE", "/v1/images/" + id, nil}, {"POST", "/v1/images/" + id + "/tasks", map[string]string{"action": "import"}}} {
		if er := e.c.Do(w.method, w.path, w.body).Want(t, w.method+" deleted", 403).Error(t); er.Code != "403.invalid-state" {
			t.Errorf("%s of a deleted image: %+v", w.method, er)
		}
	}
	e.c.As(e.admin, e.other).Do("GET", "/v1/jobs/"+d.Data.Job.ID, nil).Want(t, "job with another hub's header", 403)
	_, otherKey, _ := e.keys.AddKey(context.Background(), e.other, "o", nil, 0)
	if er := e.c.As(otherKey, e.other).Do("GET", "/v1/jobs/"+d.Data.Job.ID, nil).Want(t, "another hub's job", 404).Error(t); er.Code != "404.job" {
		t.Errorf("another hub's job: %+v", er)
	}
}

// TestPruneImport: prune ["inst1"] deletes the unused images made from
// it; import refreshes an image.
func TestPruneImport(t *testing.T) {
	e := newEnv(t)
	var ids []string
	for i := 0; i < 2; i++ {
		var cr struct{ Data cycletest.Image }
		e.c.Do("POST", "/v1/images", map[string]any{"source_id": "inst1"}).Want(t, "create", 201).Decode(t, &cr)
		ids = append(ids, cr.Data.ID)
	}
	var other struct{ Data cycletest.Image }
	e.c.Do("POST", "/v1/images", map[string]any{"source_id": "inst2"}).Want(t, "create", 201).Decode(t, &other)
	var d struct{ Data cycletest.JobDescriptor }
	e.c.Do("POST", "/v1/images/tasks", map[string]any{"action": "prune", "contents": map[string]any{"source_ids": []string{"inst1"}}}).Want(t, "prune", 202).Decode(t, &d)
	job := e.c.WaitJob(d.Data.Job.ID, 10*time.Second)
	if job.State.Current != "completed" || len(strings.Split(job.Tasks[0].Output["deleted"], ",")) != 2 {
		t.Errorf("prune job %+v", job)
	}
	for _, id := range ids {
		e.c.Do("GET", "/v1/images/"+id, nil).Want(t, "pruned", 404)
	}
	e.c.Do("GET", "/v1/images/"+other.Data.ID, nil).Want(t, "not pruned", 200)

	e.c.Do("POST", "/v1/images/9ea1f767eef20e43bea456e4/tasks", map[string]string{"action": "import"}).Want(t, "import", 200).Decode(t, &d)
	if d.Data.Action != "import" {
		t.Errorf("import %+v", d.Data)
	}
	job = e.c.WaitJob(d.Data.Job.ID, 10*time.Second)
	if job.State.Current != "completed" || job.Tasks[0].Output["changed"] != "false" {
		t.Errorf("import job %+v", job)
	}
}

// TestRestart: a delete job queued when the gateway stops completes after
// it starts again.
func TestRestart(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	slow := gateway.Config{JobPollInterval: time.Hour}
	srv := apitest.NewServerIn(t, slow, dir)
	keys := cycle.NewKeys(srv.Store, srv.Gateway.Secrets())
	h, _ := keys.AddHub(ctx, "main", "mock", "", model.Credentials{User: "mockuser", Password: "mockpassword"})
	_, secret, _ := keys.AddKey(ctx, h.ID, "admin", nil, 0)
	c := cycletest.New(t, srv.URL, secret, h.ID)
	var d struct{ Data cycletest.JobDescriptor }
	c.Do("DELETE", "/v1/images/9ea1f767eef20e43bea456e4", nil).Want(t, "delete", 200).Decode(t, &d)
	var j struct{ Data cycletest.Job }
	c.Do("GET", "/v1/jobs/"+d.Data.Job.ID, nil).Want(t, "job", 200).Decode(t, &j)
	if j.Data.State.Current != "queued" {
		t.Errorf("before restart: %s", j.Data.State.Current)
	}
	var img struct{ Data cycletest.Image }
	c.Do("GET", "/v1/images/9ea1f767eef20e43bea456e4", nil).Want(t, "deleting", 200).Decode(t, &img)
	if img.Data.State.Current != "deleting" {
		t.Errorf("image %s", img.Data.State.Current)
	}
	c.Do("DELETE", "/v1/images/9ea1f767eef20e43bea456e4", nil).Want(t, "delete again", 403)
	for q, want := range map[string]string{"filter[state]=deleting": "img1", "filter[state]=live&sort=name": "img2,img3", "filter[state]=live,deleting&sort=name": "img1,img2,img3"} {
		if got := strings.Join(names(t, c.Do("GET", "/v1/images?"+q, nil).Want(t, q, 200)), ","); got != want {
			t.Errorf("%s: %s, want %s", q, got, want)
		}
	}
	srv.Close()
	srv2 := apitest.NewServerIn(t, gateway.Config{JobPollInterval: 50 * time.Millisecond}, dir)
	c2 := cycletest.New(t, srv2.URL, secret, h.ID)
	if job := c2.WaitJob(d.Data.Job.ID, 10*time.Second); job.State.Current != "completed" {
		t.Errorf("after restart: %+v", job)
	}
	c2.WaitImage("9ea1f767eef20e43bea456e4", "deleted", time.Second)
}

// TestImportCopy: importing an image the hub's provider lacks but a
// sibling provider of the same driver has copies it into the hub's.
func TestImportCopy(t *testing.T) {
	cfg, err := gateway.ParseConfig(strings.NewReader("job_poll_interval: 50ms\nmock_create_delay: 200ms\nproviders:\n  - {name: mock, driver: mock}\n  - {name: test1, driver: mock}\n"))
	if err != nil {
		t.Fatal(err)
	}
	srv := apitest.NewServer(t, cfg)
	ctx := context.Background()
	keys := cycle.NewKeys(srv.Store, srv.Gateway.Secrets())
	creds := model.Credentials{User: "mockuser", Password: "mockpassword"}
	east, _ := keys.AddHub(ctx, "east", "mock", "mock", creds)
	west, _ := keys.AddHub(ctx, "west", "mock", "test1", creds)
	_, es, _ := keys.AddKey(ctx, east.ID, "e", nil, 0)
	_, ws, _ := keys.AddKey(ctx, west.ID, "w", nil, 0)
	w := cycletest.New(t, srv.URL, ws, west.ID)
	e := w.As(es, east.ID)
	var cr struct{ Data cycletest.Image }
	w.Do("POST", "/v1/images", map[string]any{"source_id": "inst1", "name": "from-west"}).Want(t, "create in west", 201).Decode(t, &cr)
	w.WaitImage(cr.Data.ID, "live", 10*time.Second)
	e.Do("GET", "/v1/images/"+cr.Data.ID, nil).Want(t, "not in east", 404)
	var d struct{ Data cycletest.JobDescriptor }
	e.Do("POST", "/v1/images/"+cr.Data.ID+"/tasks", map[string]string{"action": "import"}).Want(t, "import into east", 200).Decode(t, &d)
	job := e.WaitJob(d.Data.Job.ID, 10*time.Second)
	copied := job.Tasks[0].Output["copied"]
	if job.State.Current != "completed" || copied == "" || job.Tasks[0].Output["from"] != "test1" {
		t.Fatalf("import job %+v", job)
	}
	if img := e.WaitImage(copied, "live", time.Second); img.Name != "from-west" {
		t.Errorf("the copy in east: %+v", img)
	}
	e.Do("POST", "/v1/images/000000000000000000000000/tasks", map[string]string{"action": "import"}).Want(t, "import unknown", 404)
}

// TestValidatorCatches: the OpenAPI validation the tests rely on refuses
// answers that drift from the document, so a passing test means something.
func TestValidatorCatches(t *testing.T) {
	e := newEnv(t)
	doc := cycletest.Load(t, e.srv.URL)
	good := e.c.Do("GET", "/v1/images/9ea1f767eef20e43bea456e4", nil).Want(t, "img1", 200)
	req := func(method, path string) *http.Request {
		r, _ := http.NewRequest(method, e.srv.URL+path, nil)
		return r
	}
	hdr := http.Header{"Content-Type": {"application/json"}}
	if err := cycletest.Validate(doc, req("GET", "/v1/images/9ea1f767eef20e43bea456e4"), good); err != nil {
		t.Fatalf("the real answer: %v", err)
	}
	for _, tc := range []struct {
		name, method, path string
		status             int
		body               string
	}{
		{"image without hub_id", "GET", "/v1/images/x", 200, strings.Replace(string(good.Body), `"hub_id":`, `"hub":`, 1)},
		{"unknown image state", "GET", "/v1/images/x", 200, strings.Replace(string(good.Body), `"current":"live"`, `"current":"alive"`, 1)},
		{"extra image key", "GET", "/v1/images/x", 200, strings.Replace(string(good.Body), `"size":0,`, `"size":0,"color":"red",`, 1)},
		{"error code outside the table", "GET", "/v1/images/x", 404, `{"error":{"status":404,"code":"404.nothing","title":"x"},"data":null}`},
		{"error without title", "GET", "/v1/images/x", 404, `{"error":{"status":404,"code":"404.image"},"data":null}`},
		{"undocumented status", "GET", "/v1/images/x", 418, `{"error":{"status":418,"code":"404.image","title":"x"},"data":null}`},
		{"job in a bad state", "GET", "/v1/jobs/x", 200, `{"data":{"id":"x"}}`},
		{"unknown path, not an envelope", "GET", "/v1/zzz", 404, `{"oops":1}`},
	} {
		if err := cycletest.Validate(doc, req(tc.method, tc.path), cycletest.Response{Status: tc.status, Header: hdr, Body: []byte(tc.body)}); err == nil {
			t.Errorf("%s: validated", tc.name)
		}
	}
}
