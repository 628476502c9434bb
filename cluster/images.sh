#!/usr/bin/env bash
# Builds the local images as OCI archives in .memlens/images/ (no registry, no Docker):
#   localhost/memlens/pause:dev    the sandbox process (static C)
#   localhost/memlens/stress:dev   the stress test workload (static C)
#   localhost/memlens/memlens:dev  Node.js + the built memlens (run `npm run build` first)
#   localhost/memlens/catalog:dev  the leaking Go demo service of examples/catalog (static Go)
#   localhost/memlens/node-leak:dev the leaking Node.js demo service of examples/node-leak
#   localhost/memlens/node-runtime:dev  Node.js alone: the first layer of the two Node.js images,
#                                  which the cgroup v2 node's disk image carries (cluster/vm/image.sh);
#                                  v2/memlens.tar is the memlens image without it, for that node
# If the local cluster is up, the archives are imported into its containerd.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(dirname "$here")
source "$here/images/oci.sh"
out=$repo/.memlens/images
mkdir -p "$out"
log() { echo "[images $(date +%H:%M:%S)] $*"; }
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT

# A fixed non-root user for every image (65532, as distroless images use).
passwd_files() {
  mkdir -p "$1/etc"
  echo "root:x:0:0:root:/root:/sbin/nologin" >"$1/etc/passwd"
  echo "nonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin" >>"$1/etc/passwd"
  printf 'root:x:0:\nnonroot:x:65532:\n' >"$1/etc/group"
  mkdir -p "$1/tmp" && chmod 1777 "$1/tmp"
}

static_image() { # NAME SOURCE.c
  local name=$1 src=$2 root=$stage/$1
  mkdir -p "$root"
  passwd_files "$root"
  gcc -static -O2 -Wall -o "$root/$name" "$here/images/$src"
  oci_archive "localhost/memlens/$name:dev" "$out/$name.tar" \
    "{\"Entrypoint\":[\"/$name\"],\"User\":\"65532:65532\",\"Env\":[\"PATH=/usr/bin:/bin\"]}" "$root"
  log "built localhost/memlens/$name:dev"
}

# The first layer of the Node.js images: this machine's Node.js in usr/bin/node, with the shared
# libraries it links against at the paths the loader expects, and an empty /app.
runtime=$stage/node-runtime
node_runtime() {
  local node lib
  node=$(readlink -f "$(command -v node)")
  mkdir -p "$runtime/usr/bin" "$runtime/app"
  passwd_files "$runtime"
  cp "$node" "$runtime/usr/bin/node"
  for lib in $(ldd "$node" | grep -oE '/[^ ]+'); do
    mkdir -p "$runtime$(dirname "$lib")"
    cp -L "$lib" "$runtime$lib"
  done
  oci_archive "localhost/memlens/node-runtime:dev" "$out/node-runtime.tar" '{"User":"65532:65532","Env":["PATH=/usr/bin:/bin"]}' "$runtime"
  runtime_layer=$OCI_LAYERS
}

memlens_image() {
  local root=$stage/memlens
  [ -f "$repo/dist/src/cli/main.js" ] || { log "dist/ is missing: run 'npm run build' first"; exit 1; }
  mkdir -p "$root/app"
  cp -r "$repo/dist" "$repo/package.json" "$repo/package-lock.json" "$root/app/"
  rm -rf "$root/app/dist/test" "$root/app/dist/bench"
  # without the optional @kubernetes/client-node: in a pod memlens reads its ServiceAccount itself
  (cd "$root/app" && npm ci --omit=dev --omit=optional --ignore-scripts --no-audit --no-fund --loglevel=error >/dev/null)
  oci_archive "localhost/memlens/memlens:dev" "$out/memlens.tar" \
    '{"Entrypoint":["/usr/bin/node","/app/dist/src/cli/main.js"],"User":"65532:65532","WorkingDir":"/app","Env":["PATH=/usr/bin:/bin","NODE_ENV=production"]}' \
    "$runtime" "$root"
  oci_without_layers "$out/memlens.tar" "$out/v2/memlens.tar" "$runtime_layer"
  log "built localhost/memlens/memlens:dev ($(du -sh "$out/memlens.tar" | cut -f1), $(du -sh "$out/v2/memlens.tar" | cut -f1) without the Node.js layer)"
}

# examples/catalog: a static Go binary (the build cache makes rebuilds take a second).
catalog_image() {
  local root=$stage/catalog
  mkdir -p "$root"
  passwd_files "$root"
  (cd "$repo/examples/catalog" && CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o "$root/catalog" .)
  oci_archive "localhost/memlens/catalog:dev" "$out/catalog.tar" \
    '{"Entrypoint":["/catalog"],"User":"65532:65532","Env":["PATH=/usr/bin:/bin"]}' "$root"
  log "built localhost/memlens/catalog:dev ($(du -sh "$out/catalog.tar" | cut -f1))"
}

# examples/node-leak: Node.js laid out as in memlens_image, with only this platform's pprof addon.
node_leak_image() {
  local root=$stage/node-leak abi
  abi=$(node -p process.versions.modules)
  mkdir -p "$root/app"
  cp "$repo/examples/node-leak/"{server.js,package.json,package-lock.json} "$root/app/"
  (cd "$root/app" && npm ci --omit=dev --ignore-scripts --prefer-offline --no-audit --no-fund --loglevel=error >/dev/null)
  find "$root/app/node_modules/@datadog/pprof/prebuilds" -type f ! -path "*/linux-x64/dd_pprof.node.abi$abi.node" -delete
  oci_archive "localhost/memlens/node-leak:dev" "$out/node-leak.tar" \
    '{"Entrypoint":["/usr/bin/node","/app/server.js"],"User":"65532:65532","WorkingDir":"/app","Env":["PATH=/usr/bin:/bin","NODE_ENV=production"]}' \
    "$runtime" "$root"
  log "built localhost/memlens/node-leak:dev ($(du -sh "$out/node-leak.tar" | cut -f1))"
}

static_image pause pause.c
static_image stress stress.c
node_runtime
memlens_image
catalog_image
node_leak_image

"$here/import-images.sh"
