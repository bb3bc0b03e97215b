#!/usr/bin/env bash
# Stop servers started by the peers/ start scripts, by the PIDs in their pid files.
# Each was started with setsid, so its whole process group (e.g. Ollama's runner
# children, LiteLLM's workers) is ended: TERM, then KILL after 10 s.
#
# Usage: peers/stop.sh PIDFILE...
set -uo pipefail
for f in "$@"; do
  [ -f "$f" ] || { echo "[peers] no pid file $f" >&2; continue; }
  pid="$(cat "$f")"
  case "$pid" in ''|*[!0-9]*) echo "[peers] bad pid in $f" >&2; continue ;; esac
  if kill -0 "$pid" 2>/dev/null; then
    kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
    if kill -0 "$pid" 2>/dev/null; then
      kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null
    fi
    echo "[peers] stopped $pid ($f)" >&2
  fi
  rm -f "$f"
done
