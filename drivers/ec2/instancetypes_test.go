package ec2_test

import (
	"context"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/imagegw/imagegw/drivers"
	"github.com/imagegw/imagegw/model"
)

// instanceTypesDouble answers DescribeInstanceTypes with the given types
// whatever the filter (EC2 may answer a superset of what the patterns
// mean), DescribeImages with one x86_64 image, and records the calls.
func instanceTypesDouble(t *testing.T, typs ...string) *double {
	return newDouble(t, func(_ *http.Request, f url.Values) (int, string) {
		switch f.Get("Action") {
		case "DescribeInstanceTypes":
			var items string
			for _, typ := range typs {
				items += `<item><instanceType>` + typ + `</instanceType><vCpuInfo><defaultVCpus>2</defaultVCpus></vCpuInfo><memoryInfo><sizeInMiB>1024</sizeInMiB></memoryInfo><processorInfo><supportedArchitectures><item>x86_64</item></supportedArchitectures></processorInfo></item>`
			}
			return 200, respond("DescribeInstanceTypes", `<instanceTypeSet>`+items+`</instanceTypeSet>`)
		case "DescribeImages":
			return 200, respond("DescribeImages", `<imagesSet>`+imageItem("ami-1", "available", "")+`</imagesSet>`)
		}
		return 400, awsError("InvalidAction", "unexpected "+f.Get("Action"), "r")
	})
}

// filterValues returns the values of the named filter of a recorded call,
// and whether the call has that filter.
func filterValues(call url.Values, name string) ([]string, bool) {
	for i := 1; ; i++ {
		n := call.Get("Filter." + strconv.Itoa(i) + ".Name")
		if n == "" {
			return nil, false
		}
		if n != name {
			continue
		}
		var vals []string
		for j := 1; call.Has("Filter." + strconv.Itoa(i) + ".Value." + strconv.Itoa(j)); j++ {
			vals = append(vals, call.Get("Filter."+strconv.Itoa(i)+".Value."+strconv.Itoa(j)))
		}
		return vals, true
	}
}

// TestInstanceTypesPatternsPushedDown: a provider with instance_types asks
// EC2 for those types only (the instance-type filter takes wildcards), and
// still offers exactly what the patterns mean when EC2 answers more.
func TestInstanceTypesPatternsPushedDown(t *testing.T) {
	all := []string{"m5.large", "m6g.large", "t3.large", "t3.micro", "t3a.micro"}
	tests := []struct {
		name     string
		patterns []any
		filter   []string // nil: no instance-type filter in the request
		offered  string
	}{
		{"no patterns: every type, no filter", nil, nil, "m5.large,m6g.large,t3.large,t3.micro,t3a.micro"},
		{"families and a type", []any{"t3.*", "m6g.large"}, []string{"t3.*", "m6g.large"}, "m6g.large,t3.large,t3.micro"},
		// EC2 documents "?" as "zero or one character": it may answer
		// t3.micro too, which the setting's path.Match semantics exclude.
		{"question mark is one character", []any{"t3?.micro"}, []string{"t3?.micro"}, "t3a.micro"},
		// EC2 has no character classes: not pushed, filtered here.
		{"character class is not pushed", []any{"t3.[lm]*", "m5.*"}, nil, "m5.large,t3.large,t3.micro"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d := instanceTypesDouble(t, all...)
			var extra map[string]any
			if tc.patterns != nil {
				extra = map[string]any{"instance_types": tc.patterns}
			}
			drv := d.driver(t, extra)
			hps, err := drv.ListHardwareProfiles(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			var ids []string
			for _, hp := range hps {
				ids = append(ids, hp.ID)
			}
			if got := strings.Join(ids, ","); got != tc.offered {
				t.Errorf("offered %s, want %s", got, tc.offered)
			}
			calls := d.actions("DescribeInstanceTypes")
			if len(calls) != 1 {
				t.Fatalf("%d DescribeInstanceTypes calls, want 1", len(calls))
			}
			vals, ok := filterValues(calls[0], "instance-type")
			if tc.filter == nil {
				if ok {
					t.Errorf("request has instance-type filter %v, want none", vals)
				}
				return
			}
			sort.Strings(vals)
			want := append([]string(nil), tc.filter...)
			sort.Strings(want)
			if strings.Join(vals, " ") != strings.Join(want, " ") {
				t.Errorf("instance-type filter = %v (request %v), want %v", vals, calls[0], want)
			}
		})
	}
}

// TestInstanceTypesHeldByTheCatalog: the instance types are one shared part
// of the provider, fetched once for every set of credentials when the
// gateway's catalog keeps it, and fetched per call when it keeps nothing
// (catalog_ttl: 0): the driver itself does not cache.
func TestInstanceTypesHeldByTheCatalog(t *testing.T) {
	tests := []struct {
		name    string
		shared  drivers.Shared
		fetches int
	}{
		{"catalog holds the part", newCatalogParts(), 1},
		{"no catalog", drivers.NoShared{}, 4},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d := instanceTypesDouble(t, "t3.micro", "t3.large")
			p := d.provider(t, nil, drivers.Env{Shared: tc.shared})
			ctx := context.Background()
			for _, creds := range []model.Credentials{{User: testKey, Password: testSecret}, {User: "AKIDOTHER", Password: "other-secret"}} {
				drv, err := p.Connect(ctx, creds)
				if err != nil {
					t.Fatal(err)
				}
				imgs, err := drv.ListImages(ctx, model.ImageQuery{})
				if err != nil || len(imgs) != 1 || strings.Join(imgs[0].HardwareProfiles, ",") != "t3.large,t3.micro" {
					t.Fatalf("ListImages = %+v, %v; want ami-1 fitting both types", imgs, err)
				}
				hps, err := drv.ListHardwareProfiles(ctx)
				if err != nil || len(hps) != 2 {
					t.Fatalf("ListHardwareProfiles = %+v, %v", hps, err)
				}
			}
			if n := len(d.actions("DescribeInstanceTypes")); n != tc.fetches {
				t.Errorf("%d DescribeInstanceTypes calls for two callers' lists and profiles, want %d", n, tc.fetches)
			}
			if c, ok := tc.shared.(*catalogParts); ok && c.count("instance-types") != 1 {
				t.Errorf("the part was fetched %d times, want once", c.count("instance-types"))
			}
		})
	}
}

// TestInstanceTypesFilterAtMoto: through the gateway, a cold provider with
// instance_types sends its patterns in the DescribeInstanceTypes request
// (counted at the SDK's transport) and offers exactly the types the
// patterns mean; a provider without instance_types sends no filter and
// offers all of moto's types. (moto answers DescribeInstanceTypes in one
// page whatever MaxResults says, so the pages saved on AWS do not show here;
// see TestInstanceTypesPatternsPushedDown for the request itself.)
func TestInstanceTypesFilterAtMoto(t *testing.T) {
	s := needMoto(t)
	tests := []struct {
		provider, settings string
		filter             []string
		profiles           string // "" = don't check the list, only its size
		minProfiles        int
	}{
		{"moto-types", `instance_types: ["t3.*", "m6g.large"]`, []string{"t3.*", "m6g.large"},
			"m6g.large,t3.2xlarge,t3.large,t3.medium,t3.micro,t3.nano,t3.small,t3.xlarge", 8},
		{"moto-types-all", `owners: []`, nil, "", 1000},
	}
	counters := map[string]*callCounter{}
	extra := ""
	for _, tc := range tests {
		counters[tc.provider] = countCalls(t, tc.provider)
		extra += `  - {name: ` + tc.provider + `, driver: ec2, region: us-east-1, endpoint: "` + s.URL + `", ` + tc.settings + "}\n"
	}
	srv := e2eServer(t, s, extra)
	for _, tc := range tests {
		t.Run(tc.provider, func(t *testing.T) {
			r := call(t, "GET", srv.URL+"/api;driver=ec2;provider="+tc.provider+"/hardware_profiles?format=json", testKey, testSecret)
			r.Want(t, "hardware profiles", 200)
			var list struct {
				Profiles []struct {
					Profile struct {
						ID string `json:"id"`
					} `json:"hardware_profile"`
				} `json:"hardware_profiles"`
			}
			r.Decode(t, &list)
			var ids []string
			for _, hp := range list.Profiles {
				ids = append(ids, hp.Profile.ID)
			}
			sort.Strings(ids)
			if len(ids) < tc.minProfiles || (tc.profiles != "" && strings.Join(ids, ",") != tc.profiles) {
				t.Errorf("profiles = %d %v, want %s (at least %d)", len(ids), ids, tc.profiles, tc.minProfiles)
			}
			reqs := counters[tc.provider].actions("DescribeInstanceTypes")
			if len(reqs) == 0 {
				t.Fatal("no DescribeInstanceTypes request")
			}
			for _, req := range reqs {
				vals, ok := filterValues(req, "instance-type")
				if strings.Join(vals, " ") != strings.Join(tc.filter, " ") || ok != (tc.filter != nil) {
					t.Errorf("DescribeInstanceTypes instance-type filter = %v (%v), want %v", vals, ok, tc.filter)
				}
			}
		})
	}
}
