package httpsig

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
)

// vector is one request signed by OpenSSL (testdata/gen.sh).
type vector struct {
	Name          string `json:"name"`
	PublicKey     string `json:"public_key"`
	Method        string `json:"method"`
	Target        string `json:"target"`
	Date          string `json:"date"`
	Authorization string `json:"authorization"`
}

func loadVectors(t testing.TB) []vector {
	t.Helper()
	raw, err := os.ReadFile("testdata/vectors.json")
	if err != nil {
		t.Fatal(err)
	}
	var vs []vector
	if err := json.Unmarshal(raw, &vs); err != nil {
		t.Fatal(err)
	}
	return vs
}

// keyMap is a KeyStore over login → keys.
type keyMap map[string][]ssh.PublicKey

func (m keyMap) LookupKey(_ context.Context, login, fp string) (ssh.PublicKey, error) {
	for _, k := range m[login] {
		if Fingerprint(k) == fp {
			return k, nil
		}
	}
	return nil, ErrKeyNotFound
}

func parsePub(t testing.TB, s string) ssh.PublicKey {
	t.Helper()
	k, _, _, _, err := ssh.ParseAuthorizedKey([]byte(s))
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func vectorRequest(v vector) *http.Request {
	r := httptest.NewRequest(v.Method, v.Target, nil)
	r.Header.Set("Date", v.Date)
	r.Header.Set("Authorization", v.Authorization)
	return r
}

func fixedNow(date string, offset time.Duration) func() time.Time {
	t, err := http.ParseTime(date)
	if err != nil {
		panic(err)
	}
	return func() time.Time { return t.Add(offset) }
}

// TestOpenSSLVectors verifies requests signed by OpenSSL, for each of the
// six algorithms and the four header shapes (request-target, date, no
// headers parameter, legacy).
func TestOpenSSLVectors(t *testing.T) {
	vs := loadVectors(t)
	if len(vs) != 24 {
		t.Fatalf("want 24 vectors (6 algorithms x 4 forms), got %d", len(vs))
	}
	for _, v := range vs {
		t.Run(v.Name, func(t *testing.T) {
			key := parsePub(t, v.PublicKey)
			ver := &Verifier{Keys: keyMap{"testuser": {key}}, Now: fixedNow(v.Date, 42*time.Second)}
			id, err := ver.Verify(vectorRequest(v))
			if err != nil {
				t.Fatalf("Verify: %v", err)
			}
			if id.Login != "testuser" || id.Fingerprint != Fingerprint(key) {
				t.Errorf("identity = %+v", id)
			}
			if !strings.HasPrefix(v.Name, id.Algorithm+"/") {
				t.Errorf("algorithm = %q", id.Algorithm)
			}

			// The same header on another path: only the request-target
			// form covers the path.
			r := vectorRequest(v)
			r.URL.Path, r.RequestURI = "/testuser/images", "/testuser/images"
			_, err = ver.Verify(r)
			if strings.HasSuffix(v.Name, "/request-target") {
				wantCode(t, err, CodeInvalidCredentials)
			} else if err != nil {
				t.Errorf("a date-only signature should not depend on the path: %v", err)
			}

			// Another Date breaks every form.
			r = vectorRequest(v)
			r.Header.Set("Date", "Mon, 05 Jan 2026 21:31:41 GMT")
			_, err = ver.Verify(r)
			wantCode(t, err, CodeInvalidCredentials)
		})
	}
}

func wantCode(t *testing.T, err error, code string) *Error {
	t.Helper()
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("error %v is not an *Error (want %s)", err, code)
	}
	if e.Code != code {
		t.Fatalf("code = %s (%s), want %s", e.Code, e.Message, code)
	}
	wantStatus := 401
	if code == CodeInvalidHeader {
		wantStatus = 400
	}
	if e.Status() != wantStatus {
		t.Fatalf("status = %d, want %d", e.Status(), wantStatus)
	}
	return e
}

func TestSkew(t *testing.T) {
	v := loadVectors(t)[0]
	key := parsePub(t, v.PublicKey)
	for _, tc := range []struct {
		offset time.Duration
		ok     bool
	}{
		{0, true}, {300 * time.Second, true}, {-300 * time.Second, true},
		{301 * time.Second, false}, {-301 * time.Second, false}, {24 * time.Hour, false},
	} {
		t.Run(tc.offset.String(), func(t *testing.T) {
			ver := &Verifier{Keys: keyMap{"testuser": {key}}, Now: fixedNow(v.Date, tc.offset)}
			_, err := ver.Verify(vectorRequest(v))
			if tc.ok && err != nil {
				t.Fatalf("Verify: %v", err)
			}
			if !tc.ok {
				e := wantCode(t, err, CodeInvalidCredentials)
				if !strings.Contains(e.Message, "clock skew") {
					t.Errorf("message %q does not mention the clock skew", e.Message)
				}
			}
		})
	}
}

// TestDateInUTC accepts the Date form triton-go sends (time.RFC1123 with
// zone UTC) as real CloudAPI does, within the same skew.
func TestDateInUTC(t *testing.T) {
	k := genKeys(t)[len(genKeys(t))-1] // ed25519
	ver := &Verifier{Keys: keyMap{"alice": {k.pub}}}
	for _, tc := range []struct {
		date string
		ok   bool
	}{
		{time.Now().UTC().Format(time.RFC1123), true},
		{time.Now().UTC().Format(http.TimeFormat), true},
		{time.Now().UTC().Add(-time.Hour).Format(time.RFC1123), false},
	} {
		req, _ := http.NewRequest("GET", "http://gw/alice/images", nil)
		req.Header.Set("Date", tc.date)
		if err := Sign(req, "/alice/keys/"+Fingerprint(k.pub), k.alg, k.signer, FormDate); err != nil {
			t.Fatal(err)
		}
		_, err := ver.Verify(req)
		if tc.ok && err != nil {
			t.Errorf("Date %q: %v", tc.date, err)
		}
		if !tc.ok {
			wantCode(t, err, CodeInvalidCredentials)
		}
	}
}

type testKey struct {
	alg    string
	signer crypto.Signer
	pub    ssh.PublicKey
}

func genKeys(t testing.TB) []testKey {
	t.Helper()
	var out []testKey
	add := func(alg string, s crypto.Signer) {
		pub, err := ssh.NewPublicKey(s.Public())
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, testKey{alg, s, pub})
	}
	rk, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	add("rsa-sha256", rk)
	add("rsa-sha512", rk)
	for _, c := range []struct {
		alg   string
		curve elliptic.Curve
	}{{"ecdsa-sha256", elliptic.P256()}, {"ecdsa-sha384", elliptic.P384()}, {"ecdsa-sha512", elliptic.P521()}} {
		ek, err := ecdsa.GenerateKey(c.curve, rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		add(c.alg, ek)
	}
	_, edk, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	add("ed25519-sha512", edk)
	return out
}

// TestSignRoundTrip signs with Sign over a real HTTP server and verifies on
// the server side, where RequestURI is what the client sent.
func TestSignRoundTrip(t *testing.T) {
	keys := genKeys(t)
	store := keyMap{}
	for _, k := range keys {
		store["alice"] = append(store["alice"], k.pub)
	}
	ver := &Verifier{Keys: store}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, err := ver.Verify(r)
		if err != nil {
			var e *Error
			errors.As(err, &e)
			http.Error(w, e.Code+": "+e.Message, e.Status())
			return
		}
		fmt.Fprint(w, id.Login+" "+id.Algorithm)
	}))
	defer srv.Close()
	forms := map[Form]string{FormRequestTarget: "request-target", FormDate: "date", FormNoHeaders: "noheaders", FormLegacy: "legacy"}
	for _, k := range keys {
		for form, fname := range forms {
			t.Run(k.alg+"/"+fname, func(t *testing.T) {
				req, _ := http.NewRequest("GET", srv.URL+"/alice/images?name=~img&state=all", nil)
				fp := Fingerprint(k.pub)
				if err := Sign(req, "/alice/keys/"+fp, k.alg, k.signer, form); err != nil {
					t.Fatal(err)
				}
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				body, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode != 200 || string(body) != "alice "+k.alg {
					t.Fatalf("status %d, body %q for %s", resp.StatusCode, body, req.Header.Get("Authorization"))
				}
			})
		}
	}
}

func TestAlgorithmMustMatchKey(t *testing.T) {
	keys := genKeys(t)
	rsaKey, ecKey, edKey := keys[0], keys[2], keys[5]
	for _, tc := range []struct {
		name     string
		key      testKey
		claimAlg string // the algorithm named in the header
	}{
		{"rsa key as ecdsa", rsaKey, "ecdsa-sha256"},
		{"ecdsa key as rsa", ecKey, "rsa-sha256"},
		{"ed25519 key as ecdsa", edKey, "ecdsa-sha512"},
		{"rsa-sha1 is not allowed", rsaKey, "rsa-sha1"},
		{"hmac is not allowed", rsaKey, "hmac-sha256"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ver := &Verifier{Keys: keyMap{"alice": {tc.key.pub}}}
			r := httptest.NewRequest("GET", "/alice/images", nil)
			if err := Sign(r, "/alice/keys/"+Fingerprint(tc.key.pub), tc.key.alg, tc.key.signer, FormRequestTarget); err != nil {
				t.Fatal(err)
			}
			r.Header.Set("Authorization", strings.Replace(r.Header.Get("Authorization"), `algorithm="`+tc.key.alg+`"`, `algorithm="`+tc.claimAlg+`"`, 1))
			_, err := ver.Verify(r)
			wantCode(t, err, CodeInvalidCredentials)
		})
	}
}

func TestBadRequests(t *testing.T) {
	k := genKeys(t)[5]
	fp := Fingerprint(k.pub)
	other := genKeys(t)[5]
	ver := &Verifier{Keys: keyMap{"alice": {k.pub}}}
	signed := func(keyID string, s crypto.Signer) *http.Request {
		r := httptest.NewRequest("GET", "/alice/images", nil)
		if err := Sign(r, keyID, "ed25519-sha512", s, FormRequestTarget); err != nil {
			t.Fatal(err)
		}
		return r
	}
	withAuth := func(auth string) *http.Request {
		r := httptest.NewRequest("GET", "/alice/images", nil)
		r.Header.Set("Date", time.Now().UTC().Format(http.TimeFormat))
		if auth != "" {
			r.Header.Set("Authorization", auth)
		}
		return r
	}
	noDate := signed("/alice/keys/"+fp, k.signer)
	noDate.Header.Del("Date")
	badDate := signed("/alice/keys/"+fp, k.signer)
	badDate.Header.Set("Date", "yesterday")
	for _, tc := range []struct {
		name string
		r    *http.Request
		code string
	}{
		{"no authorization", withAuth(""), CodeInvalidCredentials},
		{"basic auth", withAuth("Basic YTpi"), CodeInvalidCredentials},
		{"missing signature", withAuth(`Signature keyId="/alice/keys/` + fp + `",algorithm="ed25519-sha512"`), CodeInvalidHeader},
		{"missing keyId", withAuth(`Signature algorithm="ed25519-sha512",signature="AAAA"`), CodeInvalidHeader},
		{"unterminated quote", withAuth(`Signature keyId="/alice/keys/` + fp), CodeInvalidHeader},
		{"signature not base64", withAuth(`Signature keyId="/alice/keys/` + fp + `",algorithm="ed25519-sha512",signature="!!"`), CodeInvalidHeader},
		{"two signatures", withAuth(`Signature keyId="/alice/keys/` + fp + `",algorithm="ed25519-sha512",signature="AAAA" AAAA`), CodeInvalidHeader},
		{"garbage after legacy", withAuth(`Signature keyId="/alice/keys/` + fp + `",algorithm="ed25519-sha512" AAAA BBBB`), CodeInvalidHeader},
		{"no date", noDate, CodeInvalidHeader},
		{"bad date", badDate, CodeInvalidHeader},
		{"unknown key", signed("/alice/keys/"+Fingerprint(other.pub), other.signer), CodeInvalidCredentials},
		{"unknown login", signed("/bob/keys/"+fp, k.signer), CodeInvalidCredentials},
		{"wrong key for fingerprint", signed("/alice/keys/"+fp, other.signer), CodeInvalidCredentials},
		{"my as login", signed("/my/keys/"+fp, k.signer), CodeInvalidCredentials},
		{"sub-user", signed("/alice/users/bob/keys/"+fp, k.signer), CodeInvalidCredentials},
		{"sha256 fingerprint", signed("/alice/keys/"+ssh.FingerprintSHA256(k.pub), k.signer), CodeInvalidCredentials},
		{"no keys segment", signed("/alice/"+fp, k.signer), CodeInvalidCredentials},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ver.Verify(tc.r)
			wantCode(t, err, tc.code)
		})
	}
}

func TestParseKeyID(t *testing.T) {
	for _, tc := range []struct {
		in, login, fp string
		ok            bool
	}{
		{"/testuser/keys/a4:d5:bb:fb:cd:df:65:51:0f:d4:15:9d:69:d2:e0:e2", "testuser", "a4:d5:bb:fb:cd:df:65:51:0f:d4:15:9d:69:d2:e0:e2", true},
		{"/T.User/keys/A4:D5:BB:FB:CD:DF:65:51:0F:D4:15:9D:69:D2:E0:E2", "T.User", "a4:d5:bb:fb:cd:df:65:51:0f:d4:15:9d:69:d2:e0:e2", true},
		{"testuser/keys/a4:d5:bb:fb:cd:df:65:51:0f:d4:15:9d:69:d2:e0:e2", "", "", false},
		{"/testuser/keys/a4:d5:bb:fb", "", "", false},
		{"/testuser/keys/a4d5bbfbcddf65510fd4159d69d2e0e2aabbccddeeff00112", "", "", false},
		{"/my/keys/a4:d5:bb:fb:cd:df:65:51:0f:d4:15:9d:69:d2:e0:e2", "", "", false},
		{"/testuser/users/x/keys/a4:d5:bb:fb:cd:df:65:51:0f:d4:15:9d:69:d2:e0:e2", "", "", false},
		{"//keys/a4:d5:bb:fb:cd:df:65:51:0f:d4:15:9d:69:d2:e0:e2", "", "", false},
		{"", "", "", false},
	} {
		login, fp, err := ParseKeyID(tc.in)
		if tc.ok != (err == nil) || login != tc.login || fp != tc.fp {
			t.Errorf("ParseKeyID(%q) = %q, %q, %v", tc.in, login, fp, err)
		}
	}
}

func TestSigningStringExact(t *testing.T) {
	r := httptest.NewRequest("DELETE", "/alice/images/x?a=1&b=%2F", nil)
	r.Header.Set("Date", "Mon, 05 Jan 2026 21:31:40 GMT")
	for _, tc := range []struct {
		auth, want string
	}{
		{`Signature keyId="k",algorithm="rsa-sha256",headers="(request-target) date",signature="AA=="`,
			"(request-target): delete /alice/images/x?a=1&b=%2F\ndate: Mon, 05 Jan 2026 21:31:40 GMT"},
		{`Signature keyId="k",algorithm="rsa-sha256",headers="date",signature="AA=="`, "date: Mon, 05 Jan 2026 21:31:40 GMT"},
		{`Signature keyId="k",algorithm="rsa-sha256",signature="AA=="`, "date: Mon, 05 Jan 2026 21:31:40 GMT"},
		{`Signature keyId="k",algorithm="rsa-sha256" AA==`, "Mon, 05 Jan 2026 21:31:40 GMT"},
	} {
		p, err := ParseAuthorization(tc.auth)
		if err != nil {
			t.Fatalf("%s: %v", tc.auth, err)
		}
		got, err := SigningString(r, p)
		if err != nil || got != tc.want {
			t.Errorf("SigningString(%s) = %q, %v; want %q", tc.auth, got, err, tc.want)
		}
	}
}

func BenchmarkVerify(b *testing.B) {
	for _, v := range loadVectors(b) {
		if !strings.HasSuffix(v.Name, "/request-target") {
			continue
		}
		b.Run(strings.TrimSuffix(v.Name, "/request-target"), func(b *testing.B) {
			key := parsePub(b, v.PublicKey)
			ver := &Verifier{Keys: keyMap{"testuser": {key}}, Now: fixedNow(v.Date, 0)}
			r := vectorRequest(v)
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if _, err := ver.Verify(r); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// A signature has one base64 spelling: the same bytes written with other
// trailing bits ("…Cw==" as "…C0==") are refused, so that a signed
// request cannot be replayed under another Authorization header.
func TestSignatureBase64IsCanonical(t *testing.T) {
	const canonical = `Signature keyId="/testuser/keys/b4:74:15:b9:c3:7f:ea:d2:f8:3d:54:8b:e4:c9:8f:d0",algorithm="ed25519-sha512",headers="date",signature="DUTF16b0CTlC3oDkzc9UZsNu8lqRriUe7XlkK0R89Xu/IKIXyUNERd/suWO5gWwzYR4CjUKLZAHDOytiP4uUCw=="`
	if _, err := ParseAuthorization(canonical); err != nil {
		t.Fatalf("the vector's header: %v", err)
	}
	other := strings.Replace(canonical, `uUCw==`, `uUC0==`, 1)
	if _, err := ParseAuthorization(other); err == nil {
		t.Error("a non-canonical base64 signature was accepted")
	}
}
