package triton

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const (
	img1UUID  = "1d7d3268-b4b6-5b27-af09-69ee5896f88d"
	inst1UUID = "c9e8aefe-3fa6-5f5f-b513-824b401ed2f4"
	m1Large   = "98843242-b641-5c67-bdcf-73e998e5d0f5"
)

func ndjson(t *testing.T, out string) []map[string]any {
	t.Helper()
	var l []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		if line == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("not NDJSON: %q: %v", line, err)
		}
		l = append(l, m)
	}
	return l
}

func object(t *testing.T, out string) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(out), &m); err != nil {
		t.Fatalf("not a JSON object: %q: %v", out, err)
	}
	return m
}

func array(t *testing.T, out string) []map[string]any {
	t.Helper()
	var l []map[string]any
	if err := json.Unmarshal([]byte(out), &l); err != nil {
		t.Fatalf("not a JSON array: %q: %v", out, err)
	}
	return l
}

func names(l []map[string]any) string {
	var n []string
	for _, m := range l {
		n = append(n, m["name"].(string))
	}
	return strings.Join(n, ",")
}

// TestTritonCLI runs the command sequence of docs/api/cloudapi.md with the
// real triton and smartdc clients against the gateway on the mock.
func TestTritonCLI(t *testing.T) {
	prefix := clients(t)
	g := startGateway(t)
	home := t.TempDir()
	rsaPub, rsaFP := keypair(t, home, "rsa", "id_rsa")
	edPub, edFP := keypair(t, home, "ed25519", "id_ed25519")
	ecPub, ecFP := keypair(t, home, "ecdsa", "id_ecdsa")
	_, strangerFP := keypair(t, home, "rsa", "id_stranger") // in ~/.ssh, never registered
	g.addAccount(t, "testuser", rsaPub)
	g.addAccount(t, "eduser", edPub)
	g.addAccount(t, "ecuser", ecPub)
	waitPing(t, g.urls["mock"])
	waitPing(t, g.urls["test1"])
	c := newCLI(t, prefix, home, g.urls["mock"], "testuser", rsaFP)

	t.Run("image list", func(t *testing.T) {
		l := ndjson(t, c.ok("triton", "image", "list", "-j").stdout)
		if names(l) != "img1,img2,img3" || l[0]["id"] != img1UUID {
			t.Errorf("image list -j: %v", l)
		}
		table := c.ok("triton", "image", "list").stdout
		if !strings.HasPrefix(table, "SHORTID") || !strings.Contains(table, "1d7d3268  img1  1.0.0") {
			t.Errorf("image list:\n%s", table)
		}
		if l := ndjson(t, c.ok("triton", "image", "list", "-j", "-a", "name=~mg2").stdout); names(l) != "img2" {
			t.Errorf("name=~mg2: %v", names(l))
		}
	})

	t.Run("image get", func(t *testing.T) {
		for _, ref := range []string{img1UUID, "img1", "img1@1.0.0", "1d7d3268"} {
			m := object(t, c.ok("triton", "image", "get", ref).stdout)
			if m["id"] != img1UUID || m["name"] != "img1" || m["owner"] != "9617ce81-af52-5ae4-93e2-5132bb6969a7" {
				t.Errorf("image get %s: %v", ref, m)
			}
		}
	})

	var created string
	t.Run("image create -w", func(t *testing.T) {
		r := c.ok("triton", "image", "create", inst1UUID, "myimg", "1.0.0", "-w")
		if !strings.Contains(r.stdout, "Created image") {
			t.Fatalf("image create: %s", r)
		}
		created = uuidRE.FindString(r.stdout)
		m := object(t, c.ok("triton", "image", "get", created).stdout)
		if m["state"] != "active" || m["name"] != "myimg" || m["version"] != "1.0.0" || m["public"] != false {
			t.Errorf("created image: %v", m)
		}
	})
	if created == "" {
		t.Fatal("no image created")
	}

	t.Run("image update", func(t *testing.T) {
		c.ok("triton", "image", "update", created, "name=myimg2", "version=1.0.1", "description=updated")
		m := object(t, c.ok("triton", "image", "get", created).stdout)
		if m["name"] != "myimg2" || m["version"] != "1.0.1" || m["description"] != "updated" {
			t.Errorf("updated image: %v", m)
		}
		// name@version lookups see the overlay version
		c.ok("triton", "image", "get", "myimg2@1.0.1")
	})

	var clone string
	t.Run("image clone", func(t *testing.T) {
		r := c.ok("triton", "image", "clone", created)
		ids := uuidRE.FindAllString(r.stdout, -1)
		if len(ids) != 2 || ids[0] != created {
			t.Fatalf("image clone: %s", r)
		}
		clone = ids[1]
		c.ok("triton", "image", "get", clone)
	})

	t.Run("image copy", func(t *testing.T) {
		r := c.ok("triton", "image", "copy", created, "test1")
		if !strings.Contains(r.stdout, "Copied image") || !strings.Contains(r.stdout, "test1") {
			t.Fatalf("image copy: %s", r)
		}
		dc := c.with("TRITON_URL=" + g.urls["test1"])
		l := ndjson(t, dc.ok("triton", "image", "list", "-j", "-a", "name=myimg2").stdout)
		if len(l) != 1 || l[0]["version"] != "1.0.1" {
			t.Errorf("copy in test1: %v", l)
		}
		dcs := c.ok("triton", "datacenters").stdout
		if !strings.Contains(dcs, "test1") || !strings.Contains(dcs, g.urls["test1"]) {
			t.Errorf("datacenters:\n%s", dcs)
		}
	})

	t.Run("image export", func(t *testing.T) {
		r := c.ok("triton", "image", "export", created, "/testuser/stor/x")
		if !strings.Contains(r.stdout, "/testuser/stor/x.imgmanifest") {
			t.Errorf("image export: %s", r)
		}
		b, err := os.ReadFile(filepath.Join(g.export, "testuser", "stor", "x.imgmanifest"))
		if err != nil || object(t, string(b))["id"] != created {
			t.Errorf("manifest: %s, %v", b, err)
		}
		if _, err := os.Stat(filepath.Join(g.export, "testuser", "stor", "x.raw")); err != nil {
			t.Error(err)
		}
	})

	t.Run("image delete", func(t *testing.T) {
		c.ok("triton", "image", "delete", "-f", clone)
		if r := c.run("triton", "image", "get", clone); r.code != 3 {
			t.Errorf("get of a deleted image: %s", r)
		}
	})

	t.Run("packages", func(t *testing.T) {
		l := ndjson(t, c.ok("triton", "package", "list", "-j", "name=m1-*").stdout)
		if len(l) != 3 {
			t.Errorf("package list name=m1-*: %v", l)
		}
		for _, ref := range []string{"m1-large", m1Large} {
			m := object(t, c.ok("triton", "package", "get", ref).stdout)
			if m["id"] != m1Large || m["memory"] != 10240.0 || m["disk"] != 870400.0 {
				t.Errorf("package get %s: %v", ref, m)
			}
		}
	})

	t.Run("account", func(t *testing.T) {
		r := c.ok("triton", "account", "get")
		if !strings.Contains(r.stdout, "login: testuser") {
			t.Errorf("account get: %s", r)
		}
	})

	t.Run("ed25519 account", func(t *testing.T) {
		ed := newCLI(t, prefix, home, g.urls["mock"], "eduser", edFP)
		// eduser shares the mock's cloud identity (so img3 is its own),
		// but testuser's private image made through the gateway is
		// testuser's: eduser does not see it
		testuser := object(t, c.ok("triton", "account", "get", "-j").stdout)["id"]
		eduser := object(t, ed.ok("triton", "account", "get", "-j").stdout)["id"]
		l := ndjson(t, ed.ok("triton", "image", "list", "-j").stdout)
		if names(l) != "img1,img2,img3" || l[2]["owner"] != eduser {
			t.Errorf("eduser image list (testuser %s, eduser %s): %v", testuser, eduser, l)
		}
	})

	t.Run("ecdsa account", func(t *testing.T) {
		ec := newCLI(t, prefix, home, g.urls["mock"], "ecuser", ecFP)
		if l := ndjson(t, ec.ok("triton", "image", "list", "-j").stdout); len(l) < 3 {
			t.Errorf("ecuser image list: %v", l)
		}
		if m := object(t, ec.ok("sdc-getpackage", "m1-large").stdout); m["id"] != m1Large {
			t.Errorf("ecuser sdc-getpackage: %v", m)
		}
	})

	t.Run("smartdc", func(t *testing.T) {
		l := array(t, c.ok("sdc-listimages", "--state", "all").stdout)
		if len(l) < 4 {
			t.Errorf("sdc-listimages --state all: %d images", len(l))
		}
		if m := object(t, c.ok("sdc-getimage", img1UUID).stdout); m["name"] != "img1" {
			t.Errorf("sdc-getimage: %v", m)
		}
		m := object(t, c.ok("sdc-createimagefrommachine", "--machine", "inst1", "--name", "n", "--imageVersion", "1.0.0").stdout)
		id, _ := m["id"].(string)
		if m["state"] != "creating" || id == "" {
			t.Fatalf("sdc-createimagefrommachine: %v", m)
		}
		if m := object(t, c.ok("sdc-updateimage", "--name", "n2", id).stdout); m["name"] != "n2" {
			t.Errorf("sdc-updateimage: %v", m)
		}
		m = object(t, c.ok("sdc-exportimage", "--mantaPath", "/testuser/stor/y", id).stdout)
		if m["manifest_path"] != "/testuser/stor/y.imgmanifest" {
			t.Errorf("sdc-exportimage: %v", m)
		}
		c.ok("sdc-deleteimage", id)
		if r := c.run("sdc-getimage", id); r.code == 0 || !strings.Contains(r.stdout+r.stderr, "ResourceNotFound") {
			t.Errorf("sdc-getimage of a deleted image: %s", r)
		}
		if l := array(t, c.ok("sdc-listpackages").stdout); len(l) != 4 {
			t.Errorf("sdc-listpackages: %v", l)
		}
		if m := object(t, c.ok("sdc-getpackage", "m1-large").stdout); m["id"] != m1Large {
			t.Errorf("sdc-getpackage: %v", m)
		}
	})

	t.Run("negative", func(t *testing.T) {
		// a key the gateway does not know
		r := newCLI(t, prefix, home, g.urls["mock"], "testuser", strangerFP).run("triton", "image", "list")
		if r.code == 0 || !strings.Contains(r.stderr, "InvalidCredentials") {
			t.Errorf("unknown key: %s", r)
		}
		// a client clock 400 s ahead
		skew := filepath.Join(t.TempDir(), "skew.js")
		if err := os.WriteFile(skew, []byte(`const D = Date; const off = 400e3;
class S extends D { constructor(...a) { if (a.length === 0) { super(D.now() + off); } else { super(...a); } } static now() { return D.now() + off; } }
global.Date = S;
`), 0o600); err != nil {
			t.Fatal(err)
		}
		r = c.runNode([]string{"--require", skew}, filepath.Join(prefix, "node_modules", "triton", "bin", "triton"), "image", "list")
		if r.code == 0 || !strings.Contains(r.stderr, "InvalidCredentials") || !strings.Contains(r.stderr, "clock skew") {
			t.Errorf("clock skew: %s", r)
		}
		// another login's path
		r = c.run("triton", "cloudapi", "/eduser/images")
		if r.code == 0 || !strings.Contains(r.stderr, "NotAuthorized") {
			t.Errorf("another login's path: %s", r)
		}
		// an unknown image
		if r := c.run("triton", "image", "get", "00000000-0000-0000-0000-000000000000"); r.code != 3 {
			t.Errorf("unknown image: %s", r)
		}
	})
}
