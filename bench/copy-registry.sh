#!/usr/bin/env bash
# copy-registry.sh - time `lineage copy` against `skopeo copy` between an OCI
# image layout and a local CNCF distribution 2.8 registry, in both directions.
#
# Usage: bench/copy-registry.sh [-w DIR] [-n ROUNDS] [-l LAYERS] [-s MIB]
#   -w DIR     work directory, kept afterwards; the source layout made in it is
#              reused by later runs (default: a temporary directory, removed)
#   -n ROUNDS  timed rounds (default 5); the report gives the median
#   -l LAYERS  layers in the image (default 4)
#   -s MIB     MiB of random data per layer (default 64)
#
# The image's layers are uncompressed tars (application/vnd.oci.image.layer.v1.tar)
# of incompressible random data, so neither tool compresses anything. Each round,
# in one run and against one registry (scripts/start-registry.sh -d on):
#   push  lineage copy oci:LAYOUT:v1 HOST/bench-lineage-R:v1
#         skopeo copy --preserve-digests --dest-tls-verify=false \
#           oci:LAYOUT:v1 docker://HOST/bench-skopeo-R:v1
#   pull  lineage copy HOST/bench-lineage-R:v1 oci:OUT/lineage-R:v1
#         skopeo copy --preserve-digests --src-tls-verify=false \
#           docker://HOST/bench-skopeo-R:v1 oci:OUT/skopeo-R:v1
# interleaved (both pushes, then both pulls; the tool that goes first alternates
# by round), each one's wall time taken with `date +%s.%N` (and its CPU time with
# /usr/bin/time when GNU time is installed). Round 0 is an untimed
# warm-up run with debug logs (lineage -v, skopeo --debug; kept in DIR/logs).
# Every copy is checked: the manifest digest equals the source's, and every blob
# of a pulled layout hashes to its name. The registry's access log must show no
# cross-repository mount (that would skip the upload being measured). After a
# round its pulled layouts are removed and its repositories' blobs are deleted
# (DELETE /v2/NAME/blobs/DIGEST), because skopeo remembers where it has seen a
# blob (containers/image's blob-info cache) and would otherwise mount it from
# the previous round's repository instead of uploading it.
#
# Progress goes to stderr; the report (markdown) to stdout.
# Needs: cargo, skopeo, docker-registry, curl, GNU tar, coreutils, awk.
set -euo pipefail

prog=copy-registry
say() { printf '%s: %s\n' "$prog" "$*" >&2; }
die() { say "error: $*"; exit 1; }
usage() { sed -n '5,10p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }

rounds=5
nlayers=4
size_mib=64
work=""
while getopts ":w:n:l:s:h" opt; do
  case "$opt" in
    w) work=$OPTARG ;;
    n) rounds=$OPTARG ;;
    l) nlayers=$OPTARG ;;
    s) size_mib=$OPTARG ;;
    h) usage ;;
    :) say "-$OPTARG needs a value"; usage ;;
    *) say "unknown option -$OPTARG"; usage ;;
  esac
done
shift $((OPTIND - 1))
[ $# -eq 0 ] || { say "unexpected argument '$1'"; usage; }
for pair in "n:$rounds" "l:$nlayers" "s:$size_mib"; do
  [[ "${pair#*:}" =~ ^[1-9][0-9]*$ ]] || { say "-${pair%%:*} takes a positive number"; usage; }
done

for cmd in cargo skopeo docker-registry curl tar sha256sum awk; do
  command -v "$cmd" > /dev/null || die "$cmd not found on PATH"
done

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/.." && pwd)

# --- work directory and clean-up --------------------------------------------
keep_work=true
if [ -z "$work" ]; then
  work=$(mktemp -d "${TMPDIR:-/tmp}/lineage-bench.XXXXXX")
  keep_work=false
fi
mkdir -p "$work"
work=$(cd "$work" && pwd)
out="$work/out"
logs="$work/logs"
REGISTRY_DIR=""

cleanup() {
  local rc=$?
  if [ -n "$REGISTRY_DIR" ]; then
    "$root/scripts/stop-registry.sh" "$REGISTRY_DIR" || true
  fi
  rm -rf -- "$out"
  if [ "$keep_work" = false ]; then
    rm -rf -- "$work"
  else
    say "kept $work (source layout and logs)"
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# --- 1. build ----------------------------------------------------------------
say "building lineage (release)"
(cd "$root" && cargo build --release -p lineage-cli) >&2
lineage="${CARGO_TARGET_DIR:-$root/target}/release/lineage"
[ -x "$lineage" ] || die "no binary at $lineage after the build"

# --- 2. the source layout (made once per work directory) --------------------
layout="$work/layout"
params="layers=$nlayers size_mib=$size_mib media=application/vnd.oci.image.layer.v1.tar"

# Check a layout: every blob hashes to its name. Prints nothing; fails if not.
check_blobs() {
  local dir=$1 f
  for f in "$dir"/blobs/sha256/*; do
    [ "$(sha256sum < "$f" | cut -d' ' -f1)" = "${f##*/}" ] || return 1
  done
}

make_layout() {
  local tmp="$work/layout.tmp" i ds d size layers="" diff_ids="" config manifest
  rm -rf -- "$tmp" "$layout"
  mkdir -p "$tmp/blobs/sha256" "$tmp/src"
  printf '{"imageLayoutVersion":"1.0.0"}' > "$tmp/oci-layout"
  # store FILE -> moves FILE into the layout, prints "DIGEST SIZE"
  store() {
    local digest size
    digest=$(sha256sum < "$1" | cut -d' ' -f1)
    size=$(stat -c %s "$1")
    mv -- "$1" "$tmp/blobs/sha256/$digest"
    printf 'sha256:%s %s' "$digest" "$size"
  }
  for i in $(seq 1 "$nlayers"); do
    mkdir -p "$tmp/src/$i"
    head -c "${size_mib}M" /dev/urandom > "$tmp/src/$i/random-$i.bin"
    tar --format=ustar --owner=0 --group=0 --numeric-owner --mtime=2024-01-01 \
      -C "$tmp/src/$i" -cf "$tmp/src/layer-$i.tar" "random-$i.bin"
    rm -f -- "$tmp/src/$i/random-$i.bin"
    ds=$(store "$tmp/src/layer-$i.tar")
    d=${ds%% *} size=${ds#* }
    # Uncompressed layer: its diff ID is its digest.
    diff_ids+="${diff_ids:+,}\"$d\""
    layers+="${layers:+,}{\"mediaType\":\"application/vnd.oci.image.layer.v1.tar\",\"digest\":\"$d\",\"size\":$size}"
  done
  printf '{"architecture":"amd64","os":"linux","created":"2024-01-01T00:00:00Z","config":{},"rootfs":{"type":"layers","diff_ids":[%s]}}' \
    "$diff_ids" > "$tmp/src/config.json"
  ds=$(store "$tmp/src/config.json")
  d=${ds%% *} size=${ds#* }
  config="{\"mediaType\":\"application/vnd.oci.image.config.v1+json\",\"digest\":\"$d\",\"size\":$size}"
  printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":%s,"layers":[%s]}' \
    "$config" "$layers" > "$tmp/src/manifest.json"
  ds=$(store "$tmp/src/manifest.json")
  d=${ds%% *} size=${ds#* }
  manifest="{\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\"digest\":\"$d\",\"size\":$size,\"annotations\":{\"org.opencontainers.image.ref.name\":\"v1\"}}"
  printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[%s]}' \
    "$manifest" > "$tmp/index.json"
  rm -rf -- "$tmp/src"
  printf '%s\n' "$params" > "$tmp/.bench-params"
  mv -- "$tmp" "$layout"
}

if [ -f "$layout/.bench-params" ] && [ "$(cat "$layout/.bench-params")" = "$params" ] &&
  [ -f "$layout/index.json" ] && check_blobs "$layout"; then
  say "reusing the source layout in $layout"
else
  say "writing a layout with $nlayers layers of $size_mib MiB of random data to $layout"
  make_layout
fi
src_digest=$(grep -o '"digest":"sha256:[0-9a-f]\{64\}"' "$layout/index.json" | head -n 1 | cut -d'"' -f4)
[ -n "$src_digest" ] || die "no manifest digest in $layout/index.json"
manifest_blob="$layout/blobs/sha256/${src_digest#sha256:}"
# The config's and the layers' digests: the blobs deleted after every round.
mapfile -t blob_digests < <(grep -o 'sha256:[0-9a-f]\{64\}' "$manifest_blob")
[ "${#blob_digests[@]}" -eq $((nlayers + 1)) ] || die "unexpected manifest $manifest_blob"
[ "$("$lineage" resolve "oci:$layout:v1")" = "$src_digest" ] || die "lineage resolves the source to another digest"
total_mib=$(du -sm "$layout/blobs" | cut -f1)
say "source image $src_digest ($total_mib MiB)"

# --- 3. the registry ----------------------------------------------------------
reg_env=$("$root/scripts/start-registry.sh" -d on)
eval "$reg_env"
host=$REGISTRY_HOST
reg_log="$REGISTRY_DIR/registry.log"

# --- 4. the copies --------------------------------------------------------------
mkdir -p "$out" "$logs"

lineage_flags=()
skopeo_flags=()

# command_for OP TOOL ROUND: sets the array $cmd to the command that is timed.
cmd=()
command_for() {
  local r=$3
  case "$1-$2" in
    push-lineage) cmd=("$lineage" "${lineage_flags[@]}" copy "oci:$layout:v1" "$host/bench-lineage-$r:v1") ;;
    push-skopeo) cmd=(skopeo "${skopeo_flags[@]}" copy --preserve-digests --dest-tls-verify=false
      "oci:$layout:v1" "docker://$host/bench-skopeo-$r:v1") ;;
    pull-lineage) cmd=("$lineage" "${lineage_flags[@]}" copy "$host/bench-lineage-$r:v1" "oci:$out/lineage-$r:v1") ;;
    pull-skopeo) cmd=(skopeo "${skopeo_flags[@]}" copy --preserve-digests --src-tls-verify=false
      "docker://$host/bench-skopeo-$r:v1" "oci:$out/skopeo-$r:v1") ;;
    *) die "no command for $1 with $2" ;;
  esac
}

# GNU time, when installed, also gives the CPU time (user + system) of the copy.
gnu_time=""
[ ! -x /usr/bin/time ] || gnu_time=/usr/bin/time

# timed OP TOOL ROUND: run the command with its output in a log file; sets
# $elapsed (wall seconds, from date +%s.%N) and $cpu (user + system seconds, or "-").
elapsed=""
cpu=""
timed() {
  local op=$1 tool=$2 r=$3 log tfile t0 t1 rc=0
  log="$logs/$op-$tool-$r.log"
  tfile="$logs/$op-$tool-$r.time"
  command_for "$op" "$tool" "$r"
  t0=$(date +%s.%N)
  if [ -n "$gnu_time" ]; then
    "$gnu_time" -f '%U %S' -o "$tfile" "${cmd[@]}" > "$log" 2>&1 || rc=$?
  else
    "${cmd[@]}" > "$log" 2>&1 || rc=$?
  fi
  t1=$(date +%s.%N)
  if [ "$rc" -ne 0 ]; then
    tail -n 20 "$log" >&2
    die "$op with $tool failed in round $r (log: $log)"
  fi
  elapsed=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }')
  cpu=-
  [ -z "$gnu_time" ] || cpu=$(awk 'END { printf "%.2f", $1 + $2 }' "$tfile")
  say "round $r: $op $tool ${elapsed}s (cpu ${cpu}s)"
}

mounts_seen() { grep -c 'mount=' "$reg_log" || true; }

verify_push() {
  local tool=$1 r=$2 got
  got=$(curl -fsS -I -A copy-registry-check -H 'Accept: application/vnd.oci.image.manifest.v1+json' \
    "$REGISTRY_URL/v2/bench-$tool-$r/manifests/v1" |
    tr -d '\r' | awk -F': ' 'tolower($1) == "docker-content-digest" { print $2 }')
  [ "$got" = "$src_digest" ] || die "$tool pushed manifest ${got:-none}, not $src_digest"
  [ "$(mounts_seen)" -eq 0 ] || die "a cross-repository mount happened (see $reg_log); the upload was not measured"
}

verify_pull() {
  local tool=$1 r=$2 dir a b
  dir="$out/$tool-$r"
  a=$("$lineage" resolve "oci:$dir:v1")
  b="sha256:$(skopeo inspect --raw "oci:$dir:v1" | sha256sum | cut -d' ' -f1)"
  if [ "$a" != "$src_digest" ] || [ "$b" != "$src_digest" ]; then
    die "$tool pulled manifest $a (lineage) / $b (skopeo), not $src_digest"
  fi
  [ "$(find "$dir/blobs/sha256" -type f | wc -l)" -eq $((nlayers + 2)) ] ||
    die "$tool pulled $(find "$dir/blobs/sha256" -type f | wc -l) blobs, not $((nlayers + 2))"
  check_blobs "$dir" || die "a blob $tool pulled does not match its digest"
}

# Forget a round: remove the pulled layouts, unlink its blobs from its repositories.
forget_round() {
  local r=$1 tool d code
  rm -rf -- "$out/lineage-$r" "$out/skopeo-$r"
  for tool in lineage skopeo; do
    for d in "${blob_digests[@]}"; do
      code=$(curl -s -o /dev/null -w '%{http_code}' -X DELETE "$REGISTRY_URL/v2/bench-$tool-$r/blobs/$d")
      [ "$code" = 202 ] || die "DELETE of blob $d in bench-$tool-$r answered $code"
    done
  done
}

declare -A t=() c=()
first=()

# round R: push both, then pull both; the first tool alternates.
round() {
  local r=$1 order tool op
  if [ $((r % 2)) -eq 1 ]; then order=(lineage skopeo); else order=(skopeo lineage); fi
  first[r]=${order[0]}
  for op in push pull; do
    for tool in "${order[@]}"; do
      timed "$op" "$tool" "$r"
      t[$op-$tool-$r]=$elapsed
      c[$op-$tool-$r]=$cpu
      "verify_$op" "$tool" "$r"
    done
  done
  for tool in lineage skopeo; do
    t[rt-$tool-$r]=$(awk -v a="${t[push-$tool-$r]}" -v b="${t[pull-$tool-$r]}" 'BEGIN { printf "%.3f", a + b }')
    c[rt-$tool-$r]=-
    [ -z "$gnu_time" ] ||
      c[rt-$tool-$r]=$(awk -v a="${c[push-$tool-$r]}" -v b="${c[pull-$tool-$r]}" 'BEGIN { printf "%.2f", a + b }')
  done
}

# Requests each tool made in a round, from the registry's access log: "METHOD count ...".
requests() {
  local tool=$1 r=$2
  grep -v copy-registry-check "$reg_log" | grep -o "\"[A-Z]* /v2/bench-$tool-$r/[^ \"]*" | cut -c2- | awk '
    { m = $1; if ($2 ~ /\/manifests\//) k = m " manifest"; else if ($2 ~ /\/uploads\//) k = m " upload"; else k = m " blob"; n[k]++ }
    END { for (k in n) printf "%s x%d\n", k, n[k] }' | sort | paste -sd, - | sed 's/,/, /g'
}

load_before=$(cut -d' ' -f1-3 /proc/loadavg)
say "round 0: untimed warm-up with debug logs in $logs"
lineage_flags=(-v)
skopeo_flags=(--debug)
round 0
warm_lineage=$(requests lineage 0)
warm_skopeo=$(requests skopeo 0)
forget_round 0
lineage_flags=()
skopeo_flags=()

started=$(date -u '+%Y-%m-%d %H:%M UTC')
for r in $(seq 1 "$rounds"); do
  round "$r"
  forget_round "$r"
done
load_after=$(cut -d' ' -f1-3 /proc/loadavg)

# --- 5. the report --------------------------------------------------------------
median() {
  printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 }
    END { if (NR % 2) printf "%.2f", v[(NR + 1) / 2]; else printf "%.2f", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
# samples t|c KEY TOOL: the wall (t) or CPU (c) times of KEY (push, pull, rt), one a line.
samples() {
  local which=$1 key=$2 tool=$3 r vals=()
  for r in $(seq 1 "$rounds"); do
    if [ "$which" = t ]; then vals+=("${t[$key-$tool-$r]}"); else vals+=("${c[$key-$tool-$r]}"); fi
  done
  printf '%s\n' "${vals[@]}"
}

cpu_model=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)
mem=$(awk '/^MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo)
fs=$(df -T "$work" | awk 'NR == 2 { print $2 }')
reg_fs=$(df -T "$REGISTRY_DIR" | awk 'NR == 2 { print $2 }')

echo "## lineage copy vs skopeo copy, layout <-> distribution 2.8"
echo
echo "$nlayers layers x $size_mib MiB of random data (uncompressed tar layers, $total_mib MiB in all),"
echo "median of $rounds interleaved rounds, wall time in seconds; started $started."
echo
op_name() {
  case "$1" in
    push) echo "push (layout -> registry)" ;;
    pull) echo "pull (registry -> layout)" ;;
    rt) echo "round trip (push + pull)" ;;
  esac
}
echo "| operation | lineage median (s) | skopeo median (s) | lineage / skopeo | target <= 0.80 |"
echo "|---|---:|---:|---:|---|"
for key in push pull rt; do
  mapfile -t lvals < <(samples t "$key" lineage)
  mapfile -t svals < <(samples t "$key" skopeo)
  ml=$(median "${lvals[@]}")
  ms=$(median "${svals[@]}")
  ratio=$(awk -v a="$ml" -v b="$ms" 'BEGIN { printf "%.2f", a / b }')
  met=$(awk -v x="$ratio" 'BEGIN { print (x <= 0.80 ? "met" : "not met") }')
  echo "| $(op_name "$key") | $ml | $ms | $ratio | $met |"
done
echo
if [ -n "$gnu_time" ]; then
  echo "CPU time (user + system) of the copying process, from GNU time; the registry's is not counted:"
  echo
  echo "| operation | lineage median CPU (s) | skopeo median CPU (s) | lineage / skopeo |"
  echo "|---|---:|---:|---:|"
  for key in push pull rt; do
    mapfile -t lvals < <(samples c "$key" lineage)
    mapfile -t svals < <(samples c "$key" skopeo)
    ml=$(median "${lvals[@]}")
    ms=$(median "${svals[@]}")
    echo "| $(op_name "$key") | $ml | $ms | $(awk -v a="$ml" -v b="$ms" 'BEGIN { printf "%.2f", a / b }') |"
  done
  echo
fi
echo "Samples, wall seconds (CPU seconds in parentheses):"
echo
echo "| round | first | lineage push | skopeo push | lineage pull | skopeo pull | lineage round trip | skopeo round trip |"
echo "|---:|---|---:|---:|---:|---:|---:|---:|"
for r in $(seq 1 "$rounds"); do
  row="| $r | ${first[r]} |"
  for key in push pull rt; do
    for tool in lineage skopeo; do
      row+=" ${t[$key-$tool-$r]} (${c[$key-$tool-$r]}) |"
    done
  done
  echo "$row"
done
echo
echo "Registry requests in the warm-up round (from its access log; no cross-repository mounts in any round):"
echo
echo "- lineage: $warm_lineage"
echo "- skopeo: $warm_skopeo"
echo
echo "Machine:"
echo
echo "- CPUs: $(nproc) x $cpu_model; memory $mem; kernel $(uname -r)"
echo "- file systems: work dir $fs, registry storage $reg_fs"
echo "- load average (1/5/15 min) before: $load_before; after: $load_after"
echo "- $("$lineage" --version) ($(cd "$root" && git rev-parse --short HEAD 2> /dev/null || echo unknown commit)$(cd "$root" && [ -z "$(git status --porcelain 2> /dev/null)" ] || echo ", uncommitted changes")); $(rustc --version 2> /dev/null || echo rustc unknown)"
echo "- $(skopeo --version)"
echo "- $(docker-registry --version)"
