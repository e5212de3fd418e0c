#!/usr/bin/env bash
# policy.sh - benchmark the policy lookup service (`lineage webhook`): the cost of a
# cold lookup in registry requests, and lookups per second with p50/p99 latency
# from a warm cache at 64 concurrent clients (issue 7).
#
# Usage: bench/policy.sh [-w DIR] [-n IMAGES] [-d SECONDS] [-c CONNECTIONS] [-a IMAGES] [-p MS] [-S [-R ROUNDS]]
#   -w DIR          work directory, kept afterwards (default: a temporary one, removed)
#   -n IMAGES       distinct images (revisions) released and looked up (default 20)
#   -d SECONDS      duration of each timed wrk run (default 10); keep it short of 5 min
#   -c CONNECTIONS  wrk connections, i.e. concurrent clients (default 64)
#   -a IMAGES       images per AdmissionReview in the admission run (default 3)
#   -p MS           think time of each client in the paced run (default 4)
#   -S              signed records (issue 16): a third webhook under a trust policy, see below
#   -R ROUNDS       with -S, also ROUNDS more alternating rounds of the compared runs (default 0)
#
# Processes, all on 127.0.0.1 and sharing this machine's cores (release build):
#   registry  `lineage serve --root DIR/root --addr 127.0.0.1:0`, default logging
#             (one access-log line per request, to a file), holds the images
#   webhook   `lineage webhook --addr 127.0.0.1:0 --tag-ttl 5m`, the lookup service,
#             a separate process so its CPU is measured apart; two of them:
#             "log"  default logging (RUST_LOG unset), stderr to a file
#             "off"  RUST_LOG=off (no access log)
# --tag-ttl 5m (default 30 s) keeps every tag resolution cached for the whole run,
# so the timed runs measure the warm cache alone; the digest TTL is the default 5 m.
#
# Images: IMAGES distinct images from scripts/make-image.sh (seed per image and
# run), released one after the other with `lineage release oci:LAYOUT:rI HOST/app
# --version 1.0 --revision YYYYMMDD --eol-at DAY`, DAY = 2024-01-01 plus I-1 days
# (make-image.sh stamps its images 2024-01-01, their created time, so the revision is
# given). Each release retires the previous revision;
# so all but the newest are end-of-life with the next revision as successor.
#
# Cold cost: against the fresh "log" webhook, one POST /lifecycle/v1/lookup per
# image, sequentially, {"images":["HOST/app:1.0-REV"]}. Counted: the registry's
# access-log lines for /v2/ added during that phase, cross-checked with the
# webhook's lineage_registry_requests_total. Every answer is checked (state,
# digest, successor reference and digest).
# Warm: after a wrk warm-up (3 s, rotating over all images) of both webhooks, for
# each of the runs below "log" then "off": `wrk -t2 -cCONNECTIONS -dSECONDS
# --latency --timeout 10s -s SCRIPT`, requests/s and p50/p99 (wrk's latency
# histogram, read in a Lua done()), webhook/registry/wrk CPU, and registry
# requests during the run (registry access log and the webhook's metric):
#   single    lookup of one image per request, always the oldest (end-of-life)
#   rotate    lookup of one image per request, rotating over all IMAGES images
#   baseline  GET /healthz: no body, no lookup, no JSON; the HTTP stack alone
#   paced     as rotate, but each client waits MS ms (wrk's delay()) after every
#             answer before it sends its next request, so the service runs below
#             saturation (about CONNECTIONS / (MS + latency) requests/s); wrk's
#             latency does not include the wait
#   admission POST /admission/v1/validate: the pod-create fixture with its images
#             replaced by -a revisions (oldest, ..., newest): one review per request
#   derived   as rotate, over IMAGES application images built FROM the revisions
#             (issue 17): each revision's manifest with the base annotations
#             org.opencontainers.image.base.digest/.name naming it added, as buildah
#             writes them (tags d-REV in the same repository, so no blob moves); the
#             answer is base-end-of-life (supported for the newest); its rate is
#             compared with the rotate run's (target >= 0.8x)
# Signed (-S): every release is made with `--sign` (bench/signing-fixture.sh: a throw-away CA
# and code-signing leaf from openssl, a strict trust policy for HOST/app trusting them), and a
# third webhook, "policy": `lineage --trust-policy FILE webhook --tag-ttl 5m`, RUST_LOG=off,
# runs every run after the "off" one; its answers must be the same and every record it read
# verified (lineage_records_verified_total). The report compares its rates with the "off"
# webhook's, run by run (target >= 0.9x for the lookups: warm, verification outcomes are
# cached with the facts). With -R ROUNDS, after all runs, each of single, rotate, derived and
# admission is run ROUNDS more times as a pair, "off" then "policy", each round with a fresh
# pair of webhook processes: a pair's two runs are seconds apart, so drift of the shared
# machine touches both alike, and fresh processes each round spread what differs from one
# process to the next (its heap, its threads' placement); the report gives every pair's ratio
# and their median.
# Answers are checked before timing; a run fails on non-2xx answers, socket errors
# or lookup errors. A `top` snapshot is taken in the middle of every timed run.
#
# Progress goes to stderr; the report (markdown) to stdout.
# Needs: cargo, wrk, curl, jq, awk, GNU coreutils, top (procps), GNU time, python3; openssl for -S.
set -euo pipefail

prog=policy
say() { printf '%s: %s\n' "$prog" "$*" >&2; }
die() { say "error: $*"; exit 1; }
usage() { sed -n '6,14p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }

command_line="bench/policy.sh${*:+ $*}"
work=""
images=20
duration=10
conns=64
adm_images=3
think=4
signed=false
rounds=0
while getopts ":w:n:d:c:a:p:R:Sh" opt; do
  case "$opt" in
    w) work=$OPTARG ;;
    n) images=$OPTARG ;;
    d) duration=$OPTARG ;;
    c) conns=$OPTARG ;;
    a) adm_images=$OPTARG ;;
    p) think=$OPTARG ;;
    S) signed=true ;;
    R) rounds=$OPTARG ;;
    h) usage ;;
    :) say "-$OPTARG needs a value"; usage ;;
    *) say "unknown option -$OPTARG"; usage ;;
  esac
done
shift $((OPTIND - 1))
[ $# -eq 0 ] || { say "unexpected argument '$1'"; usage; }
[[ "$rounds" =~ ^[0-9]+$ ]] || { say "-R takes a number"; usage; }
[ "$rounds" = 0 ] || [ "$signed" = true ] || { say "-R needs -S"; usage; }
for pair in "n:$images" "d:$duration" "c:$conns" "a:$adm_images" "p:$think"; do
  [[ "${pair#*:}" =~ ^[1-9][0-9]*$ ]] || { say "-${pair%%:*} takes a positive number"; usage; }
done
[ "$images" -ge 2 ] || { say "-n takes at least 2 (one successor)"; usage; }
[ "$duration" -lt 300 ] || { say "-d must stay below the 5 min tag TTL"; usage; }
[ "$adm_images" -le "$images" ] || { say "-a cannot exceed -n"; usage; }
[ "$conns" -ge 2 ] || { say "-c takes at least 2 (wrk runs 2 threads)"; usage; }

for cmd in cargo wrk curl jq awk date sort top getconf python3; do
  command -v "$cmd" > /dev/null || die "$cmd not found on PATH"
done
[ -x /usr/bin/time ] || die "GNU time (/usr/bin/time) not found"
[ "$signed" = false ] || command -v openssl > /dev/null || die "openssl not found on PATH (-S)"

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/.." && pwd)
fixture="$root/crates/server/tests/fixtures/admission/pod-create.json"
[ -f "$fixture" ] || die "no fixture at $fixture"
clk_tck=$(getconf CLK_TCK)
readonly warmup=3

# --- work directory, servers, clean-up ----------------------------------------
keep_work=true
if [ -z "$work" ]; then
  work=$(mktemp -d "${TMPDIR:-/tmp}/lineage-bench-policy.XXXXXX")
  keep_work=false
fi
mkdir -p "$work"
work=$(cd "$work" && pwd)
[ ! -e "$work/root" ] || die "$work/root exists; give a new or empty work directory"
mkdir -p "$work/logs" "$work/cold" "$work/runs"
pids=()

cleanup() {
  local rc=$? p
  for p in "${pids[@]}"; do
    kill -TERM "$p" 2> /dev/null || true
    wait "$p" 2> /dev/null || true
  done
  if [ "$keep_work" = false ]; then
    rm -rf -- "$work"
  else
    say "kept $work (server logs, wrk output, answers)"
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

started=$(date -u '+%Y-%m-%d %H:%M UTC')
load_start=$(cut -d' ' -f1-3 /proc/loadavg)

say "building lineage (release)"
(cd "$root" && cargo build --release -p lineage-cli) >&2
lineage="${CARGO_TARGET_DIR:-$root/target}/release/lineage"
[ -x "$lineage" ] || die "no binary at $lineage after the build"

# launch LOG WHAT CMD... -> starts CMD with stderr to LOG, waits for its
# "listening on http://HOST:PORT" line; sets launched_pid and launched_host.
launched_pid=""
launched_host=""
launch() {
  local log=$1 what=$2
  shift 2
  "$@" 2> "$log" < /dev/null > /dev/null &
  launched_pid=$!
  pids+=("$launched_pid")
  launched_host=""
  for _ in $(seq 1 200); do
    launched_host=$(sed -n 's|.*listening on http://\([0-9.]*:[0-9]*\).*|\1|p' "$log" | head -n 1)
    [ -z "$launched_host" ] || return 0
    kill -0 "$launched_pid" 2> /dev/null || die "$what exited: $(tail -n 5 "$log")"
    sleep 0.1
  done
  die "$what did not print its address within 20 s"
}

reg_log="$work/logs/serve.log"
launch "$reg_log" "lineage serve" env -u RUST_LOG "$lineage" serve --root "$work/root" --addr 127.0.0.1:0
reg_pid=$launched_pid
host=$launched_host
say "lineage serve (the registry) on $host (pid $reg_pid)"

# The registry's access-log lines for /v2/ so far; waits until the count stops
# changing, since a line may be written just after its response was sent.
reg_requests() {
  local a b
  a=$(grep -c ' INFO request method=[A-Z]* path=/v2/' "$reg_log" || true)
  while :; do
    sleep 0.1
    b=$(grep -c ' INFO request method=[A-Z]* path=/v2/' "$reg_log" || true)
    [ "$a" = "$b" ] && break
    a=$b
  done
  printf '%s' "$a"
}

# CPU seconds (user + system) a process has used so far.
cpu_of() {
  sed 's/.*) //' "/proc/$1/stat" | awk -v t="$clk_tck" '{ printf "%.2f", ($12 + $13) / t }'
}
# Per thread of a process: "TID NAME TICKS" (user + system), one line each.
thread_ticks() {
  local t
  for t in /proc/"$1"/task/*; do
    printf '%s %s %s\n' "${t##*/}" "$(tr ' ' _ < "$t/comm")" "$(sed 's/.*) //' "$t/stat" | awk '{ print $12 + $13 }')"
  done | LC_ALL=C sort
}
# CPU seconds the whole machine has been busy (all but idle and iowait).
busy_of() {
  awk -v t="$clk_tck" '$1 == "cpu" { printf "%.2f", ($2 + $3 + $4 + $7 + $8 + $9) / t }' /proc/stat
}

# --- the images ------------------------------------------------------------------
run_id="$(date +%s%N)-$$"
declare -a rev=() digest=()
sign=()
if [ "$signed" = true ]; then
  "$root/bench/signing-fixture.sh" "$work/trust" "$host/app" || die "cannot make the signing fixture"
  sign=(--sign --signing-key "$work/trust/key.pem" --signing-cert "$work/trust/chain.pem")
  say "signing every record (trust policy $work/trust/trustpolicy.json)"
fi
say "releasing $images revisions of $host/app (version 1.0)"
for i in $(seq 1 "$images"); do
  day=$(date -u -d "2024-01-01 00:00:00Z + $((i - 1)) days" +%Y-%m-%dT%H:%M:%SZ)
  rev[i]=$(date -u -d "$day" +%Y%m%d)
  "$root/scripts/make-image.sh" -t "r$i" -s "bench-policy-$run_id-$i" "$work/layout" > /dev/null
  out=$("$lineage" -q --plain-http release "oci:$work/layout:r$i" "$host/app" \
    --version 1.0 --revision "${rev[i]}" --eol-at "$day" "${sign[@]}" 2> "$work/logs/release-$i.log") ||
    { cat "$work/logs/release-$i.log" >&2; die "release $i failed"; }
  got=$(curl -fsS -I -H 'Accept: application/vnd.oci.image.manifest.v1+json' \
    "http://$host/v2/app/manifests/1.0-${rev[i]}" |
    tr -d '\r' | awk -F': ' 'tolower($1) == "docker-content-digest" { print $2 }')
  [ -n "$got" ] || die "no digest for $host/app:1.0-${rev[i]}"
  [ "$out" = "$got" ] || die "release printed '$out' but 1.0-${rev[i]} is $got"
  digest[i]=$got
done
rolling=$(curl -fsS -I -H 'Accept: application/vnd.oci.image.manifest.v1+json' \
  "http://$host/v2/app/manifests/1.0" | tr -d '\r' | awk -F': ' 'tolower($1) == "docker-content-digest" { print $2 }')
[ "$rolling" = "${digest[images]}" ] || die "the rolling tag 1.0 is $rolling, not the newest revision"

ref() { printf '%s/app:1.0-%s' "$host" "${rev[$1]}"; }

# The derived images: revision I's manifest with the base annotations naming it (and its
# own annotations, version and revision included, inherited as buildah copies them).
dref() { printf '%s/app:d-%s' "$host" "${rev[$1]}"; }
say "pushing $images derived images (base annotations naming each revision)"
for i in $(seq 1 "$images"); do
  curl -fsS -H 'Accept: application/vnd.oci.image.manifest.v1+json' \
    "http://$host/v2/app/manifests/1.0-${rev[i]}" > "$work/base-$i.json" || die "cannot read revision $i"
  jq -c --arg d "${digest[i]}" --arg n "$(ref "$i")" \
    '.annotations += {"org.opencontainers.image.base.digest": $d, "org.opencontainers.image.base.name": $n}' \
    "$work/base-$i.json" > "$work/derived-$i.json"
  curl -fsS -o /dev/null -X PUT -H "Content-Type: $(jq -r .mediaType "$work/derived-$i.json")" \
    --data-binary "@$work/derived-$i.json" "http://$host/v2/app/manifests/d-${rev[i]}" ||
    die "cannot push the derived image of revision $i"
done

# check_derived FILE I -> the lookup answer in FILE is right for derived image I.
check_derived() {
  local file=$1 i=$2 want got
  if [ "$i" -lt "$images" ]; then
    want="base-end-of-life ${digest[i]} end-of-life $(ref $((i + 1)))"
  else
    want="supported ${digest[i]} supported null"
  fi
  got=$(jq -r '.results[0] | "\(.state) \(.base.digest) \(.base.state) \(.base.successor.reference // "null")"' "$file") ||
    die "unreadable answer in $file"
  [ "$got" = "$want" ] || die "wrong answer for $(dref "$i") in $file: $got (want $want)"
}

# check_answer FILE I -> the lookup answer in FILE is right for image I.
check_answer() {
  local file=$1 i=$2 want_state want_succ_ref want_succ_digest got
  if [ "$i" -lt "$images" ]; then
    want_state=end-of-life
    want_succ_ref=$(ref $((i + 1)))
    want_succ_digest=${digest[i + 1]}
  else
    want_state=supported
    want_succ_ref=null
    want_succ_digest=null
  fi
  got=$(jq -r '.results | length as $n | .[0] |
      "\($n) \(.reference) \(.digest) \(.state) \(.successor.reference // "null") \(.successor.digest // "null") \(.error // "-")"' "$file") ||
    die "unreadable answer in $file"
  [ "$got" = "1 $(ref "$i") ${digest[i]} $want_state $want_succ_ref $want_succ_digest -" ] ||
    die "wrong answer for $(ref "$i") in $file: $got (want $want_state, successor $want_succ_ref)"
}

# metric URL NAME -> the value of the sample NAME (with labels, exactly as written).
metric() {
  curl -fsS "http://$1/metrics" | awk -v n="$2" '$1 == n { print $2; found = 1 } END { if (!found) print "NA" }'
}

# --- the webhooks ------------------------------------------------------------------
declare -A wh_host=() wh_pid=() wh_log=()
wh_label() {
  case $1 in
    log) echo "default logging" ;;
    off) echo "RUST_LOG=off" ;;
    *) echo "RUST_LOG=off, --trust-policy" ;;
  esac
}
whs=(log off)
[ "$signed" = false ] || whs+=(policy)
wh_log[log]="$work/logs/webhook-log.log"
launch "${wh_log[log]}" "lineage webhook" env -u RUST_LOG "$lineage" webhook --addr 127.0.0.1:0 --tag-ttl 5m
wh_pid[log]=$launched_pid
wh_host[log]=$launched_host
say "lineage webhook (default logging) on ${wh_host[log]} (pid ${wh_pid[log]})"

# --- 1. cold cost ------------------------------------------------------------------------
say "cold: one lookup per image against the fresh webhook, sequentially"
m0=$(metric "${wh_host[log]}" lineage_registry_requests_total)
[ "$m0" = 0 ] || die "the fresh webhook already made $m0 registry requests"
r0=$(reg_requests)
cold_ms=()
for i in $(seq 1 "$images"); do
  t=$(curl -fsS -o "$work/cold/$i.json" -w '%{time_total}' -H 'Content-Type: application/json' \
    -d "{\"images\":[\"$(ref "$i")\"]}" "http://${wh_host[log]}/lifecycle/v1/lookup") || die "cold lookup $i failed"
  cold_ms+=("$(awk -v t="$t" 'BEGIN { printf "%.2f", t * 1000 }')")
done
r1=$(reg_requests)
m1=$(metric "${wh_host[log]}" lineage_registry_requests_total)
for i in $(seq 1 "$images"); do check_answer "$work/cold/$i.json" "$i"; done
cold_reg=$((r1 - r0))
cold_metric=$((m1 - m0))
cold_per=$(awk -v a="$cold_reg" -v n="$images" 'BEGIN { printf "%.2f", a / n }')
cold_per_metric=$(awk -v a="$cold_metric" -v n="$images" 'BEGIN { printf "%.2f", a / n }')
# The kinds of requests: method, then manifests by tag / by digest, referrers, other.
cold_kinds=$(grep ' INFO request method=[A-Z]* path=/v2/' "$reg_log" | sed -n "$((r0 + 1)),${r1}p" |
  sed -n 's/.* method=\([A-Z]*\) path=\([^ ]*\) status=\([0-9]*\).*/\1 \2 \3/p' |
  awk '{ k = $1 " "; if ($2 ~ /\/manifests\/sha256:/) k = k "manifest by digest"
         else if ($2 ~ /\/manifests\/1\.0$/) k = k "manifest by rolling tag 1.0"
         else if ($2 ~ /\/manifests\//) k = k "manifest by revision tag"
         else if ($2 ~ /\/referrers\//) k = k "referrers"
         else k = k $2
         c[k " (" $3 ")"]++ }
       END { for (k in c) printf "%s: %d; ", k, c[k] }' | sed 's/; $//')
cold_p50=$(printf '%s\n' "${cold_ms[@]}" | sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }')
cold_max=$(printf '%s\n' "${cold_ms[@]}" | sort -g | tail -n 1)
say "cold: $cold_reg registry requests for $images images ($cold_per per image; webhook metric: $cold_metric); answers right"

# start_webhook S [SUFFIX] -> a fresh "off" or "policy" webhook (its log file name + SUFFIX)
start_webhook() {
  local s=$1
  wh_log[$s]="$work/logs/webhook-$s${2:-}.log"
  case $s in
    off) launch "${wh_log[off]}" "lineage webhook (RUST_LOG=off)" env RUST_LOG=off "$lineage" \
      webhook --addr 127.0.0.1:0 --tag-ttl 5m ;;
    policy) launch "${wh_log[policy]}" "lineage webhook (--trust-policy)" env RUST_LOG=off "$lineage" \
      --trust-policy "$work/trust/trustpolicy.json" webhook --addr 127.0.0.1:0 --tag-ttl 5m ;;
  esac
  wh_pid[$s]=$launched_pid
  wh_host[$s]=$launched_host
  say "lineage webhook ($(wh_label "$s")) on ${wh_host[$s]} (pid ${wh_pid[$s]})"
}
start_webhook off
[ "$signed" = false ] || start_webhook policy

# --- 2. request bodies and wrk scripts -------------------------------------------------
done_fn='done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("BENCH requests=%d duration_us=%d p50_us=%d p90_us=%d p99_us=%d max_us=%d errors=%d\n",
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(90),
    latency:percentile(99), latency.max, e.connect + e.read + e.write + e.status + e.timeout))
end'

single_body="{\"images\":[\"$(ref 1)\"]}"
{
  echo 'wrk.method = "POST"'
  echo 'wrk.headers["Content-Type"] = "application/json"'
  printf 'wrk.body = %s\n' "'$single_body'"
  echo "$done_fn"
} > "$work/single.lua"

# A wrk script that asks, one image per request, for each of the images `$1 I` names in turn
# (`ref`: the revisions; `dref`: the derived images).
rotating_script() {
  echo 'wrk.method = "POST"'
  echo 'wrk.headers["Content-Type"] = "application/json"'
  echo 'local bodies = {'
  for i in $(seq 1 "$images"); do printf "  '{\"images\":[\"%s\"]}',\n" "$("$1" "$i")"; done
  echo '}'
  echo 'local reqs = {}'
  echo 'local n = 0'
  echo 'init = function(args)'
  echo '  for k, b in ipairs(bodies) do reqs[k] = wrk.format(nil, nil, nil, b) end'
  echo '  n = math.random(#reqs) - 1'
  echo 'end'
  echo 'request = function()'
  echo '  n = n % #reqs + 1'
  echo '  return reqs[n]'
  echo 'end'
  echo "$done_fn"
}
rotating_script ref > "$work/rotate.lua"
rotating_script dref > "$work/derived.lua"
{
  cat "$work/rotate.lua"
  echo "delay = function() return $think end"
} > "$work/paced.lua"
# The HTTP stack alone: GET /healthz, no body, no lookup.
echo "$done_fn" > "$work/baseline.lua"

# The admission review: the pod-create fixture with its images (containers, init
# containers, image volumes) replaced by adm_images containers running revisions
# spread from the oldest to the newest.
adm_idx=()
for k in $(seq 0 $((adm_images - 1))); do
  if [ "$adm_images" -eq 1 ]; then adm_idx+=(1); else adm_idx+=($((1 + k * (images - 1) / (adm_images - 1)))); fi
done
adm_refs=$(for i in "${adm_idx[@]}"; do ref "$i"; echo; done | jq -R . | jq -s -c .)
jq -c --argjson imgs "$adm_refs" '
  .request.object.spec.initContainers = []
  | .request.object.spec.volumes |= map(select(has("image") | not))
  | .request.object.spec.containers = [range(0; $imgs | length) as $k
      | .request.object.spec.containers[0] + {name: "c\($k)", image: $imgs[$k]}]' \
  "$fixture" > "$work/review.json"
adm_uid=$(jq -r .request.uid "$work/review.json")
adm_denied=0
for i in "${adm_idx[@]}"; do [ "$i" -eq "$images" ] || adm_denied=$((adm_denied + 1)); done
python3 - "$work/review.json" "$work/admission.lua" "$done_fn" << 'EOF'
import sys
body = open(sys.argv[1]).read().strip()
with open(sys.argv[2], "w") as f:
    f.write('wrk.method = "POST"\nwrk.headers["Content-Type"] = "application/json"\n')
    f.write("wrk.body = [==[" + body + "]==]\n")
    f.write(sys.argv[3] + "\n")
EOF

# check_webhook S -> the webhook's answers to every body used below are right.
check_webhook() {
  local s=$1 h=${wh_host[$1]} i f
  for i in $(seq 1 "$images"); do
    f="$work/runs/check-$s-$i.json"
    curl -fsS -o "$f" -H 'Content-Type: application/json' -d "{\"images\":[\"$(ref "$i")\"]}" \
      "http://$h/lifecycle/v1/lookup" || die "lookup of $(ref "$i") on the $(wh_label "$s") webhook failed"
    check_answer "$f" "$i"
    f="$work/runs/check-$s-d$i.json"
    curl -fsS -o "$f" -H 'Content-Type: application/json' -d "{\"images\":[\"$(dref "$i")\"]}" \
      "http://$h/lifecycle/v1/lookup" || die "lookup of $(dref "$i") on the $(wh_label "$s") webhook failed"
    check_derived "$f" "$i"
  done
  f="$work/runs/check-$s-review.json"
  curl -fsS -o "$f" -H 'Content-Type: application/json' --data-binary "@$work/review.json" \
    "http://$h/admission/v1/validate" || die "admission review on the $(wh_label "$s") webhook failed"
  # Enforce mode: denied when an image is end-of-life; the message names the image to move
  # to, the newest revision (the end of the successor chain), and no retired successor.
  if [ "$adm_denied" -gt 0 ]; then
    jq -e --arg uid "$adm_uid" --arg succ "$(ref "$images") (" --arg old "$(ref "$((adm_idx[0] + 1))") (" \
      '.kind == "AdmissionReview" and .response.uid == $uid and .response.allowed == false
       and (.response.status.message | contains($succ))
       and (.response.status.message | contains($old) | not)' "$f" > /dev/null ||
      die "unexpected admission answer from the $(wh_label "$s") webhook: $(head -c 600 "$f")"
  else
    jq -e --arg uid "$adm_uid" '.response.uid == $uid and .response.allowed == true' "$f" > /dev/null ||
      die "unexpected admission answer from the $(wh_label "$s") webhook: $(head -c 600 "$f")"
  fi
  # Under the policy, the records read were verified (strict: one that was not would not count).
  if [ "$s" = policy ]; then
    local verified others
    verified=$(metric "$h" 'lineage_records_verified_total{result="verified"}')
    others=$(curl -fsS "http://$h/metrics" |
      awk '$1 ~ /^lineage_records_verified_total\{/ && $1 !~ /"verified"/ { n += $2 } END { print n + 0 }')
    [ "$verified" != NA ] && [ "$verified" -gt 0 ] && [ "$others" = 0 ] ||
      die "the --trust-policy webhook verified $verified records, $others failed"
  fi
}

# --- 3. warm runs ----------------------------------------------------------------------------
declare -A res=()
load1() { cut -d' ' -f1 /proc/loadavg; }

# wrk_run NAME S SECONDS SCRIPT PATH -> runs wrk against webhook S; output in
# $work/runs/NAME-S.txt; sets res[NAME-S-*].
wrk_run() {
  local name=$1 s=$2 d=$3 script=$4 path=$5 out key r0 r1 m0 m1 l0 l1 e0 e1 c0 c1 g0 g1 b0 b1 top_pid
  out="$work/runs/$name-$s.txt"
  key="$name-$s"
  r0=$(reg_requests)
  m0=$(metric "${wh_host[$s]}" lineage_registry_requests_total)
  e0=$(metric "${wh_host[$s]}" lineage_registry_errors_total)
  l0=$(metric "${wh_host[$s]}" lineage_lookups_total)
  res[$key-load]=$(load1)
  thread_ticks "${wh_pid[$s]}" > "$work/runs/$key.threads0"
  b0=$(busy_of)
  c0=$(cpu_of "${wh_pid[$s]}")
  g0=$(cpu_of "$reg_pid")
  (sleep "$(awk -v d="$d" 'BEGIN { print d / 2 }')"
    top -b -n 2 -d 1 -w 200 | awk '/^top -/ { n++ } n == 2' | head -n 20 > "$work/runs/$key.top" || true) &
  top_pid=$!
  /usr/bin/time -o "$work/runs/$key.time" -f '%U %S' \
    wrk -t2 "-c$conns" "-d${d}s" --latency --timeout 10s -s "$script" "http://${wh_host[$s]}$path" > "$out" 2>&1 ||
    { cat "$out" >&2; die "wrk failed ($out)"; }
  c1=$(cpu_of "${wh_pid[$s]}")
  g1=$(cpu_of "$reg_pid")
  b1=$(busy_of)
  thread_ticks "${wh_pid[$s]}" > "$work/runs/$key.threads1"
  wait "$top_pid" || true
  r1=$(reg_requests)
  m1=$(metric "${wh_host[$s]}" lineage_registry_requests_total)
  e1=$(metric "${wh_host[$s]}" lineage_registry_errors_total)
  l1=$(metric "${wh_host[$s]}" lineage_lookups_total)
  if grep -q -e 'Non-2xx' -e 'Socket errors' "$out"; then
    cat "$out" >&2
    die "wrk saw errors against the $(wh_label "$s") webhook ($out)"
  fi
  local bench
  bench=$(grep '^BENCH ' "$out") || die "no BENCH line in $out"
  # bfield KEY [DIVISOR DECIMALS] -> a field of the BENCH line (microseconds -> ms)
  bfield() {
    awk -v k="$1" -v d="${2:-1}" -v p="${3:-0}" '{ for (i = 2; i <= NF; i++) {
      split($i, a, "="); if (a[1] == k) printf "%.*f", p, a[2] / d } }' <<< "$bench"
  }
  [ "$(bfield errors)" = 0 ] || die "wrk counted errors: $bench"
  [ "$e1" = "$e0" ] || die "the webhook had $((e1 - e0)) registry errors during $key"
  res[$key-rps]=$(awk '/^Requests\/sec:/ { printf "%.0f", $2 }' "$out")
  res[$key-n]=$(bfield requests)
  res[$key-p50]=$(bfield p50_us 1000 2)
  res[$key-p90]=$(bfield p90_us 1000 2)
  res[$key-p99]=$(bfield p99_us 1000 2)
  res[$key-max]=$(bfield max_us 1000 1)
  res[$key-reg]=$((r1 - r0))
  res[$key-regm]=$((m1 - m0))
  res[$key-lookups]=$((l1 - l0))
  res[$key-whcpu]=$(awk -v a="$c0" -v b="$c1" 'BEGIN { printf "%.2f", b - a }')
  res[$key-regcpu]=$(awk -v a="$g0" -v b="$g1" 'BEGIN { printf "%.2f", b - a }')
  res[$key-wrkcpu]=$(awk '{ printf "%.2f", $1 + $2 }' "$work/runs/$key.time")
  res[$key-busy]=$(awk -v a="$b0" -v b="$b1" 'BEGIN { printf "%.2f", b - a }')
  res[$key-other]=$(awk -v m="${res[$key-busy]}" -v w="${res[$key-whcpu]}" -v g="${res[$key-regcpu]}" \
    -v k="${res[$key-wrkcpu]}" 'BEGIN { o = m - w - g - k; printf "%.2f", (o < 0 ? 0 : o) }')
  res[$key-threads]=$(LC_ALL=C join "$work/runs/$key.threads0" "$work/runs/$key.threads1" |
    awk -v t="$clk_tck" '{ printf "%s%s %.2f", (NR > 1 ? ", " : ""), $2, ($5 - $3) / t }')
  res[$key-us]=$(awk -v c="${res[$key-whcpu]}" -v n="${res[$key-n]}" 'BEGIN { printf "%.1f", c * 1e6 / n }')
}

for s in "${whs[@]}"; do
  check_webhook "$s"
  say "warm-up of the $(wh_label "$s") webhook: ${warmup} s rotating over the $images images"
  wrk_run warmup "$s" "$warmup" "$work/rotate.lua" /lifecycle/v1/lookup
  check_webhook "$s"
done
log_bytes0=$(stat -c %s "${wh_log[log]}")
log_lines0=$(wc -l < "${wh_log[log]}")
measure_start=$(cut -d' ' -f1-3 /proc/loadavg)

runs=(baseline single rotate paced admission derived)
declare -A run_path=([baseline]=/healthz [single]=/lifecycle/v1/lookup [rotate]=/lifecycle/v1/lookup
  [paced]=/lifecycle/v1/lookup [admission]=/admission/v1/validate [derived]=/lifecycle/v1/lookup)
declare -A run_label=(
  [baseline]="GET /healthz (no lookup): the HTTP stack on these cores, for reference"
  [single]="lookup, 1 image per request, always the same"
  [rotate]="lookup, 1 image per request, rotating over $images"
  [paced]="lookup, rotating over $images, each client waiting $think ms between requests"
  [admission]="admission review, $adm_images images each"
  [derived]="lookup of derived images (issue 17), 1 per request, rotating over $images")
for name in "${runs[@]}"; do
  for s in "${whs[@]}"; do
    say "timed: $name on the $(wh_label "$s") webhook (wrk -t2 -c$conns -d${duration}s)"
    wrk_run "$name" "$s" "$duration" "$work/$name.lua" "${run_path[$name]}"
    say "  ${res[$name-$s-rps]} req/s, p50 ${res[$name-$s-p50]} ms, p99 ${res[$name-$s-p99]} ms;" \
      "registry requests ${res[$name-$s-reg]}; webhook CPU ${res[$name-$s-us]} us/request"
  done
done
# -R: the compared runs again, in alternating pairs (off, then policy), each round with a
# fresh pair of webhook processes (checked and warmed up as the first were).
pairs=(single rotate derived admission)
for ((r = 1; r <= rounds; r++)); do
  for s in off policy; do
    kill -TERM "${wh_pid[$s]}" && wait "${wh_pid[$s]}" 2> /dev/null || true
    start_webhook "$s" "-r$r"
    check_webhook "$s"
    wrk_run "warmup-r$r" "$s" "$warmup" "$work/rotate.lua" /lifecycle/v1/lookup
  done
  for name in "${pairs[@]}"; do
    for s in off policy; do
      wrk_run "$name-r$r" "$s" "$duration" "$work/$name.lua" "${run_path[$name]}"
    done
    say "round $r: $name ${res[$name-r$r-off-rps]} / ${res[$name-r$r-policy-rps]} req/s (off / policy)"
  done
done
for s in "${whs[@]}"; do check_webhook "$s"; done
log_bytes1=$(stat -c %s "${wh_log[log]}")
log_lines1=$(wc -l < "${wh_log[log]}")
timed_requests=0
for name in "${runs[@]}"; do timed_requests=$((timed_requests + res[$name-log-n])); done
measure_end=$(cut -d' ' -f1-3 /proc/loadavg)
rss() { awk '/^VmRSS/ { printf "%.0f MiB", $2 / 1024 }' "/proc/$1/status"; }
threads() { awk '/^Threads/ { print $2 }' "/proc/$1/status"; }

# --- 4. the report ----------------------------------------------------------------------------
yesno() { awk -v x="$1" -v g="$3" -v op="$2" 'BEGIN { print ((op == "min" ? x >= g : x <= g) ? "yes" : "no") }'; }
cpu_model=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)
cpu_mhz=$(awk -F': ' '/^cpu MHz/ { printf "%.0f MHz", $2; exit }' /proc/cpuinfo)
mem=$(awk '/^MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo)
commit="$(cd "$root" && git rev-parse --short HEAD 2> /dev/null || echo unknown)"
[ -z "$(cd "$root" && git status --porcelain 2> /dev/null)" ] || commit="$commit, uncommitted changes"

echo "## Policy lookups (issue 7)"
echo
echo "Command: \`$command_line\`, started $started."
echo "Machine: $(nproc) CPUs ($cpu_model, $cpu_mhz), $mem, $(uname -sr); $("$lineage" --version) ($commit)."
echo "The registry (\`lineage serve\`), the lookup service (\`lineage webhook --tag-ttl 5m\`) and wrk"
echo "all run on loopback and share these $(nproc) cores. Load average (1/5/15 min): $load_start at the"
echo "start, $measure_start when the timed runs started, $measure_end at the end."
echo
echo "| metric | value | target | met? |"
echo "|---|---:|---|---|"
echo "| cold: registry requests per distinct image (registry access log, $cold_reg for $images images) | $cold_per | <= 3 | $(yesno "$cold_per" max 3) |"
echo "| cold: the same from the webhook's lineage_registry_requests_total ($cold_metric) | $cold_per_metric | <= 3 | $(yesno "$cold_per_metric" max 3) |"
for name in single rotate paced; do
  for s in log off; do
    k="$name-$s"
    echo "| warm lookups/s, ${run_label[$name]}, $(wh_label "$s") | ${res[$k-rps]} | >= 10000 | $(yesno "${res[$k-rps]}" min 10000) |"
    echo "| warm p50 latency (ms), same run | ${res[$k-p50]} | - | - |"
    echo "| warm p99 latency (ms), same run | ${res[$k-p99]} | <= 5 | $(yesno "${res[$k-p99]}" max 5) |"
    echo "| registry requests during that run (access log / webhook metric) | ${res[$k-reg]} / ${res[$k-regm]} | ~0 | $(yesno "${res[$k-reg]}" max "$(( res[$k-n] / 1000 ))") |"
  done
done
for s in log off; do
  k="derived-$s"
  ratio=$(awk -v d="${res[$k-rps]}" -v b="${res[rotate-$s-rps]}" 'BEGIN { printf "%.2f", d / b }')
  echo "| warm lookups/s of derived images (base annotations, rotating over $images), $(wh_label "$s") | ${res[$k-rps]} | >= 0.8 x rotate (${res[rotate-$s-rps]}) | $(yesno "$ratio" min 0.8) ($ratio x) |"
  echo "| derived: p50 / p99 latency (ms), same run | ${res[$k-p50]} / ${res[$k-p99]} | - | - |"
done
for s in log off; do
  k="admission-$s"
  echo "| admission reviews/s ($adm_images images each), $(wh_label "$s") | ${res[$k-rps]} | - | - |"
  echo "| admission p50 / p99 latency (ms), same run | ${res[$k-p50]} / ${res[$k-p99]} | - | - |"
done
if [ "$signed" = true ]; then
  for name in single rotate derived admission; do
    ratio=$(awk -v p="${res[$name-policy-rps]}" -v o="${res[$name-off-rps]}" 'BEGIN { printf "%.2f", p / o }')
    echo "| signed records: ${run_label[$name]}, req/s under the trust policy / without (RUST_LOG=off, same run) | ${res[$name-policy-rps]} / ${res[$name-off-rps]} = ${ratio} x | >= 0.9 x | $(yesno "$ratio" min 0.9) |"
  done
  if [ "$rounds" -gt 0 ]; then
    for name in "${pairs[@]}"; do
      ratios=()
      for ((r = 1; r <= rounds; r++)); do
        ratios+=("$(awk -v p="${res[$name-r$r-policy-rps]}" -v o="${res[$name-r$r-off-rps]}" 'BEGIN { printf "%.2f", p / o }')")
      done
      median=$(printf '%s\n' "${ratios[@]}" | sort -n | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else printf "%.2f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }')
      echo "| signed records, $rounds alternating pairs: ${run_label[$name]}, policy / off per pair | ${ratios[*]}; median ${median} x | >= 0.9 x | $(yesno "$median" min 0.9) |"
    done
  fi
fi
echo
echo "With $conns clients in a closed loop, mean latency = $conns / throughput; at 10000 lookups/s that is"
echo "$(awk -v c="$conns" 'BEGIN { printf "%.1f", c / 10 }') ms, so the rate and p99 targets can only be met together well above"
echo "10000 lookups/s, or with clients that are not always waiting (the paced run). For scale: GET /healthz"
echo "(no body, no lookup, no JSON) gives ${res[baseline-off-rps]} req/s at p99 ${res[baseline-off-p99]} ms on the same cores."
echo
echo "Cold lookups: each answer checked ($((images - 1)) end-of-life with the next revision as successor,"
echo "the newest supported). Requests by kind: $cold_kinds. Client-side time per cold"
echo "lookup (curl, sequential): median $cold_p50 ms, max $cold_max ms."
echo
echo "Warm runs: \`wrk -t2 -c$conns -d${duration}s --latency --timeout 10s -s SCRIPT\`, after a ${warmup} s"
echo "warm-up of each webhook; each run on the default-logging webhook, then on the RUST_LOG=off one. CPU is user + system seconds"
echo "during the run (/proc/PID/stat; wrk from GNU time); \"other processes\" is the machine's busy CPU time"
echo "(/proc/stat) minus those three: everything else running on the $(nproc) cores. All runs:"
echo
echo "| run | webhook | req/s | requests | p50 ms | p90 ms | p99 ms | max ms | lookups counted | webhook CPU s (us/req) | registry CPU s | wrk CPU s | other processes CPU s | 1-min load |"
echo "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
for name in "${runs[@]}"; do
  for s in "${whs[@]}"; do
    k="$name-$s"
    echo "| ${run_label[$name]} | $(wh_label "$s") | ${res[$k-rps]} | ${res[$k-n]} | ${res[$k-p50]} | ${res[$k-p90]} | ${res[$k-p99]} | ${res[$k-max]} | ${res[$k-lookups]} | ${res[$k-whcpu]} (${res[$k-us]}) | ${res[$k-regcpu]} | ${res[$k-wrkcpu]} | ${res[$k-other]} | ${res[$k-load]} |"
  done
done
echo
echo "Default logging wrote $((log_lines1 - log_lines0)) lines ($(( (log_bytes1 - log_bytes0) / 1024 )) KiB) to the webhook's"
echo "log file during the timed runs, for $timed_requests requests. After the runs: webhook RSS"
echo "$(rss "${wh_pid[log]}") / $(rss "${wh_pid[off]}") (default logging / off), $(threads "${wh_pid[log]}") threads each."
echo
echo "\`top\` in the middle of the single-image run with default logging (second sample, 1 s):"
echo
echo '```'
sed -n '1,5p;7,$p' "$work/runs/single-log.top" | grep -v '^ *$' | head -n 15
echo '```'
echo
echo "CPU seconds of the webhook's threads during that run: ${res[single-log-threads]}."
echo
echo "Versions: $(wrk -v 2>&1 | head -n 1 | sed 's/ Copyright.*//'); $(curl --version | head -n 1 | cut -d' ' -f1-2); $(rustc --version 2> /dev/null || echo rustc unknown)."
