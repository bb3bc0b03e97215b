# Sourced by the peers/ scripts: pinned versions, cache layout, small helpers.
# Pinned to the image tags the stack deploys (ollama/ollama:0.17.4,
# ghcr.io/berriai/litellm:1.87.0). Change them together with the stack.
AIGW_OLLAMA_VERSION=0.17.4
AIGW_LITELLM_VERSION=1.87.0
AIGW_GGUF_VERSION=0.19.0
AIGW_NUMPY_VERSION=2.4.6
# miniaudio.h (a header the Go build needs, stripped from Ollama's module zip)
# comes from this PyPI sdist; see install.sh.
AIGW_MINIAUDIO_SDIST_VERSION=1.71

AIGW_PEERS_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
AIGW_PEERS_CACHE="${AIGW_PEERS_CACHE:-$HOME/.cache/ai-gateway-peers}"
AIGW_OLLAMA_HOME="$AIGW_PEERS_CACHE/ollama-$AIGW_OLLAMA_VERSION"
AIGW_OLLAMA_BIN="$AIGW_OLLAMA_HOME/bin/ollama"
AIGW_LITELLM_VENV="$AIGW_PEERS_CACHE/litellm-$AIGW_LITELLM_VERSION"
AIGW_LITELLM_BIN="$AIGW_LITELLM_VENV/bin/litellm"
AIGW_GGUF_VENV="$AIGW_PEERS_CACHE/gguf-$AIGW_GGUF_VERSION"
AIGW_GGUF_PY="$AIGW_GGUF_VENV/bin/python"
AIGW_MODELS_CACHE="$AIGW_PEERS_CACHE/tiny-models"
AIGW_REGISTRY_BIN="${AIGW_REGISTRY_BIN:-/usr/bin/docker-registry}"

aigw_log() { echo "[peers] $*" >&2; }
aigw_die() { echo "[peers] ERROR: $*" >&2; exit 1; }

# aigw_wait_http URL TIMEOUT_SECONDS [PID]: wait until URL answers 2xx.
# Fails early if PID (the server being waited for) has died.
aigw_wait_http() {
  local url="$1" timeout="$2" pid="${3:-}" t0
  t0=$(date +%s)
  while :; do
    if curl -fsS -o /dev/null --max-time 2 "$url" 2>/dev/null; then return 0; fi
    if [ -n "$pid" ] && ! kill -0 "$pid" 2>/dev/null; then
      aigw_log "process $pid exited while waiting for $url"; return 1
    fi
    if [ $(( $(date +%s) - t0 )) -ge "$timeout" ]; then
      aigw_log "timed out after ${timeout}s waiting for $url"; return 1
    fi
    sleep 0.2
  done
}

# aigw_check_loopback HOST:PORT: refuse anything outside 127.0.0.0/8.
aigw_check_loopback() {
  case "$1" in
    127.*:[0-9]*) ;;
    *) aigw_die "address must be 127.x.y.z:PORT (loopback only), got '$1'" ;;
  esac
}

aigw_now() { date +%s.%N; }
aigw_since() { awk -v a="$1" -v b="$(date +%s.%N)" 'BEGIN{printf "%.1f", b-a}'; }
