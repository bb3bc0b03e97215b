#!/usr/bin/env bash
# Register a tiny GGUF model (peers/make_tiny_model.py) in a running Ollama,
# the way the API does it: POST /api/blobs/sha256:<hex> (body = file), then
# POST /api/create {model, files:{"<name>.gguf":"sha256:<hex>"}, template, parameters}.
#
# Usage: peers/load_tiny_model.sh 127.0.0.1:PORT NAME [MODEL [SIZE_OPTION...]]
#   NAME  seeds the weights (tiny-a, tiny-b, ...); MODEL is the Ollama model name
#   (default NAME, i.e. NAME:latest); SIZE_OPTIONs go to make_tiny_model.py (e.g.
#   --width 2048 --layers 7 for a ~590 MB model). GGUFs are cached under
#   $AIGW_PEERS_CACHE/tiny-models/, so each is generated once.
#   The model gets a plain chat template and num_predict=16 so answers stay short.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
[ $# -ge 2 ] || aigw_die "usage: $0 127.0.0.1:PORT NAME [MODEL [SIZE_OPTION...]]"
addr="$1"; name="$2"; model="${3:-$2}"
shift "$(( $# < 3 ? $# : 3 ))"
aigw_check_loopback "$addr"
[ -x "$AIGW_GGUF_PY" ] || aigw_die "gguf venv missing: run peers/install.sh"

# Cache key: the generator script's content, so edits to it give new files; and the size options.
key="$(sha256sum "$AIGW_PEERS_DIR/make_tiny_model.py" | cut -c1-12)"
gguf="$AIGW_MODELS_CACHE/$key/$name${1:+-$(echo "$*" | sha256sum | cut -c1-8)}.gguf"
if [ ! -f "$gguf" ]; then
  mkdir -p "$(dirname "$gguf")"
  t=$(aigw_now)
  "$AIGW_GGUF_PY" "$AIGW_PEERS_DIR/make_tiny_model.py" "$name" "$gguf.tmp" "$@" >/dev/null
  mv "$gguf.tmp" "$gguf"
  aigw_log "generated $gguf ($(stat -c %s "$gguf") bytes) in $(aigw_since "$t")s"
fi
hex="$(sha256sum "$gguf" | cut -d' ' -f1)"

code=$(curl -s -o /dev/null -w '%{http_code}' -I "http://$addr/api/blobs/sha256:$hex")
if [ "$code" != 200 ]; then
  # Streamed from the file (-T), not read into memory first: the larger models are hundreds of MB.
  code=$(curl -s -o /dev/null -w '%{http_code}' -X POST -T "$gguf" "http://$addr/api/blobs/sha256:$hex")
  [ "$code" = 201 ] || [ "$code" = 200 ] || aigw_die "POST /api/blobs/sha256:$hex -> HTTP $code"
fi

body=$(python3 - "$model" "$name.gguf" "sha256:$hex" <<'EOF'
import json, sys
model, fname, digest = sys.argv[1:4]
print(json.dumps({
    "model": model,
    "files": {fname: digest},
    "template": "{{- range .Messages }}<|{{ .Role }}|>{{ .Content }}\n{{ end }}<|assistant|>",
    "parameters": {"num_predict": 16},
    "stream": False,
}))
EOF
)
resp=$(curl -s -w '\n%{http_code}' -X POST -H 'content-type: application/json' -d "$body" "http://$addr/api/create")
code="${resp##*$'\n'}"; resp="${resp%$'\n'*}"
[ "$code" = 200 ] && echo "$resp" | grep -q '"status":"success"' \
  || aigw_die "POST /api/create -> HTTP $code: $resp"
aigw_log "created $model on $addr from $gguf (sha256:${hex:0:12})"
echo "$model"
