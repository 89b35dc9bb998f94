// Package httpsig verifies the HTTP Signature authentication Triton
// CloudAPI clients send (the `triton` CLI, the `smartdc` sdc-* commands and
// the CloudAPI client libraries).
//
// Three forms of the Authorization header are accepted:
//
//	Signature keyId="/login/keys/fp",algorithm="rsa-sha256",headers="(request-target) date",signature="b64"
//	Signature keyId="/login/keys/fp",algorithm="rsa-sha256",headers="date",signature="b64"   (or no headers)
//	Signature keyId="/login/keys/fp",algorithm="rsa-sha256" b64                             (legacy)
//
// The algorithms are rsa-sha256 and rsa-sha512 (PKCS#1 v1.5), ecdsa-sha256,
// ecdsa-sha384 and ecdsa-sha512 (ASN.1 DER signatures) and ed25519-sha512
// (raw 64-byte signatures). The keyId names the login and the MD5
// fingerprint of the SSH public key; keys and fingerprints are handled with
// golang.org/x/crypto/ssh.
package httpsig

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"golang.org/x/crypto/ssh"
)

// DefaultSkew is how far a request's Date may lie from the server's clock.
const DefaultSkew = 300 * time.Second

// Error codes, as CloudAPI names them.
const (
	// CodeInvalidHeader (HTTP 400): a malformed Authorization header or a
	// missing or unparsable Date.
	CodeInvalidHeader = "InvalidHeader"
	// CodeInvalidCredentials (HTTP 401): no Authorization, a bad keyId, an
	// unknown key, a bad signature, a disallowed algorithm or clock skew.
	CodeInvalidCredentials = "InvalidCredentials"
)

// Error is a verification failure with its CloudAPI code.
type Error struct {
	Code    string // CodeInvalidHeader or CodeInvalidCredentials
	Message string
	Err     error // the cause, if any (a key lookup failure, say)
}

// Error implements error.
func (e *Error) Error() string { return e.Code + ": " + e.Message }

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// Status returns the HTTP status of the error: 400 or 401.
func (e *Error) Status() int {
	if e.Code == CodeInvalidHeader {
		return http.StatusBadRequest
	}
	return http.StatusUnauthorized
}

func invalidHeader(format string, args ...any) *Error {
	return &Error{Code: CodeInvalidHeader, Message: fmt.Sprintf(format, args...)}
}

func invalidCreds(format string, args ...any) *Error {
	return &Error{Code: CodeInvalidCredentials, Message: fmt.Sprintf(format, args...)}
}

// ErrKeyNotFound is what a KeyStore returns (possibly wrapped) when the
// login or the key is unknown. Any other error is reported as a lookup
// failure but still refuses the request.
var ErrKeyNotFound = errors.New("key not found")

// KeyStore finds the public key of a login by its MD5 fingerprint
// (lowercase, colon-separated hex).
type KeyStore interface {
	LookupKey(ctx context.Context, login, fingerprint string) (ssh.PublicKey, error)
}

// KeyStoreFunc adapts a function to KeyStore.
type KeyStoreFunc func(ctx context.Context, login, fingerprint string) (ssh.PublicKey, error)

// LookupKey calls f.
func (f KeyStoreFunc) LookupKey(ctx context.Context, login, fp string) (ssh.PublicKey, error) {
	return f(ctx, login, fp)
}

// Verifier checks signed requests.
type Verifier struct {
	Keys KeyStore
	// Skew is the allowed clock difference; zero means DefaultSkew.
	Skew time.Duration
	// Now returns the server time; nil means time.Now.
	Now func() time.Time
}

// Identity is who a verified request comes from.
type Identity struct {
	Login       string
	Fingerprint string // MD5, colon-separated hex
	Algorithm   string
	Key         ssh.PublicKey
}

// Params is a parsed Authorization header.
type Params struct {
	KeyID     string
	Algorithm string
	// Headers are the signed header names, lower case; nil for the legacy
	// form, whose signing string is the bare Date value.
	Headers   []string
	Signature []byte
	Legacy    bool
}

// Verify checks r's Authorization header and returns the caller.
// Every failure is an *Error.
func (v *Verifier) Verify(r *http.Request) (Identity, error) {
	auth := r.Header.Get("Authorization")
	if auth == "" {
		return Identity{}, invalidCreds("Authorization header required")
	}
	p, err := ParseAuthorization(auth)
	if err != nil {
		return Identity{}, err
	}
	date := r.Header.Get("Date")
	if date == "" {
		date = r.Header.Get("X-Date")
	}
	if date == "" {
		return Identity{}, invalidHeader("Date header required")
	}
	t, err := http.ParseTime(date)
	if err != nil {
		// triton-go (Terraform's and Packer's Triton client) sends
		// time.RFC1123 in UTC ("... 08:00:00 UTC"), which node's CloudAPI
		// accepts.
		t, err = time.Parse(time.RFC1123, date)
	}
	if err != nil {
		return Identity{}, invalidHeader("Date header %q is not an HTTP date", date)
	}
	login, fp, err := ParseKeyID(p.KeyID)
	if err != nil {
		return Identity{}, err
	}
	hash, keyType, err := algorithm(p.Algorithm)
	if err != nil {
		return Identity{}, err
	}
	skew := v.Skew
	if skew == 0 {
		skew = DefaultSkew
	}
	now := time.Now
	if v.Now != nil {
		now = v.Now
	}
	if d := now().Sub(t); d > skew || d < -skew {
		return Identity{}, invalidCreds("clock skew of %s exceeds %s", d.Round(time.Second), skew)
	}
	signing, err := SigningString(r, p)
	if err != nil {
		return Identity{}, err
	}
	key, err := v.Keys.LookupKey(r.Context(), login, fp)
	if err != nil {
		e := invalidCreds("%s is not a valid key of %s", fp, login)
		e.Err = err
		return Identity{}, e
	}
	if got := keyKind(key); got != keyType {
		return Identity{}, invalidCreds("algorithm %s does not match the %s key %s", p.Algorithm, key.Type(), fp)
	}
	if err := verify(key, hash, []byte(signing), p.Signature); err != nil {
		return Identity{}, invalidCreds("the signature does not verify with key %s", fp)
	}
	return Identity{Login: login, Fingerprint: fp, Algorithm: p.Algorithm, Key: key}, nil
}

// ParseAuthorization parses the three accepted forms of the header.
func ParseAuthorization(h string) (Params, error) {
	scheme, rest, _ := strings.Cut(strings.TrimSpace(h), " ")
	if !strings.EqualFold(scheme, "Signature") {
		return Params{}, invalidCreds("only the Signature authorization scheme is supported")
	}
	params := map[string]string{}
	s := rest
	var bare string
	for {
		s = strings.TrimLeft(s, " ,\t")
		if s == "" {
			break
		}
		i := strings.IndexAny(s, "= ,\t")
		if i > 0 && s[i] == '=' && i+1 < len(s) && s[i+1] == '"' {
			name := strings.ToLower(s[:i])
			val := s[i+2:]
			end := strings.IndexByte(val, '"')
			if end < 0 {
				return Params{}, invalidHeader("malformed Authorization header: unterminated %s", name)
			}
			if _, dup := params[name]; dup {
				return Params{}, invalidHeader("malformed Authorization header: %s given twice", name)
			}
			params[name] = val[:end]
			s = val[end+1:]
			if s != "" && s[0] != ',' && s[0] != ' ' && s[0] != '\t' {
				return Params{}, invalidHeader("malformed Authorization header after %s", name)
			}
			continue
		}
		// A bare token: the legacy form's signature, which ends the header.
		if strings.ContainsAny(s, " ,\"\t") {
			return Params{}, invalidHeader("malformed Authorization header")
		}
		bare = s
		break
	}
	p := Params{KeyID: params["keyid"], Algorithm: strings.ToLower(params["algorithm"])}
	sig := params["signature"]
	switch {
	case sig != "" && bare != "":
		return Params{}, invalidHeader("malformed Authorization header: two signatures")
	case bare != "":
		sig, p.Legacy = bare, true
		if _, ok := params["headers"]; ok {
			return Params{}, invalidHeader("malformed Authorization header: headers with a legacy signature")
		}
	case params["headers"] != "":
		p.Headers = strings.Fields(strings.ToLower(params["headers"]))
	default:
		p.Headers = []string{"date"}
	}
	for _, need := range []struct{ name, val string }{{"keyId", p.KeyID}, {"algorithm", p.Algorithm}, {"signature", sig}} {
		if need.val == "" {
			return Params{}, invalidHeader("malformed Authorization header: %s missing", need.name)
		}
	}
	// Strict: one signature has one encoding (no other trailing bits).
	raw, err := base64.StdEncoding.Strict().DecodeString(sig)
	if err != nil {
		return Params{}, invalidHeader("malformed Authorization header: signature is not base64")
	}
	p.Signature = raw
	return p, nil
}

// ParseKeyID splits a keyId of the form /<login>/keys/<md5 fingerprint>.
// The fingerprint is returned lower case. "my" is never a valid login, and
// the sub-user form /<login>/users/<user>/keys/<fp> is refused.
func ParseKeyID(keyID string) (login, fingerprint string, err error) {
	parts := strings.Split(keyID, "/")
	if len(parts) != 4 || parts[0] != "" || parts[2] != "keys" || parts[1] == "" || parts[3] == "" {
		if len(parts) == 6 && parts[2] == "users" {
			return "", "", invalidCreds("keyId %q: sub-user keys are not supported", keyID)
		}
		return "", "", invalidCreds("keyId %q is not of the form /<login>/keys/<md5 fingerprint>", keyID)
	}
	login, fingerprint = parts[1], strings.ToLower(parts[3])
	if login == "my" {
		return "", "", invalidCreds("keyId %q: \"my\" is not a login", keyID)
	}
	if !isMD5Fingerprint(fingerprint) {
		return "", "", invalidCreds("keyId %q: %q is not an MD5 key fingerprint", keyID, parts[3])
	}
	return login, fingerprint, nil
}

func isMD5Fingerprint(s string) bool {
	if len(s) != 47 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if i%3 == 2 {
			if c != ':' {
				return false
			}
			continue
		}
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}

// Fingerprint returns the MD5 fingerprint CloudAPI keyIds use: lowercase,
// colon-separated hex of the MD5 of the key's wire blob.
func Fingerprint(key ssh.PublicKey) string { return ssh.FingerprintLegacyMD5(key) }

// SigningString builds what the client signed. For the legacy form it is
// the raw Date value; otherwise one "name: value" line per listed header,
// (request-target) being "<lowercase method> <path?query as sent>".
func SigningString(r *http.Request, p Params) (string, error) {
	if p.Legacy {
		d := r.Header.Get("Date")
		if d == "" {
			d = r.Header.Get("X-Date")
		}
		return d, nil
	}
	var b strings.Builder
	for i, h := range p.Headers {
		if i > 0 {
			b.WriteByte('\n')
		}
		switch h {
		case "(request-target)":
			b.WriteString(h + ": " + strings.ToLower(r.Method) + " " + requestTarget(r))
		case "host":
			host := r.Host
			if host == "" {
				host = r.Header.Get("Host")
			}
			b.WriteString("host: " + host)
		default:
			vals := r.Header.Values(h)
			if len(vals) == 0 {
				return "", invalidHeader("signed header %q is missing from the request", h)
			}
			b.WriteString(h + ": " + strings.Join(vals, ", "))
		}
	}
	return b.String(), nil
}

// requestTarget is the path and query exactly as the client sent them.
func requestTarget(r *http.Request) string {
	uri := r.RequestURI
	if uri == "" || !strings.HasPrefix(uri, "/") {
		// A client-side request, or an absolute-form target.
		return r.URL.RequestURI()
	}
	return uri
}

const (
	kindRSA     = "rsa"
	kindECDSA   = "ecdsa"
	kindEd25519 = "ed25519"
)

// algorithm returns the hash and the key kind an algorithm name needs.
func algorithm(name string) (crypto.Hash, string, error) {
	switch name {
	case "rsa-sha256":
		return crypto.SHA256, kindRSA, nil
	case "rsa-sha512":
		return crypto.SHA512, kindRSA, nil
	case "ecdsa-sha256":
		return crypto.SHA256, kindECDSA, nil
	case "ecdsa-sha384":
		return crypto.SHA384, kindECDSA, nil
	case "ecdsa-sha512":
		return crypto.SHA512, kindECDSA, nil
	case "ed25519-sha512":
		return 0, kindEd25519, nil
	}
	return 0, "", invalidCreds("algorithm %q is not allowed", name)
}

func keyKind(key ssh.PublicKey) string {
	ck, ok := key.(ssh.CryptoPublicKey)
	if !ok {
		return ""
	}
	switch ck.CryptoPublicKey().(type) {
	case *rsa.PublicKey:
		return kindRSA
	case *ecdsa.PublicKey:
		return kindECDSA
	case ed25519.PublicKey:
		return kindEd25519
	}
	return ""
}

func digest(h crypto.Hash, msg []byte) []byte {
	switch h {
	case crypto.SHA256:
		d := sha256.Sum256(msg)
		return d[:]
	case crypto.SHA384:
		d := sha512.Sum384(msg)
		return d[:]
	default:
		d := sha512.Sum512(msg)
		return d[:]
	}
}

func verify(key ssh.PublicKey, h crypto.Hash, msg, sig []byte) error {
	switch pub := key.(ssh.CryptoPublicKey).CryptoPublicKey().(type) {
	case *rsa.PublicKey:
		return rsa.VerifyPKCS1v15(pub, h, digest(h, msg), sig)
	case *ecdsa.PublicKey:
		if !ecdsa.VerifyASN1(pub, digest(h, msg), sig) {
			return errors.New("bad ecdsa signature")
		}
		return nil
	case ed25519.PublicKey:
		if len(sig) != ed25519.SignatureSize || !ed25519.Verify(pub, msg, sig) {
			return errors.New("bad ed25519 signature")
		}
		return nil
	}
	return errors.New("unsupported key type")
}
