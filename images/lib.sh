# Sourced by the images/ scripts: pinned versions, cache layout, small helpers.
# Ollama and LiteLLM pins come from peers/common.sh (the same versions the tests run);
# Open WebUI's is the tag of config/serviceKeys.ts's default image. Redis comes from
# Debian bookworm, whose version the image tag carries.
source "$(dirname "${BASH_SOURCE[0]}")/../peers/common.sh"
AIGW_OPEN_WEBUI_VERSION=0.12.4
# The Redis image is tagged with bookworm's redis-server version; its build checks the package still is.
AIGW_REDIS_VERSION=7.0.15
# The door's HAProxy likewise: bookworm's haproxy (2.6 LTS), the version of config/serviceKeys.ts's default image.
AIGW_HAPROXY_VERSION=2.6.12

AIGW_IMAGES_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
AIGW_IMAGES_CACHE="${AIGW_IMAGES_CACHE:-$HOME/.cache/ai-gateway-images}"
AIGW_IMAGE_PREFIX="${AIGW_IMAGE_PREFIX:-ai-gateway}"
AIGW_BASE_TAG="$AIGW_IMAGE_PREFIX/debian-minbase:bookworm"
AIGW_BASE_TARBALL="$AIGW_IMAGES_CACHE/base/bookworm-minbase.tar"

img_log() { echo "[images] $*" >&2; }
img_die() { echo "[images] ERROR: $*" >&2; exit 1; }
