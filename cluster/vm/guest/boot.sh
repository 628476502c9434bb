#!/bin/bash
# Runs in the guest at boot (memlens-node.service, from the 9p share /mnt/memlens): joins the
# host's cluster as memlens-node-v2. The host's cluster/vm/start.sh wrote node.env, the CA, the
# kubelet's credentials and serving certificate into the share.
set -euxo pipefail
share=/mnt/memlens
source "$share/node.env" # API_PORT, API_RELAY (qemu's guestfwd address), NODE_IP, IMAGES
echo "boot.sh: $(date -u +%FT%TZ) $(uname -r)"

# --- network: the NIC alone, no default route. The guest reaches the host's loopback only
# through qemu's guestfwd relay for the apiserver; the host reaches it only through hostfwd.
nic=$(ls /sys/class/net | grep -v '^lo$' | head -1)
ip link set lo up
ip link set "$nic" up
ip addr add 10.0.2.15/24 dev "$nic"
# As on the host, the node's address (127.0.0.2, what the host forwards) is local here, and the
# apiserver is at 127.0.0.1:API_PORT: hostNetwork pods use the same addresses on both nodes.
echo 1 >/proc/sys/net/ipv4/conf/all/route_localnet
echo 1 >"/proc/sys/net/ipv4/conf/$nic/route_localnet"
iptables -t nat -A PREROUTING -i "$nic" -p tcp -d 10.0.2.15 -j DNAT --to-destination "$NODE_IP"
iptables -t nat -A OUTPUT -p tcp -d 127.0.0.1 --dport "$API_PORT" -j DNAT --to-destination "$API_RELAY:$API_PORT"
iptables -t nat -A POSTROUTING -o "$nic" -s 127.0.0.0/8 -j MASQUERADE

# --- containerd: systemd cgroups, the local pause image, loopback-only CNI (the host wrote both)
mkdir -p /etc/containerd /etc/cni/net.d /etc/kubernetes
cp "$share/10-loopback.conflist" /etc/cni/net.d/
cp "$share/containerd.toml" /etc/containerd/config.toml
systemctl start containerd
for _ in $(seq 100); do ctr version >/dev/null 2>&1 && break; sleep 0.2; done
bash "$share/guest/import-images.sh"
echo "boot.sh: images $(ctr -n k8s.io images ls -q | grep localhost/ | tr '\n' ' ')"

# --- kubelet: systemd cgroup driver, MemoryQoS with the throttling factor set (nil sets no memory.high)
cp "$share/pki/ca.crt" "$share/pki/kubelet.crt" "$share/pki/kubelet.key" /etc/kubernetes/
chmod 600 /etc/kubernetes/kubelet.key
cat >/etc/kubernetes/kubelet.kubeconfig <<K
apiVersion: v1
kind: Config
clusters:
- name: memlens-local
  cluster: {server: "https://127.0.0.1:$API_PORT", certificate-authority: /etc/kubernetes/ca.crt}
users:
- name: kubelet
  user: {token: "$(cat "$share/pki/kubelet.token")"}
contexts:
- name: memlens-local
  context: {cluster: memlens-local, user: kubelet}
current-context: memlens-local
K
chmod 600 /etc/kubernetes/kubelet.kubeconfig
cat >/etc/kubernetes/kubelet.yaml <<C
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
address: 0.0.0.0
port: 10250
readOnlyPort: 0
healthzBindAddress: 127.0.0.1
containerRuntimeEndpoint: unix:///run/containerd/containerd.sock
cgroupDriver: systemd
memoryThrottlingFactor: 0.9
failSwapOn: false
tlsCertFile: /etc/kubernetes/kubelet.crt
tlsPrivateKeyFile: /etc/kubernetes/kubelet.key
authentication:
  anonymous: {enabled: false}
  webhook: {enabled: true}
  x509: {clientCAFile: /etc/kubernetes/ca.crt}
authorization: {mode: Webhook}
evictionHard: {memory.available: "100Mi", nodefs.available: "1%", imagefs.available: "1%", nodefs.inodesFree: "1%"}
evictionPressureTransitionPeriod: 30s
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
C
systemctl start kubelet
echo "boot.sh: kubelet started $(date -u +%FT%TZ)"
