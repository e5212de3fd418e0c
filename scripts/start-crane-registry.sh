#!/usr/bin/env bash
# Start go-containerregistry's registry (`crane registry serve`, an independent OCI
# registry; at 0.22.1 it serves no referrers API, so clients use the tag schema) on a free loopback port, blobs on disk, and print
# REGISTRY_* lines for eval, like scripts/start-registry.sh.
#
# Usage: scripts/start-crane-registry.sh CRANE
#   CRANE  the crane binary (scripts/test.sh builds it with go install)
#
# Prints on stdout:
#   REGISTRY_PID=  REGISTRY_PORT=  REGISTRY_HOST=  REGISTRY_URL=  REGISTRY_DIR=
# Stop it with scripts/stop-registry.sh "$REGISTRY_DIR".
set -euo pipefail

prog=start-crane-registry
say() { printf '%s: %s\n' "$prog" "$*" >&2; }
die() { say "error: $*"; exit 1; }
WAIT_SECONDS=${WAIT_SECONDS:-20}

[ $# -eq 1 ] || { sed -n '6,7p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }
crane=$1
[ -x "$crane" ] || die "$crane is not an executable crane binary"
command -v curl > /dev/null || die "curl not found on PATH; install it with: apt-get install -y curl"

# shellcheck source=scripts/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

dir=$(mktemp -d "${TMPDIR:-/tmp}/lineage-crane-registry.XXXXXX")
# The marker lets stop-registry.sh remove the directory.
: > "$dir/.lineage-test-registry"
mkdir "$dir/storage"

# Start on $1 and wait until it answers GET /v2/; 0 when ready, 3 when the port was
# taken meanwhile, 1 otherwise.
start_on() {
  local p=$1 code deadline
  : > "$dir/registry.log"
  setsid nohup "$crane" registry serve --address "127.0.0.1:$p" --disk "$dir/storage" \
    > "$dir/registry.log" 2>&1 < /dev/null &
  pid=$!
  echo "$pid" > "$dir/registry.pid"
  deadline=$((SECONDS + WAIT_SECONDS))
  while [ "$SECONDS" -le "$deadline" ]; do
    if ! kill -0 "$pid" 2> /dev/null; then
      wait "$pid" 2> /dev/null || true
      grep -q 'address already in use' "$dir/registry.log" && return 3
      say "crane registry exited during start-up; its log:"
      tail -n 20 "$dir/registry.log" >&2
      return 1
    fi
    # crane logs "serving on port N" once it has bound the port.
    if grep -q "serving on port $p" "$dir/registry.log"; then
      code=$(curl -s -o /dev/null --max-time 2 -w '%{http_code}' "http://127.0.0.1:$p/v2/" || true)
      [ "$code" != 200 ] || return 0
    fi
    sleep 0.1
  done
  say "crane registry did not answer GET /v2/ within ${WAIT_SECONDS}s; its log:"
  tail -n 20 "$dir/registry.log" >&2
  kill "$pid" 2> /dev/null || true
  return 1
}

pid=""
start_on_port start_on || { rm -rf "$dir"; die "could not start crane's registry on a free port"; }

say "crane registry pid $pid serving http://127.0.0.1:$port in $dir"
printf 'REGISTRY_PID=%q\n' "$pid"
printf 'REGISTRY_PORT=%q\n' "$port"
printf 'REGISTRY_HOST=%q\n' "127.0.0.1:$port"
printf 'REGISTRY_URL=%q\n' "http://127.0.0.1:$port"
printf 'REGISTRY_DIR=%q\n' "$dir"
