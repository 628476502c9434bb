# Writes an OCI image archive from root filesystem directories, one layer each (sourced by images.sh).
# usage: oci_archive IMAGE_REF OUT_TAR CONFIG_JSON_FRAGMENT LAYER_DIR...
# CONFIG_JSON_FRAGMENT is the image's "config" object (Entrypoint, User, Env, ...). Layers are
# reproducible (sorted names, fixed times and owners): the same directory gives the same digest
# in every image, so images that share a layer share it in a node's content store too.
# Sets OCI_LAYERS to the layers' digests (hex), in order.
oci_archive() {
  local ref=$1 out=$2 config=$3
  shift 3
  local work; work=$(mktemp -d)
  mkdir -p "$work/blobs/sha256"
  local dir layer_sha layer_size diff_ids="" layers=""
  OCI_LAYERS=""
  for dir in "$@"; do
    tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner -C "$dir" -cf "$work/layer.tar" .
    layer_sha=$(sha256sum "$work/layer.tar" | cut -d' ' -f1)
    layer_size=$(stat -c %s "$work/layer.tar")
    mv "$work/layer.tar" "$work/blobs/sha256/$layer_sha"
    OCI_LAYERS+="${OCI_LAYERS:+ }$layer_sha"
    diff_ids+="${diff_ids:+,}\"sha256:$layer_sha\""
    layers+="${layers:+,}{\"mediaType\":\"application/vnd.oci.image.layer.v1.tar\",\"digest\":\"sha256:$layer_sha\",\"size\":$layer_size}"
  done
  printf '{"architecture":"amd64","os":"linux","config":%s,"rootfs":{"type":"layers","diff_ids":[%s]}}' \
    "$config" "$diff_ids" >"$work/config.json"
  local config_sha config_size
  config_sha=$(sha256sum "$work/config.json" | cut -d' ' -f1)
  config_size=$(stat -c %s "$work/config.json")
  mv "$work/config.json" "$work/blobs/sha256/$config_sha"
  printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:%s","size":%s},"layers":[%s]}' \
    "$config_sha" "$config_size" "$layers" >"$work/manifest.json"
  local manifest_sha manifest_size
  manifest_sha=$(sha256sum "$work/manifest.json" | cut -d' ' -f1)
  manifest_size=$(stat -c %s "$work/manifest.json")
  mv "$work/manifest.json" "$work/blobs/sha256/$manifest_sha"
  printf '{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:%s","size":%s,"annotations":{"io.containerd.image.name":"%s","org.opencontainers.image.ref.name":"%s"}}]}' \
    "$manifest_sha" "$manifest_size" "$ref" "${ref##*:}" >"$work/index.json"
  echo '{"imageLayoutVersion":"1.0.0"}' >"$work/oci-layout"
  tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner -C "$work" -cf "$out.tmp" oci-layout index.json blobs
  mv "$out.tmp" "$out"
  rm -rf "$work"
}

# Copies an image archive without some of its layer blobs, for a node whose containerd holds them
# already: its import then neither reads nor hashes them (it hashes every blob it is given).
# usage: oci_without_layers IN_TAR OUT_TAR DIGEST...
oci_without_layers() {
  local in=$1 out=$2 work d
  shift 2
  work=$(mktemp -d)
  tar -xf "$in" -C "$work"
  for d in "$@"; do rm -f "$work/blobs/sha256/$d"; done
  mkdir -p "$(dirname "$out")"
  tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner -C "$work" -cf "$out.tmp" oci-layout index.json blobs
  mv "$out.tmp" "$out"
  rm -rf "$work"
}
