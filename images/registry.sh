#!/usr/bin/env bash
# Serve the built images from Debian's docker-registry (distribution v2, plain http, no
# auth) on a loopback address, which the Docker engine treats as an insecure registry.
# Its storage stays under ~/.cache/ai-gateway-images/registry between runs, so images
# pushed once are pulled again without being rebuilt.
#
# Usage: images/registry.sh start 127.0.0.1:PORT [STATE_DIR]   (idempotent; prints the PID)
#        images/registry.sh stop [STATE_DIR]
#   STATE_DIR (default ~/.cache/ai-gateway-images/registry-run): config.yml, registry.log, registry.pid.
#   Storage: $AIGW_IMAGES_REGISTRY_STORAGE (default ~/.cache/ai-gateway-images/registry).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
storage="${AIGW_IMAGES_REGISTRY_STORAGE:-$AIGW_IMAGES_CACHE/registry}"

usage() { img_die "usage: $0 start 127.0.0.1:PORT [STATE_DIR] | stop [STATE_DIR]"; }
alive() { [ -f "$1/registry.pid" ] && kill -0 "$(cat "$1/registry.pid")" 2>/dev/null; }

case "${1:-}" in
  start)
    [ $# -ge 2 ] && [ $# -le 3 ] || usage
    addr="$2"; state="${3:-$AIGW_IMAGES_CACHE/registry-run}"
    case "$addr" in 127.*:[0-9]*) ;; *) img_die "address must be 127.x.y.z:PORT (loopback only), got '$addr'" ;; esac
    [ -x "$AIGW_REGISTRY_BIN" ] || img_die "$AIGW_REGISTRY_BIN missing (apt-get install docker-registry)"
    mkdir -p "$state" "$storage"
    if alive "$state"; then
      grep -qx "  addr: $addr" "$state/config.yml" \
        || img_die "a registry from $state already runs (pid $(cat "$state/registry.pid")) on another address; stop it first"
      img_log "registry: already running on $addr (pid $(cat "$state/registry.pid"))"
      cat "$state/registry.pid"; exit 0
    fi
    cat >"$state/config.yml" <<CONF
version: 0.1
log:
  level: warn
storage:
  filesystem:
    rootdirectory: $storage
  delete:
    enabled: true
http:
  addr: $addr
CONF
    t=$(aigw_now)
    setsid "$AIGW_REGISTRY_BIN" serve "$state/config.yml" >"$state/registry.log" 2>&1 </dev/null &
    echo $! >"$state/registry.pid"
    aigw_wait_http "http://$addr/v2/" "${AIGW_START_TIMEOUT:-30}" "$(cat "$state/registry.pid")" \
      || img_die "registry did not start on $addr: $(tail -n 1 "$state/registry.log") (log: $state/registry.log)"
    img_log "registry: up on $addr in $(aigw_since "$t")s (pid $(cat "$state/registry.pid"), storage $storage)"
    cat "$state/registry.pid" ;;
  stop)
    [ $# -le 2 ] || usage
    state="${2:-$AIGW_IMAGES_CACHE/registry-run}"
    if alive "$state"; then
      "$AIGW_PEERS_DIR/stop.sh" "$state/registry.pid"
      img_log "registry: stopped"
    else
      img_log "registry: not running"
    fi
    rm -f "$state/registry.pid" ;;
  *) usage ;;
esac
