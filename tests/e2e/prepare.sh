#!/usr/bin/env bash
# Before the e2e suite (npm run test:e2e): the real software the stack is built from, cached.
#   1. peers/install.sh: Debian's docker-registry, the LiteLLM venv, Ollama built from its Go module (the
#      Ollama image copies that binary in; the tiny models are made and pushed with it);
#   2. images/build.sh: the stack's images, built from the pinned software and pushed to the images' local
#      registry (the stack's images.* keys point there), rebuilt only when their inputs change;
#   and Debian's debootstrap and chromium when missing.
# Prints one line per phase with its time. The suite starts the registry again itself and stops it at the end.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
registry="${AIGW_IMAGES_REGISTRY:-127.0.0.1:5050}"
[ -x /usr/local/go/bin/go ] && export PATH="$PATH:/usr/local/go/bin"

t=$(date +%s)
bash peers/install.sh 2>/tmp/aigw-e2e-peers-install.log \
  || { tail -20 /tmp/aigw-e2e-peers-install.log >&2; echo "[e2e] peers/install.sh failed" >&2; exit 1; }
echo "[e2e] peers/install.sh: $(( $(date +%s) - t ))s" >&2

# Debian's packages the suites need, installed when missing: debootstrap (images/build.sh makes its base file
# system with it) and chromium (the browser suite drives it; no browser is ever downloaded).
for package in debootstrap chromium; do
  command -v "$package" >/dev/null && continue
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo -n"
  { $SUDO apt-get install -y -q --no-install-recommends "$package" \
    || { $SUDO apt-get update -q && $SUDO apt-get install -y -q --no-install-recommends "$package"; }; } >/tmp/aigw-e2e-apt.log 2>&1 \
    || { tail -20 /tmp/aigw-e2e-apt.log >&2; echo "[e2e] apt-get install $package failed" >&2; exit 1; }
done

bash images/registry.sh start "$registry" >/dev/null
trap 'bash images/registry.sh stop >/dev/null 2>&1 || true' EXIT
t=$(date +%s)
bash images/build.sh "$registry"
echo "[e2e] images/build.sh: $(( $(date +%s) - t ))s" >&2
