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
#      docker-registry, apache2-utils, curl) with apt-get; needs root
#   2. start a throw-away docker-registry (deletes enabled) on a free loopback
#      port and export LINEAGE_TEST_REGISTRY=127.0.0.1:PORT; stopped on exit
#   3. cargo fmt --all -- --check; cargo clippy --workspace --all-targets -- -D warnings
#   4. cargo nextest run --workspace ARGS, then cargo test --workspace --doc
#      (or cargo test --workspace ARGS without nextest)
# Exits non-zero as soon as a step fails. With CI set, missing tools are fatal.
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
    -h | --help) sed -n '4,18p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    --) args+=("$@"); break ;;
    *) args+=("$1") ;;
  esac
  shift
done

in_ci() { [ -n "${CI:-}" ] && [ "${CI}" != false ] && [ "${CI}" != 0 ]; }

# --- 1. tools ---------------------------------------------------------------
# command on PATH -> Debian package that provides it
tools=(skopeo:skopeo umoci:umoci buildah:buildah docker-registry:docker-registry
  htpasswd:apache2-utils curl:curl)
missing_pkgs=()
missing_cmds=()
for pair in "${tools[@]}"; do
  if ! command -v "${pair%%:*}" > /dev/null; then
    missing_cmds+=("${pair%%:*}")
    missing_pkgs+=("${pair#*:}")
  fi
done

if [ ${#missing_pkgs[@]} -gt 0 ]; then
  if [ "$(id -u)" -eq 0 ]; then
    step "installing ${missing_pkgs[*]} (missing: ${missing_cmds[*]})"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q >&2 || die "apt-get update failed"
    apt-get install -y -q "${missing_pkgs[@]}" >&2 ||
      die "apt-get install ${missing_pkgs[*]} failed"
    for cmd in "${missing_cmds[@]}"; do
      command -v "$cmd" > /dev/null || die "$cmd is still missing after installing ${missing_pkgs[*]}"
    done
  else
    msg="missing tools: ${missing_cmds[*]}; scripts/test.sh installs them only when run as root. Install them with: sudo apt-get install -y ${missing_pkgs[*]}"
    in_ci && die "$msg"
    say "warning: $msg"
    say "warning: tests that need these tools will be skipped"
  fi
fi
for tool in skopeo umoci buildah docker-registry; do
  if command -v "$tool" > /dev/null; then
    say "using $("$tool" --version 2>&1 | head -n 1)"
  fi
done

# --- 2. registry ------------------------------------------------------------
REGISTRY_DIR=""
cleanup() {
  if [ -n "$REGISTRY_DIR" ]; then
    bash "$here/stop-registry.sh" "$REGISTRY_DIR" || true
    REGISTRY_DIR=""
  fi
}
trap cleanup EXIT
trap 'exit 129' HUP
trap 'exit 130' INT
trap 'exit 143' TERM

if command -v docker-registry > /dev/null && command -v curl > /dev/null; then
  step "starting docker-registry"
  registry_env=$(bash "$here/start-registry.sh" -d on) || die "could not start the test registry"
  eval "$registry_env"
  export LINEAGE_TEST_REGISTRY="$REGISTRY_HOST"
  say "LINEAGE_TEST_REGISTRY=$LINEAGE_TEST_REGISTRY"
else
  in_ci && die "docker-registry or curl is missing; cannot start the test registry"
  say "warning: no docker-registry; LINEAGE_TEST_REGISTRY is not set and registry tests will be skipped"
  unset LINEAGE_TEST_REGISTRY
fi

# --- 3. lint ----------------------------------------------------------------
if $lint; then
  step "cargo fmt --all -- --check"
  cargo fmt --all -- --check
  step "cargo clippy --workspace --all-targets -- -D warnings"
  cargo clippy --workspace --all-targets -- -D warnings
fi

# --- 4. tests ---------------------------------------------------------------
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

if cargo nextest --version > /dev/null 2>&1; then
  step "$(show cargo nextest run "${scope[@]+"${scope[@]}"}" "${args[@]+"${args[@]}"}")"
  cargo nextest run "${scope[@]+"${scope[@]}"}" "${args[@]+"${args[@]}"}"
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
