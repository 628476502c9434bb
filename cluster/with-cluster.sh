#!/usr/bin/env bash
# Runs a command against a freshly started local cluster and always stops the cluster after.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
"$here/up.sh" || exit 1
source "$here/env.sh"
export KUBECONFIG=$KUBECONFIG_PATH
export PATH="$BIN:$TOOLS_BIN:$PATH" # the kubectl built with the cluster (same version), helm, promtool
trap '"$here/down.sh"' EXIT
trap 'exit 130' INT TERM
"$@"
