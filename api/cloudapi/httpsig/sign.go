package httpsig

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// Form selects which Authorization form Sign produces.
type Form int

// The forms clients send.
const (
	// FormRequestTarget signs "(request-target) date", as `triton` does.
	FormRequestTarget Form = iota
	// FormDate signs headers="date", as `smartdc` does.
	FormDate
	// FormNoHeaders signs the date but leaves the headers parameter out.
	FormNoHeaders
	// FormLegacy is `Signature keyId="…",algorithm="…" <b64>` over the raw
	// Date value.
	FormLegacy
)

// Sign sets Date (if absent) and Authorization on r, signing as keyID with
// key in the given form. alg must suit key: rsa-sha256 or rsa-sha512 for an
// *rsa.PrivateKey, ecdsa-sha256/384/512 for an *ecdsa.PrivateKey,
// ed25519-sha512 for an ed25519.PrivateKey. It is what the CloudAPI clients
// do, offered for tests, benchmarks and Go clients.
func Sign(r *http.Request, keyID, alg string, key crypto.Signer, form Form) error {
	h, kind, err := algorithm(alg)
	if err != nil {
		return err
	}
	var want string
	switch key.(type) {
	case *rsa.PrivateKey:
		want = kindRSA
	case *ecdsa.PrivateKey:
		want = kindECDSA
	case ed25519.PrivateKey:
		want = kindEd25519
	}
	if want != kind {
		return fmt.Errorf("httpsig: algorithm %s does not suit a %T", alg, key)
	}
	if r.Header.Get("Date") == "" {
		r.Header.Set("Date", time.Now().UTC().Format(http.TimeFormat))
	}
	p := Params{Legacy: form == FormLegacy}
	switch form {
	case FormRequestTarget:
		p.Headers = []string{"(request-target)", "date"}
	case FormDate, FormNoHeaders:
		p.Headers = []string{"date"}
	}
	msg, err := SigningString(r, p)
	if err != nil {
		return err
	}
	var sig []byte
	if kind == kindEd25519 {
		sig, err = key.Sign(rand.Reader, []byte(msg), crypto.Hash(0))
	} else {
		sig, err = key.Sign(rand.Reader, digest(h, []byte(msg)), h)
	}
	if err != nil {
		return fmt.Errorf("httpsig: sign: %w", err)
	}
	b64 := base64.StdEncoding.EncodeToString(sig)
	var b strings.Builder
	fmt.Fprintf(&b, `Signature keyId="%s",algorithm="%s"`, keyID, alg)
	switch form {
	case FormRequestTarget, FormDate:
		fmt.Fprintf(&b, `,headers="%s",signature="%s"`, strings.Join(p.Headers, " "), b64)
	case FormNoHeaders:
		fmt.Fprintf(&b, `,signature="%s"`, b64)
	case FormLegacy:
		b.WriteString(" " + b64)
	}
	r.Header.Set("Authorization", b.String())
	return nil
}
