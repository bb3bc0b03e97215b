#!/usr/bin/env bash
# End-to-end proof of the real-services harness, and a worked example of every script:
#   two Ollama servers, tiny models created on A, pushed to a local docker-registry,
#   pulled by B, chats on both (native and OpenAI paths), then the LiteLLM proxy
#   load-balancing one model group across A and B. Everything is stopped at the end.
#
# Usage: peers/smoke.sh [STATE_DIR]      (after peers/install.sh)
#   Ports (all on 127.0.0.1) from env: AIGW_PORT_A=11434 AIGW_PORT_B=11435
#   AIGW_PORT_REGISTRY=5055 AIGW_PORT_LITELLM=4000. Exits non-zero on the first failed check.
set -euo pipefail
P="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$P/common.sh"
STATE="${1:-$(mktemp -d /tmp/aigw-smoke.XXXXXX)}"
mkdir -p "$STATE"; STATE="$(cd "$STATE" && pwd)"
A="127.0.0.1:${AIGW_PORT_A:-11434}"
B="127.0.0.1:${AIGW_PORT_B:-11435}"
R="127.0.0.1:${AIGW_PORT_REGISTRY:-5055}"
L="127.0.0.1:${AIGW_PORT_LITELLM:-4000}"
export LITELLM_MASTER_KEY="sk-aigw-smoke-$$"

cleanup() { "$P/stop.sh" "$STATE/litellm/litellm.pid" "$STATE/a/ollama.pid" "$STATE/b/ollama.pid" "$STATE/registry/registry.pid" "$STATE/registry/blobs.pid"; }
trap cleanup EXIT
step() { echo; echo "== $*"; }
fail() { echo "SMOKE FAIL: $*" >&2; exit 1; }

step "start two Ollama servers, a registry"
"$P/start_ollama.sh" "$A" "$STATE/a" >/dev/null
"$P/start_ollama.sh" "$B" "$STATE/b" >/dev/null
"$P/start_registry.sh" "$R" "$STATE/registry" >/dev/null
curl -s "http://$A/"; echo; curl -s "http://$A/api/version"; echo

step "create tiny-a and tiny-b on A (blobs + create)"
"$P/load_tiny_model.sh" "$A" tiny-a >/dev/null
"$P/load_tiny_model.sh" "$A" tiny-b >/dev/null
curl -s "http://$A/api/tags" | python3 -c 'import json,sys; [print(m["name"], m["digest"][:12], m["size"], m["details"]) for m in json.load(sys.stdin)["models"]]'

step "push to the registry, pull on B"
for m in tiny-a tiny-b; do "$P/push_model.sh" "$A" "$m" "$R/aigw/$m:latest" 2>&1 | tail -1; done
curl -s "http://$R/v2/_catalog"; echo
pull=$(curl -s -X POST "http://$B/api/pull" -d "{\"model\":\"$R/aigw/tiny-a:latest\",\"insecure\":true}")
echo "$pull"
echo "$pull" | grep -q '"error"' && fail "pull returned an error line"
echo "$pull" | tail -1 | grep -q '"status":"success"' || fail "pull did not end in success"
curl -s -X POST "http://$B/api/copy" -d "{\"source\":\"$R/aigw/tiny-a:latest\",\"destination\":\"tiny-a\"}" -o /dev/null -w 'copy HTTP %{http_code}\n'

step "pull of a model the registry does not have (HTTP status, then the lines)"
curl -s -w '\nHTTP %{http_code}\n' -X POST "http://$B/api/pull" -d "{\"model\":\"$R/aigw/missing:latest\",\"insecure\":true}"

step "chat on A and on B: /api/chat and /v1/chat/completions"
for h in "$A" "$B"; do
  out=$(curl -s -X POST "http://$h/api/chat" -d '{"model":"tiny-a","stream":false,"messages":[{"role":"user","content":"hello"}]}')
  echo "$h /api/chat: $out"
  echo "$out" | grep -q '"done":true' || fail "/api/chat on $h"
  out=$(curl -s -X POST "http://$h/v1/chat/completions" -H 'content-type: application/json' -d '{"model":"tiny-a","messages":[{"role":"user","content":"hello"}]}')
  echo "$h /v1/chat/completions: $out"
  echo "$out" | grep -q '"chat.completion"' || fail "/v1/chat/completions on $h"
done

step "LiteLLM proxy over A and B"
mkdir -p "$STATE/litellm"
cat >"$STATE/litellm/config.yaml" <<EOF
model_list:
  - model_name: fast
    litellm_params: { model: ollama_chat/tiny-a, api_base: http://$A }
  - model_name: fast
    litellm_params: { model: ollama_chat/tiny-a, api_base: http://$B }
router_settings: { routing_strategy: simple-shuffle, num_retries: 2 }
general_settings: { master_key: os.environ/LITELLM_MASTER_KEY }
EOF
"$P/start_litellm.sh" "$STATE/litellm/config.yaml" "$L" "$STATE/litellm" >/dev/null
for p in /health/liveliness /health/readiness; do
  echo "GET $p (no key): $(curl -s -w ' HTTP %{http_code}' "http://$L$p")"
done
echo "GET /v1/models (key): $(curl -s -w ' HTTP %{http_code}' -H "Authorization: Bearer $LITELLM_MASTER_KEY" "http://$L/v1/models")"
req='{"model":"fast","messages":[{"role":"user","content":"hello"}]}'
code=$(curl -s -o "$STATE/nokey.json" -w '%{http_code}' "http://$L/v1/chat/completions" -H 'content-type: application/json' -d "$req")
echo "POST /v1/chat/completions (no key): HTTP $code $(cat "$STATE/nokey.json")"
[ "$code" = 401 ] || fail "no-key request not refused with 401"
: >"$STATE/bases.txt"
for i in 1 2 3 4 5 6 7 8; do
  curl -s -D "$STATE/h.txt" -o "$STATE/r.json" "http://$L/v1/chat/completions" \
    -H "Authorization: Bearer $LITELLM_MASTER_KEY" -H 'content-type: application/json' -d "$req"
  grep -q '"chat.completion"' "$STATE/r.json" || fail "proxy completion: $(cat "$STATE/r.json")"
  tr -d '\r' <"$STATE/h.txt" | awk -F': ' 'tolower($1)=="x-litellm-model-api-base"{print $2}' >>"$STATE/bases.txt"
done
echo "last response headers:"; tr -d '\r' <"$STATE/h.txt" | grep -i '^x-litellm' | sed 's/^/  /'
echo "last body: $(cat "$STATE/r.json")"
echo "backends that answered 8 requests:"; sort "$STATE/bases.txt" | uniq -c
[ "$(sort -u "$STATE/bases.txt" | wc -l)" -eq 2 ] || echo "note: only one backend answered (simple-shuffle is random)"
echo; echo "SMOKE OK (state in $STATE)"
