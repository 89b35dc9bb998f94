package deltacloud_test

import (
	"regexp"
	"strings"
	"testing"
	"time"
)

var browser = map[string]string{"Accept": chrome}

var browserForm = map[string]string{"Accept": chrome, "Content-Type": "application/x-www-form-urlencoded"}

func wantPage(t *testing.T, what string, r resp, want ...string) {
	t.Helper()
	if r.status != 200 {
		t.Fatalf("%s: %d %.400s", what, r.status, r.body)
	}
	for _, w := range want {
		if !strings.Contains(r.body, w) {
			t.Errorf("%s lacks %q:\n%s", what, w, r.body)
		}
	}
}

// TestConsolePages: what a person sees in the console: an entry page that
// links every collection and the jobs, a stylesheet from the gateway, a
// viewport for phones, sizes with their units, an instance page with the
// create-image form and words instead of API names.
func TestConsolePages(t *testing.T) {
	s := newServer(t, "")
	entry := do(t, s, req{path: "/api", auth: true, headers: browser})
	wantPage(t, "entry page", entry, `<meta name="viewport"`, `<link rel="stylesheet" href="`+s.URL+`/api/console.css">`,
		`href="`+s.URL+`/api/images">Images</a>`, `href="`+s.URL+`/api/hardware_profiles">Hardware profiles</a>`,
		`href="`+s.URL+`/api/realms">Realms</a>`, `href="`+s.URL+`/api/instances">Instances</a>`,
		`href="`+s.URL+`/api/drivers">Drivers</a>`, `href="`+s.URL+`/api/jobs">Jobs</a>`, `name="search"`)
	if strings.Contains(entry.body, "http://") && regexp.MustCompile(`(src|href)="https?://(?:[^1]|1[^2])`).MatchString(entry.body) {
		t.Errorf("entry page refers to another host:\n%s", entry.body)
	}

	css := do(t, s, req{path: "/api/console.css"})
	if css.status != 200 || css.header.Get("Content-Type") != "text/css; charset=utf-8" || !strings.Contains(css.body, "@media") {
		t.Errorf("stylesheet: %d %q %.100s", css.status, css.header.Get("Content-Type"), css.body)
	}

	wantPage(t, "profiles", do(t, s, req{path: "/api/hardware_profiles", headers: browser}),
		"<th>CPU</th>", "<td>1 vCPU</td>", "1740.8 MB", "160 GB", "1–6 vCPUs (default 1)", "7680–15360 MB", "one of 850, 1024 GB")

	inst := do(t, s, req{path: "/api/instances/inst1", auth: true, headers: browser})
	wantPage(t, "instance page", inst, `<form method="post" class="filters" action="`+s.URL+`/api/images"><input type="hidden" name="instance_id" value="inst1">`,
		`<input type="text" name="name"`, `<button type="submit">Create image</button>`)
	wantPage(t, "inst3's page", do(t, s, req{path: "/api/instances/inst3", auth: true, headers: browser}), "This instance cannot be imaged.")
	wantPage(t, "instances", do(t, s, req{path: "/api/instances", auth: true, headers: browser}), `/api/instances/inst1#create-image">Create image…</a>`)

	for _, p := range []string{"/api", "/api/images", "/api/images/img1", "/api/instances", "/api/instances/inst1", "/api/jobs", "/api/hardware_profiles", "/api/realms"} {
		r := do(t, s, req{path: p, auth: true, headers: browser})
		for _, apiName := range []string{"destroy_image", "create_image", "update_image", "owner_id", "creation_time"} {
			if regexp.MustCompile(`>[^<]*` + apiName).MatchString(r.body) {
				t.Errorf("%s shows %q to people", p, apiName)
			}
		}
	}
}

// TestConsoleImageList: search, filters, natural id order, per-row
// actions and paging with the catalog's limit and marker.
func TestConsoleImageList(t *testing.T) {
	s := newServer(t, "mock_create_delay: 0s\njob_poll_interval: 10ms\n")
	for range 8 { // img4 .. img11
		if r := do(t, s, req{method: "POST", path: "/api/images", auth: true, headers: browserForm, body: "instance_id=inst1"}); r.status != 303 {
			t.Fatalf("create: %d %s", r.status, r.body)
		}
	}
	list := do(t, s, req{path: "/api/images", auth: true, headers: browser})
	wantPage(t, "image list", list, `<form class="filters" method="get" role="search"`, `name="search"`, `<select name="state">`,
		`<select name="architecture">`, `<select name="sort">`, `/api/images/img5?confirm=delete">Delete…</a>`)
	if a, b := strings.Index(list.body, `>img5</a>`), strings.Index(list.body, `>img10</a>`); a < 0 || b < 0 || a > b {
		t.Errorf("img5 (at %d) does not come before img10 (at %d)", a, b)
	}
	byID := do(t, s, req{path: "/api/images?sort=id&limit=50", auth: true, headers: browser})
	if a, b := strings.Index(byID.body, `>img5</a>`), strings.Index(byID.body, `>img10</a>`); a < 0 || b < 0 || a > b {
		t.Errorf("sorted by id, img5 (at %d) does not come before img10 (at %d)", a, b)
	}

	found := do(t, s, req{path: "/api/images?search=jboss", auth: true, headers: browser})
	wantPage(t, "search", found, ">img3</a>", `value="jboss"`)
	if strings.Contains(found.body, ">img1</a>") {
		t.Errorf("search jboss shows img1")
	}
	if r := do(t, s, req{path: "/api/images?state=failed", auth: true, headers: browser}); !strings.Contains(r.body, "No images match.") {
		t.Errorf("state=failed: %s", r.body)
	}

	page1 := do(t, s, req{path: "/api/images?limit=5", auth: true, headers: browser})
	next := regexp.MustCompile(`<a rel="next" href="([^"]+)">Next page »</a>`).FindStringSubmatch(page1.body)
	if next == nil {
		t.Fatalf("page 1 of 5 has no next link:\n%s", page1.body)
	}
	page2 := do(t, s, req{path: strings.TrimPrefix(strings.ReplaceAll(next[1], "&amp;", "&"), s.URL), auth: true, headers: browser})
	wantPage(t, "page 2", page2, "« First page", "limit=5")
	rows := func(b string) []string {
		return regexp.MustCompile(`<tr><td><a href="[^"]+">([^<]+)</a>`).FindAllString(b, -1)
	}
	if n1, n2 := len(rows(page1.body)), len(rows(page2.body)); n1 != 5 || n2 != 5 {
		t.Errorf("pages have %d and %d rows, want 5 and 5", n1, n2)
	}
	for _, r := range rows(page2.body) {
		if strings.Contains(page1.body, r) {
			t.Errorf("page 2 repeats %s", r)
		}
	}
}

// TestConsoleCreateFollowsJob: a create from the browser goes (303) to the
// new image, whose page shows its job and refreshes itself until the job
// ends; a reload of that page makes no second image.
func TestConsoleCreateFollowsJob(t *testing.T) {
	s := newServer(t, "mock_create_delay: 600ms\njob_poll_interval: 20ms\n")
	r := do(t, s, req{method: "POST", path: "/api/images", auth: true, headers: browserForm, body: "instance_id=inst1&name=web&description="})
	if r.status != 303 || r.header.Get("Location") != s.URL+"/api/images/img4" {
		t.Fatalf("create: %d Location %q", r.status, r.header.Get("Location"))
	}
	p := do(t, s, req{path: "/api/images/img4", auth: true, headers: browser})
	wantPage(t, "pending image", p, "PENDING", "<h2>Job</h2>", "Create image", `class="state RUNNING"`, "refreshes itself")
	if p.header.Get("Refresh") != "2" {
		t.Errorf("pending image page has Refresh %q, want 2", p.header.Get("Refresh"))
	}
	job := regexp.MustCompile(`/api/jobs/([0-9a-f-]+)">job details`).FindStringSubmatch(p.body)
	if job == nil {
		t.Fatalf("no job link:\n%s", p.body)
	}
	if j := do(t, s, req{path: "/api/jobs/" + job[1], auth: true, headers: browser}); j.header.Get("Refresh") != "2" {
		t.Errorf("running job page has Refresh %q", j.header.Get("Refresh"))
	}
	deadline := 100
	for ; deadline > 0; deadline-- {
		p = do(t, s, req{path: "/api/images/img4", auth: true, headers: browser})
		if p.header.Get("Refresh") == "" {
			break
		}
		sleep(50)
	}
	wantPage(t, "available image", p, `class="state AVAILABLE"`, `class="state SUCCEEDED"`)
	if strings.Contains(p.body, "refreshes itself") {
		t.Errorf("finished image still says it refreshes")
	}
	if l := do(t, s, req{path: "/api/images?format=json", auth: true}); strings.Contains(l.body, `"img5"`) {
		t.Errorf("a second image was made")
	}
	wantPage(t, "jobs", do(t, s, req{path: "/api/jobs", auth: true, headers: browser}), "Create image", "SUCCEEDED", ">img4</a>")
}

func sleep(ms int) { time.Sleep(time.Duration(ms) * time.Millisecond) }

// TestConsoleFailedJob: an image whose job fails says so on its page, with
// the cloud's reason, and stops refreshing.
func TestConsoleFailedJob(t *testing.T) {
	s := newServer(t, "job_poll_interval: 20ms\ndefault_driver: mock\ndefault_provider: flaky\nproviders:\n  - {name: flaky, driver: mock, create_delay: 100ms, fail_instances: [inst2]}\n")
	r := do(t, s, req{method: "POST", path: "/api/images", auth: true, headers: browserForm, body: "instance_id=inst2"})
	if r.status != 303 {
		t.Fatalf("create: %d %s", r.status, r.body)
	}
	loc := strings.TrimPrefix(r.header.Get("Location"), s.URL)
	var p resp
	for range 100 {
		if p = do(t, s, req{path: loc, auth: true, headers: browser}); p.header.Get("Refresh") == "" {
			break
		}
		sleep(50)
	}
	wantPage(t, "failed image", p, `class="state FAILED"`, "fault injection")
	if p.header.Get("Refresh") != "" {
		t.Errorf("a failed image's page still refreshes")
	}
}
