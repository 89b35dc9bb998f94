#!/bin/sh
# Regenerates vectors.json: HTTP Signature test vectors signed by OpenSSL,
# independently of this package's Sign. Needs openssl, ssh-keygen and python3.
# Usage: sh gen.sh > vectors.json
set -eu
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
date='Mon, 05 Jan 2026 21:31:40 GMT'
method=post; path='/testuser/images/1d7d3268-b4b6-5b27-af09-69ee5896f88d?action=update&x=a%20b'
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$tmp/rsa.pem" 2>/dev/null
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$tmp/p256.pem" 2>/dev/null
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-384 -out "$tmp/p384.pem" 2>/dev/null
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-521 -out "$tmp/p521.pem" 2>/dev/null
openssl genpkey -algorithm ED25519 -out "$tmp/ed.pem" 2>/dev/null
pub() { # OpenSSH public key; ssh-keygen cannot read PKCS#8 ed25519 keys
	chmod 600 "$1"
	case $1 in
	*ed.pem) openssl pkey -in "$1" -pubout -outform DER | tail -c 32 |
		python3 -c 'import sys,base64,struct; k=sys.stdin.buffer.read(); t=b"ssh-ed25519"; print("ssh-ed25519 "+base64.b64encode(struct.pack(">I",len(t))+t+struct.pack(">I",len(k))+k).decode())' ;;
	*) ssh-keygen -y -f "$1" ;;
	esac
}
fp() { pub "$1" > "$tmp/k.pub"; ssh-keygen -l -E md5 -f "$tmp/k.pub" | awk '{print $2}' | sed 's/^MD5://'; }
sign() { # key alg file
	case $2 in
	rsa-sha256) openssl dgst -sha256 -sign "$1" "$3" ;;
	rsa-sha512) openssl dgst -sha512 -sign "$1" "$3" ;;
	ecdsa-sha256) openssl dgst -sha256 -sign "$1" "$3" ;;
	ecdsa-sha384) openssl dgst -sha384 -sign "$1" "$3" ;;
	ecdsa-sha512) openssl dgst -sha512 -sign "$1" "$3" ;;
	ed25519-sha512) openssl pkeyutl -sign -rawin -inkey "$1" -in "$3" ;;
	esac | base64 -w0
}
echo '['
first=1
for pair in rsa:rsa-sha256 rsa:rsa-sha512 p256:ecdsa-sha256 p384:ecdsa-sha384 p521:ecdsa-sha512 ed:ed25519-sha512; do
	k=$tmp/${pair%%:*}.pem; alg=${pair#*:}
	keyid="/testuser/keys/$(fp "$k")"
	for form in request-target date noheaders legacy; do
		case $form in
		request-target) printf '(request-target): %s %s\ndate: %s' "$method" "$path" "$date" > "$tmp/s" ;;
		date|noheaders) printf 'date: %s' "$date" > "$tmp/s" ;;
		legacy) printf '%s' "$date" > "$tmp/s" ;;
		esac
		sig=$(sign "$k" "$alg" "$tmp/s")
		case $form in
		request-target) auth="Signature keyId=\\\"$keyid\\\",algorithm=\\\"$alg\\\",headers=\\\"(request-target) date\\\",signature=\\\"$sig\\\"" ;;
		date) auth="Signature keyId=\\\"$keyid\\\",algorithm=\\\"$alg\\\",headers=\\\"date\\\",signature=\\\"$sig\\\"" ;;
		noheaders) auth="Signature keyId=\\\"$keyid\\\",algorithm=\\\"$alg\\\",signature=\\\"$sig\\\"" ;;
		legacy) auth="Signature keyId=\\\"$keyid\\\",algorithm=\\\"$alg\\\" $sig" ;;
		esac
		[ $first = 1 ] || echo ','
		first=0
		printf '{"name":"%s/%s","public_key":"%s","method":"%s","target":"%s","date":"%s","authorization":"%s"}' \
			"$alg" "$form" "$(pub "$k")" "$(echo $method | tr a-z A-Z)" "$path" "$date" "$auth"
	done
done
echo
echo ']'
