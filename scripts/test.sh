#!/usr/bin/env bash
# The test command of lineage: lint, then the whole test suite against real tools.
#
# Usage: scripts/test.sh [--no-lint] [ARGS...]
#   --no-lint  skip `cargo fmt --check` and `cargo clippy`
#   ARGS       passed to the test runner: `cargo nextest run` when cargo-nextest
#              is installed, `cargo test` otherwise (e.g. a test-name filter,
#              or `-p lineage-cli`)
#
# Steps:
#   1. install the interop tools if missing (skopeo, umoci, buildah,
#      docker-registry, apache2-utils, curl, python3-venv, and for the dashboard's
#      browser test chromium, nodejs and npm) with apt-get; needs root
#   2. start throw-away registries on free loopback ports, in parallel; all are
#      stopped on exit:
#        LINEAGE_TEST_REGISTRY=127.0.0.1:PORT           docker-registry, deletes on
#        LINEAGE_TEST_REGISTRY_NODELETE=127.0.0.1:PORT  docker-registry, deletes off
#        LINEAGE_TEST_REGISTRY_AUTH=127.0.0.1:PORT      docker-registry, htpasswd
#        LINEAGE_TEST_REGISTRY_TLS=127.0.0.1:PORT       docker-registry, HTTPS with a
#          throw-away CA (its PEM file in LINEAGE_TEST_REGISTRY_TLS_CA)
#          basic auth, deletes on; LINEAGE_TEST_REGISTRY_AUTH_USER/_PASS
#        LINEAGE_TEST_ZUUL=127.0.0.1:PORT               zuul-registry (PyPI, in a
#          cached venv), Bearer tokens; LINEAGE_TEST_ZUUL_USER/_PASS
#        LINEAGE_TEST_CRANE_REGISTRY=127.0.0.1:PORT     go-containerregistry's registry
#          (`crane registry serve --disk`); at 0.22.1 it has no referrers API (the tag schema)
#      and builds the real peers with go install into a cache (~/.cache/lineage-test/go-bin):
#        LINEAGE_TEST_ORAS   the ORAS CLI 1.3.6;  LINEAGE_TEST_CRANE  crane 0.22.1
#        LINEAGE_TEST_OCI_CONFORMANCE  the official OCI conformance suite
#        LINEAGE_TEST_OPA    Open Policy Agent 1.22.4
#        LINEAGE_TEST_TOXIPROXY  toxiproxy-server 2.12.0 (TCP faults)
#        LINEAGE_TEST_NOTATION  the Notary Project's notation CLI 1.3.2 (signatures);
#          built with `go build` in a throw-away module (`go install …@v1.3.2` fails:
#          the module proxy refuses the version-list lookup its deprecation check makes)
#      and installs the browser test's Node packages with npm into a cache
#      (~/.cache/lineage-test/node):
#        LINEAGE_TEST_NODE_MODULES  playwright-core 1.65.2 and axe-core 4.14.1
#   3. cargo fmt --all -- --check; cargo clippy --workspace --all-targets -- -D warnings
#   4. cargo nextest run --workspace ARGS, then cargo test --workspace --doc
#      (or cargo test --workspace ARGS without nextest)
# Exits non-zero as soon as a step fails. With CI set, missing tools and
# registries that do not start are fatal; otherwise their tests are skipped.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/.." && pwd)
cd "$root"

say() { printf 'test.sh: %s\n' "$*" >&2; }
die() { say "error: $*"; exit 1; }
step() { printf '\n==> %s\n' "$*" >&2; }
# Print a command line with its arguments (words joined by one space).
show() { printf '%s' "$1"; shift; [ $# -eq 0 ] || printf ' %s' "$@"; }

lint=true
args=()
while [ $# -gt 0 ]; do
  case "$1" in
    --no-lint) lint=false ;;
    -h | --help) sed -n '4,41p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    --) args+=("$@"); break ;;
    *) args+=("$1") ;;
  esac
  shift
done

in_ci() { [ -n "${CI:-}" ] && [ "${CI}" != false ] && [ "${CI}" != 0 ]; }

# --- 1. tools ---------------------------------------------------------------
# command on PATH -> Debian package that provides it
tools=(skopeo:skopeo umoci:umoci buildah:buildah docker-registry:docker-registry
  htpasswd:apache2-utils curl:curl python3:python3 openssl:openssl
  chromium:chromium node:nodejs npm:npm)
missing_pkgs=()
missing_cmds=()
for pair in "${tools[@]}"; do
  if ! command -v "${pair%%:*}" > /dev/null; then
    missing_cmds+=("${pair%%:*}")
    missing_pkgs+=("${pair#*:}")
  fi
done

# zuul-registry is pip-installed into this venv (see scripts/start-zuul-registry.sh),
# which needs python3's venv module (Debian: python3-venv) unless it exists already.
zuul_venv="${XDG_CACHE_HOME:-${HOME:-/root}/.cache}/lineage-test/zuul-venv"
venv_works() { python3 -c 'import venv, ensurepip' 2> /dev/null; }
need_venv=false
if [ ! -x "$zuul_venv/bin/zuul-registry" ]; then
  need_venv=true
  if ! command -v python3 > /dev/null || ! venv_works; then
    missing_cmds+=("python3 -m venv")
    missing_pkgs+=(python3-venv)
  fi
fi

if [ ${#missing_pkgs[@]} -gt 0 ]; then
  if [ "$(id -u)" -eq 0 ]; then
    step "installing ${missing_pkgs[*]} (missing: ${missing_cmds[*]})"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q >&2 || die "apt-get update failed"
    apt-get install -y -q "${missing_pkgs[@]}" >&2 ||
      die "apt-get install ${missing_pkgs[*]} failed"
    for cmd in "${missing_cmds[@]}"; do
      [ "$cmd" = "python3 -m venv" ] && continue
      command -v "$cmd" > /dev/null || die "$cmd is still missing after installing ${missing_pkgs[*]}"
    done
  else
    msg="missing tools: ${missing_cmds[*]}; scripts/test.sh installs them only when run as root. Install them with: sudo apt-get install -y ${missing_pkgs[*]}"
    in_ci && die "$msg"
    say "warning: $msg"
    say "warning: tests that need these tools will be skipped"
  fi
fi
if $need_venv && command -v python3 > /dev/null && ! venv_works; then
  # For example a python3 first on PATH that is not Debian's.
  msg="$(command -v python3) cannot create virtualenvs (no venv or ensurepip module), so zuul-registry cannot be installed"
  in_ci && die "$msg"
  say "warning: $msg"
fi
for tool in skopeo umoci buildah docker-registry; do
  if command -v "$tool" > /dev/null; then
    say "using $("$tool" --version 2>&1 | head -n 1)"
  fi
done

# --- 2. registries ----------------------------------------------------------
# Each registry is started by a start script running in the background, whose
# stdout (REGISTRY_* lines for eval) goes to $state/NAME.env and stderr to
# $state/NAME.log. docker-registry starts in well under a second and is
# collected at once; zuul-registry may first need a pip install (a minute or
# two on a fresh machine), so it is collected only before the tests run and
# installs while the lint step runs.
state=$(mktemp -d "${TMPDIR:-/tmp}/lineage-test-sh.XXXXXX")
# Real peers built from the Go module proxy, pinned, into a cache reused across runs:
#   oras         the ORAS CLI (the seed's walkthrough is `oras attach` + `oras discover`)
#   crane        go-containerregistry's CLI; `crane registry serve` is an independent
#                registry (at 0.22.1 without the referrers API: a second tag-schema peer)
#   conformance  the official OCI distribution-spec conformance suite
#   opa          Open Policy Agent, which evaluates the Gatekeeper template's Rego
#   toxiproxy-server  Shopify's TCP fault proxy, for the fault-injection tests
#   notation     the Notary Project CLI: verifies the signatures lineage writes, and signs
#                records lineage verifies (built by install_notation, below)
# They build in the background while the lint step runs; each is rebuilt only when its
# pinned module changes (the module is recorded beside the binary).
go_bin="${XDG_CACHE_HOME:-${HOME:-/root}/.cache}/lineage-test/go-bin"
go_tools=(
  "oras oras.land/oras/cmd/oras@v1.3.6"
  "crane github.com/google/go-containerregistry/cmd/crane@v0.22.1"
  "conformance github.com/opencontainers/distribution-spec/conformance@v0.0.0-20260831232431-97274622c111"
  "opa github.com/open-policy-agent/opa@v1.22.4"
  "toxiproxy-server github.com/Shopify/toxiproxy/v2/cmd/server@v2.12.0"
)
install_go_tools() {
  local entry name module
  mkdir -p "$go_bin"
  for entry in "${go_tools[@]}"; do
    name=${entry%% *}
    module=${entry#* }
    if [ -x "$go_bin/$name" ] && [ "$(cat "$go_bin/.$name.module" 2> /dev/null)" = "$module" ]; then
      continue
    fi
    echo "go install $module" >&2
    # Into a directory of its own, then renamed: go names a binary after its package
    # (toxiproxy's is `server`).
    rm -rf "$go_bin/.build"
    if ! GOBIN="$go_bin/.build" GOFLAGS=-mod=mod go install "$module" >&2 ||
      ! mv "$go_bin/.build/$(basename "${module%@*}")" "$go_bin/$name"; then
      echo "$module" > "$state/go-failed"
      return 1
    fi
    echo "$module" > "$go_bin/.$name.module"
  done
  install_notation
}
# notation cannot be built with `go install MODULE@VERSION` here (see the header): a
# throw-away module requires it at the pinned version and `go build`s its command.
notation_module="github.com/notaryproject/notation@v1.3.2"
install_notation() {
  local work
  if [ -x "$go_bin/notation" ] && [ "$(cat "$go_bin/.notation.module" 2> /dev/null)" = "$notation_module" ]; then
    return 0
  fi
  echo "go build $notation_module" >&2
  work=$(mktemp -d)
  if ! (
    cd "$work" &&
      go mod init lineage-test/notation-build >&2 &&
      printf '//go:build tools\n\npackage tools\n\nimport _ "github.com/notaryproject/notation/cmd/notation"\n' > tools.go &&
      go get "$notation_module" >&2 &&
      go mod tidy >&2 &&
      go build -o "$go_bin/.notation.build" github.com/notaryproject/notation/cmd/notation >&2
  ) || ! mv "$go_bin/.notation.build" "$go_bin/notation"; then
    rm -rf "$work"
    echo "$notation_module" > "$state/go-failed"
    return 1
  fi
  rm -rf "$work"
  echo "$notation_module" > "$go_bin/.notation.module"
}
go_pid=""
registries=()          # names of every registry started
declare -A starter=()  # name -> PID of its start script, until collected

# The value of variable $2 in the REGISTRY_* lines that registry $1 printed.
registry_var() {
  (
    # A start script that failed or was interrupted printed nothing.
    eval "$(cat "$state/$1.env" 2> /dev/null || true)"
    printf '%s' "${!2:-}"
  )
}

cleanup() {
  local name dir
  [ -z "$go_pid" ] || kill "$go_pid" 2> /dev/null || true
  for name in "${!starter[@]}"; do
    # An interrupted start script stops whatever it started (zuul-registry's
    # does; docker-registry's only runs for a moment and is waited for).
    [ "$name" != zuul ] || kill -TERM "${starter[$name]}" 2> /dev/null || true
    wait "${starter[$name]}" 2> /dev/null || true
  done
  for name in "${registries[@]+"${registries[@]}"}"; do
    dir=$(registry_var "$name" REGISTRY_DIR)
    [ -z "$dir" ] || bash "$here/stop-registry.sh" "$dir" &
  done
  wait || true
  rm -rf -- "$state"
}
trap cleanup EXIT
trap 'exit 129' HUP
trap 'exit 130' INT
trap 'exit 143' TERM

# start_registry NAME SCRIPT ARGS...: run SCRIPT in the background.
start_registry() {
  local name=$1
  shift
  registries+=("$name")
  bash "$@" > "$state/$name.env" 2> "$state/$name.log" < /dev/null &
  starter[$name]=$!
}

# collect_registry NAME: wait for its start script (not in a subshell: only
# this shell can wait for it) and set $host to the host:port the registry
# serves on, or fail after showing the script's messages.
host=""
collect_registry() {
  local name=$1 rc=0
  wait "${starter[$name]}" || rc=$?
  unset "starter[$name]"
  sed 's/^/  /' "$state/$name.log" >&2
  [ "$rc" -eq 0 ] || return 1
  host=$(registry_var "$name" REGISTRY_HOST)
  [ -n "$host" ]
}

# Not started => fatal under CI, else its tests are skipped.
missing_registry() {
  in_ci && die "$1"
  say "warning: $1; its tests will be skipped"
}

random_password() { od -An -N12 -tx1 /dev/urandom | tr -d ' \n'; }

unset LINEAGE_TEST_REGISTRY LINEAGE_TEST_REGISTRY_NODELETE LINEAGE_TEST_REGISTRY_AUTH \
  LINEAGE_TEST_REGISTRY_TLS LINEAGE_TEST_REGISTRY_TLS_CA \
  LINEAGE_TEST_REGISTRY_AUTH_USER LINEAGE_TEST_REGISTRY_AUTH_PASS \
  LINEAGE_TEST_ZUUL LINEAGE_TEST_ZUUL_USER LINEAGE_TEST_ZUUL_PASS
auth_user=lineage
auth_pass=$(random_password)
zuul_user=lineage
zuul_pass=$(random_password)

if command -v go > /dev/null; then
  install_go_tools > "$state/go.log" 2>&1 &
  go_pid=$!
else
  missing_registry "go is missing; cannot build oras and crane (install Go 1.26)"
fi

step "starting registries"
have_docker_registry=false
if command -v docker-registry > /dev/null && command -v curl > /dev/null; then
  have_docker_registry=true
  start_registry plain "$here/start-registry.sh" -d on
  start_registry nodelete "$here/start-registry.sh" -d off
  if command -v htpasswd > /dev/null; then
    start_registry auth "$here/start-registry.sh" -d on -u "$auth_user:$auth_pass"
  fi
  if command -v openssl > /dev/null; then
    start_registry tls "$here/start-registry.sh" -d on -T
  fi
else
  missing_registry "docker-registry or curl is missing; cannot start the test registries"
fi
have_zuul=false
if command -v curl > /dev/null && command -v python3 > /dev/null; then
  have_zuul=true
  start_registry zuul "$here/start-zuul-registry.sh" -u "$zuul_user:$zuul_pass" -V "$zuul_venv"
else
  missing_registry "curl or python3 is missing; cannot start zuul-registry"
fi

if $have_docker_registry; then
  collect_registry plain || die "could not start the test registry (deletes on)"
  export LINEAGE_TEST_REGISTRY="$host"
  say "LINEAGE_TEST_REGISTRY=$LINEAGE_TEST_REGISTRY"
  collect_registry nodelete || die "could not start the test registry with deletes off"
  export LINEAGE_TEST_REGISTRY_NODELETE="$host"
  say "LINEAGE_TEST_REGISTRY_NODELETE=$LINEAGE_TEST_REGISTRY_NODELETE"
  if [ -n "${starter[auth]:-}" ]; then
    collect_registry auth || die "could not start the test registry with basic auth"
    export LINEAGE_TEST_REGISTRY_AUTH="$host"
    export LINEAGE_TEST_REGISTRY_AUTH_USER="$auth_user" LINEAGE_TEST_REGISTRY_AUTH_PASS="$auth_pass"
    say "LINEAGE_TEST_REGISTRY_AUTH=$LINEAGE_TEST_REGISTRY_AUTH (user $auth_user)"
  else
    missing_registry "htpasswd (apache2-utils) is missing; cannot start the basic-auth registry"
  fi
  if [ -n "${starter[tls]:-}" ]; then
    collect_registry tls || die "could not start the test registry with TLS"
    export LINEAGE_TEST_REGISTRY_TLS="$host"
    LINEAGE_TEST_REGISTRY_TLS_CA=$(registry_var tls REGISTRY_CA)
    export LINEAGE_TEST_REGISTRY_TLS_CA
    say "LINEAGE_TEST_REGISTRY_TLS=$LINEAGE_TEST_REGISTRY_TLS (CA $LINEAGE_TEST_REGISTRY_TLS_CA)"
  else
    missing_registry "openssl is missing; cannot start the TLS registry"
  fi
fi

# Waits for zuul-registry (started above) and exports LINEAGE_TEST_ZUUL*.
collect_zuul() {
  $have_zuul || return 0
  [ -n "${starter[zuul]:-}" ] || return 0
  if collect_registry zuul; then
    export LINEAGE_TEST_ZUUL="$host"
    export LINEAGE_TEST_ZUUL_USER="$zuul_user" LINEAGE_TEST_ZUUL_PASS="$zuul_pass"
    say "LINEAGE_TEST_ZUUL=$LINEAGE_TEST_ZUUL (user $zuul_user)"
  else
    missing_registry "could not start zuul-registry"
  fi
}

# oras-py (PyPI `oras`), an independent client for the server tests, and the reference
# JMESPath implementation (PyPI `jmespath`), which evaluates the Kyverno policy's
# expressions (Kyverno's own CLI cannot be built with go install: its go.mod has replace
# directives), in a cached venv.
oras_venv="${XDG_CACHE_HOME:-${HOME:-/root}/.cache}/lineage-test/oras-venv"
unset LINEAGE_TEST_ORAS_PYTHON LINEAGE_TEST_JMESPATH_PYTHON
if command -v python3 > /dev/null; then
  if ! "$oras_venv/bin/python" -c 'import oras.provider, jmespath' 2> /dev/null; then
    step "installing oras-py and jmespath into $oras_venv"
    rm -rf "$oras_venv"
    if python3 -m venv "$oras_venv" >&2 &&
      "$oras_venv/bin/python" -m pip install -q 'oras==0.2.43' 'jmespath==1.0.1' >&2; then
      :
    else
      rm -rf "$oras_venv"
    fi
  fi
  if "$oras_venv/bin/python" -c 'import oras.provider, jmespath' 2> /dev/null; then
    export LINEAGE_TEST_ORAS_PYTHON="$oras_venv/bin/python"
    export LINEAGE_TEST_JMESPATH_PYTHON="$oras_venv/bin/python"
    say "LINEAGE_TEST_ORAS_PYTHON=$LINEAGE_TEST_ORAS_PYTHON (with jmespath)"
  else
    missing_registry "cannot install oras-py and jmespath from PyPI; their tests will be skipped"
  fi
fi

# The dashboard's browser test (crates/cli/tests/it/ui.rs) drives Debian's chromium from
# scripts/ui-browser.mjs with playwright-core, and checks pages with axe-core: both pinned,
# installed with npm into a cache, reinstalled only when the pins change.
node_dir="${XDG_CACHE_HOME:-${HOME:-/root}/.cache}/lineage-test/node"
node_pkgs=(playwright-core@1.65.2 axe-core@4.14.1)
unset LINEAGE_TEST_NODE_MODULES
if command -v npm > /dev/null; then
  if [ "$(cat "$node_dir/.pins" 2> /dev/null)" != "${node_pkgs[*]}" ]; then
    step "installing ${node_pkgs[*]} with npm into $node_dir"
    rm -rf "$node_dir" && mkdir -p "$node_dir" && echo '{"private": true}' > "$node_dir/package.json"
    if npm install --prefix "$node_dir" --no-audit --no-fund --save-exact "${node_pkgs[@]}" >&2; then
      echo "${node_pkgs[*]}" > "$node_dir/.pins"
    fi
  fi
  if [ -f "$node_dir/.pins" ]; then
    export LINEAGE_TEST_NODE_MODULES="$node_dir/node_modules"
    say "LINEAGE_TEST_NODE_MODULES=$LINEAGE_TEST_NODE_MODULES (${node_pkgs[*]})"
  else
    missing_registry "cannot install ${node_pkgs[*]} with npm; the browser test will be skipped"
  fi
else
  missing_registry "npm is missing; the browser test will be skipped"
fi

# --- 3. lint ----------------------------------------------------------------
if $lint; then
  step "cargo fmt --all -- --check"
  cargo fmt --all -- --check
  step "cargo clippy --workspace --all-targets -- -D warnings"
  cargo clippy --workspace --all-targets -- -D warnings
fi

# --- 4. tests ---------------------------------------------------------------
collect_zuul

# Waits for the Go tools (started above), exports LINEAGE_TEST_ORAS, LINEAGE_TEST_CRANE,
# LINEAGE_TEST_NOTATION (…), and starts crane's registry (LINEAGE_TEST_CRANE_REGISTRY).
unset LINEAGE_TEST_ORAS LINEAGE_TEST_CRANE LINEAGE_TEST_CRANE_REGISTRY \
  LINEAGE_TEST_OCI_CONFORMANCE LINEAGE_TEST_OPA LINEAGE_TEST_TOXIPROXY LINEAGE_TEST_NOTATION
if [ -n "$go_pid" ]; then
  step "building oras, crane, the OCI conformance suite, opa and notation with go (cached in $go_bin)"
  if wait "$go_pid"; then
    export LINEAGE_TEST_ORAS="$go_bin/oras" LINEAGE_TEST_CRANE="$go_bin/crane" \
      LINEAGE_TEST_OCI_CONFORMANCE="$go_bin/conformance" LINEAGE_TEST_OPA="$go_bin/opa" \
      LINEAGE_TEST_TOXIPROXY="$go_bin/toxiproxy-server" LINEAGE_TEST_NOTATION="$go_bin/notation"
    say "using oras $("$LINEAGE_TEST_ORAS" version | sed -n 's/^Version: *//p'), crane $("$LINEAGE_TEST_CRANE" version)"
    start_registry crane "$here/start-crane-registry.sh" "$LINEAGE_TEST_CRANE"
    if collect_registry crane; then
      export LINEAGE_TEST_CRANE_REGISTRY="$host"
      say "LINEAGE_TEST_CRANE_REGISTRY=$LINEAGE_TEST_CRANE_REGISTRY"
    else
      missing_registry "could not start crane's registry"
    fi
  else
    sed 's/^/  /' "$state/go.log" | tail -n 20 >&2
    missing_registry "could not build $(cat "$state/go-failed" 2> /dev/null || echo the Go tools) with go install"
  fi
fi

# `-p X` in ARGS narrows the run, so --workspace is only added without one.
scope=(--workspace)
pkg_args=()
expect_pkg=false
for a in "${args[@]+"${args[@]}"}"; do
  if $expect_pkg; then
    pkg_args+=("$a")
    expect_pkg=false
    continue
  fi
  case "$a" in
    --) break ;;
    -p | --package) scope=(); pkg_args+=("$a"); expect_pkg=true ;;
    -p?* | --package=*) scope=(); pkg_args+=("$a") ;;
  esac
done

# cargo-nextest runs each test in its own process (the suite relies on that for
# tests that change process state); a fresh machine lacks it, so it is built
# from crates.io once (a few minutes on 2 cores), then found in ~/.cargo/bin.
nextest_version=0.9.151
if ! cargo nextest --version > /dev/null 2>&1; then
  step "installing cargo-nextest $nextest_version from crates.io"
  if ! cargo install --locked --quiet "cargo-nextest@$nextest_version" >&2; then
    # The suite passes under `cargo test` too, only slower and less isolated.
    say "warning: cannot install cargo-nextest@$nextest_version; running the suite with cargo test"
  fi
fi

if cargo nextest --version > /dev/null 2>&1; then
  step "$(show cargo nextest run --no-fail-fast "${scope[@]+"${scope[@]}"}" "${args[@]+"${args[@]}"}")"
  cargo nextest run --no-fail-fast "${scope[@]+"${scope[@]}"}" "${args[@]+"${args[@]}"}"
  # nextest does not run doctests. A run narrowed with -p to binary-only
  # packages has no doctests; cargo reports that as an error, which is ignored.
  step "$(show cargo test "${scope[@]+"${scope[@]}"}" "${pkg_args[@]+"${pkg_args[@]}"}" --doc)"
  doc_log=$(mktemp "${TMPDIR:-/tmp}/lineage-doctest.XXXXXX")
  doc_rc=0
  { cargo test "${scope[@]+"${scope[@]}"}" "${pkg_args[@]+"${pkg_args[@]}"}" --doc 2>&1 1>&3 |
    tee "$doc_log" >&2; } 3>&1 || doc_rc=$?
  if [ "$doc_rc" -ne 0 ]; then
    if [ ${#scope[@]} -eq 0 ] && grep -q 'no library targets found' "$doc_log"; then
      say "no doctests in ${pkg_args[*]}"
    else
      rm -f "$doc_log"
      exit "$doc_rc"
    fi
  fi
  rm -f "$doc_log"
else
  step "$(show cargo test "${scope[@]+"${scope[@]}"}" "${args[@]+"${args[@]}"}") (cargo-nextest not installed)"
  cargo test "${scope[@]+"${scope[@]}"}" "${args[@]+"${args[@]}"}"
fi

step "all checks passed"
