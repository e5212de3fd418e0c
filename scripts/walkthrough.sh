#!/usr/bin/env bash
# walkthrough.sh - lineage's copy tooling end to end, on a fresh machine, offline.
#
# Usage: scripts/walkthrough.sh [WORKDIR]
#
# Builds `lineage`, writes a small two-layer OCI image with scripts/make-image.sh,
# then copies it layout -> archive -> layout and shows that every digest survives,
# and that a corrupted blob is refused. WORKDIR (default: a new temporary
# directory) keeps the results.
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
work=${1:-$(mktemp -d -t lineage-walkthrough-XXXXXX)}
mkdir -p "$work"

step() { printf '\n\033[1m==> %s\033[0m\n' "$*" >&2; }
[ -n "${NO_COLOR:-}" ] && step() { printf '\n==> %s\n' "$*" >&2; }

step "building lineage"
cargo build --quiet --manifest-path "$here/Cargo.toml" -p lineage-cli
lineage="$here/target/debug/lineage"

step "making an image in the OCI layout $work/build (tag 1.0)"
digest=$("$here/scripts/make-image.sh" -t 1.0 -s walkthrough "$work/build")
echo "$digest"

step "lineage copy oci:build:1.0 oci-archive:image.tar:1.0"
"$lineage" copy "oci:$work/build:1.0" "oci-archive:$work/image.tar:1.0"

step "lineage tags oci-archive:image.tar"
"$lineage" tags "oci-archive:$work/image.tar"

step "lineage copy oci-archive:image.tar:1.0 oci:restored:1.0"
"$lineage" copy "oci-archive:$work/image.tar:1.0" "oci:$work/restored:1.0"

step "the digest survives both copies"
back=$("$lineage" resolve "oci:$work/restored:1.0")
echo "built:    $digest"
echo "restored: $back"
[ "$digest" = "$back" ] || { echo "digests differ" >&2; exit 1; }

step "lineage manifest oci:restored:1.0 (exact bytes)"
"$lineage" manifest "oci:$work/restored:1.0"
echo

step "a corrupted layer is refused"
layer=$("$lineage" manifest "oci:$work/restored:1.0" | python3 -c 'import json,sys; print(json.load(sys.stdin)["layers"][0]["digest"].split(":")[1])')
printf 'X' | dd of="$work/restored/blobs/sha256/$layer" bs=1 seek=20 conv=notrunc status=none
if "$lineage" copy "oci:$work/restored:1.0" "oci:$work/never:1.0"; then
  echo "the corrupted copy was not refused" >&2; exit 1
fi

step "done; results are in $work"
