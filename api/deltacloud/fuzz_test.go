package deltacloud_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/imagegw/imagegw/api/server"
)

// FuzzHandler: whatever the method, path, matrix parameters, query,
// Accept, Content-Type and body, the native front answers in its own
// envelope and never with a 500 (a panic would be one).
func FuzzHandler(f *testing.F) {
	s := newServer(f, "mock_create_delay: 1h\n")
	h := server.New(s.Gateway, server.Options{})
	for _, sd := range []struct{ method, matrix, path, query, accept, ctype, body string }{
		{"GET", "", "images", "", "", "", ""},
		{"GET", ";driver=mock", "images/img%31", "format=json", "", "", ""},
		{"GET", ";driver=ec2;provider=x", "images", "", "application/xml", "", ""},
		{"GET", ";driver", "images", "", "", "", ""},
		{"GET", "", "images", "limit=2&marker=zz&sort=-name,owner", "text/html;q=0.5, */*;q=0.1", "", ""},
		{"HEAD", "", "hardware_profiles/m1-large", "architecture=x86_64", "application/json", "", ""},
		{"POST", "", "images", "", "application/json", "application/json", `{"image":{"instance_id":"inst1","name":"n"}}`},
		{"POST", "", "images;instance_id=inst1", "", "", "application/xml", `<image><name>n</name></image>`},
		{"POST", "", "images", "", "", "application/xml", `<!DOCTYPE x [<!ENTITY a "b">]><image>&a;</image>`},
		{"POST", "", "images", "", "", "multipart/form-data; boundary=x", "--x\r\nContent-Disposition: form-data; name=\"instance_id\"\r\n\r\ninst1\r\n--x--\r\n"},
		{"POST", "", "images/img1", "", "", "application/x-www-form-urlencoded", "_method=delete"},
		{"DELETE", "", "images/nope", "", "text/html", "", ""},
		{"GET", "", "jobs", "limit=1", "", "", ""},
		{"GET", "", "images/new", "instance_id=inst1&format=html", "", "", ""},
		{"PUT", "", "images", "format=yaml", "", "text/plain", "x"},
		{"POST", "", "", "", "", "application/x-www-form-urlencoded", "driver=mock&provider=mock"},
	} {
		f.Add(sd.method, sd.matrix, sd.path, sd.query, sd.accept, sd.ctype, sd.body, true)
	}
	f.Fuzz(func(t *testing.T, method, matrix, path, query, accept, ctype, body string, auth bool) {
		target := "http://gw.test/api" + matrix + "/" + path
		if query != "" {
			target += "?" + query
		}
		r, err := http.NewRequest(method, target, strings.NewReader(body))
		if err != nil || strings.ContainsAny(accept+ctype, "\r\n") {
			return // not a request a client can send
		}
		r.RemoteAddr = "127.0.0.1:9"
		r.RequestURI = r.URL.RequestURI()
		if accept != "" {
			r.Header.Set("Accept", accept)
		}
		if ctype != "" {
			r.Header.Set("Content-Type", ctype)
		}
		if auth {
			r.SetBasicAuth("mockuser", "mockpassword")
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Code >= 500 {
			t.Fatalf("%s %s (Accept %q, Content-Type %q, body %q): %d %s", method, target, accept, ctype, body, w.Code, w.Body.String())
		}
		if w.Code >= 400 && w.Header().Get("Content-Type") == "" {
			t.Fatalf("%s %s: %d without a Content-Type", method, target, w.Code)
		}
	})
}
