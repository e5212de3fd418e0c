#!/usr/bin/env bash
# signing-fixture.sh - a throw-away signing setup for the signed benchmarks (issue 16): a CA
# and a code-signing leaf made with the openssl CLI, and a strict trust policy for one
# repository trusting that CA, with its trust store beside it as notation lays it out.
#
# Usage: bench/signing-fixture.sh DIR SCOPE
#   DIR    where the files go (created; must not hold a previous fixture)
#   SCOPE  the repository the policy covers, as registryScopes names it (HOST:PORT/REPO)
#
# Writes DIR/key.pem (the leaf's PKCS#8 key, for --signing-key), DIR/chain.pem (leaf then
# CA, for --signing-cert), DIR/trustpolicy.json (for --trust-policy: strict, SCOPE only,
# trust store ca:bench, the leaf's subject as the trusted identity) and
# DIR/truststore/x509/ca/bench/ca.pem. EC P-256 keys; valid from now for 2 days.
# Needs openssl (3.x), jq.
set -euo pipefail
[ $# -eq 2 ] || { sed -n '6,8p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }
dir=$1; scope=$2
[ ! -e "$dir/trustpolicy.json" ] || { echo "signing-fixture: $dir already holds a fixture" >&2; exit 1; }
mkdir -p "$dir/truststore/x509/ca/bench"
subject='/C=US/ST=WA/L=Seattle/O=lineage bench/CN=lineage bench signer'
identity='x509.subject: C=US, ST=WA, L=Seattle, O=lineage bench, CN=lineage bench signer'
(
  cd "$dir"
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ca.key -out ca.pem \
    -days 2 -subj '/C=US/ST=WA/O=lineage bench/CN=lineage bench CA' \
    -addext 'basicConstraints=critical,CA:TRUE,pathlen:0' \
    -addext 'keyUsage=critical,keyCertSign,cRLSign' 2> /dev/null
  openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout key.pem \
    -out leaf.csr -subj "$subject" 2> /dev/null
  printf 'basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=codeSigning\n' > leaf.ext
  openssl x509 -req -in leaf.csr -CA ca.pem -CAkey ca.key -set_serial 2 -days 2 \
    -extfile leaf.ext -out leaf.pem 2> /dev/null
  cat leaf.pem ca.pem > chain.pem
  cp ca.pem truststore/x509/ca/bench/ca.pem
  rm -f leaf.csr leaf.ext ca.key
)
jq -n --arg scope "$scope" --arg id "$identity" '{
  version: "1.0",
  trustPolicies: [{
    name: "bench",
    registryScopes: [$scope],
    signatureVerification: {level: "strict"},
    trustStores: ["ca:bench"],
    trustedIdentities: [$id]
  }]
}' > "$dir/trustpolicy.json"
