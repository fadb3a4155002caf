#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# vmmig host cert (runs on the build host): a lab CA, a host request, the
# signature, show in text and JSON, checked with openssl; a renewal keeps
# the key; a host of another CA and a key that does not match are shown as
# such; bad input is one line, exit 2 (misuse) or 1 (failure), and leaves
# nothing half-written.
# shellcheck source=selftests/common.sh
source "$(dirname "$0")/common.sh"
cleanup_hook() { :; }

[ -x "$VMMIG" ] || skip "$VMMIG is not built"
command -v openssl >/dev/null || skip "openssl is not installed"
command -v jq >/dev/null || skip "jq is not installed"
cd "$tmp" || exit 1

mode() { stat -c %a "$1"; }

expect_rc 0 "ca-create" -- "$VMMIG" host cert ca-create --dir ca --name "test CA" --days 30
expect_eq "says what it made" "$out" "CA 'test CA' in ca: ca.key, ca.crt (30 days)"
expect_eq "ca.key is 0600" "$(mode ca/ca.key)" 600
expect_eq "ca dir is 0700" "$(mode ca)" 700
expect_contains "a CA certificate" "$(openssl x509 -in ca/ca.crt -noout -text)" "CA:TRUE"
expect_eq "its subject" "$(openssl x509 -in ca/ca.crt -noout -subject)" "subject=CN = test CA"
expect_match "EC P-256" "$(openssl pkey -in ca/ca.key -noout -text 2>&1)" "P-256|prime256v1"
expect_rc 1 "ca-create over an existing CA" -- "$VMMIG" host cert ca-create --dir ca
one_line "ca-create over an existing CA" "^vmmig: host cert ca-create: ca: a CA is already there"
expect_rc 0 "ca-create -j" -- "$VMMIG" -j host cert ca-create --dir ca2
expect_eq "JSON" "$(jq -c . <<<"$out")" '{"name":"vmmig lab CA","dir":"ca2","days":3650}'

expect_rc 0 "request" -- "$VMMIG" host cert request --name hosta.example --dir a
expect_eq "host.key is 0600" "$(mode a/host.key)" 600
expect_contains "the request names the host" "$(openssl req -in a/host.csr -noout -text)" "DNS:hosta.example"
expect_rc 0 "request verifies" -- openssl req -in a/host.csr -noout -verify
key1=$(openssl pkey -in a/host.key -pubout)
expect_rc 0 "request again" -- "$VMMIG" -j host cert request --name hosta.example --dir a
expect_eq "keeps the key" "$(jq -r .new_key <<<"$out")" false
expect_eq "the same key" "$(openssl pkey -in a/host.key -pubout)" "$key1"

expect_rc 0 "sign" -- "$VMMIG" host cert sign a/host.csr --ca ca --days 10
expect_eq "host.csr makes host.crt" "$out" "signed a/host.crt (10 days)"
expect_rc 0 "openssl verifies it" -- openssl verify -CAfile ca/ca.crt a/host.crt
text=$(openssl x509 -in a/host.crt -noout -text)
expect_contains "DNS name" "$text" "DNS:hosta.example"
expect_contains "both TLS roles" "$text" "TLS Web Server Authentication, TLS Web Client Authentication"
expect_contains "not a CA" "$text" "CA:FALSE"
expect_contains "SHA-256" "$text" "ecdsa-with-SHA256"
cp ca/ca.crt a/

expect_rc 0 "show" -- "$VMMIG" host cert show --dir a
expect_match "subject" "$out" "(^|$'\n')subject CN = hosta.example"
expect_contains "names" "$out" "names hosta.example"
expect_contains "key" "$out" "host.key matches"
expect_contains "CA" "$out" "ca.crt signed it"
expect_rc 0 "show -j" -- "$VMMIG" host cert show --dir a -j
expect_eq "names" "$(jq -c .names <<<"$out")" '["hosta.example"]'
expect_eq "key_matches" "$(jq -c .key_matches <<<"$out")" true
expect_eq "ca_signed" "$(jq -c .ca_signed <<<"$out")" true
fp=$(openssl x509 -in a/host.crt -noout -fingerprint -sha256 | sed 's/.*=//')
expect_eq "the fingerprint openssl computes" "$(jq -r .sha256 <<<"$out")" "$fp"
expect_eq "a prefix: sh" "$("$VMMIG" -j host cert sh --dir a | jq -r .sha256)" "$fp"

# A certificate of another CA, and a key that is not its own.
cp ca2/ca.crt a/ca.crt
"$VMMIG" host cert request --name hostb --dir b >/dev/null
cp b/host.key a/host.key
expect_rc 0 "show a broken host" -- "$VMMIG" host cert show --dir a -j
expect_eq "key does not match" "$(jq -c .key_matches <<<"$out")" false
expect_eq "not signed" "$(jq -c .ca_signed <<<"$out")" false
expect_match "says why" "$(jq -r .ca_error <<<"$out")" "issuer certificate"

# Misuse: exit 2, one line, nothing written.
misuse() { # DESCRIPTION REGEX -- COMMAND...
	local what=$1 re=$2
	shift 2
	expect_rc 2 "$what" "$@"
	one_line "$what" "$re"
}
misuse "ca-create without --dir" "^vmmig: host cert ca-create: missing --dir DIR " -- "$VMMIG" host cert ca-create
misuse "ca-create --days 0" "^vmmig: host cert ca-create: --days: 0 is out of range" -- \
	"$VMMIG" host cert ca-create --dir x --days 0
misuse "ca-create --days x" "^vmmig: host cert ca-create: --days: 'x' is not a number" -- \
	"$VMMIG" host cert ca-create --dir x --days x
misuse "ca-create, a long name" "--name: 1 to 64 characters" -- \
	"$VMMIG" host cert ca-create --dir x --name "$(printf 'n%.0s' {1..65})"
misuse "request without --name" "^vmmig: host cert request: missing --name HOST " -- \
	"$VMMIG" host cert request --dir x
misuse "request, a bad name" "^vmmig: host cert request: --name: 'a_b' is not a host name " -- \
	"$VMMIG" host cert request --name a_b --dir x
misuse "request, a label too long" "is not a host name" -- \
	"$VMMIG" host cert request --name "$(printf 'a%.0s' {1..64})" --dir x
misuse "request, an extra argument" "unexpected argument 'y'" -- "$VMMIG" host cert request --name h --dir x y
misuse "sign without CSR" "^vmmig: host cert sign: missing CSR " -- "$VMMIG" host cert sign --ca ca
misuse "sign without --ca" "^vmmig: host cert sign: missing --ca DIR " -- "$VMMIG" host cert sign a/host.csr
misuse "show, an unknown option" "unknown option '--frob'" -- "$VMMIG" host cert show --frob
[ ! -e x ] && pass "misuse wrote nothing" || fail "misuse created x"

# Failures: exit 1, one line, nothing written.
before=$(find . | sort)
expect_rc 1 "sign a certificate, not a request" -- "$VMMIG" host cert sign ca/ca.crt --ca ca --out bad.crt
one_line "not a request" "^vmmig: host cert sign: ca/ca.crt: not a PEM certificate request"
expect_rc 1 "sign with no CA there" -- "$VMMIG" host cert sign b/host.csr --ca nowhere --out bad.crt
one_line "no CA" "^vmmig: host cert sign: nowhere/ca.crt: No such file or directory$"
sed '2s/./X/' b/host.csr >tampered.csr
expect_rc 1 "sign a tampered request" -- "$VMMIG" host cert sign tampered.csr --ca ca --out bad.crt
one_line "tampered" "^vmmig: host cert sign: tampered.csr: "
openssl req -new -key b/host.key -subj "/CN=not a host" -out odd.csr 2>/dev/null
expect_rc 1 "sign a request for a name that is no host" -- "$VMMIG" host cert sign odd.csr --ca ca --out bad.crt
one_line "odd name" "^vmmig: host cert sign: the request's CN is not a host name$"
cp ca/ca.key saved.key
cp ca2/ca.key ca/ca.key
expect_rc 1 "sign with a CA key that is not the CA's" -- "$VMMIG" host cert sign b/host.csr --ca ca --out bad.crt
one_line "mismatched CA" "ca.key does not match ca.crt"
cp saved.key ca/ca.key
rm -f tampered.csr odd.csr saved.key
expect_eq "nothing was written" "$(find . | sort)" "$(grep -v -e tampered.csr -e odd.csr -e saved.key <<<"$before")"
expect_rc 1 "show with no certificate" -- "$VMMIG" host cert show --dir b
one_line "show with no certificate" "^vmmig: host cert show: b/host.crt: No such file or directory$"
chmod 500 b
if [ "$(id -u)" != 0 ]; then
	expect_rc 1 "request into a read-only folder" -- "$VMMIG" host cert request --name hostb --dir b
fi
chmod 700 b

# An openssl-made request (the existing-CA recipe) signs and verifies too.
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out o.key 2>/dev/null
openssl req -new -key o.key -subj "/CN=hostc" -addext "subjectAltName=DNS:hostc,DNS:hostc.lab" -out o.csr
expect_rc 0 "sign an openssl request" -- "$VMMIG" host cert sign o.csr --ca ca
mkdir c && cp o.crt c/host.crt && cp o.key c/host.key && cp ca/ca.crt c/
expect_rc 0 "show it" -- "$VMMIG" -j host cert show --dir c
expect_eq "both names" "$(jq -c .names <<<"$out")" '["hostc","hostc.lab"]'

finish
