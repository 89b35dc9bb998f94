package triton

import (
	"crypto/md5"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"encoding/asn1"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"math/big"
	"net"
	"os"
	"path"
	"strings"
	"time"

	"github.com/joyent/triton-go/authentication"
	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/agent"
)

// keySigner signs CloudAPI requests as one account with one key, from a
// private key file or an SSH agent. It implements triton-go's
// authentication.Signer.
//
// triton-go's own signers are not used: its PrivateKeySigner reads only
// PKCS#1 RSA keys and signs rsa-sha1, and its SSHAgentSigner signs RSA with
// SHA-1 and cannot sign with ed25519 keys. This one signs RSA keys with
// rsa-sha256, ECDSA keys with ecdsa-sha256/384/512 and ed25519 keys with
// ed25519-sha512, which every CloudAPI accepts, and reads PKCS#1, PKCS#8,
// SEC 1 and OpenSSH key files.
type keySigner struct {
	account string
	name    string // the Basic password that selects it; "" for the server's key
	// fingerprint is the MD5 fingerprint CloudAPI's keyId carries
	// ("aa:bb:..."), when known before signing; match is the key_id as
	// configured, for the agent.
	fingerprint string
	match       string
	signer      ssh.Signer // from the key file; nil with an agent
	socket      string     // the agent's socket
}

var _ authentication.Signer = (*keySigner)(nil)

// newKeySigner reads keyFile (checking it against keyID when both are set),
// or prepares to sign with the key of fingerprint keyID in the SSH agent at
// socket ($SSH_AUTH_SOCK when empty).
func newKeySigner(account, name, keyID, keyFile, socket string) (*keySigner, error) {
	ks := &keySigner{account: account, name: name, match: keyID}
	if keyFile != "" {
		b, err := os.ReadFile(keyFile)
		if err != nil {
			return nil, fmt.Errorf("reading key_file: %w", err)
		}
		raw, err := ssh.ParseRawPrivateKey(b)
		var pm *ssh.PassphraseMissingError
		if errors.As(err, &pm) {
			return nil, fmt.Errorf("key_file %s is encrypted: load it into an SSH agent and set key_id instead", keyFile)
		}
		if err != nil {
			return nil, fmt.Errorf("key_file %s: %w", keyFile, err)
		}
		s, err := ssh.NewSignerFromKey(raw)
		if err != nil {
			return nil, fmt.Errorf("key_file %s: %w", keyFile, err)
		}
		ks.signer = s
		ks.fingerprint = md5Fingerprint(s.PublicKey())
		if keyID != "" && !fingerprintMatches(keyID, s.PublicKey()) {
			return nil, fmt.Errorf("key_file %s has fingerprint %s, not key_id %s", keyFile, ks.fingerprint, keyID)
		}
		return ks, nil
	}
	if socket == "" {
		socket = os.Getenv("SSH_AUTH_SOCK")
	}
	if socket == "" {
		return nil, errors.New("key_id without key_file needs an SSH agent: set ssh_agent_socket or SSH_AUTH_SOCK")
	}
	ks.socket = socket
	if fp, ok := md5Of(keyID); ok {
		ks.fingerprint = fp
	}
	return ks, nil
}

// md5Fingerprint is CloudAPI's key id form: lower-case colon-separated MD5.
func md5Fingerprint(k ssh.PublicKey) string {
	sum := md5.Sum(k.Marshal())
	parts := make([]string, len(sum))
	for i, b := range sum {
		parts[i] = hex.EncodeToString([]byte{b})
	}
	return strings.Join(parts, ":")
}

// md5Of returns the colon form of an MD5 key_id ("MD5:aa:..", "aa:..", or
// 32 hex digits).
func md5Of(keyID string) (string, bool) {
	s := strings.ToLower(strings.TrimPrefix(strings.TrimPrefix(keyID, "MD5:"), "md5:"))
	h := strings.ReplaceAll(s, ":", "")
	if len(h) != 32 {
		return "", false
	}
	if _, err := hex.DecodeString(h); err != nil {
		return "", false
	}
	parts := make([]string, 16)
	for i := range parts {
		parts[i] = h[2*i : 2*i+2]
	}
	return strings.Join(parts, ":"), true
}

// fingerprintMatches reports whether keyID (MD5 or SHA256 form) names k.
func fingerprintMatches(keyID string, k ssh.PublicKey) bool {
	if fp, ok := md5Of(keyID); ok {
		return fp == md5Fingerprint(k)
	}
	if rest, ok := strings.CutPrefix(keyID, "SHA256:"); ok {
		sum := sha256.Sum256(k.Marshal())
		return strings.TrimRight(rest, "=") == base64.RawStdEncoding.EncodeToString(sum[:])
	}
	return false
}

// agentTimeout bounds one exchange with the SSH agent.
const agentTimeout = 5 * time.Second

// current returns the ssh.Signer to sign with now: the key file's, or the
// agent's key matching key_id (dialled for each signature, so that an agent
// restarted meanwhile is found again).
func (k *keySigner) current() (ssh.Signer, func(), error) {
	if k.signer != nil {
		return k.signer, func() {}, nil
	}
	conn, err := net.DialTimeout("unix", k.socket, agentTimeout)
	if err != nil {
		return nil, nil, fmt.Errorf("ssh agent at %s: %w", k.socket, err)
	}
	_ = conn.SetDeadline(time.Now().Add(agentTimeout))
	signers, err := agent.NewClient(conn).Signers()
	if err != nil {
		conn.Close()
		return nil, nil, fmt.Errorf("ssh agent at %s: listing keys: %w", k.socket, err)
	}
	for _, s := range signers {
		if fingerprintMatches(k.match, s.PublicKey()) {
			return s, func() { conn.Close() }, nil
		}
	}
	conn.Close()
	return nil, nil, fmt.Errorf("ssh agent at %s holds no key %s", k.socket, k.match)
}

// SignRaw signs toSign and returns the base64 signature and its HTTP
// Signature algorithm name.
func (k *keySigner) SignRaw(toSign string) (string, string, error) {
	sig, alg, _, err := k.sign(toSign)
	return sig, alg, err
}

// sign is SignRaw that also returns the MD5 fingerprint of the key used.
func (k *keySigner) sign(toSign string) (string, string, string, error) {
	sig, alg, pub, err := k.signWith(toSign)
	if err != nil {
		return "", "", "", err
	}
	return sig, alg, md5Fingerprint(pub), nil
}

func (k *keySigner) signWith(toSign string) (string, string, ssh.PublicKey, error) {
	s, done, err := k.current()
	if err != nil {
		return "", "", nil, err
	}
	defer done()
	var sig *ssh.Signature
	var alg string
	switch s.PublicKey().Type() {
	case ssh.KeyAlgoRSA:
		as, ok := s.(ssh.AlgorithmSigner)
		if !ok {
			return "", "", nil, errors.New("this RSA key cannot sign with SHA-256")
		}
		sig, err = as.SignWithAlgorithm(rand.Reader, []byte(toSign), ssh.KeyAlgoRSASHA256)
		alg = "rsa-sha256"
	case ssh.KeyAlgoECDSA256, ssh.KeyAlgoECDSA384, ssh.KeyAlgoECDSA521:
		sig, err = s.Sign(rand.Reader, []byte(toSign))
		alg = map[string]string{ssh.KeyAlgoECDSA256: "ecdsa-sha256", ssh.KeyAlgoECDSA384: "ecdsa-sha384", ssh.KeyAlgoECDSA521: "ecdsa-sha512"}[s.PublicKey().Type()]
	case ssh.KeyAlgoED25519:
		sig, err = s.Sign(rand.Reader, []byte(toSign))
		alg = "ed25519-sha512"
	default:
		return "", "", nil, fmt.Errorf("keys of type %s cannot sign CloudAPI requests", s.PublicKey().Type())
	}
	if err != nil {
		return "", "", nil, fmt.Errorf("signing: %w", err)
	}
	blob := sig.Blob
	if strings.HasPrefix(alg, "ecdsa") {
		// SSH encodes (r, s) as two mpints; HTTP Signatures want ASN.1.
		var rs struct{ R, S *big.Int }
		if err := ssh.Unmarshal(blob, &rs); err != nil {
			return "", "", nil, fmt.Errorf("decoding ECDSA signature: %w", err)
		}
		if blob, err = asn1.Marshal(rs); err != nil {
			return "", "", nil, err
		}
	}
	return base64.StdEncoding.EncodeToString(blob), alg, s.PublicKey(), nil
}

// Sign returns the Authorization header for a request with Date
// dateHeader, signing headers="date".
func (k *keySigner) Sign(dateHeader string, _ bool) (string, error) {
	sig, alg, fp, err := k.sign("date: " + dateHeader)
	if err != nil {
		return "", err
	}
	keyID := path.Join("/", k.account, "keys", fp)
	return fmt.Sprintf(`Signature keyId="%s",algorithm="%s",headers="date",signature="%s"`, keyID, alg, sig), nil
}

// KeyFingerprint returns the key's MD5 fingerprint.
func (k *keySigner) KeyFingerprint() string { return k.fingerprint }

// DefaultAlgorithm returns the algorithm the key signs with.
func (k *keySigner) DefaultAlgorithm() string {
	_, alg, err := k.SignRaw("")
	if err != nil {
		return ""
	}
	return alg
}

// insecureTLS is the TLS configuration of insecure_skip_tls_verify.
func insecureTLS() *tls.Config {
	return &tls.Config{InsecureSkipVerify: true} //nolint:gosec // the operator asked for it, for test endpoints
}

// wrapf prefixes err's message.
func wrapf(err error, format string, args ...any) error {
	return fmt.Errorf(format+": %w", append(args, err)...)
}
