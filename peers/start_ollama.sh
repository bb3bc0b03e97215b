#!/usr/bin/env bash
# Start a real Ollama server on loopback, in the background, and wait until it answers.
#
# Usage: peers/start_ollama.sh 127.0.0.1:PORT STATE_DIR
#   STATE_DIR gets models/ (OLLAMA_MODELS), home/ (its HOME: keys), ollama.log, ollama.pid.
#   Prints the server's PID on stdout. Extra OLLAMA_* variables in the environment pass through
#   (e.g. OLLAMA_KEEP_ALIVE, OLLAMA_NUM_PARALLEL, OLLAMA_MAX_QUEUE).
# Stop:  peers/stop.sh STATE_DIR/ollama.pid
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
[ $# -eq 2 ] || aigw_die "usage: $0 127.0.0.1:PORT STATE_DIR"
addr="$1"; state="$2"
aigw_check_loopback "$addr"
[ -x "$AIGW_OLLAMA_BIN" ] || aigw_die "ollama not installed: run peers/install.sh"
mkdir -p "$state/models" "$state/home"
state="$(cd "$state" && pwd)"

t=$(aigw_now)
# setsid: own process group, so stop.sh can end the server and its runner children.
HOME="$state/home" OLLAMA_HOST="$addr" OLLAMA_MODELS="$state/models" \
  setsid "$AIGW_OLLAMA_BIN" serve >"$state/ollama.log" 2>&1 </dev/null &
pid=$!
echo "$pid" >"$state/ollama.pid"
aigw_wait_http "http://$addr/api/version" "${AIGW_START_TIMEOUT:-60}" "$pid" \
  || { tail -20 "$state/ollama.log" >&2; exit 1; }
aigw_log "ollama $(curl -s "http://$addr/api/version") up on $addr (pid $pid) in $(aigw_since "$t")s"
echo "$pid"
