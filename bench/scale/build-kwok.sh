#!/usr/bin/env bash
# Builds kwok (sigs.k8s.io/kwok) at $KWOK_VERSION from the Go module proxy into the memlens cache,
# with the module's stock stages beside it: a second run builds nothing (~2 min cold on 2 cores).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
source "$here/../../cluster/versions.sh"
KWOK_VERSION=${KWOK_VERSION:-v0.8.0}
dir=$(memlens_cache_dir)/kwok-$KWOK_VERSION
log() { echo "[kwok $(date +%H:%M:%S)] $*"; }
if [ -x "$dir/bin/kwok" ] && [ -d "$dir/stage" ]; then exit 0; fi
mkdir -p "$dir/bin"
log "building sigs.k8s.io/kwok/cmd/kwok@$KWOK_VERSION (~2 min cold; cached in $dir)"
start=$(date +%s)
GOBIN="$dir/bin.tmp" go install -trimpath -ldflags "-s -w" "sigs.k8s.io/kwok/cmd/kwok@$KWOK_VERSION"
mv "$dir/bin.tmp/kwok" "$dir/bin/kwok" && rmdir "$dir/bin.tmp"
# the stock stages ship in the module, not in the binary
src=$(go env GOMODCACHE)/sigs.k8s.io/kwok@$KWOK_VERSION/kustomize/stage
rm -rf "$dir/stage.tmp" && cp -r "$src" "$dir/stage.tmp" && chmod -R u+w "$dir/stage.tmp"
mv "$dir/stage.tmp" "$dir/stage"
log "built kwok in $(( $(date +%s) - start ))s"
