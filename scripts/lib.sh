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
