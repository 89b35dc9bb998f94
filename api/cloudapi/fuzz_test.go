package cloudapi_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/imagegw/imagegw/api/cloudapi/httpsig"
	"github.com/imagegw/imagegw/api/server"
)

// FuzzSignedRequest: a correctly signed request with any method, path
// under the account, query, Content-Type, body and Accept-Version is
// answered in CloudAPI's JSON envelope, never with a 500.
func FuzzSignedRequest(f *testing.F) {
	e := setup(f, "")
	h := server.New(e.srv.Gateway, server.Options{})
	a := e.alice
	for _, sd := range []struct{ method, path, query, ctype, body, version string }{
		{"GET", "images", "", "", "", "~9||~8"},
		{"GET", "images", "name=~base&public=maybe&limit=0", "", "", "*"},
		{"GET", "images/" + img1UUID, "", "", "", "~7.2"},
		{"POST", "images", "", "application/json", `{"machine":"` + inst1UUID + `","name":"f","version":"1","tags":{"a":{"b":[1]}}}`, "~9"},
		{"POST", "images/" + img1UUID, "action=update", "application/x-www-form-urlencoded", "name=x&tags=%7B%7D", "~9"},
		{"POST", "images/" + img1UUID, "action=export", "application/json", `{"manta_path":"/alice/../x"}`, "~9"},
		{"POST", "images", "action=import-from-datacenter&datacenter=test1&id=nope", "", "", "~9"},
		{"DELETE", "images/00000000-0000-0000-0000-000000000000", "", "", "", "~9"},
		{"GET", "packages", "memory=abc", "", "", "~10"},
		{"GET", "machines/" + inst1UUID, "", "", "", ""},
		{"POST", "images", "", "application/json", `[1,`, "~9"},
		{"PUT", "datacenters/x", "", "text/plain", "x", "garbage"},
	} {
		f.Add(sd.method, sd.path, sd.query, sd.ctype, sd.body, sd.version)
	}
	f.Fuzz(func(t *testing.T, method, path, query, ctype, body, version string) {
		target := "http://gw.test/alice/" + path
		if query != "" {
			target += "?" + query
		}
		r, err := http.NewRequest(method, target, strings.NewReader(body))
		if err != nil || strings.ContainsAny(ctype+version, "\r\n") {
			return
		}
		r.RemoteAddr = "127.0.0.1:9"
		r.RequestURI = r.URL.RequestURI()
		if ctype != "" {
			r.Header.Set("Content-Type", ctype)
		}
		if version != "" {
			r.Header.Set("Accept-Version", version)
		}
		r.Header.Set("Date", time.Now().UTC().Format(http.TimeFormat))
		if err := httpsig.Sign(r, a.keyID, a.alg, a.signer, a.form); err != nil {
			return
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Code >= 500 {
			t.Fatalf("%s %s (Content-Type %q, body %q, version %q): %d %s", method, target, ctype, body, version, w.Code, w.Body.String())
		}
		if w.Code >= 400 && method != "HEAD" {
			var env struct{ Code, Message string }
			if err := json.Unmarshal(w.Body.Bytes(), &env); err != nil || env.Code == "" {
				t.Fatalf("%s %s: %d without the JSON envelope: %q", method, target, w.Code, w.Body.String())
			}
		}
	})
}
