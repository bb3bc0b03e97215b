#!/usr/bin/env bash
# Start the door as the stack renders it, with Debian's HAProxy (the version images/haproxy builds, 2.6.12), on a
# config moved onto loopback (tests/peers/support/door.ts), and wait until its health check answers.
#
# Usage: peers/start_door.sh HAPROXY.cfg 127.0.0.1:HEALTH_PORT STATE_DIR
#   STATE_DIR gets door.log and door.pid. Prints the PID on stdout.
# Stop:  peers/stop.sh STATE_DIR/door.pid
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
[ $# -eq 3 ] || aigw_die "usage: $0 HAPROXY.cfg 127.0.0.1:HEALTH_PORT STATE_DIR"
config="$1"; addr="$2"; state="$3"
aigw_check_loopback "$addr"
[ -f "$config" ] || aigw_die "no config file $config"
command -v haproxy >/dev/null || aigw_die "haproxy not installed: apt-get install haproxy (tests/prepare.sh does)"
mkdir -p "$state"
state="$(cd "$state" && pwd)"

t=$(aigw_now)
# As the door container runs it: one master in the foreground, logging to stderr.
setsid haproxy -W -db -f "$config" >"$state/door.log" 2>&1 </dev/null &
pid=$!
echo "$pid" >"$state/door.pid"
aigw_wait_http "http://$addr/healthz" "${AIGW_START_TIMEOUT:-30}" "$pid" \
  || { tail -30 "$state/door.log" >&2; exit 1; }
aigw_log "door (haproxy) up, health on $addr (pid $pid) in $(aigw_since "$t")s"
echo "$pid"
