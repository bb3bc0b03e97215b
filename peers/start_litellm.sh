#!/usr/bin/env bash
# Start the real LiteLLM proxy (pinned version, from the cache venv) with a config
# file on loopback, and wait until GET /health/readiness answers.
#
# Usage: LITELLM_MASTER_KEY=sk-... peers/start_litellm.sh CONFIG.yaml 127.0.0.1:PORT STATE_DIR
#   STATE_DIR gets litellm.log and litellm.pid. Prints the PID on stdout.
#   LITELLM_MASTER_KEY must be set when the config says os.environ/LITELLM_MASTER_KEY.
#   No database: keys other than the master key are refused (see report).
# Stop:  peers/stop.sh STATE_DIR/litellm.pid
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
[ $# -eq 3 ] || aigw_die "usage: LITELLM_MASTER_KEY=sk-... $0 CONFIG.yaml 127.0.0.1:PORT STATE_DIR"
config="$1"; addr="$2"; state="$3"
aigw_check_loopback "$addr"
[ -f "$config" ] || aigw_die "no config file $config"
[ -x "$AIGW_LITELLM_BIN" ] || aigw_die "litellm not installed: run peers/install.sh"
mkdir -p "$state"
state="$(cd "$state" && pwd)"

t=$(aigw_now)
# As the stack's router containers run it: the bundled model-cost map and blog feed, never fetched.
LITELLM_LOCAL_MODEL_COST_MAP=True LITELLM_LOCAL_BLOG_POSTS=True \
  setsid "$AIGW_LITELLM_BIN" --config "$config" --host "${addr%:*}" --port "${addr##*:}" \
  >"$state/litellm.log" 2>&1 </dev/null &
pid=$!
echo "$pid" >"$state/litellm.pid"
aigw_wait_http "http://$addr/health/readiness" "${AIGW_START_TIMEOUT:-120}" "$pid" \
  || { tail -30 "$state/litellm.log" >&2; exit 1; }
aigw_log "litellm proxy up on $addr (pid $pid) in $(aigw_since "$t")s"
echo "$pid"
