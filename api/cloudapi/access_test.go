package cloudapi_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/imagegw/imagegw/accounts"
	"github.com/imagegw/imagegw/api/apitest"
	"github.com/imagegw/imagegw/api/cloudapi/httpsig"
	"github.com/imagegw/imagegw/gateway"
	"github.com/imagegw/imagegw/model"
)

// listIDs lists an account's images (all states) and returns their ids.
func listIDs(t *testing.T, c *client) map[string]bool {
	t.Helper()
	r := c.do("GET", "/"+c.login+"/images?state=all", nil)
	want(t, r, 200, "")
	var imgs []struct{ ID string }
	r.json(t, &imgs)
	out := map[string]bool{}
	for _, i := range imgs {
		out[i.ID] = true
	}
	return out
}

// TestOwnership: an account reads public images and its own; another
// account's private image is 403 NotAuthorized for every operation and
// never listed; only the owner changes, exports or deletes an image, even
// when both accounts act with the same cloud credentials (the owner is the
// creator the gateway recorded).
func TestOwnership(t *testing.T) {
	e := setup(t, "")
	a, b := e.alice, e.bob
	r := a.do("POST", "/alice/images", map[string]any{"machine": inst1UUID, "name": "alices", "version": "1.0.0"})
	want(t, r, 201, "")
	var created struct{ ID string }
	r.json(t, &created)
	priv := created.ID
	waitState(t, a, priv, "active")

	if !listIDs(t, a)[priv] {
		t.Errorf("alice's list lacks her image %s", priv)
	}
	if bl := listIDs(t, b); bl[priv] || !bl[img1UUID] {
		t.Errorf("bob's list: has alice's private image %v (want false), the public img1 %v (want true)", bl[priv], bl[img1UUID])
	}

	ops := []struct {
		name, method, path string
		body               any
	}{
		{"get", "GET", "/images/%s", nil},
		{"update", "POST", "/images/%s?action=update", map[string]any{"name": "taken"}},
		{"clone", "POST", "/images/%s?action=clone", nil},
		{"export", "POST", "/images/%s?action=export", map[string]any{"manta_path": "/%l/stor/x"}},
		{"delete", "DELETE", "/images/%s", nil},
	}
	path := func(c *client, p, id string) string { return "/" + c.login + replaceID(p, id) }
	for _, tc := range []struct {
		who   *client
		image string
		allow map[string]bool // ops answered 2xx; the others 403 NotAuthorized
	}{
		{b, priv, map[string]bool{}},
		{b, img1UUID, map[string]bool{"get": true, "clone": true}},
	} {
		for _, op := range ops {
			body := op.body
			if m, ok := body.(map[string]any); ok && m["manta_path"] != nil {
				body = map[string]any{"manta_path": "/" + tc.who.login + "/stor/x"}
			}
			r := tc.who.do(op.method, path(tc.who, op.path, tc.image), body)
			if tc.allow[op.name] {
				if r.StatusCode/100 != 2 {
					t.Errorf("%s %s of %s: %d, want 2xx; %s", tc.who.login, op.name, tc.image, r.StatusCode, r.body)
				}
				continue
			}
			if r.StatusCode != http.StatusForbidden || r.code(t) != "NotAuthorized" {
				t.Errorf("%s %s of %s: %d %s, want 403 NotAuthorized", tc.who.login, op.name, tc.image, r.StatusCode, r.body)
			}
		}
	}
	// the owner still can do everything, and nothing bob tried changed it
	img := waitState(t, a, priv, "active")
	if img["name"] != "alices" {
		t.Errorf("alice's image after bob's attempts: %v", img)
	}
	for _, op := range ops {
		body := op.body
		if m, ok := body.(map[string]any); ok && m["manta_path"] != nil {
			body = map[string]any{"manta_path": "/alice/stor/x"}
		}
		if r := a.do(op.method, path(a, op.path, priv), body); r.StatusCode/100 != 2 {
			t.Errorf("alice %s of her image: %d %s", op.name, r.StatusCode, r.body)
		}
	}
}

func replaceID(p, id string) string {
	for i := 0; i+1 < len(p); i++ {
		if p[i] == '%' && p[i+1] == 's' {
			return p[:i] + id + p[i+2:]
		}
	}
	return p
}

// TestDatacenterURLFromPublicURL: without cloudapi.datacenters the
// datacenter URL is the gateway's public_url, never the request's Host.
func TestDatacenterURLFromPublicURL(t *testing.T) {
	cfg, err := gateway.ParseConfig(strings.NewReader("public_url: https://images.example.com/\n"))
	if err != nil {
		t.Fatal(err)
	}
	srv := apitest.NewServer(t, cfg)
	priv, pub := newKey(t)
	accts := accounts.New(srv.Store, srv.Gateway.Secrets())
	ctx := context.Background()
	if _, err := accts.Add(ctx, accounts.Account{Login: "dana", Email: "d@example.com", Driver: "mock",
		Credentials: map[string]model.Credentials{"mock": {User: "mockuser", Password: "mockpassword"}}}); err != nil {
		t.Fatal(err)
	}
	k, err := accts.AddKey(ctx, "dana", "", pub)
	if err != nil {
		t.Fatal(err)
	}
	c := &client{t: t, base: srv.URL, login: "dana", keyID: "/dana/keys/" + k.Fingerprint, signer: priv,
		alg: "ed25519-sha512", form: httpsig.FormRequestTarget, accept: "~9"}
	r := c.do("GET", "/my/datacenters", nil) // arrives as 127.0.0.1:port
	want(t, r, 200, "")
	var dcs map[string]string
	r.json(t, &dcs)
	if dcs["mock"] != "https://images.example.com" {
		t.Errorf("datacenters %v, want mock at public_url", dcs)
	}
}
