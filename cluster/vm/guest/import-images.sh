#!/bin/bash
# Imports the node's images ($IMAGES of node.env) from the 9p share of .memlens/images into
# containerd. v2/NAME.tar, where there is one, leaves out the layers this disk holds already
# (cluster/images.sh): containerd's import hashes every blob it is given, ~10 MB/s emulated.
set -euo pipefail
source /mnt/memlens/node.env
for img in $IMAGES; do
  archive=/mnt/images/v2/$img.tar
  [ -f "$archive" ] || archive=/mnt/images/$img.tar
  ctr -n k8s.io images import "$archive" >/dev/null
done
