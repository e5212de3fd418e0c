#!/usr/bin/env bash
# policy-callgrind.sh - instructions per request of `lineage webhook` (warm cache), counted
# by callgrind: repeatable for the same binary and inputs whatever else the machine does, so
# two builds can be compared on a busy machine where CPU time is noise.
#
# Usage: bench/policy-callgrind.sh LINEAGE_BINARY OUTDIR [N [signed]]
#   LINEAGE_BINARY  a release build of lineage (e.g. target/release/lineage)
#   OUTDIR          where the callgrind files go (emptied first)
#   N               requests per route (default 200)
#   signed          also measure lookups under a trust policy (issue 16), see below
# Logging as the caller's environment says (RUST_LOG=off, or unset for the default).
#
# It starts `lineage serve` (the same binary) on loopback, releases 3 revisions of
# HOST/app:1.0 (make-image.sh; each release retires the one before), then `lineage webhook
# --tag-ttl 30m` under `valgrind --tool=callgrind`. After 20 warm-up rounds it zeroes the
# counters, sends N requests one after another on one keep-alive connection, and dumps, for
# each of: GET /healthz; POST /lifecycle/v1/lookup of the oldest revision; POST
# /admission/v1/validate of the pod-create fixture running all 3 revisions (denied: 2 are
# end-of-life); POST /lifecycle/v1/lookup of a derived image of the oldest revision (its
# manifest with the base annotations naming it, issue 17: base-end-of-life). Prints
# "FILE TOTAL per=INSTRUCTIONS_PER_REQUEST" for the four dumps, in that order.
#
# signed (issue 16): the 3 revisions are released with `--sign` (bench/signing-fixture.sh: a
# throw-away CA and code-signing leaf, and a strict trust policy for HOST/app trusting them),
# the four dumps above are taken as before (no policy: signatures are not read), then a second
# webhook, `lineage --trust-policy FILE webhook --tag-ttl 30m`, is measured the same way for the
# lookup, admission and derived requests (warm: every verification outcome cached), after
# checking its answers are the same and its lookups verified records (lineage_records_verified_
# total{result="verified"} > 0, no other result). Its three dumps follow, prefixed "policy:".
# Needs valgrind, python3, jq, curl, GNU date; openssl for signed.
set -euo pipefail
[ $# -ge 2 ] && [ $# -le 4 ] && { [ $# -lt 4 ] || [ "$4" = signed ]; } ||
  { sed -n '5,10p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }
bin=$1; out=$2; n=${3:-200}; signed=${4:-}
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
mkdir -p "$out"; rm -f "$out"/cg.*
work=$(mktemp -d)
pids=()
trap 'for p in "${pids[@]}"; do kill $p 2>/dev/null || true; done; rm -rf "$work"' EXIT
launch() { local log=$1; shift; "$@" 2> "$log" > /dev/null < /dev/null & pids+=($!); for _ in $(seq 1 600); do h=$(sed -n 's|.*listening on http://\([0-9.]*:[0-9]*\).*|\1|p' "$log" | head -n1); [ -n "$h" ] && return 0; sleep 0.1; done; echo "no start: $(cat $log)" >&2; exit 1; }
launch "$work/serve.log" env -u RUST_LOG "$bin" serve --root "$work/root" --addr 127.0.0.1:0
reg=$h
sign=()
if [ -n "$signed" ]; then
  "$root/bench/signing-fixture.sh" "$work/trust" "$reg/app"
  sign=(--sign --signing-key "$work/trust/key.pem" --signing-cert "$work/trust/chain.pem")
fi
for i in 1 2 3; do
  day=$(date -u -d "2024-01-01 00:00:00Z + $((i - 1)) days" +%Y-%m-%dT%H:%M:%SZ)
  rev=$(date -u -d "$day" +%Y%m%d)
  "$root/scripts/make-image.sh" -t "r$i" -s "cg-$i" "$work/layout" > /dev/null
  "$bin" -q --plain-http release "oci:$work/layout:r$i" "$reg/app" --version 1.0 --revision "$rev" --eol-at "$day" "${sign[@]}" > /dev/null
done
refs=$(for i in 1 2 3; do printf '%s/app:1.0-%s\n' "$reg" "$(date -u -d "2024-01-0$i" +%Y%m%d)"; done | jq -R . | jq -s -c .)
jq -c --argjson imgs "$refs" '
  .request.object.spec.initContainers = []
  | .request.object.spec.volumes |= map(select(has("image") | not))
  | .request.object.spec.containers = [range(0; $imgs | length) as $k
      | .request.object.spec.containers[0] + {name: "c\($k)", image: $imgs[$k]}]' \
  "$root/crates/server/tests/fixtures/admission/pod-create.json" > "$work/review.json"
echo "{\"images\":[$(echo "$refs" | jq -c '.[0]')]}" > "$work/lookup.json"
# A derived image of the oldest revision: its manifest with the base annotations naming it
# (issue 17), as bench/policy.sh's derived run pushes them.
base_ref=$(echo "$refs" | jq -r '.[0]')
base_path=${base_ref#*/}
curl -fsS -H 'Accept: application/vnd.oci.image.manifest.v1+json' -D "$work/base.h" \
  "http://$reg/v2/${base_path%%:*}/manifests/${base_path#*:}" > "$work/base.json"
base_digest=$(tr -d '\r' < "$work/base.h" | awk -F': ' 'tolower($1) == "docker-content-digest" { print $2 }')
jq -c --arg d "$base_digest" --arg n "$base_ref" \
  '.annotations += {"org.opencontainers.image.base.digest": $d, "org.opencontainers.image.base.name": $n}' \
  "$work/base.json" > "$work/derived.json"
curl -fsS -o /dev/null -X PUT -H "Content-Type: $(jq -r .mediaType "$work/derived.json")" \
  --data-binary "@$work/derived.json" "http://$reg/v2/app/manifests/derived"
echo "{\"images\":[\"$reg/app:derived\"]}" > "$work/derived-lookup.json"
# measure LOG ROUTES [GLOBAL_FLAGS...] -> a webhook under callgrind, warmed up, checked, and
# one dump per route of ROUTES (comma-separated names of the routes below), N requests each.
measure() {
local log=$1 routes=$2; shift 2
launch "$log" valgrind --tool=callgrind --callgrind-out-file="$out/cg.%p" "$bin" "$@" webhook --addr 127.0.0.1:0 --tag-ttl 30m
wh=$h; vpid=${pids[-1]}
python3 - "$wh" "$work" "$n" "$vpid" "$out" "$routes" "$#" << 'PY'
import http.client, sys, subprocess, json
host, port = sys.argv[1].split(':'); work = sys.argv[2]; n = int(sys.argv[3]); pid = sys.argv[4]; out = sys.argv[5]
routes = sys.argv[6].split(','); policy = sys.argv[7] != '0'
c = http.client.HTTPConnection(host, int(port), timeout=120)
review = open(work + '/review.json', 'rb').read(); lookup = open(work + '/lookup.json', 'rb').read(); derived = open(work + '/derived-lookup.json', 'rb').read()
def req(method, path, body=None):
    c.request(method, path, body=body, headers={'Content-Type': 'application/json'} if body else {})
    r = c.getresponse(); b = r.read(); assert r.status == 200, (r.status, b[:300]); return b
for _ in range(20):
    a = json.loads(req('POST', '/admission/v1/validate', review)); req('POST', '/lifecycle/v1/lookup', lookup); req('GET', '/healthz')
assert a['response']['allowed'] is False, a
d = json.loads(req('POST', '/lifecycle/v1/lookup', derived))['results'][0]
assert d['state'] == 'base-end-of-life', d
l = json.loads(req('POST', '/lifecycle/v1/lookup', lookup))['results'][0]
assert l['state'] == 'end-of-life', l
if policy:
    # Every record read was verified (strict: a record that did not would not count).
    results = {}
    for line in req('GET', '/metrics').decode().splitlines():
        if line.startswith('lineage_records_verified_total{'):
            k, v = line.rsplit(' ', 1); results[k.split('"')[1]] = int(float(v))
    assert results.get('verified', 0) > 0 and sum(results.values()) == results['verified'], results
for name, m, p, b in [('healthz', 'GET', '/healthz', None), ('lookup', 'POST', '/lifecycle/v1/lookup', lookup), ('admission', 'POST', '/admission/v1/validate', review), ('derived', 'POST', '/lifecycle/v1/lookup', derived)]:
    if name not in routes: continue
    subprocess.run(['callgrind_control', '-z', pid], check=True, capture_output=True)
    for _ in range(n): req(m, p, b)
    subprocess.run(['callgrind_control', '-d', name, pid], check=True, capture_output=True)
PY
kill "$vpid"; wait "$vpid" 2>/dev/null || true
local f tot
for f in "$out"/cg."$vpid".*; do
  [ -e "$f" ] || continue
  tot=$(grep -m1 '^summary:\|^totals:' "$f" | awk '{print $2}')
  echo "${prefix:-}$(basename "$f") $tot per=$((tot / n))"
done
}
measure "$work/wh.log" healthz,lookup,admission,derived
[ -z "$signed" ] || prefix="policy: " measure "$work/wh-policy.log" lookup,admission,derived --trust-policy "$work/trust/trustpolicy.json"
