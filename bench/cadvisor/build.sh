#!/usr/bin/env bash
# Builds the cAdvisor harness of bench/agent-vs-cadvisor.bench.ts (main.go here) against the
# cAdvisor library at the version go.mod pins (CADVISOR_VERSION, cluster/versions.sh), into the
# memlens cache beside the cluster's binaries: a second run builds nothing. Prints the binary's
# path on stdout; progress and errors go to stderr.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
source "$here/../../cluster/versions.sh"
if ! command -v go >/dev/null; then
  echo "cadvisor harness: no 'go' on the PATH; it is built from cAdvisor's Go module" \
    "(github.com/google/cadvisor/lib $CADVISOR_VERSION, Go >= 1.25)" >&2
  exit 1
fi
dir=$(memlens_cadvisor_dir)
# the harness's own source is part of the key: a changed main.go is rebuilt, not reused
bin=$dir/cadvisor-bench-$(cat "$here/go.mod" "$here/go.sum" "$here/main.go" | sha256sum | cut -c1-12)
if [ ! -x "$bin" ]; then
  mkdir -p "$dir"
  echo "[cadvisor $(date +%H:%M:%S)] building the harness (github.com/google/cadvisor/lib $CADVISOR_VERSION) into $dir" >&2
  tmp=$dir/.build.$$
  trap 'rm -f "$tmp"' EXIT
  (cd "$here" && go build -mod=readonly -trimpath -ldflags "-s -w" -o "$tmp" .)
  rm -f "$dir"/cadvisor-bench-* && mv "$tmp" "$bin"
fi
echo "$bin"
