package httpsig

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"
)

// FuzzParseAuthorization: any header value parses or fails with an
// *Error (a 400 or 401, never a panic), and a parsed one names a key and an
// algorithm.
func FuzzParseAuthorization(f *testing.F) {
	for _, v := range loadVectors(f) {
		f.Add(v.Authorization)
	}
	for _, s := range []string{"", "Signature", "Basic dTpw", `Signature keyId="/a/keys/00",algorithm="rsa-sha256",headers="date",signature="AAAA"`,
		`Signature keyId="/a/keys/00",algorithm="rsa-sha256" AAAA`, `Signature keyId="x,algorithm=`, `Signature a="\"`, "Signature ,,,,=,=\"", `signature KEYID="a" ALGORITHM="b"`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, h string) {
		p, err := ParseAuthorization(h)
		if err != nil {
			var e *Error
			if !errors.As(err, &e) || (e.Status() != http.StatusBadRequest && e.Status() != http.StatusUnauthorized) {
				t.Fatalf("ParseAuthorization(%q): %v is not a 400/401 *Error", h, err)
			}
			return
		}
		if p.KeyID == "" || p.Algorithm == "" {
			t.Fatalf("ParseAuthorization(%q) = %+v without a keyId or algorithm", h, p)
		}
		_, _, _ = ParseKeyID(p.KeyID)
	})
}

// FuzzVerify: whatever the method, target, Date, Authorization and an
// extra header, Verify answers an Identity only for a signature that really
// verifies (never for the fuzzer's forgeries of the vectors' keys), and
// every failure is an *Error.
func FuzzVerify(f *testing.F) {
	vs := loadVectors(f)
	keys := keyMap{}
	for _, v := range vs {
		k := parsePub(f, v.PublicKey)
		keys["testuser"] = append(keys["testuser"], k)
		f.Add(v.Method, v.Target, v.Date, v.Authorization, "x-extra", "1")
	}
	f.Add("GET", "/testuser/images", "", "", "", "")
	f.Add("GET", "/testuser/images", "Mon, 05 Jan 2026 21:31:40 UTC", `Signature keyId="/testuser/keys/aa",algorithm="ed25519-sha512",headers="(request-target) date host",signature="AAAA"`, "host", "h")
	f.Fuzz(func(t *testing.T, method, target, date, auth, hname, hval string) {
		r, err := http.NewRequest(method, "http://gw.test"+target, nil)
		if err != nil || !strings.HasPrefix(target, "/") {
			return
		}
		if date != "" {
			r.Header.Set("Date", date)
		}
		if auth != "" {
			r.Header.Set("Authorization", auth)
		}
		if hname != "" && !strings.ContainsAny(hname, "\r\n: ") {
			r.Header.Set(hname, hval)
		}
		when, _ := http.ParseTime(date)
		if when.IsZero() {
			when = time.Date(2026, 1, 5, 21, 31, 40, 0, time.UTC)
		}
		v := &Verifier{Keys: keys, Now: func() time.Time { return when }}
		id, err := v.Verify(r.WithContext(context.Background()))
		if err != nil {
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("Verify: %v is not an *Error", err)
			}
			return
		}
		// A success must replay the signature of one of the OpenSSL-signed
		// vectors (the same bytes; the header around it may be spelled
		// otherwise, as the parser allows): never a forgery.
		p, perr := ParseAuthorization(auth)
		if id.Login != "testuser" || perr != nil || !slices.ContainsFunc(vs, func(v vector) bool {
			vp, err := ParseAuthorization(v.Authorization)
			return err == nil && bytes.Equal(vp.Signature, p.Signature)
		}) {
			t.Fatalf("Verify accepted a request no key signed: %s %s %q %q", method, target, date, auth)
		}
	})
}
