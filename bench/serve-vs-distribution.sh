#!/usr/bin/env bash
# serve-vs-distribution.sh - benchmark `lineage serve` against Debian's CNCF
# distribution 2.8 (docker-registry) on this machine, in one run.
#
# Usage: bench/serve-vs-distribution.sh [-n ROUNDS] [-d SECONDS] [-k]
#   -n ROUNDS   rounds of every measurement (default 3); the report gives the median
#   -d SECONDS  duration of each wrk run (default 10)
#   -k          keep the work directory (layouts, server logs, wrk output)
#
# Both registries listen on 127.0.0.1: `lineage serve --root DIR --addr
# 127.0.0.1:0` (release build) and scripts/start-registry.sh -d on. The same
# image, whose only layer is a 256 MiB blob of random data (an uncompressed tar),
# is pushed to both with `skopeo copy --preserve-digests`; curl then checks that
# both serve its manifest and its layer byte for byte. Measured, per round, with
# the registry that goes first alternating by round:
#   manifest GET  wrk -t2 -c32 -dSECONDS -H 'Accept: <OCI manifest type>'
#                 /v2/bench/seed/manifests/<digest>: requests per second
#   blob GET      wrk -t2 -c4 -dSECONDS /v2/bench/seed/blobs/<digest>: transfer per
#                 second, and one `curl -o /dev/null -w '%{speed_download}'`
#   push          wall time of 50 sequential `skopeo copy --dest-tls-verify=false
#                 oci:LAYOUT:TAG docker://HOST/bench/rR/img-N:v1`, N = 1..50, of
#                 50 distinct small images from scripts/make-image.sh
# Every round pushes images nobody pushed before (their seeds name the run and
# the round), so neither registry already has a blob and skopeo has no earlier
# location to mount one from. A 3 s wrk warm-up precedes the wrk rounds. The CPU
# time each server used during a measurement is read from /proc/PID/stat.
#
# Progress goes to stderr; the report (markdown) to stdout.
# Needs: cargo, skopeo, docker-registry, wrk, curl, GNU tar, coreutils, awk, python3.
set -euo pipefail

prog=serve-vs-distribution
say() { printf '%s: %s\n' "$prog" "$*" >&2; }
die() { say "error: $*"; exit 1; }
usage() { sed -n '5,8p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }

rounds=3
duration=10
keep_work=false
while getopts ":n:d:kh" opt; do
  case "$opt" in
    n) rounds=$OPTARG ;;
    d) duration=$OPTARG ;;
    k) keep_work=true ;;
    h) usage ;;
    :) say "-$OPTARG needs a value"; usage ;;
    *) say "unknown option -$OPTARG"; usage ;;
  esac
done
shift $((OPTIND - 1))
[ $# -eq 0 ] || { say "unexpected argument '$1'"; usage; }
for pair in "n:$rounds" "d:$duration"; do
  [[ "${pair#*:}" =~ ^[1-9][0-9]*$ ]] || { say "-${pair%%:*} takes a positive number"; usage; }
done

for cmd in cargo skopeo docker-registry wrk curl tar sha256sum awk python3; do
  command -v "$cmd" > /dev/null || die "$cmd not found on PATH"
done

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/.." && pwd)

readonly images=50
readonly blob_bytes=$((256 * 1024 * 1024))
readonly oci_manifest=application/vnd.oci.image.manifest.v1+json
clk_tck=$(getconf CLK_TCK)

# --- work directory, servers, clean-up ------------------------------------------
work=$(mktemp -d "${TMPDIR:-/tmp}/lineage-serve-bench.XXXXXX")
logs="$work/logs"
mkdir -p "$logs"
REGISTRY_DIR=""
REGISTRY_PID=""
REGISTRY_HOST=""
lineage_pid=""

cleanup() {
  local rc=$?
  if [ -n "$lineage_pid" ] && kill -0 "$lineage_pid" 2> /dev/null; then
    kill -TERM "$lineage_pid" 2> /dev/null || true
    wait "$lineage_pid" 2> /dev/null || true
  fi
  if [ -n "$REGISTRY_DIR" ]; then
    "$root/scripts/stop-registry.sh" "$REGISTRY_DIR" || true
  fi
  if [ "$keep_work" = true ]; then
    say "kept $work"
  else
    rm -rf -- "$work"
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

load_start=$(cut -d' ' -f1-3 /proc/loadavg)
started=$(date -u '+%Y-%m-%d %H:%M UTC')

# --- 1. build ----------------------------------------------------------------------
say "building lineage (release)"
(cd "$root" && cargo build --release -p lineage-cli) >&2
lineage="${CARGO_TARGET_DIR:-$root/target}/release/lineage"
[ -x "$lineage" ] || die "no binary at $lineage after the build"

# --- 2. content ----------------------------------------------------------------------
# The seed image: one layer, an uncompressed tar of exactly 256 MiB (512-byte header,
# random data, 1024-byte end marker; blocking factor 1 so there is no record padding).
make_seed() {
  local dir=$1 src="$work/src" d size config layer manifest
  mkdir -p "$dir/blobs/sha256" "$src/data"
  printf '{"imageLayoutVersion":"1.0.0"}' > "$dir/oci-layout"
  # store FILE -> moves FILE into the layout, prints its descriptor's digest and size
  store() {
    d="sha256:$(sha256sum < "$1" | cut -d' ' -f1)"
    size=$(stat -c %s "$1")
    mv -- "$1" "$dir/blobs/sha256/${d#sha256:}"
  }
  head -c $((blob_bytes - 1536)) /dev/urandom > "$src/data/random.bin"
  tar --format=ustar -b 1 --owner=0 --group=0 --numeric-owner --mtime=2024-01-01 \
    -C "$src/data" -cf "$src/layer.tar" random.bin
  store "$src/layer.tar"
  [ "$size" -eq "$blob_bytes" ] || die "the layer is $size bytes, not $blob_bytes"
  layer="{\"mediaType\":\"application/vnd.oci.image.layer.v1.tar\",\"digest\":\"$d\",\"size\":$size}"
  blob_digest=$d
  printf '{"architecture":"amd64","os":"linux","created":"2024-01-01T00:00:00Z","config":{},"rootfs":{"type":"layers","diff_ids":["%s"]}}' \
    "$d" > "$src/config.json"
  store "$src/config.json"
  config="{\"mediaType\":\"application/vnd.oci.image.config.v1+json\",\"digest\":\"$d\",\"size\":$size}"
  printf '{"schemaVersion":2,"mediaType":"%s","config":%s,"layers":[%s]}' \
    "$oci_manifest" "$config" "$layer" > "$src/manifest.json"
  store "$src/manifest.json"
  manifest_digest=$d
  manifest="{\"mediaType\":\"$oci_manifest\",\"digest\":\"$d\",\"size\":$size,\"annotations\":{\"org.opencontainers.image.ref.name\":\"v1\"}}"
  printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[%s]}' \
    "$manifest" > "$dir/index.json"
  rm -rf -- "$src"
}

seed="$work/seed"
blob_digest=""
manifest_digest=""
say "writing the seed image (one 256 MiB layer of random data) to $seed"
make_seed "$seed"

# The push images: ROUNDS x 50 distinct small images, tagged rRnN; their seeds name
# this run, so no registry or blob-info cache can have seen them before.
pushes="$work/pushes"
run_id="$(date +%s%N)-$$"
declare -A push_digest=()
say "writing $((rounds * images)) small images to $pushes"
for r in $(seq 1 "$rounds"); do
  for n in $(seq 1 "$images"); do
    push_digest[r${r}n$n]=$("$root/scripts/make-image.sh" -t "r${r}n$n" -s "bench-$run_id-r$r-$n" "$pushes")
  done
done

# --- 3. the registries -----------------------------------------------------------------
say "starting lineage serve"
"$lineage" serve --root "$work/lineage-root" --addr 127.0.0.1:0 > "$logs/lineage-serve.log" 2>&1 < /dev/null &
lineage_pid=$!
lineage_host=""
for _ in $(seq 1 200); do
  kill -0 "$lineage_pid" 2> /dev/null || { cat "$logs/lineage-serve.log" >&2; die "lineage serve exited"; }
  lineage_host=$(grep -o 'listening on http://127\.0\.0\.1:[0-9]*' "$logs/lineage-serve.log" | head -n 1 | cut -d/ -f3 || true)
  [ -z "$lineage_host" ] || break
  sleep 0.1
done
[ -n "$lineage_host" ] || die "lineage serve did not say where it listens within 20 s"

say "starting distribution"
reg_env=$("$root/scripts/start-registry.sh" -d on)
eval "$reg_env"
dist_host=$REGISTRY_HOST
dist_pid=$REGISTRY_PID
dist_log="$REGISTRY_DIR/registry.log"

declare -A host=([lineage]=$lineage_host [dist]=$dist_host)
declare -A pid=([lineage]=$lineage_pid [dist]=$dist_pid)
declare -A label=([lineage]="lineage serve" [dist]="distribution 2.8")
say "lineage serve pid $lineage_pid on $lineage_host; distribution pid $dist_pid on $dist_host"

# CPU seconds (user + system) a process has used so far.
cpu_of() {
  sed 's/.*) //' "/proc/$1/stat" | awk -v t="$clk_tck" '{ printf "%.2f", ($12 + $13) / t }'
}

# --- 4. seed both, check they serve the same bytes --------------------------------------
for s in lineage dist; do
  say "pushing the seed image to ${label[$s]}"
  skopeo copy --quiet --preserve-digests --dest-tls-verify=false \
    "oci:$seed:v1" "docker://${host[$s]}/bench/seed:v1" > "$logs/seed-$s.log" 2>&1 ||
    { tail -n 20 "$logs/seed-$s.log" >&2; die "seeding ${label[$s]} failed"; }
done
manifest_path="/v2/bench/seed/manifests/$manifest_digest"
blob_path="/v2/bench/seed/blobs/$blob_digest"
for s in lineage dist; do
  code=$(curl -sS -o "$work/manifest-$s" -w '%{http_code}' -H "Accept: $oci_manifest" "http://${host[$s]}$manifest_path")
  [ "$code" = 200 ] || die "${label[$s]} answered $code to GET $manifest_path"
  cmp -s "$work/manifest-$s" "$seed/blobs/sha256/${manifest_digest#sha256:}" ||
    die "${label[$s]} served other manifest bytes"
  code=$(curl -sS -o "$work/blob-$s" -w '%{http_code}' "http://${host[$s]}$blob_path")
  [ "$code" = 200 ] || die "${label[$s]} answered $code to GET $blob_path"
  [ "sha256:$(sha256sum < "$work/blob-$s" | cut -d' ' -f1)" = "$blob_digest" ] || die "${label[$s]} served other blob bytes"
  rm -f -- "$work/blob-$s"
done
say "both registries serve $manifest_digest and $blob_digest byte for byte"

# --- 5. measurements ----------------------------------------------------------------------
declare -A v=() cpu=() load=()
first=()
load1() { cut -d' ' -f1 /proc/loadavg; }

# wrk_run NAME SERVER CONNECTIONS SECONDS PATH [HEADER]: wrk output in $logs/NAME-SERVER.txt;
# fails on non-2xx answers or socket errors; sets $cpu_used (server CPU seconds).
cpu_used=""
wrk_run() {
  local name=$1 s=$2 c=$3 d=$4 path=$5 out c0 c1
  out="$logs/$name-$s.txt"
  local args=(-t2 "-c$c" "-d${d}s" --timeout 30s)
  [ $# -lt 6 ] || args+=(-H "$6")
  c0=$(cpu_of "${pid[$s]}")
  wrk "${args[@]}" "http://${host[$s]}$path" > "$out" 2>&1 || { cat "$out" >&2; die "wrk failed"; }
  c1=$(cpu_of "${pid[$s]}")
  cpu_used=$(awk -v a="$c0" -v b="$c1" 'BEGIN { printf "%.2f", b - a }')
  if grep -q -e 'Non-2xx' -e 'Socket errors' "$out"; then
    cat "$out" >&2
    die "wrk saw errors against ${label[$s]} ($out)"
  fi
}
rps_of() { awk '/^Requests\/sec:/ { printf "%.0f", $2 }' "$1"; }
# wrk prints sizes in binary units (1 MB = 2^20 bytes) with two decimals; its
# "N requests in Ts, X read" line is the most precise: give X / T in MiB/s.
mibs_of() {
  awk '/ requests in / {
    t = $4 + 0; x = $5; n = x + 0; u = x; sub(/^[0-9.]+/, "", u)
    f = (u == "B") ? 1 / 1048576 : (u == "KB") ? 1 / 1024 : (u == "MB") ? 1 : (u == "GB") ? 1024 : (u == "TB") ? 1048576 : -1
    if (f < 0 || t <= 0) exit 1
    printf "%.0f", n * f / t }' "$1"
}
requests_of() { awk '/requests in/ { print $1 }' "$1"; }

order_for() { if [ $(($1 % 2)) -eq 1 ]; then echo lineage dist; else echo dist lineage; fi; }

load_measure=$(cut -d' ' -f1-3 /proc/loadavg)
say "warm-up: ${label[lineage]} and ${label[dist]}, 3 s of manifest GETs and 3 s of blob GETs each"
for s in lineage dist; do
  wrk_run warmup-manifest "$s" 32 3 "$manifest_path" "Accept: $oci_manifest"
  wrk_run warmup-blob "$s" 4 3 "$blob_path"
done

for r in $(seq 1 "$rounds"); do
  read -r -a order <<< "$(order_for "$r")"
  first[r]=${order[0]}
  load[manifest-$r]=$(load1)
  for s in "${order[@]}"; do
    wrk_run "manifest-r$r" "$s" 32 "$duration" "$manifest_path" "Accept: $oci_manifest"
    v[manifest-$s-$r]=$(rps_of "$logs/manifest-r$r-$s.txt")
    reqs=$(requests_of "$logs/manifest-r$r-$s.txt")
    cpu[manifest-$s-$r]=$(awk -v c="$cpu_used" -v n="$reqs" 'BEGIN { printf "%.1f", c * 1e6 / n }')
    say "round $r: manifest GET ${label[$s]}: ${v[manifest-$s-$r]} req/s (server CPU ${cpu[manifest-$s-$r]} us/request)"
  done
done

for r in $(seq 1 "$rounds"); do
  read -r -a order <<< "$(order_for "$r")"
  load[blob-$r]=$(load1)
  for s in "${order[@]}"; do
    wrk_run "blob-r$r" "$s" 4 "$duration" "$blob_path"
    v[blob-$s-$r]=$(mibs_of "$logs/blob-r$r-$s.txt")
    cpu[blob-$s-$r]=$(awk -v c="$cpu_used" -v m="${v[blob-$s-$r]}" -v d="$duration" 'BEGIN { printf "%.2f", c / (m * d / 1024) }')
    say "round $r: blob GET (wrk, 4 connections) ${label[$s]}: ${v[blob-$s-$r]} MiB/s (server CPU ${cpu[blob-$s-$r]} s/GiB)"
  done
  for s in "${order[@]}"; do
    res=$(curl -sS -o /dev/null -w '%{http_code} %{size_download} %{speed_download}' "http://${host[$s]}$blob_path")
    read -r code size speed <<< "$res"
    if [ "$code" != 200 ] || [ "$size" != "$blob_bytes" ]; then
      die "curl got $code and $size bytes from ${label[$s]}"
    fi
    v[curl-$s-$r]=$(awk -v b="$speed" 'BEGIN { printf "%.0f", b / 1048576 }')
    say "round $r: blob GET (curl, 1 connection) ${label[$s]}: ${v[curl-$s-$r]} MiB/s"
  done
done

dist_mounts() { grep -c 'mount=' "$dist_log" || true; }
mounts_before=$(dist_mounts)
for r in $(seq 1 "$rounds"); do
  read -r -a order <<< "$(order_for "$r")"
  load[push-$r]=$(load1)
  for s in "${order[@]}"; do
    c0=$(cpu_of "${pid[$s]}")
    t0=$(date +%s.%N)
    for n in $(seq 1 "$images"); do
      skopeo copy --quiet --dest-tls-verify=false "oci:$pushes:r${r}n$n" \
        "docker://${host[$s]}/bench/r$r/img-$n:v1" > "$logs/push-$s-r$r-$n.log" 2>&1 ||
        { tail -n 20 "$logs/push-$s-r$r-$n.log" >&2; die "push $n of round $r to ${label[$s]} failed"; }
    done
    t1=$(date +%s.%N)
    c1=$(cpu_of "${pid[$s]}")
    v[push-$s-$r]=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", b - a }')
    cpu[push-$s-$r]=$(awk -v a="$c0" -v b="$c1" 'BEGIN { printf "%.2f", b - a }')
    say "round $r: push $images images to ${label[$s]}: ${v[push-$s-$r]} s (server CPU ${cpu[push-$s-$r]} s)"
    # Every image arrived whole: its tag names the manifest the layout has.
    for n in $(seq 1 "$images"); do
      got=$(curl -fsS -I -H "Accept: $oci_manifest" "http://${host[$s]}/v2/bench/r$r/img-$n/manifests/v1" |
        tr -d '\r' | awk -F': ' 'tolower($1) == "docker-content-digest" { print $2 }')
      [ "$got" = "${push_digest[r${r}n$n]}" ] || die "${label[$s]} has ${got:-nothing} for bench/r$r/img-$n:v1"
    done
  done
done
[ "$(dist_mounts)" -eq "$mounts_before" ] || die "skopeo mounted a blob on distribution; the uploads were not all measured"

load_end=$(cut -d' ' -f1-3 /proc/loadavg)

# --- 6. the report ---------------------------------------------------------------------------
median() {
  printf '%s\n' "$@" | sort -g | awk '{ x[NR] = $1 }
    END { if (NR % 2) print x[(NR + 1) / 2]; else print (x[NR / 2] + x[NR / 2 + 1]) / 2 }'
}
samples() {
  local key=$1 s=$2 r
  for r in $(seq 1 "$rounds"); do printf '%s\n' "${v[$key-$s-$r]}"; done
}
med() { local -a xs; mapfile -t xs < <(samples "$1" "$2"); median "${xs[@]}"; }
cpu_med() {
  local -a xs; local r
  xs=()
  for r in $(seq 1 "$rounds"); do xs+=("${cpu[$1-$2-$r]}"); done
  median "${xs[@]}"
}
fmt() { awk -v x="$1" -v p="$2" 'BEGIN { printf "%.*f", p, x }'; }

row() { # KEY NAME UNIT-DECIMALS TARGET-KIND TARGET
  local key=$1 name=$2 dec=$3 kind=$4 goal=$5 a b ratio met
  a=$(med "$key" lineage)
  b=$(med "$key" dist)
  ratio=$(awk -v a="$a" -v b="$b" 'BEGIN { printf "%.2f", a / b }')
  case "$kind" in
    min) met=$(awk -v x="$ratio" -v g="$goal" 'BEGIN { print (x >= g ? "yes" : "no") }'); goal=">= $goal" ;;
    max) met=$(awk -v x="$ratio" -v g="$goal" 'BEGIN { print (x <= g ? "yes" : "no") }'); goal="<= $goal" ;;
    *) met="-"; goal="-" ;;
  esac
  echo "| $name | $(fmt "$a" "$dec") | $(fmt "$b" "$dec") | $ratio | $goal: $met |"
}

cpu_model=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)
mem=$(awk '/^MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo)
fs=$(df -T "$work" | awk 'NR == 2 { print $2 }')

echo "## lineage serve vs distribution 2.8"
echo
echo "Started $started; median of $rounds rounds, the registry that goes first alternating by round;"
echo "wrk runs of ${duration} s after a 3 s warm-up of each. Ratio = lineage serve / distribution."
echo
echo "| metric | lineage serve | distribution 2.8 | ratio | target met? |"
echo "|---|---:|---:|---:|---|"
row manifest "manifest GET, 32 connections (req/s)" 0 min 1.50
row blob "blob GET 256 MiB, wrk 4 connections (MiB/s)" 0 min 1.00
row curl "blob GET 256 MiB, one curl (MiB/s)" 0 min 1.00
row push "push $images small images with skopeo (s)" 2 max 1.00
echo
echo "Samples, round by round (first = the registry measured first in that round):"
echo
echo "| round | first | manifest req/s (lineage / dist) | wrk blob MiB/s | curl blob MiB/s | push s | 1-min load at start (manifest / blob / push) |"
echo "|---:|---|---|---|---|---|---|"
for r in $(seq 1 "$rounds"); do
  echo "| $r | ${label[${first[r]}]} | ${v[manifest-lineage-$r]} / ${v[manifest-dist-$r]} | ${v[blob-lineage-$r]} / ${v[blob-dist-$r]} | ${v[curl-lineage-$r]} / ${v[curl-dist-$r]} | ${v[push-lineage-$r]} / ${v[push-dist-$r]} | ${load[manifest-$r]} / ${load[blob-$r]} / ${load[push-$r]} |"
done
echo
echo "Server CPU time (user + system, from /proc/PID/stat), median per round:"
echo
echo "| measurement | lineage serve | distribution 2.8 |"
echo "|---|---:|---:|"
echo "| manifest GET (us per request) | $(cpu_med manifest lineage) | $(cpu_med manifest dist) |"
echo "| blob GET, wrk (s per GiB sent) | $(cpu_med blob lineage) | $(cpu_med blob dist) |"
echo "| push of $images images (s) | $(cpu_med push lineage) | $(cpu_med push dist) |"
echo
echo "Machine:"
echo
echo "- CPUs: $(nproc) x $cpu_model; memory $mem; kernel $(uname -r); storage $fs"
echo "- load average (1/5/15 min) when the script started (before the build): $load_start;"
echo "  when the measurements started: $load_measure; at the end: $load_end"
echo "- $("$lineage" --version) ($(cd "$root" && git rev-parse --short HEAD 2> /dev/null || echo unknown commit)$(cd "$root" && [ -z "$(git status --porcelain 2> /dev/null)" ] || echo ", uncommitted changes")); $(rustc --version 2> /dev/null || echo rustc unknown)"
echo "- $(docker-registry --version) (scripts/start-registry.sh: filesystem storage, access log on)"
echo "- $(skopeo --version); $(wrk -v 2>&1 | head -n 1 | sed 's/ Copyright.*//'); $(curl --version | head -n 1 | cut -d' ' -f1-2)"
