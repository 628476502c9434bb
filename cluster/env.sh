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
# the kubelet's hard eviction thresholds: only a real memory shortage evicts (the disk is the machine's)
DEFAULT_EVICTION_HARD='{memory.available: "100Mi", nodefs.available: "1%", imagefs.available: "1%", nodefs.inodesFree: "1%"}'

# Starts a component in its own session, logging to .memlens/logs, and records its PID.
start() { # NAME ARGS...
  local name=$1; shift
  setsid "$BIN/$name" "$@" >>"$LOG_DIR/$name.log" 2>&1 </dev/null &
  echo $! >"$STATE/pids/$name"
}

start_kubelet() {
  # --node-ip 127.0.0.1 is refused as loopback: the address setter then fails and never
  # overwrites the addresses up.sh patches into the Node's status
  start kubelet --config "$STATE/kubelet/config.yaml" --kubeconfig "$STATE/kubelet.kubeconfig" \
    --root-dir "$STATE/kubelet/root" --hostname-override "$NODE_NAME" --node-ip 127.0.0.1
}

# Stops a process we started, by the PID we recorded, only while it still runs our binary.
stop_pid() { # NAME [TIMEOUT_S]
  local name=$1 timeout=${2:-10} f=$STATE/pids/$1 pid
  [ -f "$f" ] || return 0
  pid=$(cat "$f")
  if kill -0 "$pid" 2>/dev/null && grep -q "$name" "/proc/$pid/cmdline" 2>/dev/null; then
    kill -TERM "$pid" 2>/dev/null
    for _ in $(seq $((timeout * 10))); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$pid" 2>/dev/null && { log "$name did not stop in ${timeout}s: SIGKILL"; kill -KILL "$pid" 2>/dev/null; sleep 0.2; }
  fi
  rm -f "$f"
}
