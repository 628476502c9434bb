# Paths and names shared by the cluster scripts (sourced).
CLUSTER_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(dirname "$CLUSTER_DIR")
source "$CLUSTER_DIR/versions.sh"
BIN=$(memlens_bin_dir)
TOOLS_BIN=$(memlens_tools_dir)
MEMLENS_DIR=$REPO/.memlens
KUBECONFIG_PATH=$MEMLENS_DIR/kubeconfig
LOG_DIR=$MEMLENS_DIR/logs
# Runtime state lives on a short path (unix socket paths are limited to 108 bytes), one per checkout.
STATE=/tmp/memlens-$(echo -n "$REPO" | sha256sum | cut -c1-10)
NODE_NAME=memlens-node
# The cgroup v2 node: a VM on this host (cluster/vm/), reached on its own loopback address.
V2_NODE_NAME=memlens-node-v2
V2_NODE_IP=127.0.0.2
V2_CPUS=${MEMLENS_V2_CPUS:-2}
V2_MEMORY_MIB=${MEMLENS_V2_MEMORY_MIB:-4096}
# workload ports on the v2 node that the host can reach, besides the kubelet's and the agent's
V2_FORWARDED_PORTS="18081 18082 18083"
# the images (.memlens/images/NAME.tar) the v2 node gets: the agent's, and the workloads' meant for it
V2_IMAGES="pause stress catalog memlens"
# The local cluster's cgroups nest under this process's own memory cgroup, in every hierarchy.
own_memory_cgroup() { awk -F: '$2=="memory"{print $3}' /proc/self/cgroup; }
CGROUP_ROOT=$(own_memory_cgroup | sed 's:/$::')/memlens
CGROUP_HIERARCHIES="cpu cpuacct cpuset memory devices freezer blkio pids systemd unified"
kubectl_() { "$BIN/kubectl" --kubeconfig "$KUBECONFIG_PATH" --request-timeout=20s "$@"; }
log() { echo "[cluster $(date +%H:%M:%S)] $*"; }
# the kubelet's hard eviction thresholds: only a real memory shortage evicts (the disk is the machine's)
DEFAULT_EVICTION_HARD='{memory.available: "100Mi", nodefs.available: "1%", imagefs.available: "1%", nodefs.inodesFree: "1%"}'

# Starts a component in its own session, logging to $LOG_DIR, and records its PID under $STATE.
# NAME is a binary in $BIN, or a path to one (recorded under its base name).
start() { # NAME ARGS...
  local name=$1 exe=$BIN/$1; shift
  if [[ $name == */* ]]; then exe=$name; name=$(basename "$name"); fi
  setsid "$exe" "$@" >>"$LOG_DIR/$name.log" 2>&1 </dev/null &
  echo $! >"$STATE/pids/$name"
}

# Prints N free TCP ports on 127.0.0.1, chosen now.
free_ports() { # N
  node -e '
  const net = require("net"); const out = []; let n = Number(process.argv[1]);
  const next = () => { const s = net.createServer(); s.listen(0, "127.0.0.1", () => {
    out.push(s.address().port); s.close(() => (--n ? next() : console.log(out.join(" ")))); }); };
  next();' "$1"
}

# Polls COMMAND until it succeeds; calls the caller's `fail` after SECONDS.
wait_for() { # WHAT SECONDS COMMAND...
  local what=$1 secs=$2; shift 2
  for _ in $(seq $((secs * 5))); do "$@" >/dev/null 2>&1 && return 0; sleep 0.2; done
  fail "$what not ready after ${secs}s"
}

# --- the cluster's CA under $pki, and what it signs
ssl() { openssl "$@" 2>/dev/null; }
make_ca() {
  ssl req -x509 -newkey rsa:2048 -nodes -days 3 -subj "/CN=memlens-local-ca" -keyout "$pki/ca.key" -out "$pki/ca.crt"
}
sign() { # NAME SUBJECT [SANS]
  local ext=$pki/$1.ext
  printf 'basicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth,clientAuth\n' >"$ext"
  [ -n "${3:-}" ] && echo "subjectAltName=$3" >>"$ext"
  ssl req -newkey rsa:2048 -nodes -subj "$2" -keyout "$pki/$1.key" -out "$pki/$1.csr"
  ssl x509 -req -in "$pki/$1.csr" -CA "$pki/ca.crt" -CAkey "$pki/ca.key" -CAcreateserial -days 3 -extfile "$ext" -out "$pki/$1.crt"
}
APISERVER_SANS="IP:127.0.0.1,IP:10.0.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local"
# the apiserver's serving certificate and the service-account key pair
make_apiserver_pki() {
  sign apiserver "/CN=kube-apiserver" "$APISERVER_SANS"
  ssl genrsa -out "$pki/sa.key" 2048
  ssl rsa -in "$pki/sa.key" -pubout -out "$pki/sa.pub"
}

# A kubeconfig for https://127.0.0.1:$P_API with a bearer token.
write_kubeconfig() { # FILE TOKEN
  cat >"$1" <<K
apiVersion: v1
kind: Config
clusters:
- name: memlens-local
  cluster: {server: "https://127.0.0.1:$P_API", certificate-authority: "$pki/ca.crt"}
users:
- name: user
  user: {token: "$2"}
contexts:
- name: memlens-local
  context: {cluster: memlens-local, user: user}
current-context: memlens-local
K
  chmod 600 "$1"
}

# etcd on 127.0.0.1:$P_ETCD (data in $STATE/etcd), ready on return.
start_etcd() {
  log "starting etcd on 127.0.0.1:$P_ETCD"
  start etcd --name memlens --data-dir "$STATE/etcd" --unsafe-no-fsync \
    --listen-client-urls "http://127.0.0.1:$P_ETCD" --advertise-client-urls "http://127.0.0.1:$P_ETCD" \
    --listen-peer-urls "http://127.0.0.1:$P_ETCD_PEER" --initial-advertise-peer-urls "http://127.0.0.1:$P_ETCD_PEER" \
    --initial-cluster "memlens=http://127.0.0.1:$P_ETCD_PEER" --log-level warn
  wait_for etcd 30 curl -sf "http://127.0.0.1:$P_ETCD/health"
}

# kube-apiserver on 127.0.0.1:$P_API over that etcd, tokens from $pki/tokens.csv; ready on return
# (checked with $ADMIN_TOKEN). Extra flags are passed on.
start_apiserver() { # [FLAGS...]
  log "starting kube-apiserver on 127.0.0.1:$P_API"
  start kube-apiserver --etcd-servers "http://127.0.0.1:$P_ETCD" \
    --bind-address 127.0.0.1 --secure-port "$P_API" \
    --advertise-address 127.0.0.1 --endpoint-reconciler-type none \
    --service-cluster-ip-range 10.0.0.0/24 \
    --authorization-mode Node,RBAC --enable-admission-plugins NodeRestriction \
    --token-auth-file "$pki/tokens.csv" --client-ca-file "$pki/ca.crt" \
    --tls-cert-file "$pki/apiserver.crt" --tls-private-key-file "$pki/apiserver.key" \
    --service-account-issuer https://kubernetes.default.svc --service-account-key-file "$pki/sa.pub" \
    --service-account-signing-key-file "$pki/sa.key" --allow-privileged=true "$@"
  wait_for kube-apiserver 60 curl -sf --cacert "$pki/ca.crt" -H "Authorization: Bearer $ADMIN_TOKEN" "https://127.0.0.1:$P_API/readyz"
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

# Every pod here uses the host network: a CNI config with the loopback plugin alone lets a node
# become Ready (Debian's plugins are in /usr/lib/cni).
LOOPBACK_CNI='{"cniVersion": "1.0.0", "name": "memlens-loopback", "plugins": [{"type": "loopback"}]}'

# The CRI part of a node's containerd config (version 2): the local pause image, the loopback CNI
# config in CNI_DIR, exec/attach streams on loopback, runc with the node's cgroup driver.
# RESTRICT_OOM_SCORE_ADJ=true where no process may lower oom_score_adj (no CAP_SYS_RESOURCE, as on
# this host): runc would fail every sandbox otherwise. RUNC_ROOT "" keeps runc's default.
containerd_cri_config() { # SYSTEMD_CGROUP CNI_DIR RESTRICT_OOM_SCORE_ADJ RUNC_ROOT
  local root=""
  [ -n "$4" ] && root=$'\n'"        Root = \"$4\""
  cat <<C
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "localhost/memlens/pause:dev"
  restrict_oom_score_adj = $3
  disable_tcp_service = true
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
  disable_apparmor = true
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = $1$root
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "$2"
C
}
