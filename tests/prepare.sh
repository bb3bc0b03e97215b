#!/usr/bin/env bash
# Before the real-software suites (npm run test:peers and npm run test:e2e both run it first): what they use,
# made from nothing on a new machine and reused from ~/.cache on a warm one.
#   1. Debian's packages, in one apt-get: peers/install.sh's, debootstrap (images/build.sh makes its base file
#      system with it), chromium (the browser suites drive it; no browser is ever downloaded), libnss3-tools
#      (certutil: the remote-access suite's browser trusts the stack's CA through an NSS database) and haproxy
#      (the benchmark's door in front of the real router);
#   2. at the same time, since the first is mostly compiling and the second mostly downloading:
#      - peers/install.sh venvs ollama: the LiteLLM and gguf venvs, Ollama built from its Go module;
#      - images/build.sh for litellm, open-webui, redis and haproxy (the door), pushed to the images' local registry;
#   3. images/build.sh ollama, which copies in the binary of 2;
#   4. every stack image present in the local engine: the peers suite runs them as they are, and the e2e suite
#      removes its copies itself to prove its pulls.
# Prints one line per phase with its time; a failed phase prints its log's last lines. The registry is stopped
# at the end: the e2e suite starts it again itself.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
registry="${AIGW_IMAGES_REGISTRY:-127.0.0.1:5050}"
logs="${TMPDIR:-/tmp}/aigw-prepare"
mkdir -p "$logs"
[ -x /usr/local/go/bin/go ] && export PATH="$PATH:/usr/local/go/bin"
source images/lib.sh

log() { echo "[prepare] $*" >&2; }

# run NAME CMD...: CMD with its output in $logs/NAME.log; prints its time, or its log's end and fails.
run() {
  local name="$1" start=$SECONDS; shift
  if ! "$@" >"$logs/$name.log" 2>&1; then
    tail -20 "$logs/$name.log" >&2
    log "$name failed after $((SECONDS - start))s (log: $logs/$name.log)"
    return 1
  fi
  log "$name: $((SECONDS - start))s"
  # The timed steps of peers/install.sh and images/build.sh, indented under their phase.
  grep -E '^\[(peers|images)\] .*[0-9]s\b' "$logs/$name.log" | sed 's/^/[prepare]   /' >&2 || true
}

run apt env AIGW_EXTRA_APT_PKGS="debootstrap chromium libnss3-tools haproxy" bash peers/install.sh apt

bash images/registry.sh start "$registry" >/dev/null
trap 'bash images/registry.sh stop >/dev/null 2>&1 || true' EXIT

run peers bash peers/install.sh venvs ollama &
peers=$!
run images bash images/build.sh "$registry" litellm open-webui redis haproxy &
images=$!
failed=0
wait "$peers" || failed=1
wait "$images" || failed=1
[ "$failed" -eq 0 ] || exit 1

run ollama-image bash images/build.sh "$registry" ollama

pull_missing() {
  local ref
  for ref in "ollama:$AIGW_OLLAMA_VERSION" "litellm:$AIGW_LITELLM_VERSION" \
    "open-webui:$AIGW_OPEN_WEBUI_VERSION" "redis:$AIGW_REDIS_VERSION" "haproxy:$AIGW_HAPROXY_VERSION"; do
    ref="$registry/$AIGW_IMAGE_PREFIX/$ref"
    docker image inspect "$ref" >/dev/null 2>&1 || docker pull -q "$ref"
  done
}
run local-images pull_missing
