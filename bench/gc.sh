#!/usr/bin/env bash
# gc.sh - time `lineage gc --apply` reclaiming orphaned referrers on distribution 2.8, and
# check that nothing live is lost.
#
# Usage: bench/gc.sh [-w DIR] [-r REPOS] [-d DEAD] [-l LIVE] [-o ORPHANS] [-k LIVE_REFS]
#   -w DIR      work directory, kept afterwards (default: a temporary one, removed)
#   -r REPOS    repositories (default 10)
#   -d DEAD     deleted subjects per repository (default 50)
#   -l LIVE     live images per repository (default 100)
#   -o ORPHANS  referrers per deleted subject (default 30)
#   -k N        referrers per live image (default 3)
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
# Afterwards every orphan and orphaned referrers tag must answer 404.
# Progress goes to stderr; the report (markdown) to stdout.
# Needs: cargo, python3, curl, GNU coreutils.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/.." && pwd)
work='' repos=10 dead=50 live=100 orphans=30 keep=3
while getopts 'w:r:d:l:o:k:' opt; do
  case "$opt" in
    w) work=$OPTARG ;; r) repos=$OPTARG ;; d) dead=$OPTARG ;; l) live=$OPTARG ;;
    o) orphans=$OPTARG ;; k) keep=$OPTARG ;; *) sed -n '2,14p' "$0"; exit 2 ;;
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

say "building lineage (release)"
cargo build --release --quiet -p lineage-cli --bin lineage --manifest-path "$root/Cargo.toml"
lineage="${CARGO_TARGET_DIR:-$root/target}/release/lineage"

say "timing: lineage gc $host --apply"
start=$(date +%s.%N)
"$lineage" gc "$host" --apply --output json > "$work/report.json" 2> "$work/gc.log"
end=$(date +%s.%N)
secs=$(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.1f", b - a }')

python3 "$here/gc.py" live "$host" "$work/state.json" > "$work/live-after.txt"
after_left=$(python3 "$here/gc.py" gone "$host" "$work/state.json")
lost=$(comm -23 "$work/live-before.txt" "$work/live-after.txt" | wc -l)
removed=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["totals"]["removed"])' "$work/report.json")

cat <<REPORT
| what | value |
|---|---|
| repositories | $repos |
| deleted subjects | $((repos * dead)) |
| orphaned referrers | $((repos * dead * orphans)) |
| live images / live referrers | $((repos * live)) / $(wc -l < "$work/live-before.txt") |
| \`lineage gc $host --apply\` wall time | ${secs} s |
| removed (manifests and referrers tags) | $removed |
| orphans and orphaned tags still answering | $after_left (before: $before_left) |
| live referrers lost | $lost |
REPORT
[ "$lost" = 0 ] && [ "$after_left" = 0 ]
