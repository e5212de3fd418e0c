#!/usr/bin/env bash
# serve-scale.sh - `lineage serve` at scale (issue 15), side by side with Debian's
# distribution 2.8 (docker-registry) in the same run.
#
# Usage: bench/serve-scale.sh [-m MAX] [-g ORPHANS] [-k]
#   -m MAX      referrers of one subject in the big repository (default 100000)
#   -g ORPHANS  orphaned referrers (each with its own blob) for the GC run (default 15000)
#   -k          keep the work directory
#
# Both registries listen on 127.0.0.1: `lineage serve` (release build, default settings:
# referrers pages of 4096) and scripts/start-registry.sh -d on. bench/serve_scale.py drives
# them over HTTP/1.1 keep-alive connections. Neither server runs under `nice`. Measured:
#   push       median and p99 of 500 sequential referrer PUTs (by digest, untagged, one
#              subject, an image pushed first) when the repository holds 1000 manifests and
#              when it holds MAX; the repository is filled between by 8 client processes
#   listing    lineage: 200 whole referrers listings at 10 000 entries (every page, following
#              `Link`): p99 of a whole listing and of one page
#   RSS        lineage: VmRSS (and VmHWM, the peak) with MAX referrers after whole listings,
#              and again after the restart below and a whole listing
#   restart    lineage: SIGTERM, start again; ms until GET /v2/ answers, and until the
#              first whole listing has been answered (the index is built in the background)
#   blob GET   a 256 MiB blob, one `curl -o /dev/null` stream, one warm-up and 5 rounds
#              each, alternating, median
#   manifest   wrk -t2 -c32 -d10s on a manifest by digest, requests per second
#   GC         lineage: ORPHANS referrers of an image, each with its own blob, then the
#              image deleted; `lineage serve gc --delete-referrers-with-subject
#              --gc-grace 0s` over the whole root (the big repository included) with the
#              server stopped, timed; everything live (the big repository's subject and its
#              MAX referrers, an image with 20 referrers, and every blob they name) listed,
#              fetched and checked against its digest before and after
# Progress goes to stderr; the report (markdown) to stdout.
# Needs: cargo, docker-registry, python3, curl, wrk.
set -euo pipefail

prog=serve-scale
say() { printf '%s: %s\n' "$prog" "$*" >&2; }
die() { say "error: $*"; exit 1; }

max=100000
orphans=15000
keep_work=false
while getopts ":m:g:kh" opt; do
  case "$opt" in
    m) max=$OPTARG ;;
    g) orphans=$OPTARG ;;
    k) keep_work=true ;;
    *) sed -n '5,8p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2 ;;
  esac
done
[[ "$max" =~ ^[0-9]+$ && "$max" -ge 10000 ]] || die "-m takes a number of at least 10000"
for cmd in cargo docker-registry python3 curl wrk; do
  command -v "$cmd" > /dev/null || die "$cmd not found on PATH"
done

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/.." && pwd)
py="python3 $here/serve_scale.py"
work=$(mktemp -d "${TMPDIR:-/tmp}/lineage-serve-scale.XXXXXX")
REGISTRY_DIR=""
lineage_pid=""
cleanup() {
  local rc=$?
  [ -n "$lineage_pid" ] && kill -TERM "$lineage_pid" 2> /dev/null && wait "$lineage_pid" 2> /dev/null || true
  [ -n "$REGISTRY_DIR" ] && "$root/scripts/stop-registry.sh" "$REGISTRY_DIR" || true
  if [ "$keep_work" = true ]; then say "kept $work"; else rm -rf -- "$work"; fi
  exit "$rc"
}
trap cleanup EXIT

say "building lineage (release)"
(cd "$root" && cargo build --release -p lineage-cli) >&2
lineage="${CARGO_TARGET_DIR:-$root/target}/release/lineage"
started=$(date -u '+%Y-%m-%d %H:%M UTC')
load_start=$(cut -d' ' -f1-3 /proc/loadavg)

start_lineage() {
  "$lineage" serve --root "$work/root" --addr 127.0.0.1:0 2> "$work/serve.log" &
  lineage_pid=$!
  local i
  for i in $(seq 1 600); do
    lineage_host=$(sed -n 's|.*listening on http://\([^ ]*\).*|\1|p' "$work/serve.log" | head -1)
    [ -n "$lineage_host" ] && return 0
    kill -0 "$lineage_pid" 2> /dev/null || die "lineage serve exited: $(cat "$work/serve.log")"
    sleep 0.05
  done
  die "lineage serve did not start"
}
stop_lineage() { kill -TERM "$lineage_pid"; wait "$lineage_pid" || true; lineage_pid=""; }
ms() { date +%s%3N; }
load() { cut -d' ' -f1 /proc/loadavg; }
declare -A loads
mem_kib() { awk -v k="$1:" '$1 == k {print $2}' "/proc/$lineage_pid/status"; }
wait_ready() {
  local i
  for i in $(seq 1 3000); do
    curl -sf -m 5 -o /dev/null "http://$lineage_host/v2/" && return 0
    sleep 0.01
  done
  die "lineage serve did not answer GET /v2/ within 30 s"
}
field() { python3 -c "import json,sys; print(json.loads(sys.argv[1])[sys.argv[2]])" "$1" "$2"; }

start_lineage
eval "$("$root/scripts/start-registry.sh" -d on)"
say "lineage on $lineage_host, distribution on $REGISTRY_HOST"
declare -A push1k pushmax filled
for reg in lineage distribution; do
  if [ "$reg" = lineage ]; then url="http://$lineage_host"; else url="http://$REGISTRY_HOST"; fi
  # The subject is a real image (the same bytes, so the same digest, in both): garbage
  # collection must keep its referrers.
  subject=$(field "$($py subject "$url" big "bench subject")" subject)
  say "$reg: filling to 1000 (subject $subject)"
  $py fill "$url" big "$subject" 0 1000 > /dev/null
  loads[push1k_$reg]=$(load)
  push1k[$reg]=$($py pushes "$url" big "$subject" 1000 500)
  say "$reg: at 1k: ${push1k[$reg]}"
  say "$reg: filling to 10000"
  $py fill "$url" big "$subject" 1500 10000 > /dev/null
  if [ "$reg" = lineage ]; then
    loads[listing]=$(load)
    listing10k=$($py listing "$url" big "$subject" 200)
    say "lineage: listing at 10k: $listing10k"
  fi
  say "$reg: filling to $max"
  t0=$(ms)
  $py fill "$url" big "$subject" 10000 "$max" > /dev/null
  filled[$reg]=$(( ($(ms) - t0) / 1000 ))
  say "$reg: filled in ${filled[$reg]} s"
  loads[pushmax_$reg]=$(load)
  pushmax[$reg]=$($py pushes "$url" big "$subject" "$max" 500)
  say "$reg: at $max: ${pushmax[$reg]}"
done

url="http://$lineage_host"
listingmax=$($py listing "$url" big "$subject" 3)
rss_kib=$(mem_kib VmRSS)
hwm_kib=$(mem_kib VmHWM)
say "lineage: RSS ${rss_kib} KiB (peak ${hwm_kib} KiB) with $(field "$listingmax" entries) referrers listed"

say "lineage: restart"
stop_lineage
t0=$(ms)
start_lineage
wait_ready
ready_ms=$(( $(ms) - t0 ))
first_listing=$($py listing "http://$lineage_host" big "$subject" 1)
listed_ms=$(( $(ms) - t0 ))
rss2_kib=$(mem_kib VmRSS)
hwm2_kib=$(mem_kib VmHWM)
say "lineage: ready in $ready_ms ms, first whole listing after $listed_ms ms; RSS ${rss2_kib} KiB (peak ${hwm2_kib} KiB)"

say "blob GET: 256 MiB"
head -c $((256 * 1024 * 1024)) /dev/urandom > "$work/blob"
blob_digest="sha256:$(sha256sum < "$work/blob" | cut -d' ' -f1)"
python3 -c "
import sys, importlib.util
spec = importlib.util.spec_from_file_location('s', '$here/serve_scale.py'); s = importlib.util.module_from_spec(spec); spec.loader.exec_module(s)
data = open('$work/blob', 'rb').read()
for h in ['$lineage_host', '$REGISTRY_HOST']:
    s.push_blob(s.conn('http://' + h), 'blob', data)
"
declare -A blob_speeds
loads[blob]=$(load)
for round in 0 1 2 3 4 5; do
  for reg in lineage distribution; do
    if [ "$reg" = lineage ]; then h=$lineage_host; else h=$REGISTRY_HOST; fi
    sp=$(curl -sf -m 120 -o /dev/null -w '%{speed_download}' "http://$h/v2/blob/blobs/$blob_digest") \
      || die "$reg: blob GET failed"
    # Round 0 warms the page cache.
    [ "$round" = 0 ] || blob_speeds[$reg]="${blob_speeds[$reg]:-} $sp"
  done
done
median() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
blob_lineage=$(median ${blob_speeds[lineage]})
blob_dist=$(median ${blob_speeds[distribution]})

say "manifest GET: wrk"
body=$(python3 -c "
import sys, importlib.util
spec = importlib.util.spec_from_file_location('s', '$here/serve_scale.py'); s = importlib.util.module_from_spec(spec); spec.loader.exec_module(s)
b, d = s.referrer('$subject', 0); print(d)")
declare -A rps
loads[manifest]=$(load)
for reg in lineage distribution; do
  if [ "$reg" = lineage ]; then h=$lineage_host; else h=$REGISTRY_HOST; fi
  rps[$reg]=$(wrk -t2 -c32 -d10s -H "Accept: application/vnd.oci.image.manifest.v1+json" \
    "http://$h/v2/big/manifests/$body" | awk '/Requests\/sec/ {print $2}')
done

say "GC: $orphans orphaned referrers"
url="http://$lineage_host"
$py live-setup "$url" gcbench 20 > /dev/null
$py orphans "$url" gcbench 0 "$orphans" > /dev/null
say "GC: listing and fetching everything live"
live_before=$($py live "$url" gcbench:live big:subject)
say "GC: live before: $live_before"
stop_lineage
loads[gc]=$(load)
t0=$(ms)
"$lineage" serve gc --root "$work/root" --delete-referrers-with-subject --gc-grace 0s \
  > "$work/gc.json" 2> "$work/gc.log" || die "lineage serve gc failed: $(cat "$work/gc.log")"
gc_ms=$(( $(ms) - t0 ))
start_lineage
wait_ready
live_after=$($py live "http://$lineage_host" gcbench:live big:subject)
say "GC: live after: $live_after"
# The report lists every removed blob: too long for an argument, so read from its file.
gc_field() { python3 -c "import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])" "$work/gc.json" "$1"; }
gc_refs=$(gc_field referrers_removed)
gc_blobs=$(gc_field blobs_removed)
same=no
[ "$(field "$live_before" fingerprint)" = "$(field "$live_after" fingerprint)" ] && same=yes

load_end=$(cut -d' ' -f1-3 /proc/loadavg)
ratio() { python3 -c "import sys; print(f'{float(sys.argv[1]) / float(sys.argv[2]):.2f}')" "$1" "$2"; }
cat << EOF
### Results of $started (load average $load_start at start, $load_end at the end)

| measurement | lineage serve | distribution 2.8 |
|---|---|---|
| median referrer push at 1k manifests (ms; load ${loads[push1k_lineage]} / ${loads[push1k_distribution]}) | $(field "${push1k[lineage]}" median_ms) | $(field "${push1k[distribution]}" median_ms) |
| median referrer push at $max manifests (ms; load ${loads[pushmax_lineage]} / ${loads[pushmax_distribution]}) | $(field "${pushmax[lineage]}" median_ms) | $(field "${pushmax[distribution]}" median_ms) |
| p99 referrer push at $max manifests (ms) | $(field "${pushmax[lineage]}" p99_ms) | $(field "${pushmax[distribution]}" p99_ms) |
| push at $max / push at 1k | $(ratio "$(field "${pushmax[lineage]}" median_ms)" "$(field "${push1k[lineage]}" median_ms)") | $(ratio "$(field "${pushmax[distribution]}" median_ms)" "$(field "${push1k[distribution]}" median_ms)") |
| fill from 10 000 to $max manifests, 8 client processes (s) | ${filled[lineage]} | ${filled[distribution]} |
| whole referrers listing of $(field "$listing10k" entries) entries ($(field "$listing10k" pages) pages), median / p99 (ms; load ${loads[listing]}) | $(field "$listing10k" median_ms) / $(field "$listing10k" p99_ms) | (no referrers API) |
| one page of that listing, median / p99 (ms) | $(field "$listing10k" page_median_ms) / $(field "$listing10k" page_p99_ms) | |
| whole referrers listing of $(field "$listingmax" entries) entries ($(field "$listingmax" pages) pages), median (ms) | $(field "$listingmax" median_ms) | |
| RSS with $(field "$listingmax" entries) referrers on one subject, after whole listings (MiB) | $((rss_kib / 1024)) (peak $((hwm_kib / 1024))) | |
| restart to ready (GET /v2/ answers), $max+ manifests (ms) | $ready_ms | |
| restart to the first whole listing answered (ms) | $listed_ms | |
| RSS after the restart and a whole listing (MiB) | $((rss2_kib / 1024)) (peak $((hwm2_kib / 1024))) | |
| single-stream blob GET, 256 MiB, median of 5 (MiB/s; load ${loads[blob]}) | $(python3 -c "print(round($blob_lineage / 1048576))") | $(python3 -c "print(round($blob_dist / 1048576))") |
| manifest GET, wrk -t2 -c32 (requests/s; load ${loads[manifest]}) | ${rps[lineage]} | ${rps[distribution]} |
| GC of $orphans orphaned referrers and their blobs, whole root (ms; load ${loads[gc]}) | $gc_ms ($gc_refs referrers, $gc_blobs blobs removed) | |
| everything live listed and fetched identical before and after GC | $same ($(field "$live_before" objects) objects before, $(field "$live_after" objects) after) | |
EOF
