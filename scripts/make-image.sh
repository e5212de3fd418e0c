#!/usr/bin/env bash
# make-image.sh - write a small, reproducible OCI image into an image layout, offline.
#
# Usage: scripts/make-image.sh [-t TAG] [-s SEED] [-a ARCH] [-n LAYERS] LAYOUT
#
#   LAYOUT  the OCI image layout directory to create or add to
#   -t TAG  tag (org.opencontainers.image.ref.name) of the image; default `latest`
#   -s SEED text mixed into every file, so different seeds give different digests
#   -a ARCH the image's architecture (default amd64)
#   -n N    number of gzip layers (default 2)
#
# The same arguments always give the same bytes (fixed mtimes, sorted tar entries,
# numeric owners, gzip -n). Prints the manifest digest. Needs bash, GNU tar, gzip,
# sha256sum and python3 (only to edit an existing index.json).
set -euo pipefail

tag=latest seed=seed arch=amd64 nlayers=2
usage() { sed -n '2,14p' "$0" >&2; exit 2; }
while getopts "t:s:a:n:h" opt; do
  case "$opt" in
    t) tag=$OPTARG ;; s) seed=$OPTARG ;; a) arch=$OPTARG ;; n) nlayers=$OPTARG ;;
    *) usage ;;
  esac
done
shift $((OPTIND - 1))
[ $# -eq 1 ] || usage
layout=$1
case "$nlayers" in ''|*[!0-9]*) echo "make-image.sh: -n needs a number" >&2; exit 2 ;; esac

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$layout/blobs/sha256"
[ -f "$layout/oci-layout" ] || printf '{"imageLayoutVersion":"1.0.0"}' > "$layout/oci-layout"

# store FILE MEDIATYPE -> prints a descriptor and moves FILE into the layout
store() {
  local digest size
  digest=$(sha256sum "$1" | cut -d' ' -f1)
  size=$(stat -c %s "$1")
  cp "$1" "$layout/blobs/sha256/$digest"
  printf '{"mediaType":"%s","digest":"sha256:%s","size":%s}' "$2" "$digest" "$size"
}

stamp="2024-01-01T00:00:00Z"
layers="" diff_ids=""
for i in $(seq 1 "$nlayers"); do
  root="$tmp/layer$i"
  mkdir -p "$root/opt/app"
  printf 'layer %s of image %s for %s\n' "$i" "$seed" "$arch" > "$root/opt/app/file$i.txt"
  head -c $((4096 * i)) /dev/zero | tr '\0' "$(printf '%x' $((i % 10)))" > "$root/opt/app/data$i"
  tar --sort=name --mtime="$stamp" --owner=0 --group=0 --numeric-owner --format=posix \
      --pax-option=delete=atime,delete=ctime -C "$root" -cf "$tmp/layer$i.tar" opt
  diff_ids+="${diff_ids:+,}\"sha256:$(sha256sum "$tmp/layer$i.tar" | cut -d' ' -f1)\""
  gzip -n -6 < "$tmp/layer$i.tar" > "$tmp/layer$i.tgz"
  layers+="${layers:+,}$(store "$tmp/layer$i.tgz" application/vnd.oci.image.layer.v1.tar+gzip)"
done

printf '{"architecture":"%s","os":"linux","created":"%s","config":{"Env":["PATH=/usr/bin:/bin"],"Labels":{"seed":"%s"}},"rootfs":{"type":"layers","diff_ids":[%s]}}' \
  "$arch" "$stamp" "$seed" "$diff_ids" > "$tmp/config.json"
config=$(store "$tmp/config.json" application/vnd.oci.image.config.v1+json)

printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":%s,"layers":[%s],"annotations":{"org.opencontainers.image.created":"%s"}}' \
  "$config" "$layers" "$stamp" > "$tmp/manifest.json"
manifest=$(store "$tmp/manifest.json" application/vnd.oci.image.manifest.v1+json)
digest=$(sha256sum "$tmp/manifest.json" | cut -d' ' -f1)

entry=${manifest%\}}',"annotations":{"org.opencontainers.image.ref.name":"'"$tag"'"}}'
if [ -f "$layout/index.json" ]; then
  python3 - "$layout/index.json" "$entry" "$tag" <<'PY'
import json, sys
path, entry, tag = sys.argv[1], json.loads(sys.argv[2]), sys.argv[3]
with open(path) as f:
    index = json.load(f)
keep = [m for m in index.get("manifests", [])
        if m.get("annotations", {}).get("org.opencontainers.image.ref.name") != tag]
index["manifests"] = keep + [entry]
with open(path + ".tmp", "w") as f:
    json.dump(index, f, separators=(",", ":"))
import os; os.replace(path + ".tmp", path)
PY
else
  printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[%s]}' "$entry" > "$layout/index.json"
fi
echo "sha256:$digest"
