#!/usr/bin/env bash
# Stop a registry started by scripts/start-registry.sh or
# scripts/start-zuul-registry.sh and remove its directory.
#
# Usage: scripts/stop-registry.sh DIR
#   DIR  the REGISTRY_DIR printed by the start script
#
# Only the PID recorded in DIR/registry.pid is signalled, and only when that
# process's command line mentions "registry" (docker-registry, zuul-registry):
# SIGTERM, then SIGKILL if it is still alive after 5 s. DIR is removed only if
# one of those start scripts made it (it holds their .lineage-test-registry marker).
set -euo pipefail

prog=stop-registry
say() { printf '%s: %s\n' "$prog" "$*" >&2; }

if [ $# -ne 1 ] || [ -z "$1" ]; then
  sed -n '5,6p' "$0" | sed 's/^# \{0,1\}//' >&2
  exit 2
fi
dir=$1

if [ ! -d "$dir" ]; then
  say "$dir does not exist; nothing to stop"
  exit 0
fi
if [ ! -f "$dir/.lineage-test-registry" ]; then
  say "error: $dir was not created by start-registry.sh or start-zuul-registry.sh; leaving it alone"
  exit 1
fi

pid=""
if [ -f "$dir/registry.pid" ]; then
  pid=$(cat "$dir/registry.pid")
fi

if [[ "$pid" =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null; then
  cmdline=$(tr '\0' ' ' < "/proc/$pid/cmdline" 2>/dev/null || true)
  case "$cmdline" in
    *registry*)
      kill -TERM "$pid" 2>/dev/null || true
      for _ in $(seq 1 50); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
      done
      if kill -0 "$pid" 2>/dev/null; then
        say "pid $pid ignored SIGTERM for 5 s; sending SIGKILL"
        kill -KILL "$pid" 2>/dev/null || true
        for _ in $(seq 1 20); do
          kill -0 "$pid" 2>/dev/null || break
          sleep 0.1
        done
      fi
      say "stopped registry pid $pid"
      ;;
    *)
      # The registry is gone and its PID now belongs to something else.
      say "pid $pid is no longer a registry (${cmdline:-no cmdline}); not signalling it"
      ;;
  esac
else
  say "registry pid ${pid:-?} is not running"
fi

rm -rf -- "$dir"
