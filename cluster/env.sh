# Paths and names shared by the cluster scripts (sourced).
CLUSTER_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(dirname "$CLUSTER_DIR")
source "$CLUSTER_DIR/versions.sh"
BIN=$(memlens_bin_dir)
MEMLENS_DIR=$REPO/.memlens
KUBECONFIG_PATH=$MEMLENS_DIR/kubeconfig
LOG_DIR=$MEMLENS_DIR/logs
# Runtime state lives on a short path (unix socket paths are limited to 108 bytes), one per checkout.
STATE=/tmp/memlens-$(echo -n "$REPO" | sha256sum | cut -c1-10)
NODE_NAME=memlens-node
# The local cluster's cgroups nest under this process's own memory cgroup, in every hierarchy.
own_memory_cgroup() { awk -F: '$2=="memory"{print $3}' /proc/self/cgroup; }
CGROUP_ROOT=$(own_memory_cgroup | sed 's:/$::')/memlens
CGROUP_HIERARCHIES="cpu cpuacct cpuset memory devices freezer blkio pids systemd unified"
kubectl_() { "$BIN/kubectl" --kubeconfig "$KUBECONFIG_PATH" --request-timeout=20s "$@"; }
log() { echo "[cluster $(date +%H:%M:%S)] $*"; }
