package deltacloud

import (
	"errors"
	"net/http"
	"strings"
	"testing"
)

// FuzzBodyParams: an XML, JSON, form or multipart body of POST
// /api/images gives flat string parameters or an error the front maps to
// 400, 413 or 415; XML with a DTD or entities is always refused.
func FuzzBodyParams(f *testing.F) {
	for _, sd := range []struct{ ctype, body string }{
		{"application/json", `{"instance_id":"inst1","name":"n","x":true,"y":1.5,"z":null}`},
		{"application/json", `{"image":{"instance_id":"inst1"}}`},
		{"application/json", `{"a":{"b":1}}`},
		{"application/json", `[1,2]`},
		{"application/xml", `<image><instance_id>inst1</instance_id><name> n </name></image>`},
		{"text/xml", `<?xml version="1.0"?><image><a><b/></a></image>`},
		{"application/xml", `<!DOCTYPE image [<!ENTITY x SYSTEM "file:///etc/passwd">]><image><name>&x;</name></image>`},
		{"application/xml", `<image><name>unclosed</image>`},
		{"application/x-www-form-urlencoded", "instance_id=inst1&name=%zz"},
		{"multipart/form-data; boundary=b", "--b\r\nContent-Disposition: form-data; name=\"name\"\r\n\r\nv\r\n--b--\r\n"},
		{"", "stray"},
		{"text/plain; charset", "x"},
	} {
		f.Add(sd.ctype, sd.body)
	}
	f.Fuzz(func(t *testing.T, ctype, body string) {
		r, err := http.NewRequest("POST", "http://gw.test/api/images", strings.NewReader(body))
		if err != nil {
			return
		}
		if ctype != "" {
			r.Header.Set("Content-Type", ctype)
		}
		r.Body = http.MaxBytesReader(nil, r.Body, MaxBody)
		out, err := bodyParams(r)
		if err != nil {
			st, _ := statusOf(err)
			var mbe *http.MaxBytesError
			if st != http.StatusBadRequest && st != http.StatusUnsupportedMediaType && !errors.As(err, &mbe) {
				t.Fatalf("bodyParams(%q, %q): %v maps to %d", ctype, body, err, st)
			}
			return
		}
		if strings.Contains(strings.ToLower(ctype), "xml") && strings.Contains(body, "<!") && !strings.Contains(body, "<![CDATA[") && !strings.Contains(body, "<!--") {
			t.Fatalf("bodyParams(%q, %q) accepted a declaration: %v", ctype, body, out)
		}
	})
}
