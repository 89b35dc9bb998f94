// Command signheader prints the Date and Authorization headers of one
// signed CloudAPI request, for load tools such as wrk that cannot sign:
//
//	go run ./test/triton/signheader -key ~/.ssh/id_ed25519 -login bench -path /bench/images
//
// prints two lines ("Date: ..." and "Authorization: ...") valid for the
// gateway's ±300 s clock skew window.
package main

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"flag"
	"fmt"
	"net/http"
	"os"

	"golang.org/x/crypto/ssh"

	"github.com/imagegw/imagegw/api/cloudapi/httpsig"
)

func main() {
	keyFile := flag.String("key", "", "unencrypted OpenSSH private key file")
	login := flag.String("login", "", "account login")
	method := flag.String("method", "GET", "request method")
	path := flag.String("path", "", "request path and query, exactly as sent")
	flag.Parse()
	if err := run(*keyFile, *login, *method, *path); err != nil {
		fmt.Fprintln(os.Stderr, "signheader:", err)
		os.Exit(1)
	}
}

func run(keyFile, login, method, path string) error {
	if keyFile == "" || login == "" || path == "" {
		return fmt.Errorf("-key, -login and -path are required")
	}
	pem, err := os.ReadFile(keyFile)
	if err != nil {
		return err
	}
	raw, err := ssh.ParseRawPrivateKey(pem)
	if err != nil {
		return err
	}
	var signer crypto.Signer
	alg := ""
	switch k := raw.(type) {
	case *rsa.PrivateKey:
		signer, alg = k, "rsa-sha256"
	case *ecdsa.PrivateKey:
		signer, alg = k, map[int]string{256: "ecdsa-sha256", 384: "ecdsa-sha384", 521: "ecdsa-sha512"}[k.Curve.Params().BitSize]
	case *ed25519.PrivateKey:
		signer, alg = *k, "ed25519-sha512"
	case ed25519.PrivateKey:
		signer, alg = k, "ed25519-sha512"
	default:
		return fmt.Errorf("unsupported key type %T", raw)
	}
	pub, err := ssh.NewPublicKey(signer.Public())
	if err != nil {
		return err
	}
	req, err := http.NewRequest(method, "http://gateway"+path, nil)
	if err != nil {
		return err
	}
	if err := httpsig.Sign(req, "/"+login+"/keys/"+httpsig.Fingerprint(pub), alg, signer, httpsig.FormRequestTarget); err != nil {
		return err
	}
	fmt.Println("Date: " + req.Header.Get("Date"))
	fmt.Println("Authorization: " + req.Header.Get("Authorization"))
	return nil
}
