#!/usr/bin/env bash
# Build the stack's images from the real software at the pinned versions and push
# them to a registry, for hosts that cannot pull from the internet.
#
# Usage: images/build.sh REGISTRY [IMAGE...]
#   REGISTRY  host:port of a registry the Docker engine can push to (plain http on
#             127.0.0.0/8, e.g. the one images/registry.sh starts); or $AIGW_IMAGES_REGISTRY.
#   IMAGE     ollama, litellm, open-webui, redis, haproxy (default: all five).
# Pushes REGISTRY/ai-gateway/<image>:<version> and the same with -<inputs hash>.
#
# Cached: an image's inputs (its recipe folder, the version, the base root file
# system, the Ollama binary, python-build for the Python images) give a hash, carried as
# a label and a tag; an image whose hash is already in the registry, or in the local
# engine, is not built again.
# Idempotent and unattended; a failure ends with one line naming the phase and its log.
# Cache (debootstrap tarball, wheels, logs): ${AIGW_IMAGES_CACHE:-~/.cache/ai-gateway-images}.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
trap 'img_die "line $LINENO failed: $BASH_COMMAND"' ERR

ALL_IMAGES=(ollama litellm open-webui redis haproxy)
registry="${1:-${AIGW_IMAGES_REGISTRY:-}}"
[ -n "$registry" ] || img_die "usage: $0 REGISTRY [${ALL_IMAGES[*]}] (or set AIGW_IMAGES_REGISTRY)"
shift || true
images=("$@")
[ ${#images[@]} -gt 0 ] || images=("${ALL_IMAGES[@]}")
for name in "${images[@]}"; do
  case " ${ALL_IMAGES[*]} " in *" $name "*) ;; *) img_die "unknown image '$name' (allowed: ${ALL_IMAGES[*]})" ;; esac
done

export DOCKER_BUILDKIT=0   # Debian's docker.io has no buildx: the classic builder
LOGS="$AIGW_IMAGES_CACHE/logs"
mkdir -p "$LOGS"
exec 9>"$AIGW_IMAGES_CACHE/.build.lock"
flock 9   # two builds at once take turns

docker info >/dev/null 2>&1 || img_die "the Docker engine does not answer (docker info)"
curl -fs -o /dev/null --max-time 5 "http://$registry/v2/" \
  || img_die "no registry answers at http://$registry/v2/ (start one: images/registry.sh start $registry)"

# run LOG PHASE CMD...: CMD's output goes to LOG; on failure, one line and the log's last line.
run() {
  local log="$1" phase="$2"; shift 2
  if ! "$@" >>"$log" 2>&1; then
    img_die "$phase failed: $(tail -n 1 "$log") (full log: $log)"
  fi
}

since() { echo $(( $(date +%s) - $1 )); }

# ---- base: debootstrap minbase, imported once ---------------------------------------
# The tarball is the cache; its sha identifies the base in every image's inputs.
base_image() {
  local t log="$LOGS/base.log" rootfs sha tag
  t=$(date +%s)
  if [ ! -f "$AIGW_BASE_TARBALL" ]; then
    : >"$log"
    command -v debootstrap >/dev/null || img_die "debootstrap missing (apt-get install debootstrap)"
    rootfs="$AIGW_IMAGES_CACHE/base/rootfs.tmp"
    rm -rf "$rootfs"; mkdir -p "$(dirname "$rootfs")"
    run "$log" "base: debootstrap" debootstrap --variant=minbase bookworm "$rootfs" http://deb.debian.org/debian
    # Updates and security fixes too; no recommends; no services started by package scripts.
    cat >"$rootfs/etc/apt/sources.list" <<'EOF'
deb http://deb.debian.org/debian bookworm main
deb http://deb.debian.org/debian bookworm-updates main
deb http://deb.debian.org/debian-security bookworm-security main
EOF
    # No package cache, docs or man pages in any layer (copyright files stay), as Debian's slim images do.
    cat >"$rootfs/etc/apt/apt.conf.d/90ai-gateway" <<'EOF'
APT::Install-Recommends "false";
APT::Install-Suggests "false";
Dir::Cache::pkgcache "";
Dir::Cache::srcpkgcache "";
DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb || true"; };
EOF
    cat >"$rootfs/etc/dpkg/dpkg.cfg.d/90ai-gateway" <<'EOF'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/info/*
path-exclude /usr/share/locale/*
path-include /usr/share/locale/locale.alias
EOF
    find "$rootfs/usr/share/doc" -mindepth 1 -not -name copyright -not -type d -delete
    rm -rf "$rootfs"/usr/share/man/* "$rootfs"/usr/share/info/*
    find "$rootfs/usr/share/locale" -mindepth 1 -maxdepth 1 -not -name locale.alias -exec rm -rf {} +
    # No service is started by a package's install script inside a build.
    printf '#!/bin/sh\nexit 101\n' >"$rootfs/usr/sbin/policy-rc.d"; chmod 755 "$rootfs/usr/sbin/policy-rc.d"
    rm -rf "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/cache/apt/*.bin "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/log/*.log
    tar --numeric-owner -C "$rootfs" -cf "$AIGW_BASE_TARBALL.tmp" .
    mv "$AIGW_BASE_TARBALL.tmp" "$AIGW_BASE_TARBALL"
    rm -rf "$rootfs"
    img_log "base: debootstrap in $(since "$t")s"
  fi
  sha=$(sha256sum "$AIGW_BASE_TARBALL" | cut -c1-64)
  tag="$AIGW_BASE_TAG-${sha:0:12}"
  if ! docker image inspect "$tag" >/dev/null 2>&1; then
    t=$(date +%s)
    run "$log" "base: docker import" docker import \
      --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
      --change 'ENV LANG=C.UTF-8' --change 'CMD ["bash"]' \
      "$AIGW_BASE_TARBALL" "$tag"
    img_log "base: imported in $(since "$t")s"
  else
    img_log "base: cached"
  fi
  BASE_SHA="$sha"
  BASE="$tag"
}

# inputs_hash NAME VERSION [EXTRA...]: what the image is made of, as one sha256.
inputs_hash() {
  local name="$1" version="$2"; shift 2
  {
    echo "image=$name version=$version base=$BASE_SHA"
    printf 'extra=%s\n' "$@"
    (cd "$AIGW_IMAGES_DIR/$name" && find . -type f -print0 | LC_ALL=C sort -z | xargs -0 sha256sum)
  } | sha256sum | cut -c1-64
}

# manifest_digest REPO:TAG: the registry's digest of that tag, empty when absent.
manifest_digest() {
  local repo="${1%:*}" tag="${1##*:}"
  curl -fsS --max-time 10 -I \
    -H 'Accept: application/vnd.docker.distribution.manifest.v2+json' \
    "http://$registry/v2/$repo/manifests/$tag" 2>/dev/null \
    | tr -d '\r' | awk -F': ' 'tolower($1)=="docker-content-digest"{print $2}' || true
}

# retag_in_registry REPO FROM_TAG TO_TAG: point TO_TAG at FROM_TAG's manifest, no pull.
retag_in_registry() {
  local repo="$1" manifest status
  manifest=$(mktemp)
  curl -fsS --max-time 30 -H 'Accept: application/vnd.docker.distribution.manifest.v2+json' \
    -o "$manifest" "http://$registry/v2/$repo/manifests/$2" \
    && curl -fsS --max-time 30 -X PUT -H 'Content-Type: application/vnd.docker.distribution.manifest.v2+json' \
      --data-binary "@$manifest" "http://$registry/v2/$repo/manifests/$3" >/dev/null
  status=$?
  rm -f "$manifest"
  return $status
}

# local_image NAME: an image only the build uses (not pushed), cached by its inputs.
local_image() {
  local name="$1" t hash tag log="$LOGS/$1.log"
  hash=$(inputs_hash "$name" local)
  tag="$AIGW_IMAGE_PREFIX/$name:${hash:0:12}"
  if docker image inspect "$tag" >/dev/null 2>&1; then
    img_log "$name: cached"
  else
    t=$(date +%s); : >"$log"
    run "$log" "$name: docker build" docker build --build-arg "BASE=$BASE" \
      --label "org.ai-gateway.inputs=$hash" -t "$tag" "$AIGW_IMAGES_DIR/$name"
    img_log "$name: built in $(since "$t")s"
  fi
  LOCAL_IMAGE="$tag"
}

# wheels NAME: the wheels of NAME/requirements.txt (the whole resolved set, see lock.py),
# downloaded (and built where PyPI has no wheel) by Debian's Python in a container, into a
# cache folder keyed by the file.
# The host's CA bundle is mounted so pip trusts what the host trusts.
wheels() {
  local name="$1" req="$AIGW_IMAGES_DIR/$1/requirements.txt" dir t log="$LOGS/$1-wheels.log" ca
  dir="$AIGW_IMAGES_CACHE/wheels/$name-$(sha256sum "$req" | cut -c1-12)"
  if [ -f "$dir/.complete" ]; then
    img_log "$name wheels: cached"
  else
    local_image python-build
    t=$(date +%s); : >"$log"
    rm -rf "$dir"; mkdir -p "$dir" "$AIGW_IMAGES_CACHE/pip"
    ca="${SSL_CERT_FILE:-/etc/ssl/certs/ca-certificates.crt}"
    local ca_mount=()
    [ -f "$ca" ] && ca_mount=(-v "$ca:/etc/ssl/certs/host-ca.crt:ro" -e PIP_CERT=/etc/ssl/certs/host-ca.crt)
    run "$log" "$name wheels: pip wheel" docker run --rm --init "${ca_mount[@]}" \
      -e PIP_DISABLE_PIP_VERSION_CHECK=1 -e PIP_NO_INPUT=1 -e PIP_DEFAULT_TIMEOUT=120 \
      -v "$AIGW_IMAGES_CACHE/pip:/root/.cache/pip" -v "$dir:/wheels" -v "$req:/build/requirements.txt:ro" \
      "$LOCAL_IMAGE" pip wheel --no-deps --wheel-dir /wheels -r /build/requirements.txt
    touch "$dir/.complete"
    img_log "$name wheels: $(find "$dir" -name '*.whl' | wc -l) wheels, $(du -sh "$dir" | cut -f1), in $(since "$t")s"
  fi
  WHEELS="$dir"
}

# image NAME VERSION: make REGISTRY/ai-gateway/NAME:VERSION current.
image() {
  local name="$1" version="$2" extra=() ctx hash ref href t log="$LOGS/$1.log" digest
  case "$name" in
    ollama)
      [ -x "$AIGW_OLLAMA_BIN" ] || img_die "ollama: $AIGW_OLLAMA_BIN missing (run peers/install.sh first)"
      extra=("ollama-bin=$(sha256sum "$AIGW_OLLAMA_BIN" | cut -c1-64)") ;;
    litellm | open-webui)
      # Their venv is made in the python-build stage.
      extra=("python-build=$(inputs_hash python-build local)") ;;
  esac
  hash=$(inputs_hash "$name" "$version" "${extra[@]}")
  ref="$AIGW_IMAGE_PREFIX/$name:$version"
  href="$ref-${hash:0:12}"

  digest=$(manifest_digest "$href")
  if [ -n "$digest" ]; then
    if [ "$(manifest_digest "$ref")" != "$digest" ]; then
      run "$log" "$name: retag in registry" retag_in_registry "${ref%:*}" "${href##*:}" "$version"
    fi
    img_log "$name: cached ($registry/$ref)"
    return
  fi

  if docker image inspect "$registry/$href" >/dev/null 2>&1; then
    img_log "$name: cached locally"
  else
    : >"$log"
    ctx="$AIGW_IMAGES_CACHE/context/$name"
    rm -rf "$ctx"; mkdir -p "$ctx"
    cp -a "$AIGW_IMAGES_DIR/$name/." "$ctx/"
    local args=(--build-arg "BASE=$BASE" --build-arg "VERSION=$version")
    case "$name" in
      ollama) cp "$AIGW_OLLAMA_BIN" "$ctx/ollama" ;;
      litellm | open-webui)
        wheels "$name"
        cp -al "$WHEELS" "$ctx/wheels"
        local_image python-build
        args+=(--build-arg "PYTHON_BUILD=$LOCAL_IMAGE") ;;
    esac
    t=$(date +%s)
    run "$log" "$name: docker build" docker build "${args[@]}" \
      --label "org.ai-gateway.inputs=$hash" --label "org.opencontainers.image.version=$version" \
      -t "$registry/$href" -t "$registry/$ref" "$ctx"
    rm -rf "$ctx"
    img_log "$name: built in $(since "$t")s ($(docker image inspect -f '{{.Size}}' "$registry/$href" | awk '{printf "%.0f MB", $1/1e6}'))"
  fi
  t=$(date +%s)
  run "$log" "$name: docker push" docker push "$registry/$href"
  # The version tag is set in the registry itself: it needs no local tag, which others may remove.
  run "$log" "$name: tag $version in registry" retag_in_registry "${ref%:*}" "${href##*:}" "$version"
  img_log "$name: pushed in $(since "$t")s ($registry/$ref)"
}

T_ALL=$(date +%s)
base_image
for name in "${images[@]}"; do
  case "$name" in
    ollama) image ollama "$AIGW_OLLAMA_VERSION" ;;
    litellm) image litellm "$AIGW_LITELLM_VERSION" ;;
    open-webui) image open-webui "$AIGW_OPEN_WEBUI_VERSION" ;;
    redis) image redis "$AIGW_REDIS_VERSION" ;;
    haproxy) image haproxy "$AIGW_HAPROXY_VERSION" ;;
  esac
done
img_log "done in $(since "$T_ALL")s"
