#!/usr/bin/env bash
# Install the real services the harness runs on loopback: Ollama (built from
# its Go module at the pinned tag, CPU only), the LiteLLM proxy (PyPI, venv),
# gguf+numpy (venv, for make_tiny_model.py) and Debian's docker-registry.
#
# Usage: peers/install.sh [PART...]  (idempotent; unattended; safe under CI=true)
#   PART: apt, venvs, ollama (default: all three, in that order). tests/prepare.sh runs apt first, then
#   venvs and ollama while the images build. AIGW_EXTRA_APT_PKGS adds Debian packages to the apt part, so
#   that a fresh machine runs apt-get once.
# Cache: ${AIGW_PEERS_CACHE:-$HOME/.cache/ai-gateway-peers}, keyed by version;
#        a finished part has a .complete stamp and is reused as is.
# Needs: root or sudo-less apt-get for the Debian packages, Go >= 1.24 on PATH
#        (or GOTOOLCHAIN=auto fetches one from the Go module proxy), python3.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
export DEBIAN_FRONTEND=noninteractive PIP_NO_INPUT=1 PIP_DISABLE_PIP_VERSION_CHECK=1

parts=("$@")
[ ${#parts[@]} -gt 0 ] || parts=(apt venvs ollama)
for part in "${parts[@]}"; do
  case "$part" in apt | venvs | ollama) ;; *) aigw_die "unknown part '$part' (allowed: apt, venvs, ollama)" ;; esac
done
wanted() { [[ " ${parts[*]} " == *" $1 "* ]]; }

T_ALL=$(aigw_now)
mkdir -p "$AIGW_PEERS_CACHE"
exec 9>"$AIGW_PEERS_CACHE/.install.lock"
flock 9   # two installs at once (parallel CI jobs) take turns
aigw_log "cache: $AIGW_PEERS_CACHE (${parts[*]})"

# ---- 1. Debian packages --------------------------------------------------
# build-essential: cgo (gcc/g++); nlohmann-json3-dev + libstb-dev: headers that
# Ollama's llama.cpp vendors under a "vendor" folder, which Go module zips omit;
# docker-registry: distribution v2 registry; busybox (httpd) serves its blobs;
# python3-venv for Debian's python3; redis-server (with redis-cli): the state router
# replicas share (the tests start their own server; the system service is never used).
if wanted apt; then
  APT_PKGS=(ca-certificates curl build-essential nlohmann-json3-dev libstb-dev docker-registry python3-venv redis-server)
  command -v busybox >/dev/null || APT_PKGS+=(busybox-static)
  # shellcheck disable=SC2206 # a space-separated list of package names
  APT_PKGS+=(${AIGW_EXTRA_APT_PKGS:-})
  missing=()
  for p in "${APT_PKGS[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    t=$(aigw_now)
    SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo -n"
    aigw_log "apt-get install ${missing[*]}"
    if ! $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}" >/tmp/aigw-apt.log 2>&1; then
      aigw_log "apt-get install failed; running apt-get update and retrying"
      $SUDO apt-get update -q >>/tmp/aigw-apt.log 2>&1
      $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}" >>/tmp/aigw-apt.log 2>&1 \
        || { tail -20 /tmp/aigw-apt.log >&2; aigw_die "apt-get install failed (log: /tmp/aigw-apt.log)"; }
    fi
    # The package's postinst tries to start a system-wide registry on :5000;
    # in containers policy-rc.d usually denies it. We never use that instance.
    aigw_log "apt packages installed in $(aigw_since "$t")s"
  else
    aigw_log "apt packages already present"
  fi
fi

# ---- 2. Python venvs ---------------------------------------------------------
make_venv() { # DIR PIP-ARGS...
  local dir="$1"; shift
  if [ -f "$dir/.complete" ]; then aigw_log "venv $(basename "$dir"): cached"; return; fi
  local t; t=$(aigw_now)
  rm -rf "$dir"
  python3 -m venv "$dir"
  "$dir/bin/pip" install -q --upgrade pip
  "$dir/bin/pip" install -q "$@"
  touch "$dir/.complete"
  aigw_log "venv $(basename "$dir") installed in $(aigw_since "$t")s"
}
if wanted venvs; then
  make_venv "$AIGW_LITELLM_VENV" "litellm[proxy]==$AIGW_LITELLM_VERSION"
  make_venv "$AIGW_GGUF_VENV" "gguf==$AIGW_GGUF_VERSION" "numpy==$AIGW_NUMPY_VERSION"
fi

# ---- 3. Ollama -------------------------------------------------------------
# Ollama 0.17.4's docs/development.md: `go run . serve` on Linux with Go and a C
# compiler; the CPU backend (ggml-cpu) and llama.cpp are compiled in by cgo.
# cmake is only for GPU/extra CPU-variant libraries, not needed here.
# The Go module zip drops llama/llama.cpp/vendor (nlohmann json, stb_image,
# miniaudio); Debian supplies the first two, PyPI's miniaudio sdist the third.
if ! wanted ollama; then
  :
elif [ -f "$AIGW_OLLAMA_HOME/.complete" ] && [ -x "$AIGW_OLLAMA_BIN" ]; then
  aigw_log "ollama $AIGW_OLLAMA_VERSION: cached ($AIGW_OLLAMA_BIN)"
else
  command -v go >/dev/null || aigw_die "go not found on PATH (Go >= 1.24 needed to build Ollama)"
  t=$(aigw_now)
  stage="$AIGW_PEERS_CACHE/.build-ollama-$AIGW_OLLAMA_VERSION"
  rm -rf "$stage"; mkdir -p "$stage/bin" "$stage/vendor-include/miniaudio"

  aigw_log "fetching miniaudio.h from PyPI sdist miniaudio==$AIGW_MINIAUDIO_SDIST_VERSION"
  dl="$stage/dl"; mkdir -p "$dl"
  "$AIGW_GGUF_VENV/bin/pip" download -q --no-deps --no-binary :all: -d "$dl" "miniaudio==$AIGW_MINIAUDIO_SDIST_VERSION"
  tar -xzf "$dl"/miniaudio-*.tar.gz -C "$dl" --wildcards '*/miniaudio/miniaudio.h'
  cp "$dl"/miniaudio-*/miniaudio/miniaudio.h "$stage/vendor-include/miniaudio/"
  rm -rf "$dl"

  aigw_log "go install github.com/ollama/ollama@v$AIGW_OLLAMA_VERSION (cgo, CPU only; 8-12 min measured on 2 busy cores with a cold Go build cache)"
  export GOTOOLCHAIN="${GOTOOLCHAIN:-auto}"
  GOBIN="$stage/bin" CGO_ENABLED=1 CGO_CPPFLAGS="-I$stage/vendor-include ${CGO_CPPFLAGS:-}" \
    go install -trimpath \
      -ldflags "-w -s -X=github.com/ollama/ollama/version.Version=$AIGW_OLLAMA_VERSION -X=github.com/ollama/ollama/server.mode=release" \
      "github.com/ollama/ollama@v$AIGW_OLLAMA_VERSION"
  rm -rf "$stage/vendor-include"
  rm -rf "$AIGW_OLLAMA_HOME"; mv "$stage" "$AIGW_OLLAMA_HOME"
  echo "$AIGW_OLLAMA_VERSION" > "$AIGW_OLLAMA_HOME/.complete"
  aigw_log "ollama $AIGW_OLLAMA_VERSION built in $(aigw_since "$t")s"
fi
if wanted ollama; then
  ver_out="$("$AIGW_OLLAMA_BIN" --version 2>&1 || true)"
  [[ "$ver_out" == *"$AIGW_OLLAMA_VERSION"* ]] \
    || aigw_die "$AIGW_OLLAMA_BIN does not report version $AIGW_OLLAMA_VERSION"
  aigw_log "ollama:   $AIGW_OLLAMA_BIN"
fi
if wanted venvs; then
  "$AIGW_LITELLM_VENV/bin/python" -c "import importlib.metadata as m; v=m.version('litellm'); assert v=='$AIGW_LITELLM_VERSION', v"
  aigw_log "litellm:  $AIGW_LITELLM_BIN"
  aigw_log "gguf py:  $AIGW_GGUF_PY"
fi
if wanted apt; then
  [ -x "$AIGW_REGISTRY_BIN" ] || aigw_die "$AIGW_REGISTRY_BIN missing"
  aigw_log "registry: $AIGW_REGISTRY_BIN ($(dpkg-query -W -f='${Version}' docker-registry))"
fi
aigw_log "cache size: $(du -sh "$AIGW_PEERS_CACHE" | cut -f1)"
aigw_log "install.sh (${parts[*]}) done in $(aigw_since "$T_ALL")s"
