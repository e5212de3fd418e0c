#!/usr/bin/env bash
# gc.sh - time `lineage gc --apply` reclaiming orphaned referrers on distribution 2.8, and
# check that nothing live is lost.
#
# Usage: bench/gc.sh [-w DIR] [-r REPOS] [-d DEAD] [-l LIVE] [-o ORPHANS] [-k LIVE_REFS] [-A]
#   -w DIR      work directory, kept afterwards (default: a temporary one, removed)
#   -r REPOS    repositories (default 10)
#   -d DEAD     deleted subjects per repository (default 50)
#   -l LIVE     live images per repository (default 100)
#   -o ORPHANS  referrers per deleted subject (default 30)
#   -k N        referrers per live image (default 3)
#   -A          no concurrent `lineage attach` stream during the timed run
# The defaults give 15 000 orphaned referrers across 500 deleted subjects, plus 1 000
# live images with 3 000 referrers, in 10 repositories.
#
# Debian's `docker-registry` (distribution 2.8, deletes on) is started on loopback
# (scripts/start-registry.sh). bench/gc.py fills it through the distribution API: per
# subject an image manifest (tagged), its referrers (annotation-only artifacts, created
# 2024-01-01) and its `sha256-<hex>` referrers index, as any tag-schema client writes
# them; then each dead subject is deleted by digest, as another tool would, leaving its
# referrers tag and referrers behind. Before and after the timed run, every live referrer
# is listed (through its subject's referrers tag) and fetched and verified by digest;
# the two lists must be equal. The timed run is the whole process:
#   lineage gc HOST --apply --output json      (HOST: every repository of the catalog)
# Meanwhile (unless -A) a stream of `lineage attach` runs, one after another, against the
# live images in turn, from gc's start until it exits; afterwards every referrer it
# attached must be listed by its subject's referrers tag and fetch and verify by digest.
# Afterwards every orphan and orphaned referrers tag must answer 404. gc's own count of
# the registry requests it sent is reported, and the load average (run it on a quiet
# machine), and the CPU time gc and the registry used during the timed run: on a machine
# of C cores, (gc's + the registry's CPU seconds) / C is a floor under the wall time that
# does not depend on what else the machine runs. Last, the registry's own time per method
# (from its log, every request with lineage's user agent: gc and the attach stream).
# Progress goes to stderr; the report (markdown) to stdout.
# LINEAGE_BIN=PATH times that binary instead of building one (release).
# Needs: cargo, python3, curl, GNU coreutils, GNU time (/usr/bin/time).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/.." && pwd)
work='' repos=10 dead=50 live=100 orphans=30 keep=3 stream=1
while getopts 'w:r:d:l:o:k:A' opt; do
  case "$opt" in
    w) work=$OPTARG ;; r) repos=$OPTARG ;; d) dead=$OPTARG ;; l) live=$OPTARG ;;
    o) orphans=$OPTARG ;; k) keep=$OPTARG ;; A) stream=0 ;; *) sed -n '2,15p' "$0"; exit 2 ;;
  esac
done
say() { printf 'gc.sh: %s\n' "$*" >&2; }
cleanup=''
if [ -z "$work" ]; then work=$(mktemp -d); cleanup=$work; fi
mkdir -p "$work"

eval "$("$root/scripts/start-registry.sh" -d on)"
trap '"$root/scripts/stop-registry.sh" "$REGISTRY_DIR" >/dev/null 2>&1 || true; [ -z "$cleanup" ] || rm -rf "$cleanup"' EXIT
host=$REGISTRY_HOST

say "filling $host: $repos repositories x ($dead deleted subjects x $orphans referrers + $live live images x $keep referrers)"
python3 "$here/gc.py" fill "$host" "$repos" "$dead" "$live" "$orphans" "$keep" > "$work/state.json"
python3 "$here/gc.py" live "$host" "$work/state.json" > "$work/live-before.txt"
before_left=$(python3 "$here/gc.py" gone "$host" "$work/state.json")
say "live referrers before: $(wc -l < "$work/live-before.txt"); orphans and orphaned tags answering: $before_left"

if [ -n "${LINEAGE_BIN:-}" ]; then
  lineage=$LINEAGE_BIN
else
  say "building lineage (release)"
  cargo build --release --quiet -p lineage-cli --bin lineage --manifest-path "$root/Cargo.toml"
  lineage="${CARGO_TARGET_DIR:-$root/target}/release/lineage"
fi
# CPU seconds (user + system) the registry has used so far.
registry_cpu() {
  awk -v hz="$(getconf CLK_TCK)" '{ printf "%.1f", ($14 + $15) / hz }' "/proc/$REGISTRY_PID/stat"
}

# The concurrent writer: `lineage attach` to the live images in turn until gc has exited.
attach_stream() {
  local i=0 n repo subject d
  n=$(wc -l < "$work/subjects.txt")
  while [ ! -e "$work/gc.done" ]; do
    read -r repo subject < <(sed -n "$((i % n + 1))p" "$work/subjects.txt")
    if d=$("$lineage" attach "$host/$repo@$subject" --artifact-type application/x.during \
        --annotation "n=$i" 2>> "$work/attach.log"); then
      printf '%s %s %s\n' "$repo" "$subject" "$d" >> "$work/attached.txt"
    else
      printf '%s\n' "$i" >> "$work/attach-failed.txt"
    fi
    i=$((i + 1))
  done
}
python3 "$here/gc.py" subjects "$work/state.json" > "$work/subjects.txt"
# Tags per repository at the start: the live images', their referrers tags, the orphaned ones.
tags_before=$((live + (keep > 0 ? live : 0) + (orphans > 0 ? dead : 0)))
: > "$work/attached.txt"; : > "$work/attach-failed.txt"; rm -f "$work/gc.done"

say "load average before the timed run: $(cut -d' ' -f1-3 /proc/loadavg)"
say "timing: lineage gc $host --apply$([ "$stream" = 1 ] && echo ', with a concurrent attach stream')"
stream_pid=''
since=$(date -u +%Y-%m-%dT%H:%M:%S.%N)
cpu_before=$(registry_cpu)
if [ "$stream" = 1 ]; then attach_stream & stream_pid=$!; fi
start=$(date +%s.%N)
status=0
/usr/bin/time -f '%U %S' -o "$work/gc.cpu" \
  "$lineage" gc "$host" --apply --output json > "$work/report.json" 2> "$work/gc.log" || status=$?
end=$(date +%s.%N)
cpu_after=$(registry_cpu)
cp "$REGISTRY_DIR/registry.log" "$work/registry.log"
touch "$work/gc.done"
[ -z "$stream_pid" ] || wait "$stream_pid"
load=$(cut -d' ' -f1-3 /proc/loadavg)
secs=$(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.1f", b - a }')
[ "$status" = 0 ] || { say "lineage gc failed ($status):"; tail -n 20 "$work/gc.log" >&2; exit 1; }
attached=$(wc -l < "$work/attached.txt")
attach_failed=$(wc -l < "$work/attach-failed.txt")
attach_lost=$(python3 "$here/gc.py" attached "$host" "$work/attached.txt")

python3 "$here/gc.py" live "$host" "$work/state.json" > "$work/live-after.txt"
after_left=$(python3 "$here/gc.py" gone "$host" "$work/state.json")
lost=$(comm -23 "$work/live-before.txt" "$work/live-after.txt" | wc -l)
removed=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["totals"]["removed"])' "$work/report.json")
requests=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["requests"])' "$work/report.json")

cat <<REPORT
| what | value |
|---|---|
| repositories | $repos |
| deleted subjects | $((repos * dead)) |
| orphaned referrers | $((repos * dead * orphans)) |
| live images / live referrers | $((repos * live)) / $(wc -l < "$work/live-before.txt") |
| \`lineage gc $host --apply\` wall time | ${secs} s |
| registry requests gc sent | $requests |
| removed (manifests and referrers tags) | $removed |
| orphans and orphaned tags still answering | $after_left (before: $before_left) |
| live referrers lost | $lost |
| concurrent \`lineage attach\` during the run: done / failed / lost | $attached / $attach_failed / $attach_lost |
| CPU used during the run: gc / the registry (user + system) | $(awk '{ printf "%.1f", $1 + $2 }' "$work/gc.cpu") s / $(awk -v a="$cpu_before" -v b="$cpu_after" 'BEGIN { printf "%.1f", b - a }') s |
| cores | $(nproc) |
| load average at the end of the run (1, 5, 15 min) | $load |

The registry's own time for lineage's requests during the run (gc and the attach stream):

$(python3 "$here/gc.py" log "$work/registry.log" "$since" "$tags_before")
REPORT
[ "$lost" = 0 ] && [ "$after_left" = 0 ] && [ "$attach_failed" = 0 ] && [ "$attach_lost" = 0 ]
