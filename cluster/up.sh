#!/usr/bin/env bash
# Starts a real two-node Kubernetes cluster on this host's loopback: etcd, kube-apiserver,
# kube-controller-manager, kube-scheduler, containerd + runc and the kubelet of memlens-node
# (this host: cgroup v1, cgroupfs driver), built from the upstream modules (cluster/build.sh) at
# pinned versions; and memlens-node-v2, a QEMU virtual machine (cgroup v2, systemd driver,
# MemoryQoS) whose kubelet joins the same control plane (cluster/vm/). Writes .memlens/kubeconfig
# and config/local/cluster.env (the in-cluster API address for hostNetwork pods).
# MEMLENS_V2_NODE=off starts the first node only; when the VM cannot start, the cluster comes up
# without it and .memlens/v2-node.reason says why.
# Facts and pitfalls behind each setting: cluster/README.md.
set -euo pipefail
source "$(dirname "$0")/env.sh"
source "$CLUSTER_DIR/vm/node.sh"
started=$(date +%s)

# A crashed earlier run is cleaned up first.
[ -d "$STATE" ] && "$CLUSTER_DIR/down.sh"
"$CLUSTER_DIR/build.sh"
if ! command -v containerd >/dev/null || ! command -v runc >/dev/null || [ ! -x /usr/lib/cni/loopback ]; then
  log "installing containerd, runc and the CNI plugins from Debian"
  apt-get update -qq && apt-get install -y -qq containerd runc containernetworking-plugins >/dev/null
fi
ls "$MEMLENS_DIR"/images/*.tar >/dev/null 2>&1 || { log "no images in $MEMLENS_DIR/images: run 'make images' first"; exit 1; }
v2_image=
mkdir -p "$MEMLENS_DIR"
rm -f "$MEMLENS_DIR/v2-node.reason"
if [ "${MEMLENS_V2_NODE:-on}" = off ]; then
  echo "MEMLENS_V2_NODE=off" >"$MEMLENS_DIR/v2-node.reason"
else
  v2_image=$("$CLUSTER_DIR/vm/image.sh") || { v2_image=; echo "the VM image could not be built: see the lines above" >"$MEMLENS_DIR/v2-node.reason"; }
fi

mkdir -p "$STATE"/{pids,pki,etcd,kubelet,containerd,cni,runc,vm} "$LOG_DIR"
rm -f "$LOG_DIR"/*.log
echo "$STATE" >"$MEMLENS_DIR/state-dir"
fail() { log "FAILED: $*"; log "logs: $LOG_DIR"; "$CLUSTER_DIR/down.sh" >/dev/null 2>&1; exit 1; }
trap 'fail "interrupted at line $LINENO"' ERR INT TERM

# --- ports: free ones on loopback, chosen now
read -r P_ETCD P_ETCD_PEER P_API P_KUBELET P_KUBELET_HEALTH P_KCM P_SCHED <<<"$(free_ports 7)"

# --- one CA, and what it signs
pki=$STATE/pki
make_ca
sign apiserver-kubelet-client "/O=system:masters/CN=kube-apiserver-kubelet-client"
sign kubelet "/O=system:nodes/CN=system:node:$NODE_NAME" "IP:127.0.0.1,DNS:localhost,DNS:$NODE_NAME"
make_apiserver_pki
ADMIN_TOKEN=$(openssl rand -hex 24)
NODE_TOKEN=$(openssl rand -hex 24)
V2_NODE_TOKEN=$(openssl rand -hex 24)
printf '%s,admin,admin,system:masters\n%s,system:node:%s,node-%s,system:nodes\n%s,system:node:%s,node-%s,system:nodes\n' \
  "$ADMIN_TOKEN" "$NODE_TOKEN" "$NODE_NAME" "$NODE_NAME" "$V2_NODE_TOKEN" "$V2_NODE_NAME" "$V2_NODE_NAME" >"$pki/tokens.csv"
chmod 600 "$pki"/*.key "$pki/tokens.csv"

write_kubeconfig "$STATE/admin.kubeconfig" "$ADMIN_TOKEN"
write_kubeconfig "$STATE/kubelet.kubeconfig" "$NODE_TOKEN"

start_etcd
start_apiserver \
  --kubelet-client-certificate "$pki/apiserver-kubelet-client.crt" --kubelet-client-key "$pki/apiserver-kubelet-client.key" \
  --kubelet-certificate-authority "$pki/ca.crt" --kubelet-preferred-address-types InternalIP

# the VM boots (~20 s to systemd, ~90 s to a Ready kubelet) while the first node starts
if [ -n "$v2_image" ]; then
  log "starting $V2_NODE_NAME (QEMU, cgroup v2; console: $LOG_DIR/vm-console.log)"
  v2_prepare "$P_API" "$V2_NODE_TOKEN"
  v2_start "$v2_image" "$P_API" || { v2_image=; echo "qemu did not start: see $LOG_DIR/qemu-system-x86_64.log" >"$MEMLENS_DIR/v2-node.reason"; }
fi

log "starting kube-controller-manager and kube-scheduler"
start kube-controller-manager --kubeconfig "$STATE/admin.kubeconfig" --leader-elect=false \
  --bind-address 127.0.0.1 --secure-port "$P_KCM" \
  --service-account-private-key-file "$pki/sa.key" --root-ca-file "$pki/ca.crt" \
  --use-service-account-credentials=false
start kube-scheduler --kubeconfig "$STATE/admin.kubeconfig" --leader-elect=false \
  --bind-address 127.0.0.1 --secure-port "$P_SCHED"

log "starting containerd"
echo "$LOOPBACK_CNI" >"$STATE/cni/10-loopback.conflist"
cat >"$STATE/containerd/config.toml" <<C
version = 2
root = "$STATE/containerd/root"
state = "$STATE/containerd/state"
disabled_plugins = ["io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper", "io.containerd.snapshotter.v1.aufs"]
[grpc]
  address = "$STATE/containerd.sock"
[ttrpc]
  address = "$STATE/containerd.sock.ttrpc"
[plugins."io.containerd.internal.v1.opt"]
  path = "$STATE/containerd/opt"
$(containerd_cri_config false "$STATE/cni" true "$STATE/runc")
C
setsid containerd --config "$STATE/containerd/config.toml" >"$LOG_DIR/containerd.log" 2>&1 </dev/null &
echo $! >"$STATE/pids/containerd"
ctr() { command ctr -a "$STATE/containerd.sock" -n k8s.io "$@"; }
wait_for containerd 30 ctr version
for img in "$MEMLENS_DIR"/images/*.tar; do ctr images import "$img" >/dev/null; done
log "imported images: $(ctr images ls -q | grep localhost/ | tr '\n' ' ')"

# --- cgroups: our root in every hierarchy (and the hybrid v2 mount), recording what we create
: >"$STATE/cgroups.created"
for h in $CGROUP_HIERARCHIES; do
  base=/sys/fs/cgroup/$h
  [ -d "$base" ] || continue
  path=$base
  for part in $(echo "$CGROUP_ROOT" | tr '/' ' '); do
    parent=$path; path=$path/$part
    if [ ! -d "$path" ]; then
      mkdir "$path"; echo "$path" >>"$STATE/cgroups.created"
      if [ "$h" = cpuset ]; then
        cat "$parent/cpuset.cpus" >"$path/cpuset.cpus"; cat "$parent/cpuset.mems" >"$path/cpuset.mems"
      fi
    fi
  done
done

# --- kernel settings the kubelet changes: saved, restored by down.sh
for key in vm.overcommit_memory kernel.panic kernel.panic_on_oops; do
  echo "$key $(sysctl -n $key)" >>"$STATE/sysctl.saved"
done

log "starting kubelet (cgroup root $CGROUP_ROOT)"
eviction_hard=${MEMLENS_EVICTION_HARD:-$DEFAULT_EVICTION_HARD}
cat >"$STATE/kubelet/config.yaml" <<C
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
address: 127.0.0.1
port: $P_KUBELET
readOnlyPort: 0
healthzBindAddress: 127.0.0.1
healthzPort: $P_KUBELET_HEALTH
containerRuntimeEndpoint: unix://$STATE/containerd.sock
cgroupDriver: cgroupfs
cgroupRoot: $CGROUP_ROOT
failCgroupV1: false
failSwapOn: false
tlsCertFile: $pki/kubelet.crt
tlsPrivateKeyFile: $pki/kubelet.key
authentication:
  anonymous: {enabled: false}
  webhook: {enabled: true}
  x509: {clientCAFile: $pki/ca.crt}
authorization: {mode: Webhook}
# this node's disk is shared with the machine: evict only for real memory shortage
# (MEMLENS_EVICTION_HARD lets the eviction test put the node under memory pressure)
evictionHard: $eviction_hard
# the MemoryPressure condition clears 30 s after the last threshold crossing (default 5 min)
evictionPressureTransitionPeriod: 30s
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
C
start_kubelet

cp "$STATE/admin.kubeconfig" "$KUBECONFIG_PATH"
wait_for "node registration" 60 kubectl_ get node "$NODE_NAME"
# the kubelet refuses a loopback --node-ip and then publishes no address: set it once ourselves
kubectl_ patch node "$NODE_NAME" --subresource=status --type=merge \
  -p "{\"status\":{\"addresses\":[{\"type\":\"InternalIP\",\"address\":\"127.0.0.1\"},{\"type\":\"Hostname\",\"address\":\"$NODE_NAME\"}]}}" >/dev/null
kubectl_ wait --for=condition=Ready "node/$NODE_NAME" --timeout=60s >/dev/null || fail "node not Ready"
wait_for "default ServiceAccount" 30 kubectl_ -n default get serviceaccount default

kubectl_ label node "$NODE_NAME" memlens.dev/cgroup-version=v1 >/dev/null

printf 'KUBERNETES_SERVICE_HOST=127.0.0.1\nKUBERNETES_SERVICE_PORT=%s\n' "$P_API" >"$REPO/config/local/cluster.env"
nodes=$NODE_NAME
if [ -n "$v2_image" ]; then
  log "waiting for $V2_NODE_NAME to join (emulated: ~90 s from boot)"
  if v2_join 400; then
    nodes="$nodes $V2_NODE_NAME"
    rm -f "$MEMLENS_DIR/v2-node.reason"
  else
    echo "$V2_NODE_NAME did not become Ready: see $LOG_DIR/vm-console.log and $V2_SHARE/boot.log" >"$MEMLENS_DIR/v2-node.reason"
    v2_stop
  fi
fi
[ -f "$MEMLENS_DIR/v2-node.reason" ] && log "WITHOUT $V2_NODE_NAME: $(cat "$MEMLENS_DIR/v2-node.reason")"
trap - ERR INT TERM
log "cluster up in $(( $(date +%s) - started ))s: Kubernetes $K8S_VERSION, nodes Ready: $nodes"
log "export KUBECONFIG=$KUBECONFIG_PATH"
