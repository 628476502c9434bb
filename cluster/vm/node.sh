# The cgroup v2 node, memlens-node-v2: a QEMU virtual machine on this host whose kubelet joins
# the host's control plane (sourced by up.sh and down.sh, after env.sh). Facts behind each
# setting: cluster/README.md, "The cgroup v2 node".
#
# Network, host side loopback only: user networking with restrict=on (the guest reaches nothing
# by itself) and explicit forwards. Guest -> host: one guestfwd relay for the apiserver, a
# `busybox nc 127.0.0.1 PORT` process per guest connection. Host -> guest: hostfwd on the
# node's address $V2_NODE_IP for the kubelet, the agent and the ports in $V2_FORWARDED_PORTS.

V2_SHARE=$STATE/vm/share
V2_API_RELAY=10.0.2.101

# Credentials and configuration for the guest's kubelet, written into the 9p share.
v2_prepare() { # API_PORT NODE_TOKEN
  mkdir -p "$V2_SHARE/pki" "$V2_SHARE/cmd"
  cp -r "$CLUSTER_DIR/vm/guest" "$V2_SHARE/"
  sign kubelet-v2 "/O=system:nodes/CN=system:node:$V2_NODE_NAME" "IP:$V2_NODE_IP,DNS:$V2_NODE_NAME"
  cp "$pki/ca.crt" "$V2_SHARE/pki/ca.crt"
  cp "$pki/kubelet-v2.crt" "$V2_SHARE/pki/kubelet.crt"
  cp "$pki/kubelet-v2.key" "$V2_SHARE/pki/kubelet.key"
  echo -n "$2" >"$V2_SHARE/pki/kubelet.token"
  chmod 600 "$V2_SHARE/pki/kubelet.key" "$V2_SHARE/pki/kubelet.token"
  echo "$LOOPBACK_CNI" >"$V2_SHARE/10-loopback.conflist"
  printf 'version = 2\n%s\n' "$(containerd_cri_config true /etc/cni/net.d false "")" >"$V2_SHARE/containerd.toml"
  printf 'API_PORT=%s\nAPI_RELAY=%s\nNODE_IP=%s\nIMAGES="%s"\n' "$1" "$V2_API_RELAY" "$V2_NODE_IP" "$V2_IMAGES" >"$V2_SHARE/node.env"
}

# Boots the VM in the background (its PID in $STATE/pids/qemu-system-x86_64); returns at once.
v2_start() { # IMAGE_DIR API_PORT
  local image=$1 api=$2 fwd="" p
  for p in 10250 9137 $V2_FORWARDED_PORTS; do fwd+=",hostfwd=tcp:$V2_NODE_IP:$p-:$p"; done
  command -v busybox >/dev/null || { log "busybox is missing (the guest's relay to the apiserver)"; return 1; }
  : >"$LOG_DIR/vm-console.log"
  start "$(command -v qemu-system-x86_64)" -name "$V2_NODE_NAME" \
    -accel tcg,thread=multi -cpu max -smp "$V2_CPUS" -m "$V2_MEMORY_MIB" \
    -kernel "$image/vmlinuz" -initrd "$image/initrd.img" \
    -append "console=ttyS0 root=/dev/vda rw systemd.unified_cgroup_hierarchy=1 cgroup_no_v1=all panic=-1" \
    -drive "file=$image/rootfs.img,if=virtio,format=raw,snapshot=on" \
    -netdev "user,id=n0,restrict=on,ipv6=off$fwd,guestfwd=tcp:$V2_API_RELAY:$api-cmd:busybox nc 127.0.0.1 $api" \
    -device virtio-net-pci,netdev=n0 \
    -virtfs "local,path=$V2_SHARE,mount_tag=memlens,security_model=none" \
    -virtfs "local,path=$MEMLENS_DIR/images,mount_tag=images,security_model=none,readonly=on" \
    -display none -monitor none -serial "file:$LOG_DIR/vm-console.log" -no-reboot -rtc base=utc,clock=host \
    -pidfile "$STATE/vm/qemu.pid"
}

# Waits for the guest's kubelet to register, gives the Node its address (the kubelet refuses a
# loopback node IP and publishes none) and waits for Ready.
v2_join() { # SECONDS
  local until=$(($(date +%s) + $1))
  until kubectl_ get node "$V2_NODE_NAME" >/dev/null 2>&1; do
    kill -0 "$(cat "$STATE/pids/qemu-system-x86_64" 2>/dev/null)" 2>/dev/null || { log "the VM stopped: see $LOG_DIR/vm-console.log"; return 1; }
    [ "$(date +%s)" -lt "$until" ] || { log "$V2_NODE_NAME did not register in ${1}s: see $LOG_DIR/vm-*.log"; return 1; }
    sleep 1
  done
  kubectl_ patch node "$V2_NODE_NAME" --subresource=status --type=merge \
    -p "{\"status\":{\"addresses\":[{\"type\":\"InternalIP\",\"address\":\"$V2_NODE_IP\"},{\"type\":\"Hostname\",\"address\":\"$V2_NODE_NAME\"}]}}" >/dev/null
  kubectl_ wait --for=condition=Ready "node/$V2_NODE_NAME" --timeout="$((until - $(date +%s)))s" >/dev/null
}

# Stops the VM by its PID, and the relays qemu started (its children) by theirs.
v2_stop() {
  local f=$STATE/pids/qemu-system-x86_64 pid relays
  [ -f "$f" ] || return 0
  pid=$(cat "$f")
  if kill -0 "$pid" 2>/dev/null && grep -q qemu-system "/proc/$pid/cmdline" 2>/dev/null; then
    relays=$(pgrep -P "$pid" 2>/dev/null | tr '\n' ' ')
    stop_pid qemu-system-x86_64 15
    for r in $relays; do grep -q busybox "/proc/$r/cmdline" 2>/dev/null && kill -KILL "$r" 2>/dev/null; done
  fi
  rm -f "$f"
}
