#!/usr/bin/env bash
# Smoke-test the images in a registry: pull each, run it the way the stack does, and wait
# for Docker's healthcheck with the probe targets/docker/containers.ts gives it, plus a real request.
#   redis       password required, PING answered
#   ollama      /api/version, a tiny GGUF model created and answering, and a pull of that
#               model over plain http from a docker-registry on loopback (insecure)
#   litellm     the router with Ollama behind it and Redis for shared state: a chat completion
#   open-webui  started with no network at all (offline): /health
#   haproxy     the stack's door: the config uploaded where the stack puts it, healthy, and a TCP forward
#               to Redis by its name (PING through it asks for the password)
# Containers are named img-check-*; they and the network are removed at the end.
#
# Usage: images/check.sh REGISTRY [IMAGE...]   (needs peers/install.sh for the tiny model)
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
registry="${1:-${AIGW_IMAGES_REGISTRY:-}}"
[ -n "$registry" ] || img_die "usage: $0 REGISTRY [ollama litellm open-webui redis haproxy]"
shift || true
images=("$@")
[ ${#images[@]} -gt 0 ] || images=(redis ollama litellm open-webui haproxy)
ref() { echo "$registry/$AIGW_IMAGE_PREFIX/$1"; }
NET=img-check-net
STATE="$(mktemp -d)"
KEY=sk-check-$RANDOM$RANDOM
PW=check-$RANDOM$RANDOM

cleanup() {
  docker rm -f img-check-redis img-check-ollama img-check-ollama-pull img-check-litellm img-check-open-webui \
    img-check-haproxy >/dev/null 2>&1 || true
  docker network rm "$NET" >/dev/null 2>&1 || true
  [ -f "$STATE/registry.pid" ] && "$AIGW_PEERS_DIR/stop.sh" "$STATE/registry.pid" "$STATE/blobs.pid" 2>/dev/null
  rm -rf "$STATE"
}
trap cleanup EXIT
docker network create "$NET" >/dev/null

# wait_healthy CONTAINER TIMEOUT: Docker's own healthcheck turns healthy.
wait_healthy() {
  local status
  for _ in $(seq 1 "$2"); do
    status=$(docker inspect -f '{{.State.Health.Status}}' "$1")
    [ "$status" = healthy ] && return 0
    [ "$(docker inspect -f '{{.State.Running}}' "$1")" = true ] || break
    sleep 1
  done
  docker logs --tail 20 "$1" >&2
  img_die "check $1: not healthy (status: $status)"
}

pull() { docker pull -q "$(ref "$1")" >/dev/null || img_die "check: docker pull $(ref "$1") failed"; }
host_port() { docker port "$1" "$2" | head -n 1 | sed 's/.*://'; }

check_redis() {
  pull "redis:$AIGW_REDIS_VERSION"
  docker run -d --name img-check-redis --network "$NET" --network-alias redis -e REDIS_PASSWORD="$PW" \
    --health-cmd 'redis-cli -a "$REDIS_PASSWORD" --no-auth-warning ping | grep -q PONG' --health-interval 1s \
    "$(ref "redis:$AIGW_REDIS_VERSION")" \
    sh -c 'exec redis-server --requirepass "$REDIS_PASSWORD" --save "" --appendonly no' >/dev/null
  wait_healthy img-check-redis 30
  docker exec img-check-redis redis-cli ping 2>&1 | grep -q NOAUTH || img_die "check redis: answers without the password"
  img_log "check redis: healthy; PING needs the password ($(docker exec img-check-redis redis-server --version | cut -d' ' -f3))"
}

check_ollama() {
  pull "ollama:$AIGW_OLLAMA_VERSION"
  docker run -d --name img-check-ollama --network "$NET" --network-alias ollama -p 127.0.0.1::11434 \
    --health-cmd 'ollama list' --health-interval 1s "$(ref "ollama:$AIGW_OLLAMA_VERSION")" >/dev/null
  wait_healthy img-check-ollama 60
  local port version answer
  port=$(host_port img-check-ollama 11434)
  version=$(curl -fsS "http://127.0.0.1:$port/api/version")
  [[ "$version" == *"\"$AIGW_OLLAMA_VERSION\""* ]] || img_die "check ollama: /api/version says $version"
  "$AIGW_PEERS_DIR/load_tiny_model.sh" "127.0.0.1:$port" tiny-a >/dev/null 2>&1 \
    || img_die "check ollama: creating the tiny model failed (run peers/install.sh first)"
  answer=$(curl -fsS "http://127.0.0.1:$port/api/generate" -d '{"model":"tiny-a","prompt":"hi","stream":false}')
  [[ "$answer" == *'"done":true'* ]] || img_die "check ollama: generate failed: $answer"

  # A pull over plain http: the model registry runs on the host's loopback, so this
  # container shares the host's network and listens on a free loopback port.
  "$AIGW_PEERS_DIR/start_registry.sh" 127.0.0.1:25055 "$STATE" >/dev/null 2>&1 || img_die "check ollama: model registry did not start"
  docker run -d --name img-check-ollama-pull --network host -e OLLAMA_HOST=127.0.0.1:21455 \
    "$(ref "ollama:$AIGW_OLLAMA_VERSION")" >/dev/null
  aigw_wait_http http://127.0.0.1:21455/api/version 30 || img_die "check ollama: second container did not start"
  "$AIGW_PEERS_DIR/load_tiny_model.sh" 127.0.0.1:21455 tiny-a >/dev/null 2>&1
  "$AIGW_PEERS_DIR/push_model.sh" 127.0.0.1:21455 tiny-a 127.0.0.1:25055/aigw/tiny-a:latest >/dev/null 2>&1 \
    || img_die "check ollama: push to the model registry failed"
  curl -fsS http://127.0.0.1:21455/api/delete -X DELETE -d '{"model":"127.0.0.1:25055/aigw/tiny-a:latest"}' >/dev/null
  answer=$(curl -fsS http://127.0.0.1:21455/api/pull -d '{"model":"127.0.0.1:25055/aigw/tiny-a:latest","insecure":true}')
  [[ "$answer" == *'"status":"success"'* ]] || img_die "check ollama: pull over http failed: $(echo "$answer" | tail -n 1)"
  docker rm -f img-check-ollama-pull >/dev/null
  img_log "check ollama: healthy; $version; tiny model answers; pull over http from a registry works"
}

check_litellm() {
  pull "litellm:$AIGW_LITELLM_VERSION"
  cat >"$STATE/config.yaml" <<EOF
model_list:
  - model_name: fast
    litellm_params:
      model: hosted_vllm/tiny-a
      api_base: http://ollama:11434/v1
router_settings:
  redis_host: redis
  redis_port: 6379
  redis_password: os.environ/REDIS_PASSWORD
general_settings:
  master_key: os.environ/LITELLM_MASTER_KEY
EOF
  docker create --name img-check-litellm --network "$NET" -p 127.0.0.1::4000 \
    -e LITELLM_MASTER_KEY="$KEY" -e LITELLM_LOCAL_MODEL_COST_MAP=True -e REDIS_PASSWORD="$PW" \
    --health-cmd "python -c \"import urllib.request; urllib.request.urlopen('http://127.0.0.1:4000/health/liveliness')\"" \
    --health-interval 2s "$(ref "litellm:$AIGW_LITELLM_VERSION")" --config /app/config.yaml --port 4000 >/dev/null
  docker cp "$STATE/config.yaml" img-check-litellm:/app/config.yaml
  docker start img-check-litellm >/dev/null
  wait_healthy img-check-litellm 120
  local port answer
  port=$(host_port img-check-litellm 4000)
  answer=$(curl -sS "http://127.0.0.1:$port/v1/chat/completions" -H "Authorization: Bearer $KEY" \
    -H 'Content-Type: application/json' -d '{"model":"fast","messages":[{"role":"user","content":"hi"}]}')
  [[ "$answer" == *'"choices"'* ]] || img_die "check litellm: chat completion failed: $answer"
  docker exec img-check-redis sh -c 'redis-cli -a "$REDIS_PASSWORD" --no-auth-warning client list' \
    | grep -v 'cmd=client|list' | grep -q . \
    || img_die "check litellm: no connection to Redis"
  img_log "check litellm: healthy; a chat completion through the router reached Ollama; Redis connected"
}

check_open_webui() {
  pull "open-webui:$AIGW_OPEN_WEBUI_VERSION"
  local t; t=$(date +%s)
  # No network at all: whatever it would fetch at start must not be needed.
  docker run -d --name img-check-open-webui --network none -e WEBUI_SECRET_KEY="$PW" \
    -e OFFLINE_MODE=True -e RAG_EMBEDDING_ENGINE=ollama -e ENABLE_OLLAMA_API=False \
    --health-cmd 'curl --silent --fail http://127.0.0.1:8080/health' --health-interval 2s \
    "$(ref "open-webui:$AIGW_OPEN_WEBUI_VERSION")" >/dev/null
  wait_healthy img-check-open-webui 300
  img_log "check open-webui: healthy offline in $(( $(date +%s) - t ))s; $(docker exec img-check-open-webui curl -fsS http://127.0.0.1:8080/health)"
}

check_haproxy() {
  pull "haproxy:$AIGW_HAPROXY_VERSION"
  docker inspect img-check-redis >/dev/null 2>&1 || check_redis
  local cfg="$STATE/haproxy.cfg"
  printf '%s\n' 'global' '    maxconn 100' 'resolvers docker' '    nameserver docker 127.0.0.11:53' \
    'defaults' '    mode tcp' '    timeout connect 5s' '    timeout client 60s' '    timeout server 60s' \
    'frontend door:health' '    mode http' '    bind 127.0.0.1:8404' '    monitor-uri /healthz' \
    'listen published:redis' '    bind :16379' '    server redis redis:6379 resolvers docker init-addr libc,none' >"$cfg"
  # As the stack runs it: the entrypoint and arguments of targets/docker/door.ts, the config copied in before start.
  docker create --name img-check-haproxy --network "$NET" --entrypoint haproxy \
    --health-cmd "bash -c ':> /dev/tcp/127.0.0.1/8404' || exit 1" --health-interval 1s \
    "$(ref "haproxy:$AIGW_HAPROXY_VERSION")" -W -db -f /usr/local/etc/haproxy/haproxy.cfg >/dev/null
  docker cp "$cfg" img-check-haproxy:/usr/local/etc/haproxy/haproxy.cfg
  docker start img-check-haproxy >/dev/null
  wait_healthy img-check-haproxy 30
  docker exec img-check-redis redis-cli -h img-check-haproxy -p 16379 ping 2>&1 | grep -q NOAUTH \
    || img_die "check haproxy: no forward to redis ($(docker logs --tail 5 img-check-haproxy 2>&1))"
  img_log "check haproxy: healthy; forwards to Redis by name ($(docker exec img-check-haproxy haproxy -v | head -n 1))"
}

for name in "${images[@]}"; do
  case "$name" in
    redis) check_redis ;;
    ollama) check_ollama ;;
    litellm)
      docker inspect img-check-redis >/dev/null 2>&1 || check_redis
      docker inspect img-check-ollama >/dev/null 2>&1 || check_ollama
      check_litellm ;;
    open-webui) check_open_webui ;;
    haproxy) check_haproxy ;;
    *) img_die "unknown image '$name'" ;;
  esac
done
