#!/usr/bin/env bash
# Imports the image archives of .memlens/images into the running local cluster: every image into
# memlens-node's containerd, the images in $V2_IMAGES into memlens-node-v2's (it reads them from
# its 9p share of .memlens/images).
set -euo pipefail
source "$(dirname "$0")/env.sh"
[ -S "$STATE/containerd.sock" ] || { log "the local cluster is not running: images will be imported by 'make cluster-up'"; exit 0; }
for img in "$MEMLENS_DIR"/images/*.tar; do ctr -a "$STATE/containerd.sock" -n k8s.io images import "$img" >/dev/null; done
log "imported $(ls "$MEMLENS_DIR"/images/*.tar | xargs -n1 basename | tr '\n' ' ')into $NODE_NAME"
if "$CLUSTER_DIR/vm.sh" status >/dev/null 2>&1; then
  "$CLUSTER_DIR/vm.sh" run 'bash /mnt/memlens/guest/import-images.sh'

  log "imported $V2_IMAGES into $V2_NODE_NAME"
fi
