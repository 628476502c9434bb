#!/usr/bin/env bash
# make bench-scale: the memlens controller, as a local process, against a control plane whose
# nodes and pods are simulated by kwok (no kubelet, no containers): 1000 MemoryInspections x 10
# pods on 100 nodes, a memlens agent per node (bench/scale/agents.ts: one process, the agent's own
# API code on each agent pod's loopback IP, recorded histories), OOM kills injected through a kwok
# Stage. Prints a table of figures and targets (bench/scale/scale.ts). Leaves nothing behind:
# every process it starts is stopped by PID and its state directory removed, also on failure or
# Ctrl-C.
#
#   MIS=1000 PODS_PER_MI=10 NODES=100 LOAD_MINUTES=10 bench/scale/run.sh
#
# Touches no cgroup, containerd or kubelet: it can run beside a `make cluster-up` cluster.
set -euo pipefail
source "$(dirname "$0")/../../cluster/env.sh"
KWOK_VERSION=${KWOK_VERSION:-v0.8.0}
KWOK_DIR=$(memlens_cache_dir)/kwok-$KWOK_VERSION

"$CLUSTER_DIR/build.sh"
"$REPO/bench/scale/build-kwok.sh"

# our own state and logs: not the local cluster's ($STATE of env.sh is replaced here)
STATE=$(mktemp -d /tmp/mlscale.XXXXXX)
LOG_DIR=$MEMLENS_DIR/bench-scale
pki=$STATE/pki
mkdir -p "$STATE"/{pids,pki,etcd} "$LOG_DIR"
rm -f "$LOG_DIR"/*.log
cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  stop_pid kwok 10
  stop_pid kube-apiserver 20 # before etcd: with etcd gone first it can hang in shutdown
  stop_pid etcd 10
  rm -rf "$STATE"
  [ "$rc" = 0 ] || log "failed (exit $rc); logs in $LOG_DIR"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
fail() { log "FAILED: $*"; exit 1; }
log() { echo "[bench-scale $(date +%H:%M:%S)] $*"; }

read -r P_ETCD P_ETCD_PEER P_API P_KWOK P_HEALTH P_AGENT <<<"$(free_ports 6)"
make_ca
make_apiserver_pki
ADMIN_TOKEN=$(openssl rand -hex 24)
printf '%s,admin,admin,system:masters\n' "$ADMIN_TOKEN" >"$pki/tokens.csv"
chmod 600 "$pki"/*.key "$pki/tokens.csv"
export KUBECONFIG=$STATE/admin.kubeconfig
write_kubeconfig "$KUBECONFIG" "$ADMIN_TOKEN"

start_etcd
# no kube-controller-manager and no scheduler: the bench creates bare pods bound to their nodes
start_apiserver --max-requests-inflight 800 --max-mutating-requests-inflight 400
"$BIN/kubectl" apply -f "$REPO/crds/" >/dev/null
"$BIN/kubectl" wait --for condition=Established crd/memoryinspections.memlens.dev --timeout=30s >/dev/null

# kwok: the stock fast node and pod stages, the node heartbeat, and the OOM-kill stage
cfg=$STATE/kwok.yaml
cat >"$cfg" <<C
apiVersion: config.kwok.x-k8s.io/v1alpha1
kind: KwokConfiguration
options:
  podPlayStageParallelism: 16
  nodePlayStageParallelism: 4
C
for f in node/fast/node-initialize.yaml node/heartbeat/node-heartbeat.yaml \
  pod/fast/pod-ready.yaml pod/fast/pod-complete.yaml pod/fast/pod-delete.yaml; do
  printf -- '---\n' >>"$cfg" && cat "$KWOK_DIR/stage/$f" >>"$cfg"
done
printf -- '---\n' >>"$cfg" && cat "$REPO/bench/scale/oom-kill-stage.yaml" >>"$cfg"
log "starting kwok $KWOK_VERSION (simulated nodes and pods)"
start "$KWOK_DIR/bin/kwok" --kubeconfig "$KUBECONFIG" --manage-all-nodes=true -c "$cfg" \
  --server-address "127.0.0.1:$P_KWOK" --node-ip 127.0.0.1

log "control plane up: kube-apiserver 127.0.0.1:$P_API, kwok; running the bench"
: >"$STATE/agent-token"
K8S_VERSION=$K8S_VERSION KWOK_VERSION=$KWOK_VERSION STATE=$STATE LOG_DIR=$LOG_DIR HEALTH_ADDR=127.0.0.1:$P_HEALTH AGENT_TOKEN_FILE=$STATE/agent-token AGENT_PORT=$P_AGENT \
  node "$REPO/dist/bench/scale/scale.js"
