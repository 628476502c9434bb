#!/usr/bin/env bash
# Builds the tools of the field that check memlens' artefacts — helm (the chart) and promtool
# (the alert rules, the /metrics text) — from their Go modules at the versions pinned in
# versions.sh, into the memlens cache: a second run builds nothing (~1 + ~4 min cold on 2 cores).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
source "$here/versions.sh"
bin=$(memlens_tools_dir)
mkdir -p "$bin"
log() { echo "[tools $(date +%H:%M:%S)] $*"; }

build() { # NAME PACKAGE@VERSION LDFLAGS
  local name=$1 pkg=$2 ldflags=$3 start
  [ -x "$bin/$name" ] && return 0
  start=$(date +%s)
  log "building $pkg (cached in $bin afterwards)"
  rm -rf "$bin/.tmp" && mkdir -p "$bin/.tmp"
  GOBIN="$bin/.tmp" go install -trimpath -ldflags "-s -w $ldflags" "$pkg"
  mv "$bin/.tmp/$name" "$bin/$name" && rmdir "$bin/.tmp"
  log "built $name in $(( $(date +%s) - start ))s"
}

# helm's default Kubernetes version (helm template, helm lint) stamped as the local cluster's,
# as helm's own release build stamps its client-go's
minor=${K8S_VERSION#v1.}; minor=${minor%%.*}
kube="-X helm.sh/helm/v3/pkg/chartutil.k8sVersionMajor=1 -X helm.sh/helm/v3/pkg/chartutil.k8sVersionMinor=$minor"
kube="$kube -X helm.sh/helm/v3/pkg/lint/rules.k8sVersionMajor=1 -X helm.sh/helm/v3/pkg/lint/rules.k8sVersionMinor=$minor"
build helm "helm.sh/helm/v3/cmd/helm@$HELM_VERSION" "-X helm.sh/helm/v3/internal/version.version=$HELM_VERSION $kube"
build promtool "github.com/prometheus/prometheus/cmd/promtool@$PROMETHEUS_MODULE_VERSION" ""
log "tools ready in $bin"
