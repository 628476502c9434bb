#!/usr/bin/env bash
# Builds the local cluster's binaries (Kubernetes at $K8S_VERSION, etcd at $ETCD_VERSION) from the
# upstream Go modules, version-stamped, into a cache keyed by version: a second run builds nothing.
# The first run takes ~15 min on 2 cores; progress is printed, one line per step.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
source "$here/versions.sh"
bin=$(memlens_bin_dir)
mkdir -p "$bin"
log() { echo "[build $(date +%H:%M:%S)] $*"; }

k8s_cmds=(kube-apiserver kube-controller-manager kube-scheduler kubelet kubectl)
missing=()
for c in "${k8s_cmds[@]}"; do [ -x "$bin/$c" ] || missing+=("$c"); done
if [ ${#missing[@]} -gt 0 ]; then
  log "building Kubernetes $K8S_VERSION: ${missing[*]} (cold: ~15 min on 2 cores; cached in $bin afterwards)"
  minor=${K8S_VERSION#v1.}; minor=${minor%%.*}
  ldflags="-s -w -X k8s.io/component-base/version.gitVersion=$K8S_VERSION -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=$minor -X k8s.io/component-base/version.gitTreeState=clean"
  cd "$here/k8s"
  log "downloading modules"
  go mod download
  for c in "${missing[@]}"; do
    start=$(date +%s)
    log "go build $c ..."
    # a heartbeat, so a long cold compile is never silent
    ( while sleep 60; do log "  still compiling $c ($(( $(date +%s) - start ))s)"; done ) &
    beat=$!
    if ! go build -trimpath -ldflags "$ldflags" -o "$bin/$c.tmp" "k8s.io/kubernetes/cmd/$c"; then
      kill $beat 2>/dev/null; log "building $c failed"; exit 1
    fi
    kill $beat 2>/dev/null || true
    mv "$bin/$c.tmp" "$bin/$c"
    log "built $c in $(( $(date +%s) - start ))s"
  done
fi
if [ ! -x "$bin/etcd" ]; then
  start=$(date +%s)
  log "building etcd $ETCD_VERSION"
  cd "$here/etcd"
  go build -trimpath -ldflags "-s -w" -o "$bin/etcd.tmp" .
  mv "$bin/etcd.tmp" "$bin/etcd"
  log "built etcd in $(( $(date +%s) - start ))s"
fi
log "binaries ready in $bin"
