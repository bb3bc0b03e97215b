#!/usr/bin/env bash
# Copy a model in a running Ollama to a registry name and push it with the real CLI:
#   ollama cp MODEL 127.0.0.1:RPORT/NS/NAME:TAG && ollama push --insecure 127.0.0.1:RPORT/NS/NAME:TAG
#
# Usage: peers/push_model.sh 127.0.0.1:OLLAMA_PORT MODEL 127.0.0.1:REGISTRY_PORT/NS/NAME:TAG
#   e.g. peers/push_model.sh 127.0.0.1:11434 tiny-a 127.0.0.1:5000/aigw/tiny-a:latest
# Another Ollama then pulls it with POST /api/pull {"model": "<that name>", "insecure": true}.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
[ $# -eq 3 ] || aigw_die "usage: $0 127.0.0.1:OLLAMA_PORT MODEL 127.0.0.1:REGISTRY_PORT/NS/NAME:TAG"
addr="$1"; model="$2"; target="$3"
aigw_check_loopback "$addr"
aigw_check_loopback "${target%%/*}"
t=$(aigw_now)
export OLLAMA_HOST="$addr"
if [ "$model" != "$target" ]; then "$AIGW_OLLAMA_BIN" cp "$model" "$target" >&2; fi
"$AIGW_OLLAMA_BIN" push --insecure "$target" >&2 </dev/null
aigw_log "pushed $target from $addr in $(aigw_since "$t")s"
