package coopr_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/imagegw/imagegw/api/apitest"
)

func ec2Config(moto string, extra string) string {
	return `
providers:
  - {name: moto-east, driver: ec2, region: us-east-1, endpoint: "` + moto + `", access_key_id: ` + motoKey + `, secret_access_key: ` + motoSecret + `, instance_types: ["t2.*"]}
` + extra
}

// warm lets ec2 providers cache their instance types, which moto lists
// slowly (seconds for every type on a busy machine; the providers ask only
// for t2.*), before a deadline counts: a cold provider's first listing can
// outlast a short request_timeout.
func warm(t *testing.T, e *env, provs ...string) {
	t.Helper()
	for _, p := range provs {
		apitest.Call(t, "GET", e.srv.URL+"/api;driver=ec2;provider="+p+"/hardware_profiles", motoKey, motoSecret, nil).Want(t, "warm "+p, 200)
	}
}

type resolved struct {
	Name     string `json:"name"`
	Provider string `json:"provider"`
	Image    *struct {
		ID, Name, State string
	} `json:"image"`
	Error *struct {
		Status  int
		Message string
	} `json:"error"`
}

func TestRuleMappingNewestBySemver(t *testing.T) {
	moto := needMoto(t)
	e := newEnv(t, ec2Config(moto, ""))
	ids := map[string]string{}
	for _, n := range []string{"app-1.0.10", "app-1.0.12", "app-1.0.9"} { // the newest version is not the last made
		ids[n] = registerAMI(t, "us-east-1", n)
	}
	registerAMI(t, "us-east-1", "other-9.9.9")
	warm(t, e, "moto-east")
	rule := `{"name":"app","providermap":{"moto-east":{"match":{"owner_id":"` + motoAccount + `","name":"app-*","architecture":"x86_64"},"pick":"newest"},"mock":{"image":"img1"}}}`
	want(t, "POST rule", e.admin("POST", "/v2/imagetypes", rule), 200, "")
	want(t, "GET keeps the rule", e.admin("GET", "/v2/imagetypes/app", ""), 200,
		`{"name":"app","version":1,"providermap":{"mock":{"image":"img1"},"moto-east":{"match":{"architecture":"x86_64","name":"app-*","owner_id":"`+motoAccount+`"},"pick":"newest"}}}`)
	resolve := func(what, wantName string) {
		t.Helper()
		r := e.admin("GET", "/v2/imagetypes/app/resolve?provider=moto-east", "")
		r.Want(t, what, 200)
		var got resolved
		r.Decode(t, &got)
		if got.Image == nil || got.Image.Name != wantName || got.Image.ID != ids[wantName] || got.Image.State != "available" {
			t.Fatalf("%s: %s; want %s (%s)", what, r.Body, wantName, ids[wantName])
		}
	}
	resolve("resolve", "app-1.0.12")
	// deregistered through the gateway: the catalog knows at once
	d := apitest.Call(t, "DELETE", e.srv.URL+"/api;driver=ec2;provider=moto-east/images/"+ids["app-1.0.12"], motoKey, motoSecret, nil)
	if d.Status != 204 && d.Status != 200 {
		t.Fatalf("native delete: %d %s", d.Status, d.Body)
	}
	resolve("resolve after deregistering app-1.0.12", "app-1.0.10")

	want(t, "a rule that matches nothing", e.admin("POST", "/v2/imagetypes",
		`{"name":"none","providermap":{"moto-east":{"match":{"name":"nothing-*"},"pick":"newest"}}}`), 400,
		"invalid input: no available image matches the rule in provider moto-east")
	want(t, "a rule with a bad key", e.admin("POST", "/v2/imagetypes",
		`{"name":"bad","providermap":{"moto-east":{"match":{"colour":"blue"},"pick":"oldest"}}}`), 400,
		`invalid input: provider moto-east: pick must be "newest"; provider moto-east: match key colour is not one of architecture, name, owner_id`)
	want(t, "unknown AMI", e.admin("POST", "/v2/imagetypes",
		`{"name":"gone","providermap":{"moto-east":{"image":"ami-00000000deadbeef0"}}}`), 400,
		"invalid input: image ami-00000000deadbeef0 not found in provider moto-east")
}

func TestResolveAllWithAProviderThatNeverAnswers(t *testing.T) {
	moto := needMoto(t)
	dead := newSwitchable(t, moto)
	const deadline = 2 * time.Second
	e := newEnv(t, ec2Config(moto, `  - {name: dead, driver: ec2, region: us-east-1, endpoint: "`+dead.URL+`", access_key_id: `+motoKey+`, secret_access_key: `+motoSecret+`, max_attempts: 1, instance_types: ["t2.*"], request_timeout: `+deadline.String()+`}
`))
	ami := registerAMI(t, "us-east-1", "centos-7.9")
	warm(t, e, "moto-east", "dead")
	want(t, "POST while every provider answers", e.admin("POST", "/v2/imagetypes",
		`{"name":"centos7","providermap":{"mock":{"image":"img1"},"moto-east":{"image":"`+ami+`"},"dead":{"image":"`+ami+`"}}}`), 200, "")
	dead.hang.Store(true)

	start := time.Now()
	r := e.admin("GET", "/v2/imagetypes/centos7/resolve?provider=*", "")
	took := time.Since(start)
	r.Want(t, "resolve all", 200)
	var all struct {
		Providers map[string]resolved `json:"providers"`
	}
	if err := json.Unmarshal(r.Body, &all); err != nil {
		t.Fatal(err)
	}
	if p := all.Providers["mock"]; p.Image == nil || p.Image.ID != "img1" {
		t.Errorf("mock: %+v", p)
	}
	if p := all.Providers["moto-east"]; p.Image == nil || p.Image.ID != ami {
		t.Errorf("moto-east: %+v", p)
	}
	if p := all.Providers["dead"]; p.Error == nil || p.Error.Status != 503 || p.Error.Message != "provider dead unavailable: no answer within 2s" {
		t.Errorf("dead: %+v (body %s)", p, r.Body)
	}
	if took > deadline+time.Second {
		t.Errorf("resolve all took %v; want about the dead provider's deadline %v", took, deadline)
	}
	if took < deadline {
		t.Errorf("resolve all took %v, less than the dead provider's deadline %v: did it wait for it?", took, deadline)
	}

	want(t, "resolve the dead one", e.admin("GET", "/v2/imagetypes/centos7/resolve?provider=dead", ""), 503, "provider dead unavailable: no answer within 2s")
	start = time.Now()
	want(t, "a write naming it", e.admin("POST", "/v2/imagetypes",
		`{"name":"c2","providermap":{"moto-east":{"image":"`+ami+`"},"dead":{"image":"`+ami+`"}}}`), 503, "provider dead unavailable: no answer within 2s")
	if took := time.Since(start); took > deadline+time.Second {
		t.Errorf("the failed write took %v", took)
	}
	want(t, "nothing stored", e.admin("GET", "/v2/imagetypes/c2", ""), 404, "image type c2 not found")
	want(t, "problems beat unavailability", e.admin("POST", "/v2/imagetypes",
		`{"name":"c3","providermap":{"moto-east":{"image":"ami-00000000deadbeef0"},"dead":{"image":"`+ami+`"}}}`), 400, "invalid input: image ami-00000000deadbeef0 not found in provider moto-east")
}
