# shellcheck shell=bash
# Shared by the scripts that start test registries: picking a free loopback port.

# A port counts as busy when something accepts a TCP connection on it.
port_busy() { (exec 3<> "/dev/tcp/127.0.0.1/$1") 2> /dev/null; }

# Print a free port in 20000-29999: below Linux's default ephemeral range
# (32768-60999), so an outgoing connection cannot take the port between the
# check and the bind.
pick_port() {
  local candidate _
  for _ in $(seq 1 100); do
    candidate=$((20000 + RANDOM % 10000))
    if ! port_busy "$candidate"; then
      echo "$candidate"
      return 0
    fi
  done
  return 1
}

# start_on_port START [PORT]: run START, a function that starts a server on the port it is
# given and answers 0 (serving), 3 (the port was taken meanwhile) or anything else (failed),
# on PORT when given, else on free ports picked here, up to 5 times. Sets $port to the port
# it serves on; returns 1 when it could not start. Needs the caller's `say`.
start_on_port() {
  local start=$1 fixed=${2:-} p rc tries=5
  [ -z "$fixed" ] || tries=1
  for _ in $(seq 1 "$tries"); do
    if [ -n "$fixed" ]; then
      if port_busy "$fixed"; then
        say "port $fixed on 127.0.0.1 is already in use"
        return 1
      fi
      p=$fixed
    else
      p=$(pick_port) || { say "found no free port in 20000-29999"; return 1; }
    fi
    rc=0
    "$start" "$p" || rc=$?
    case "$rc" in
      0) port=$p; return 0 ;;
      3) say "port $p was taken while starting; retrying" ;;
      *) return 1 ;;
    esac
  done
  return 1
}
