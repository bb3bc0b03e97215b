#!/usr/bin/env bash
# The control plane's tools for the Kubernetes suite, made once and printed: ../shared/kubernetes's (its install.sh, into
# a folder of our own through AIGW_KUBE_DIR) with etcd 3.5 built from etcd's Go module (tests/k8s/etcd) in place of
# Debian's 3.4.23.
#
# Why: kwok's client asks the 1.34 API server for watch-list streams, which it serves only on an etcd that has
# RequestWatchProgress (3.5.13+, 3.4.31+). On 3.4.23 each of kwok's watches ends at once with an error, so kwok sees a
# pod only when it lists again, 30-60 s apart once its back-off has grown: a pull Job, which kwok must look at twice
# (Running, then Succeeded), held `up` for up to two minutes. With 3.5 kwok watches, and a Job completes in about 1 s.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
shared="${AIGW_KUBE_SHARED:-$here/../../../../shared/kubernetes}"
etcd_version="$(sed -n 's#^require go.etcd.io/etcd/server/v3 v##p' "$here/../etcd/go.mod")"
export AIGW_KUBE_DIR="${AIGW_KUBE_DIR:-$HOME/.cache/ai-gateway-kubernetes-1.34.4-etcd-$etcd_version}"
if [ ! -f "$AIGW_KUBE_DIR/.etcd-$etcd_version" ]; then
  bash "$shared/install.sh" >/dev/null
  [ -x /usr/local/go/bin/go ] && export PATH="$PATH:/usr/local/go/bin"
  (cd "$here/../etcd" && go build -trimpath -o "$AIGW_KUBE_DIR/etcd" .) >&2
  touch "$AIGW_KUBE_DIR/.etcd-$etcd_version"
fi
echo "$AIGW_KUBE_DIR"
