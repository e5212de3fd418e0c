#!/usr/bin/env bash
# Start a throw-away CNCF distribution registry (Debian's `docker-registry`,
# distribution 2.8.x) on 127.0.0.1 for lineage's tests.
#
# Usage: scripts/start-registry.sh [-p PORT] [-d on|off] [-u USER:PASS] [-R] [-T]
#   -p PORT       listen on 127.0.0.1:PORT (default: pick a free port)
#   -d on|off     storage.delete.enabled (default: on; off => DELETE is 405)
#   -u USER:PASS  require HTTP basic auth (bcrypt htpasswd entry; needs the
#                 `htpasswd` tool from apache2-utils)
#   -R            read-only mode (storage.maintenance.readonly): writes are 405
#   -T            serve HTTPS with a certificate from a throw-away CA made with
#                 openssl (for 127.0.0.1 and localhost); REGISTRY_CA names the
#                 CA's PEM file and REGISTRY_URL is https://
#
# The registry runs detached with its config, storage, log and PID file in a
# fresh temporary directory. Once GET /v2/ answers (200, or 401 with -u), these
# lines are printed on stdout, shell-quoted for `eval`:
#   REGISTRY_PID=  REGISTRY_PORT=  REGISTRY_HOST=  REGISTRY_URL=  REGISTRY_DIR=
# Everything else goes to stderr. Stop it with: scripts/stop-registry.sh "$REGISTRY_DIR"
#
#   eval "$(scripts/start-registry.sh -d off)"
#   ...
#   scripts/stop-registry.sh "$REGISTRY_DIR"
set -euo pipefail

readonly WAIT_SECONDS=20

prog=start-registry
say() { printf '%s: %s\n' "$prog" "$*" >&2; }
die() { say "error: $*"; exit 1; }
usage() { sed -n '5,13p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }

port=""
delete=true
userpass=""
read_only=false
tls=false
while getopts ":p:d:u:RTh" opt; do
  case "$opt" in
    p) port=$OPTARG ;;
    d)
      case "$OPTARG" in
        on | true) delete=true ;;
        off | false) delete=false ;;
        *) say "-d takes on or off, not '$OPTARG'"; usage ;;
      esac
      ;;
    u) userpass=$OPTARG ;;
    R) read_only=true ;;
    T) tls=true ;;
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
if [ -n "$userpass" ] && [[ "$userpass" != ?*:?* ]]; then
  say "-u takes USER:PASS with both parts non-empty"; usage
fi

bin=$(command -v docker-registry || true)
[ -n "$bin" ] || die "docker-registry not found on PATH; install it with: apt-get install -y docker-registry (scripts/test.sh does this)"
command -v curl >/dev/null || die "curl not found on PATH; install it with: apt-get install -y curl"
if [ -n "$userpass" ]; then
  command -v htpasswd >/dev/null || die "htpasswd not found on PATH; install it with: apt-get install -y apache2-utils"
fi

# distribution reads REGISTRY_* environment variables as config overrides
# (REGISTRY_HTTP_ADDR, ...). Drop any inherited ones, for example left over from
# eval'ing this script's own output, so that only the generated config counts.
while read -r var; do
  case "$var" in REGISTRY_*) unset "$var" ;; esac
done < <(compgen -e)

# shellcheck source=scripts/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

dir=$(mktemp -d "${TMPDIR:-/tmp}/lineage-registry.XXXXXX")
# Mark the directory so stop-registry.sh only ever deletes directories made here.
: > "$dir/.lineage-test-registry"
mkdir "$dir/storage"

auth_yaml=""
if [ -n "$userpass" ]; then
  # distribution 2.8 only accepts bcrypt entries (-B); apr1/SHA entries fail with 401.
  htpasswd -Bbc "$dir/htpasswd" "${userpass%%:*}" "${userpass#*:}" 2>/dev/null ||
    die "htpasswd could not write $dir/htpasswd"
  auth_yaml="auth:
  htpasswd:
    realm: lineage-test-registry
    path: $dir/htpasswd"
fi

tls_yaml=""
scheme=http
curl_tls=()
if $tls; then
  command -v openssl > /dev/null || die "openssl is missing (apt-get install -y openssl)"
  mkdir -p "$dir/tls"
  openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=lineage test CA" \
    -keyout "$dir/tls/ca.key" -out "$dir/tls/ca.pem" 2> /dev/null || die "openssl could not make the test CA"
  openssl req -newkey rsa:2048 -nodes -subj "/CN=127.0.0.1" \
    -keyout "$dir/tls/server.key" -out "$dir/tls/server.csr" 2> /dev/null || die "openssl could not make the server key"
  printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n' > "$dir/tls/ext.cnf"
  openssl x509 -req -in "$dir/tls/server.csr" -CA "$dir/tls/ca.pem" -CAkey "$dir/tls/ca.key" -CAcreateserial \
    -days 2 -extfile "$dir/tls/ext.cnf" -out "$dir/tls/server.pem" 2> /dev/null || die "openssl could not sign the server certificate"
  tls_yaml="  tls:
    certificate: $dir/tls/server.pem
    key: $dir/tls/server.key"
  scheme=https
  curl_tls=(--cacert "$dir/tls/ca.pem")
fi

write_config() {
  cat > "$dir/config.yml" <<EOF
version: 0.1
log:
  level: info
  accesslog:
    disabled: false
storage:
  filesystem:
    rootdirectory: $dir/storage
  delete:
    enabled: $delete
  maintenance:
    uploadpurging:
      enabled: false
    readonly:
      enabled: $read_only
http:
  addr: 127.0.0.1:$1
  secret: lineage-test-registry-secret
  headers:
    X-Content-Type-Options: [nosniff]
$tls_yaml
$auth_yaml
EOF
}

want_codes=" 200 "
[ -z "$userpass" ] || want_codes=" 200 401 "

# Start the registry on $1 and wait until it serves /v2/.
# Returns 0 when ready, 3 when the port turned out to be taken, 1 otherwise.
start_on() {
  local p=$1 code deadline
  write_config "$p"
  : > "$dir/registry.log"
  # setsid + nohup: own session, no controlling terminal, immune to the
  # caller's SIGHUP. In a non-interactive shell the background child is not a
  # process-group leader, so setsid does not fork and $! is the registry's PID.
  setsid nohup "$bin" serve "$dir/config.yml" > "$dir/registry.log" 2>&1 < /dev/null &
  pid=$!
  echo "$pid" > "$dir/registry.pid"

  deadline=$((SECONDS + WAIT_SECONDS))
  while [ "$SECONDS" -le "$deadline" ]; do
    if ! kill -0 "$pid" 2>/dev/null; then
      wait "$pid" 2>/dev/null || true
      if grep -q 'address already in use' "$dir/registry.log"; then
        return 3
      fi
      say "docker-registry exited during start-up; its log:"
      tail -n 20 "$dir/registry.log" >&2
      return 1
    fi
    # "listening on" is logged only after our process has bound the port, so a
    # 200 cannot come from some other server that grabbed the port first.
    if grep -q "listening on 127.0.0.1:$p" "$dir/registry.log"; then
      code=$(curl -s "${curl_tls[@]}" -o /dev/null --max-time 2 -w '%{http_code}' "$scheme://127.0.0.1:$p/v2/" || true)
      if [[ "$want_codes" == *" $code "* ]]; then
        return 0
      fi
    fi
    sleep 0.1
  done
  say "docker-registry did not answer GET /v2/ with${want_codes% } within ${WAIT_SECONDS}s; its log:"
  tail -n 20 "$dir/registry.log" >&2
  kill "$pid" 2>/dev/null || true
  return 1
}

pid=""
if ! start_on_port start_on "$port"; then
  rm -rf "$dir"
  die "could not start docker-registry on a free port"
fi

say "docker-registry pid $pid serving $scheme://127.0.0.1:$port (delete=$delete read-only=$read_only auth=$([ -n "$userpass" ] && echo basic || echo none)) in $dir"
printf 'REGISTRY_PID=%q\n' "$pid"
printf 'REGISTRY_PORT=%q\n' "$port"
printf 'REGISTRY_HOST=%q\n' "127.0.0.1:$port"
printf 'REGISTRY_URL=%q\n' "$scheme://127.0.0.1:$port"
! $tls || printf 'REGISTRY_CA=%q\n' "$dir/tls/ca.pem"
printf 'REGISTRY_DIR=%q\n' "$dir"
