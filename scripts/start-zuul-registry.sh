#!/usr/bin/env bash
# Start a throw-away zuul-registry (PyPI "zuul-registry", an independent Python
# implementation of the distribution API) on 127.0.0.1 for lineage's tests. It
# uses Bearer tokens: a second registry and a second auth flow besides
# docker-registry.
#
# Usage: scripts/start-zuul-registry.sh [-p PORT] [-u USER:PASS] [-V VENV]
#   -p PORT       listen on 127.0.0.1:PORT (default: pick a free port)
#   -u USER:PASS  the user with write access (default lineage:lineage-test)
#   -V VENV       virtualenv holding zuul-registry (default
#                 ${XDG_CACHE_HOME:-$HOME/.cache}/lineage-test/zuul-venv); it is
#                 created and `pip install zuul-registry` runs in it unless it
#                 already has a working zuul-registry (needs python3 with venv;
#                 on Debian: apt-get install -y python3-venv)
#
# The registry runs detached with its config, storage, log and PID file in a
# fresh temporary directory. Once GET /v2/ answers 401 with a Bearer challenge,
# these lines are printed on stdout, shell-quoted for `eval`:
#   REGISTRY_PID=  REGISTRY_PORT=  REGISTRY_HOST=  REGISTRY_URL=  REGISTRY_DIR=
#   REGISTRY_AUTH=bearer
# Everything else goes to stderr. Stop it with: scripts/stop-registry.sh "$REGISTRY_DIR"
#
# How zuul-registry 1.3.0 behaves: every request needs a Bearer token from
# `GET http://127.0.0.1:PORT/auth/token?scope=repository:R:pull,push` (basic
# credentials for push; pull tokens are anonymous). No DELETE, no _catalog, no
# referrers API, tags/list rejects ?n=, POST without Content-Length is 411,
# errors are HTML.
set -euo pipefail

# Waiting for /v2/ after the process starts (the install is not counted).
readonly WAIT_SECONDS=60
# What pip installs when the venv lacks zuul-registry; override to test another.
readonly ZUUL_SPEC=${LINEAGE_ZUUL_REGISTRY_SPEC:-zuul-registry==1.3.0}

prog=start-zuul-registry
say() { printf '%s: %s\n' "$prog" "$*" >&2; }
die() { say "error: $*"; exit 1; }
usage() { sed -n '7,14p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }

port=""
userpass="lineage:lineage-test"
venv="${XDG_CACHE_HOME:-${HOME:-/root}/.cache}/lineage-test/zuul-venv"
while getopts ":p:u:V:h" opt; do
  case "$opt" in
    p) port=$OPTARG ;;
    u) userpass=$OPTARG ;;
    V) venv=$OPTARG ;;
    h) usage ;;
    :) say "-$OPTARG needs a value"; usage ;;
    *) say "unknown option -$OPTARG"; usage ;;
  esac
done
shift $((OPTIND - 1))
[ $# -eq 0 ] || { say "unexpected argument '$1'"; usage; }

if [ -n "$port" ] && ! [[ "$port" =~ ^[0-9]+$ && "$port" -ge 1 && "$port" -le 65535 ]]; then
  say "-p takes a TCP port number, not '$port'"; usage
fi
if [[ "$userpass" != ?*:?* ]]; then
  say "-u takes USER:PASS with both parts non-empty"; usage
fi
[ -n "$venv" ] || { say "-V needs a directory"; usage; }
command -v curl > /dev/null || die "curl not found on PATH; install it with: apt-get install -y curl"

# --- the virtualenv -----------------------------------------------------------
# Everything started from here on is killed again if this script fails or is
# interrupted, so that nothing outlives a failed start.
dir=""
pid=""
child_pid=""
ready=false
on_exit() {
  $ready && return 0
  [ -z "$child_pid" ] || kill -TERM "$child_pid" 2> /dev/null || true
  [ -z "$pid" ] || kill -TERM "$pid" 2> /dev/null || true
  [ -z "$dir" ] || rm -rf -- "$dir"
}
trap on_exit EXIT
trap 'exit 129' HUP
trap 'exit 130' INT
trap 'exit 143' TERM

have_zuul() {
  [ -x "$venv/bin/zuul-registry" ] && "$venv/bin/python" -c 'import zuul_registry' 2> /dev/null
}

# Runs a command in the background and waits for it, so that a signal reaches
# the trap at once (bash runs traps only between foreground commands).
interruptible() {
  local rc=0
  "$@" >&2 &
  child_pid=$!
  wait "$child_pid" || rc=$?
  child_pid=""
  return "$rc"
}

install_zuul() {
  have_zuul && return 0
  command -v python3 > /dev/null || die "python3 not found on PATH; install it with: apt-get install -y python3 python3-venv"
  if ! python3 -c 'import venv, ensurepip' 2> /dev/null; then
    die "python3 cannot create virtualenvs (no venv/ensurepip module); install it with: apt-get install -y python3-venv"
  fi
  say "installing $ZUUL_SPEC into $venv (once; this takes a minute or two)"
  # A missing venv is created; a broken one (interrupted creation, removed
  # interpreter) is rebuilt, but only if it is a venv: -V might name any directory.
  if ! "$venv/bin/python" -m pip --version > /dev/null 2>&1; then
    if [ -e "$venv" ] && [ ! -f "$venv/pyvenv.cfg" ] && [ -n "$(ls -A "$venv" 2> /dev/null)" ]; then
      die "$venv exists but is not a virtualenv; pass another directory with -V"
    fi
    interruptible python3 -m venv --clear "$venv" || die "python3 -m venv $venv failed"
  fi
  local rc=0
  interruptible "$venv/bin/python" -m pip install --disable-pip-version-check -q "$ZUUL_SPEC" || rc=$?
  [ "$rc" -eq 0 ] || die "pip install $ZUUL_SPEC failed (exit $rc); is PyPI reachable?"
  have_zuul || die "$venv/bin/zuul-registry is still missing after pip install $ZUUL_SPEC"
}

if command -v flock > /dev/null; then
  # Two scripts installing into one venv at once would corrupt it.
  mkdir -p "$(dirname "$venv")"
  exec 9> "$venv.lock"
  flock -w 600 9 || die "timed out waiting for the lock $venv.lock"
  install_zuul
  flock -u 9
  exec 9>&-
else
  install_zuul
fi
version=$("$venv/bin/python" -m pip show zuul-registry 2> /dev/null | sed -n 's/^Version: //p' || true)

# --- port and config ----------------------------------------------------------
# shellcheck source=scripts/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

dir=$(mktemp -d "${TMPDIR:-/tmp}/lineage-zuul-registry.XXXXXX")
# stop-registry.sh only ever deletes directories carrying this marker.
: > "$dir/.lineage-test-registry"
mkdir "$dir/storage"

# The config is JSON (which YAML accepts), written by python so that any
# character in the user name or password is quoted correctly.
write_config() {
  ZR_PORT=$1 ZR_DIR=$dir ZR_USERPASS=$userpass "$venv/bin/python" - > "$dir/registry.yaml" << 'PY'
import json, os
user, password = os.environ["ZR_USERPASS"].split(":", 1)
port = int(os.environ["ZR_PORT"])
print(json.dumps({"registry": {
    "address": "127.0.0.1",
    "port": port,
    # The token realm in every challenge is PUBLIC-URL/auth/token.
    "public-url": "http://127.0.0.1:%d" % port,
    # Unused by 1.3.0 (it signs tokens with a fixed key), but required.
    "secret": "lineage-test-zuul-secret",
    "users": [{"name": user, "pass": password, "access": "write"}],
    "storage": {"driver": "filesystem", "root": os.path.join(os.environ["ZR_DIR"], "storage")},
}}, indent=2))
PY
}

# Start zuul-registry on $1 and wait until it serves /v2/ with a Bearer challenge.
# Returns 0 when ready, 3 when the port turned out to be taken, 1 otherwise.
start_on() {
  local p=$1 headers deadline
  write_config "$p" || { say "could not write $dir/registry.yaml"; return 1; }
  : > "$dir/registry.log"
  # setsid + nohup: own session, no controlling terminal, immune to the
  # caller's SIGHUP. In a non-interactive shell the background child is not a
  # process-group leader, so setsid does not fork and $! is the registry's PID.
  setsid nohup "$venv/bin/zuul-registry" -c "$dir/registry.yaml" serve \
    > "$dir/registry.log" 2>&1 < /dev/null &
  pid=$!
  echo "$pid" > "$dir/registry.pid"

  deadline=$((SECONDS + WAIT_SECONDS))
  while [ "$SECONDS" -le "$deadline" ]; do
    if ! kill -0 "$pid" 2> /dev/null; then
      wait "$pid" 2> /dev/null || true
      pid=""
      # CherryPy waits a few seconds for a busy port, then gives up.
      if grep -q "Port $p not free" "$dir/registry.log"; then
        return 3
      fi
      say "zuul-registry exited during start-up; its log:"
      tail -n 20 "$dir/registry.log" >&2
      return 1
    fi
    # "Serving on" is logged only after our process has bound the port, so the
    # answer cannot come from some other server that grabbed the port first.
    if grep -q "Serving on http://127.0.0.1:$p" "$dir/registry.log"; then
      headers=$(curl -s -o /dev/null -D - --max-time 2 "http://127.0.0.1:$p/v2/" | tr -d '\r' || true)
      if [[ "$headers" == "HTTP/"*" 401"* ]] &&
        grep -qi "^www-authenticate: Bearer realm=\"http://127.0.0.1:$p/auth/token\"" <<< "$headers"; then
        return 0
      fi
    fi
    sleep 0.2
  done
  say "zuul-registry did not answer GET /v2/ with 401 and a Bearer challenge within ${WAIT_SECONDS}s; its log:"
  tail -n 20 "$dir/registry.log" >&2
  kill -TERM "$pid" 2> /dev/null || true
  pid=""
  return 1
}

attempts=1
[ -n "$port" ] || attempts=5
started=false
for _ in $(seq 1 "$attempts"); do
  if [ -n "$port" ] && [ "$attempts" -eq 1 ]; then
    p=$port
    ! port_busy "$p" || die "port $p on 127.0.0.1 is already in use"
  else
    p=$(pick_port) || die "found no free port in 20000-29999"
  fi
  rc=0
  start_on "$p" || rc=$?
  case "$rc" in
    0) port=$p; started=true; break ;;
    3) say "port $p was taken while starting; retrying" ;;
    *) exit 1 ;;
  esac
done
$started || die "could not bind a port for zuul-registry after $attempts attempt(s)"

say "zuul-registry ${version:-?} pid $pid serving http://127.0.0.1:$port (auth=bearer, write user ${userpass%%:*}) in $dir"
printf 'REGISTRY_PID=%q\n' "$pid"
printf 'REGISTRY_PORT=%q\n' "$port"
printf 'REGISTRY_HOST=%q\n' "127.0.0.1:$port"
printf 'REGISTRY_URL=%q\n' "http://127.0.0.1:$port"
printf 'REGISTRY_DIR=%q\n' "$dir"
printf 'REGISTRY_AUTH=%q\n' bearer
# Only now is the registry left running when this script exits.
ready=true
