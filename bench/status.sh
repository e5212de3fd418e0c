#!/usr/bin/env bash
# status.sh - time `lineage status` against the list-then-fetch approach (list
# the image's lifecycle referrers, then fetch every record manifest), with 1, 100
# and 1000 lifecycle records on one image, and count the HTTP requests of each.
#
# Usage: bench/status.sh [-w DIR] [-n ROUNDS] [-c COUNTS] [-j JOBS]
#   -w DIR     work directory, kept afterwards (default: a temporary one, removed)
#   -n ROUNDS  timed rounds per record count (default 5); the report gives the median
#   -c COUNTS  record counts, ascending, space-separated (default "1 100 1000")
#   -j JOBS    parallel `lineage retire` processes writing the records (default 8)
#
# One `lineage serve --root DIR/root --addr 127.0.0.1:0` (release build, default
# logging: one access-log line per request on stderr) holds one image, HOST/app:v1
# from scripts/make-image.sh. For each record count N, records are added until the
# image has N: `lineage retire HOST/app:v1 --at DAY --reason vulnerable`, DAY being
# 2024-01-01 plus 0, 1, 2, ... days, all but the last one written JOBS at a time,
# the last one (day N-1) alone, so it is the newest and its end of life is the
# expected answer. Then, per round, in an order that rotates by round:
#   lineage       lineage --plain-http status --output json HOST/app:v1
#   naive-each    one curl process per request, like one `oras` invocation each:
#                   HEAD /v2/app/manifests/v1 (the image digest), GET
#                   /v2/app/referrers/DIGEST?artifactType=<lifecycle type>, then
#                   GET /v2/app/manifests/RECORD for every listed record
#   naive-one     the same requests, but all record manifests fetched by a single
#                   curl process (one keep-alive connection)
#   lineage-tls   lineage status without --plain-http (it first tries HTTPS on the
#                   loopback registry, then falls back to HTTP), for reference
# Both naive variants read end-of-life and created from the fetched manifests
# with one jq process and pick the newest record as lineage does (newest
# org.opencontainers.image.created, ties to the larger digest). Each time is the
# wall time of the whole approach (`date +%s.%N` around it). The requests of a
# run are the server's access-log lines it added. Every run is checked: the
# end of life and the record agree between the approaches and with the
# expected ones, and the listing holds N records.
#
# Progress goes to stderr; the report (markdown) to stdout.
# Needs: cargo, curl, jq, GNU coreutils (date, sort), awk, GNU tar, gzip.
set -euo pipefail

prog=status
say() { printf '%s: %s\n' "$prog" "$*" >&2; }
die() { say "error: $*"; exit 1; }
usage() { sed -n '6,10p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }

rounds=5
counts="1 100 1000"
jobs=8
work=""
while getopts ":w:n:c:j:h" opt; do
  case "$opt" in
    w) work=$OPTARG ;;
    n) rounds=$OPTARG ;;
    c) counts=$OPTARG ;;
    j) jobs=$OPTARG ;;
    h) usage ;;
    :) say "-$OPTARG needs a value"; usage ;;
    *) say "unknown option -$OPTARG"; usage ;;
  esac
done
shift $((OPTIND - 1))
[ $# -eq 0 ] || { say "unexpected argument '$1'"; usage; }
for pair in "n:$rounds" "j:$jobs"; do
  [[ "${pair#*:}" =~ ^[1-9][0-9]*$ ]] || { say "-${pair%%:*} takes a positive number"; usage; }
done
prev=0
for n in $counts; do
  [[ "$n" =~ ^[1-9][0-9]*$ ]] || { say "-c takes positive numbers"; usage; }
  [ "$n" -gt "$prev" ] || { say "-c takes ascending numbers"; usage; }
  prev=$n
done
[ "$prev" -gt 0 ] || { say "-c takes at least one number"; usage; }

for cmd in cargo curl jq awk date sort xargs tar gzip sha256sum; do
  command -v "$cmd" > /dev/null || die "$cmd not found on PATH"
done

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/.." && pwd)

# --- work directory, server, clean-up ----------------------------------------
keep_work=true
if [ -z "$work" ]; then
  work=$(mktemp -d "${TMPDIR:-/tmp}/lineage-bench-status.XXXXXX")
  keep_work=false
fi
mkdir -p "$work"
work=$(cd "$work" && pwd)
[ ! -e "$work/root" ] || die "$work/root exists; give a new or empty work directory"
server_pid=""

cleanup() {
  local rc=$?
  if [ -n "$server_pid" ]; then
    kill -TERM "$server_pid" 2> /dev/null || true
    wait "$server_pid" 2> /dev/null || true
  fi
  if [ "$keep_work" = false ]; then
    rm -rf -- "$work"
  else
    say "kept $work (server log, outputs)"
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

say "building lineage (release)"
(cd "$root" && cargo build --release -p lineage-cli) >&2
lineage="${CARGO_TARGET_DIR:-$root/target}/release/lineage"
[ -x "$lineage" ] || die "no binary at $lineage after the build"

log="$work/serve.log"
"$lineage" serve --root "$work/root" --addr 127.0.0.1:0 2> "$log" &
server_pid=$!
host=""
for _ in $(seq 1 100); do
  host=$(sed -n 's|.*listening on http://\([0-9.]*:[0-9]*\).*|\1|p' "$log" | head -n 1)
  [ -n "$host" ] && break
  kill -0 "$server_pid" 2> /dev/null || die "lineage serve exited: $(cat "$log")"
  sleep 0.1
done
[ -n "$host" ] || die "lineage serve did not print its address"
say "lineage serve on $host (pid $server_pid)"

image="$host/app:v1"
base="http://$host/v2/app"
lifecycle_type=application/vnd.lineage.image.lifecycle.metadata
manifest_accept=application/vnd.oci.image.manifest.v1+json
index_accept=application/vnd.oci.image.index.v1+json

"$root/scripts/make-image.sh" -t v1 -s bench-status "$work/layout" > /dev/null
"$lineage" -q copy "oci:$work/layout:v1" "$image" > /dev/null

# --- request counting -----------------------------------------------------------
# The server's access-log lines so far; waits until the count stops changing,
# since a line may be written just after its response was sent.
requests() {
  local a b
  a=$(grep -c ' INFO request method=' "$log" || true)
  while :; do
    sleep 0.05
    b=$(grep -c ' INFO request method=' "$log" || true)
    [ "$a" = "$b" ] && break
    a=$b
  done
  printf '%s' "$a"
}

# --- the approaches ---------------------------------------------------------------
out="$work/out"
mkdir -p "$out"

# (The "END-OF-LIFE RECORD" result of lineage is taken from its JSON after the clock stops.)
run_lineage() {
  "$lineage" -q --plain-http status --output json "$image" > "$out/lineage.json"
}

run_lineage_tls() {
  "$lineage" -q status --output json "$image" > "$out/lineage-tls.json"
}

# The image digest and its lifecycle referrers listing ($out/listing.json),
# one curl process each. Prints the image digest.
naive_list() {
  local digest
  digest=$(curl -sSf -I -H "Accept: $manifest_accept, $index_accept" "$base/manifests/v1" \
    | awk 'tolower($1) == "docker-content-digest:" { sub(/\r$/, "", $2); print $2 }')
  [ -n "$digest" ] || die "no Docker-Content-Digest for $image"
  curl -sSf -D "$out/listing.headers" -H "Accept: $index_accept" \
    -o "$out/listing.json" "$base/referrers/$digest?artifactType=$lifecycle_type"
  # Only one page is read: the server's page size (4096) exceeds the counts here.
  if grep -qi '^link:' "$out/listing.headers"; then
    die "the referrers listing is paged; this script reads one page only"
  fi
  printf '%s' "$digest"
}

# The record in effect among the fetched record manifests in DIR (files named by
# digest): newest org.opencontainers.image.created (UTC, "Z"; the fraction is
# padded so the strings compare as times; a missing or other value sorts
# oldest), ties to the larger digest. Writes "END-OF-LIFE RECORD" to FILE.
naive_decide() {
  local dir=$1 subject=$2 file=$3
  (cd "$dir" && jq -n -r --arg subject "$subject" '
      def created_key:
        (.annotations["org.opencontainers.image.created"] // "") as $c
        | ($c | capture("^(?<s>[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2})(\\.(?<f>[0-9]{1,9}))?Z$")) as $m
        | $m.s + "." + (($m.f // "") + "000000000")[0:9];
      [inputs
        | select(.subject.digest == $subject)
        | {digest: input_filename, key: ((created_key) // ""),
           eol: (.annotations["vnd.lineage.image.end-of-life"] // null)}]
      | sort_by(.key, .digest) | last
      | "\(.eol) \(.digest)"' sha256:*) > "$file"
}

run_naive_each() {
  local subject d
  subject=$(naive_list)
  rm -rf -- "$out/each"
  mkdir -p "$out/each"
  for d in $(jq -r '.manifests[].digest' "$out/listing.json"); do
    curl -sSf -H "Accept: $manifest_accept" -o "$out/each/$d" "$base/manifests/$d"
  done
  naive_decide "$out/each" "$subject" "$out/naive-each.result"
}

run_naive_one() {
  local subject
  subject=$(naive_list)
  rm -rf -- "$out/one"
  mkdir -p "$out/one"
  # A curl config file: one url/output pair per record.
  jq -r --arg base "$base" --arg dir "$out/one" \
    '.manifests[].digest | "url = \"\($base)/manifests/\(.)\"\noutput = \"\($dir)/\(.)\""' \
    "$out/listing.json" > "$out/one.curlrc"
  curl -sSf --fail-early -H "Accept: $manifest_accept" -K "$out/one.curlrc"
  naive_decide "$out/one" "$subject" "$out/naive-one.result"
}

approaches=(lineage naive-each naive-one lineage-tls)

# run NAME -> runs one approach; prints "SECONDS REQUESTS SERVER-MS"
run() {
  local name=$1 before after t0 t1
  before=$(requests)
  t0=$(date +%s.%N)
  case "$name" in
    lineage) run_lineage ;;
    lineage-tls) run_lineage_tls ;;
    naive-each) run_naive_each ;;
    naive-one) run_naive_one ;;
  esac
  t1=$(date +%s.%N)
  case "$name" in
    lineage | lineage-tls)
      jq -r '.[0] | "\(.endOfLife) \(.record)"' "$out/$name.json" > "$out/$name.result" ;;
  esac
  after=$(requests)
  # The server's own handling time of those requests: the sum of their ms= fields.
  grep ' INFO request method=' "$log" | sed -n "$((before + 1)),${after}p" \
    | sed -n 's/.* ms=\([0-9.e+-]*\).*/\1/p' \
    | awk -v a="$t0" -v b="$t1" -v r=$((after - before)) \
      '{ ms += $1 } END { printf "%.4f %d %.1f", b - a, r, ms }'
}

median() { sort -g | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

# --- records ----------------------------------------------------------------------
have=0
# add_records N -> the image gets records until it has N; day i = 2024-01-01 + i days
add_records() {
  local n=$1 last
  if [ $((n - 1)) -gt "$have" ]; then
    seq "$have" $((n - 2)) | sed 's/.*/2024-01-01 00:00:00Z + & days/' \
      | date -u -f - +%Y-%m-%dT%H:%M:%SZ \
      | xargs -P "$jobs" -I '{}' "$lineage" -q --plain-http retire "$image" --at '{}' --reason vulnerable \
      > /dev/null
  fi
  last=$(date -u -d "2024-01-01 00:00:00Z + $((n - 1)) days" +%Y-%m-%dT%H:%M:%SZ)
  "$lineage" -q --plain-http retire "$image" --at "$last" --reason vulnerable > /dev/null
  have=$n
  expected_eol=$last
}

# --- measurements -----------------------------------------------------------------
started=$(date -u '+%Y-%m-%d %H:%M UTC')
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
results="$work/results.txt"   # N ROUND APPROACH SECONDS REQUESTS SERVER-MS
: > "$results"
for n in $counts; do
  say "writing records up to $n"
  t0=$(date +%s)
  add_records "$n"
  say "  took $(( $(date +%s) - t0 )) s"
  listed=$(curl -sSf -H "Accept: $index_accept" \
    "$base/referrers/$("$lineage" -q --plain-http resolve "$image")?artifactType=$lifecycle_type" \
    | jq '.manifests | length')
  [ "$listed" = "$n" ] || die "the image has $listed records, expected $n"
  for r in $(seq 0 "$rounds"); do
    for k in 0 1 2 3; do
      name=${approaches[$(( (r + k) % 4 ))]}
      rm -f -- "$out/$name.result"
      sr=$(run "$name")
      # Round 0 is the warm-up.
      [ "$r" -eq 0 ] || printf '%s %s %s %s\n' "$n" "$r" "$name" "$sr" >> "$results"
      read -r secs nreq sms <<< "$sr"
      say "  N=$n round $r $name: $secs s, $nreq requests, server $sms ms"
    done
    # Every approach found the expected end of life, and the same record as lineage.
    record=$(cut -d' ' -f2 "$out/lineage.result")
    for name in "${approaches[@]}"; do
      result=$(cat "$out/$name.result")
      [ "$result" = "$expected_eol $record" ] \
        || die "N=$n round $r $name: found '$result', expected '$expected_eol $record'"
    done
  done
done

load_after=$(cut -d' ' -f1-3 /proc/loadavg)

# --- report -------------------------------------------------------------------------
cpu=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)
echo "Run started $started: $(nproc) CPUs ($cpu), $(uname -sr)," \
  "load average $load_before before and $load_after after;" \
  "$("$lineage" --version), $(curl --version | head -n 1 | cut -d' ' -f1-2), $(jq --version)."
echo
# med N APPROACH [FIELD] -> the median of a field (4: seconds, 6: server ms)
med() { awk -v n="$1" -v a="$2" -v f="${3:-4}" '$1 == n && $3 == a { print $f }' "$results" | median; }
reqs() {
  local v
  v=$(awk -v n="$1" -v a="$2" '$1 == n && $3 == a { print $5 }' "$results" | sort -u)
  [ "$(printf '%s\n' "$v" | wc -l)" -eq 1 ] || v="$(printf '%s' "$v" | tr '\n' '/') (varied)"
  printf '%s' "$v"
}
fmt() { awk -v v="$1" 'BEGIN { printf "%.3f", v }'; }

echo "| N | lineage time (s) | lineage requests | naive time, curl per request (s) | naive time, one curl (s) | naive requests | lineage time without --plain-http (s) |"
echo "|---:|---:|---:|---:|---:|---:|---:|"
for n in $counts; do
  e_req=$(reqs "$n" naive-each) o_req=$(reqs "$n" naive-one)
  [ "$e_req" = "$o_req" ] || e_req="$e_req (one curl: $o_req)"
  printf '| %s | %s | %s | %s | %s | %s | %s |\n' "$n" \
    "$(fmt "$(med "$n" lineage)")" "$(reqs "$n" lineage)" \
    "$(fmt "$(med "$n" naive-each)")" "$(fmt "$(med "$n" naive-one)")" "$e_req" \
    "$(fmt "$(med "$n" lineage-tls)")"
done
echo
echo "Medians of $rounds rounds after one warm-up round. The server's own handling time of each"
echo "approach's requests (the sum of the access log's ms= fields; median, milliseconds):"
echo
echo "| N | lineage | naive, curl per request | naive, one curl |"
echo "|---:|---:|---:|---:|"
for n in $counts; do
  printf '| %s | %.1f | %.1f | %.1f |\n' "$n" "$(med "$n" lineage 6)" \
    "$(med "$n" naive-each 6)" "$(med "$n" naive-one 6)"
done
echo
echo "Samples (wall seconds/requests/server ms):"
echo
echo "| N | round | lineage | naive, curl per request | naive, one curl | lineage without --plain-http |"
echo "|---:|---:|---:|---:|---:|---:|"
for n in $counts; do
  for r in $(seq 1 "$rounds"); do
    row="| $n | $r |"
    for name in lineage naive-each naive-one lineage-tls; do
      row+=" $(awk -v n="$n" -v r="$r" -v a="$name" '$1 == n && $2 == r && $3 == a { printf "%.3f/%d/%.1f", $4, $5, $6 }' "$results") |"
    done
    echo "$row"
  done
done
