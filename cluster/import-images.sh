#!/usr/bin/env bash
# Imports the image archives of .memlens/images into the running local cluster's containerd.
set -euo pipefail
source "$(dirname "$0")/env.sh"
[ -S "$STATE/containerd.sock" ] || { log "the local cluster is not running: images will be imported by 'make cluster-up'"; exit 0; }
for img in "$MEMLENS_DIR"/images/*.tar; do ctr -a "$STATE/containerd.sock" -n k8s.io images import "$img" >/dev/null; done
log "imported $(ls "$MEMLENS_DIR"/images/*.tar | xargs -n1 basename | tr '\n' ' ')into the local cluster"
