#!/usr/bin/env bash
# Runs a command against a freshly started local cluster and always stops the cluster after.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
"$here/up.sh" || exit 1
export KUBECONFIG=$(dirname "$here")/.memlens/kubeconfig
trap '"$here/down.sh"' EXIT
trap 'exit 130' INT TERM
"$@"
