package ec2_test

import (
	"sort"
	"strings"
	"testing"
)

// The gateway's catalog in front of EC2: what it saves the cloud, counted
// at the SDK's HTTP transport (countCalls) of providers the gateway opens.

// listIDs lists images through the native front and returns their ids,
// sorted.
func listIDs(t *testing.T, url string) []string {
	t.Helper()
	r := call(t, "GET", url, testKey, testSecret)
	r.Want(t, "GET "+url, 200)
	var list struct {
		Images []struct {
			Image imageJSON `json:"image"`
		} `json:"images"`
	}
	r.Decode(t, &list)
	var ids []string
	for _, it := range list.Images {
		ids = append(ids, it.Image.ID)
	}
	sort.Strings(ids)
	return ids
}

// TestCatalogOneDescribeImagesWithinTTL: two lists of one provider by one
// caller within the catalog's TTL (the default 60 s) make one DescribeImages
// call, and both answer the same images; the instance types behind each
// image's profiles are fetched once too.
//
// It needs the gateway's catalog (issue 9) and fails without it: each list
// is then a DescribeImages round trip.
func TestCatalogOneDescribeImagesWithinTTL(t *testing.T) {
	s := needMoto(t)
	calls := countCalls(t, "moto-catalog")
	srv := e2eServer(t, s, `  - {name: moto-catalog, driver: ec2, region: us-east-1, endpoint: "`+s.URL+`", owners: ["`+canonical+`"], instance_types: ["t3.*"]}
`)
	url := srv.URL + "/api;driver=ec2;provider=moto-catalog/images?format=json"

	first := listIDs(t, url)
	second := listIDs(t, url)
	if len(first) == 0 {
		t.Fatalf("listed no images; want moto's seeded images of %s", canonical)
	}
	if strings.Join(first, ",") != strings.Join(second, ",") {
		t.Errorf("second list = %v, first = %v; want the same images", second, first)
	}
	if n := len(calls.actions("DescribeImages")); n != 1 {
		t.Errorf("two lists within the TTL made %d DescribeImages calls, want 1 (the second answered from the catalog)", n)
	}
	if n := len(calls.actions("DescribeInstanceTypes")); n > 1 {
		t.Errorf("two lists made %d DescribeInstanceTypes calls, want at most 1 (a part the catalog holds per provider)", n)
	}
}
