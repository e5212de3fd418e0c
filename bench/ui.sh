#!/usr/bin/env bash
# ui.sh - the web dashboard (issue 20) on a lineage of many revisions: the server's
# render time of the timeline page and the first paint in headless Chromium.
#
# Usage: bench/ui.sh [-w DIR] [-r REVISIONS] [-n ROUNDS] [-R ROOT]
#   -w DIR        work directory, kept afterwards (default: a temporary one, removed)
#   -r REVISIONS  revisions in the lineage (default 1000)
#   -n ROUNDS     timed rounds (default 5); the report gives each and the median
#   -R ROOT       serve this root of an earlier run (its DIR/root) instead of releasing
#                 the revisions again (it must hold app with REVISIONS revisions)
#
# One `lineage serve --root DIR/root --addr 127.0.0.1:0` (release build) holds HOST/app,
# lineage 1.0 of REVISIONS revisions released one after the other with `lineage release`
# (revision rNNNN, created one hour apart), so every revision but the last is end-of-life
# with a successor. Then:
#   server    ROUNDS GETs of /ui/lineage?repo=HOST/app&version=1.0 with curl, the first
#             cold (no fact cached), the others warm; each answer's `Server-Timing`
#             header gives the time spent looking up (lookup) and writing the HTML
#             (render); curl gives the whole answer's time and size
#   chromium  `node scripts/ui-browser.mjs paint URL ROUNDS`: first paint and first
#             contentful paint of the same page, each in a fresh browser context
#             (LINEAGE_TEST_NODE_MODULES as scripts/test.sh sets it)
# LINEAGE_BIN=PATH uses that lineage binary instead of building the release one.
# Progress goes to stderr; the report (markdown) to stdout.
# Needs: cargo, curl, node, chromium, awk, sort, GNU tar, gzip, sha256sum, python3.
set -euo pipefail

prog=ui
say() { printf '%s: %s\n' "$prog" "$*" >&2; }
die() { say "error: $*"; exit 1; }
usage() { sed -n '5,10p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }

revisions=1000
rounds=5
work=""
reuse=""
while getopts ":w:r:n:R:h" opt; do
  case "$opt" in
    R) reuse=$OPTARG ;;
    w) work=$OPTARG ;;
    r) revisions=$OPTARG ;;
    n) rounds=$OPTARG ;;
    h) usage ;;
    :) say "-$OPTARG needs a value"; usage ;;
    *) say "unknown option -$OPTARG"; usage ;;
  esac
done
shift $((OPTIND - 1))
[ $# -eq 0 ] || { say "unexpected argument '$1'"; usage; }
for pair in "r:$revisions" "n:$rounds"; do
  [[ "${pair#*:}" =~ ^[1-9][0-9]*$ ]] || { say "-${pair%%:*} takes a positive number"; usage; }
done
for cmd in cargo curl node awk sort tar gzip sha256sum python3; do
  command -v "$cmd" > /dev/null || die "$cmd not found on PATH"
done
[ -n "${LINEAGE_TEST_NODE_MODULES:-}" ] ||
  LINEAGE_TEST_NODE_MODULES="${XDG_CACHE_HOME:-${HOME:-/root}/.cache}/lineage-test/node/node_modules"
[ -d "$LINEAGE_TEST_NODE_MODULES/playwright-core" ] ||
  die "no playwright-core in $LINEAGE_TEST_NODE_MODULES (scripts/test.sh installs it)"
export LINEAGE_TEST_NODE_MODULES

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/.." && pwd)

keep_work=true
if [ -z "$work" ]; then
  work=$(mktemp -d "${TMPDIR:-/tmp}/lineage-bench-ui.XXXXXX")
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
  if [ "$keep_work" = false ]; then rm -rf -- "$work"; else say "kept $work"; fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

if [ -n "${LINEAGE_BIN:-}" ]; then
  lineage=$LINEAGE_BIN
else
  say "building lineage (release)"
  (cd "$root" && cargo build --release -p lineage-cli) >&2
  lineage="${CARGO_TARGET_DIR:-$root/target}/release/lineage"
fi
[ -x "$lineage" ] || die "no binary at $lineage after the build"

serve_root="$work/root"
[ -z "$reuse" ] || serve_root=$(cd "$reuse" && pwd)
start_server() {
  "$lineage" serve --root "$serve_root" --addr 127.0.0.1:0 2> "$work/serve.log" &
  server_pid=$!
  host=""
  for _ in $(seq 1 100); do
    host=$(sed -n 's|.*listening on http://\([0-9.]*:[0-9]*\).*|\1|p' "$work/serve.log" | head -n 1)
    [ -n "$host" ] && break
    kill -0 "$server_pid" 2> /dev/null || die "lineage serve exited: $(cat "$work/serve.log")"
    sleep 0.1
  done
  [ -n "$host" ] || die "lineage serve did not print its address"
}
start_server
if [ -z "$reuse" ]; then
  say "lineage serve on $host; releasing $revisions revisions"
  "$root/scripts/make-image.sh" -t v1 -s bench-ui "$work/layout" > /dev/null
  started=$(date +%s)
  for i in $(seq 1 "$revisions"); do
    created=$(date -u -d "2020-01-01T00:00:00Z + $i hours" +%Y-%m-%dT%H:%M:%SZ)
    "$lineage" -q release "oci:$work/layout:v1" "$host/app" --version 1.0 \
      --revision "$(printf 'r%04d' "$i")" --created "$created" --override-created > /dev/null
    [ $((i % 100)) -ne 0 ] || say "$i revisions ($(($(date +%s) - started)) s)"
  done
fi

# A fresh server: nothing cached, so the first round is cold.
kill -TERM "$server_pid"; wait "$server_pid" 2> /dev/null || true
start_server
url="http://$host/ui/lineage?repo=$host%2Fapp&version=1.0"

say "server: $rounds rounds of $url"
server_rows=()
for i in $(seq 1 "$rounds"); do
  out=$(curl -sS -o "$work/page.html" -D "$work/headers" -w '%{time_total} %{size_download}' "$url")
  timing=$(tr -d '\r' < "$work/headers" | sed -n 's/^server-timing: //Ip')
  lookup=$(sed -n 's/.*lookup;dur=\([0-9.]*\).*/\1/p' <<< "$timing")
  render=$(sed -n 's/.*render;dur=\([0-9.]*\).*/\1/p' <<< "$timing")
  items=$(grep -o '<li class="rev ' "$work/page.html" | wc -l)
  [ "$items" -eq "$revisions" ] || die "the page shows $items revisions, not $revisions"
  total_ms=$(awk -v t="${out% *}" 'BEGIN { printf "%.1f", t * 1000 }')
  server_rows+=("$i $lookup $render $total_ms ${out#* }")
done

say "chromium: $rounds first paints"
node "$root/scripts/ui-browser.mjs" paint "$url" "$rounds" > "$work/paint.json"

median() { sort -n | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else printf "%.1f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

echo "### lineage of $revisions revisions: /ui/lineage"
echo
echo "Server (\`Server-Timing\` of each answer; round 1 cold, the rest warm):"
echo
echo "| round | lookup ms | render ms | whole answer ms (curl) | bytes |"
echo "|---:|---:|---:|---:|---:|"
for row in "${server_rows[@]}"; do
  read -r i lookup render total bytes <<< "$row"
  echo "| $i | $lookup | $render | $total | $bytes |"
done
echo
printf 'Median render: %s ms; median warm whole answer: %s ms.\n' \
  "$(for r in "${server_rows[@]}"; do echo "$r" | awk '{ print $3 }'; done | median)" \
  "$(for r in "${server_rows[@]:1}"; do echo "$r" | awk '{ print $4 }'; done | median)"
echo
echo "Chromium $(chromium --version 2> /dev/null | awk '{ print $2 }') (headless, fresh context each):"
echo
echo "| round | first paint ms | first contentful paint ms | response end ms | load ms |"
echo "|---:|---:|---:|---:|---:|"
python3 - "$work/paint.json" <<'PY'
import json, sys
runs = json.load(open(sys.argv[1]))["runs"]
for i, r in enumerate(runs, 1):
    f = lambda v: "-" if v is None else f"{v:.1f}"
    print(f"| {i} | {f(r['firstPaint'])} | {f(r['firstContentfulPaint'])} | {f(r['responseEnd'])} | {r['loadMs']} |")
fp = sorted(r["firstPaint"] for r in runs if r["firstPaint"] is not None)
if fp:
    print(f"\nMedian first paint: {fp[len(fp) // 2]:.1f} ms.")
PY
