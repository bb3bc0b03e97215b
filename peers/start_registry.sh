#!/usr/bin/env bash
# Start Debian's docker-registry (distribution v2, no auth, plain http) on loopback,
# with a config file written into STATE_DIR, and wait until GET /v2/ answers.
# Ollama pushes to / pulls from it with names "127.0.0.1:PORT/ns/model:tag" and insecure=true.
#
# Why a second server: Ollama 0.17.4 only downloads a blob after the registry answers
# GET /v2/<repo>/blobs/<digest> with a 307 redirect to ANOTHER host name (as ollama.com
# does, to its CDN). A registry that serves the blob itself (200) makes every pull fail
# with "http: no Location header in response" (ollama/ollama#7244, fix PRs #9737/#15512
# unmerged). So the registry uses distribution's "redirect" storage middleware, and a
# static server (busybox httpd, Range support) serves the storage folder at BLOB_ADDR.
#
# Usage: peers/start_registry.sh 127.0.0.1:PORT STATE_DIR [BLOB_ADDR]
#   BLOB_ADDR defaults to 127.0.0.2:PORT (127.0.0.3:PORT if the registry is on 127.0.0.2);
#   its host must differ from the registry's.
#   STATE_DIR gets config.yml, data/, registry.log, registry.pid, blobs.log, blobs.pid.
#   Prints the registry's PID, then the blob server's, one per line.
# Stop:  peers/stop.sh STATE_DIR/registry.pid STATE_DIR/blobs.pid
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
[ $# -ge 2 ] && [ $# -le 3 ] || aigw_die "usage: $0 127.0.0.1:PORT STATE_DIR [BLOB_ADDR]"
addr="$1"; state="$2"
if [ "${addr%:*}" = 127.0.0.2 ]; then blobs="${3:-127.0.0.3:${addr##*:}}"; else blobs="${3:-127.0.0.2:${addr##*:}}"; fi
aigw_check_loopback "$addr"
aigw_check_loopback "$blobs"
[ "${addr%:*}" != "${blobs%:*}" ] || aigw_die "BLOB_ADDR host must differ from the registry's"
command -v busybox >/dev/null || aigw_die "busybox missing: run peers/install.sh"
[ -x "$AIGW_REGISTRY_BIN" ] || aigw_die "$AIGW_REGISTRY_BIN missing: run peers/install.sh"
mkdir -p "$state/data"
state="$(cd "$state" && pwd)"

cat >"$state/config.yml" <<EOF
version: 0.1
log:
  level: info
  accesslog:
    disabled: false
storage:
  filesystem:
    rootdirectory: $state/data
  delete:
    enabled: true
  maintenance:
    uploadpurging:
      enabled: false
middleware:
  storage:
    - name: redirect
      options:
        baseurl: http://$blobs
http:
  addr: $addr
  secret: aigw-test-only-not-secret
EOF

t=$(aigw_now)
setsid busybox httpd -f -v -p "$blobs" -h "$state/data" >"$state/blobs.log" 2>&1 </dev/null &
echo $! >"$state/blobs.pid"
setsid "$AIGW_REGISTRY_BIN" serve "$state/config.yml" >"$state/registry.log" 2>&1 </dev/null &
pid=$!
echo "$pid" >"$state/registry.pid"
aigw_wait_http "http://$addr/v2/" "${AIGW_START_TIMEOUT:-30}" "$pid" \
  || { tail -20 "$state/registry.log" >&2; exit 1; }
kill -0 "$(cat "$state/blobs.pid")" 2>/dev/null || { cat "$state/blobs.log" >&2; aigw_die "blob server failed"; }
aigw_log "docker-registry up on $addr (pid $pid), blobs via $blobs (pid $(cat "$state/blobs.pid")) in $(aigw_since "$t")s"
echo "$pid"
cat "$state/blobs.pid"
