#!/usr/bin/env bash
# Builds the disk image of the cgroup v2 node (memlens-node-v2) and caches it with its kernel:
# a Debian bookworm root filesystem (debootstrap) with systemd, containerd, runc and the
# kubelet of the cluster build, booted later by cluster/vm/start.sh under QEMU. What the guest
# does at boot is not baked in: it runs cluster/vm/guest/*.sh from a 9p share, so changing
# those needs no rebuild. The guest's containerd holds the Node.js layer of the memlens image
# already (.memlens/images/node-runtime.tar, from cluster/images.sh): importing those 100 MB at
# every boot under emulation took ~70 s. ~3 min once (needs Debian's package mirror); the cache
# key is the Kubernetes version, this file's content and that layer.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
source "$here/../env.sh"
runtime_image=$MEMLENS_DIR/images/node-runtime.tar
[ -f "$runtime_image" ] || { log "no $runtime_image: run 'make images' first" >&2; exit 1; }
out=$(memlens_cache_dir)/vm-bookworm-$K8S_VERSION-$(cat "$here/image.sh" "$runtime_image" | sha256sum | cut -c1-10)
[ -f "$out/rootfs.img" ] && [ -f "$out/vmlinuz" ] && [ -f "$out/initrd.img" ] && { echo "$out"; exit 0; }

need=()
command -v qemu-system-x86_64 >/dev/null || need+=(qemu-system-x86)
command -v mkfs.ext4 >/dev/null || need+=(e2fsprogs)
command -v debootstrap >/dev/null || need+=(debootstrap)
command -v busybox >/dev/null || need+=(busybox)
command -v containerd >/dev/null || need+=(containerd)
if [ ${#need[@]} -gt 0 ]; then
  log "installing ${need[*]} from Debian" >&2
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi
[ -x "$BIN/kubelet" ] || { log "no kubelet in $BIN: run cluster/build.sh first" >&2; exit 1; }

started=$(date +%s)
work=$(mktemp -d /tmp/memlens-vm-image.XXXXXX)
root=$work/rootfs
preload_pid=
cleanup() {
  [ -n "$preload_pid" ] && kill "$preload_pid" 2>/dev/null && wait "$preload_pid" 2>/dev/null
  awk -v w="$work" 'index($2, w) == 1 {print $2}' /proc/mounts | sort -r | xargs -r umount -l
  rm -rf "$work"
}
trap cleanup EXIT
mirror=${MEMLENS_DEBIAN_MIRROR:-http://deb.debian.org/debian}
packages=systemd,systemd-sysv,dbus,udev,kmod,procps,iproute2,iptables,containerd,runc,containernetworking-plugins,ca-certificates,util-linux,mount,linux-image-amd64,initramfs-tools
log "debootstrap bookworm ($mirror), ~2 min" >&2
debootstrap --variant=minbase --include="$packages" bookworm "$root" "$mirror" >"$work/debootstrap.log" 2>&1 ||
  { tail -20 "$work/debootstrap.log" >&2; exit 1; }

install -m 0755 "$BIN/kubelet" "$root/usr/local/bin/kubelet"
echo memlens-node-v2 >"$root/etc/hostname"
printf '127.0.0.1 localhost\n127.0.1.1 memlens-node-v2\n' >"$root/etc/hosts"
: >"$root/etc/resolv.conf"
mkdir -p "$root/mnt/memlens" "$root/mnt/images"
cat >"$root/etc/fstab" <<F
/dev/vda / ext4 defaults 0 1
memlens /mnt/memlens 9p trans=virtio,version=9p2000.L,msize=1048576,nofail 0 0
images /mnt/images 9p trans=virtio,version=9p2000.L,msize=1048576,ro,nofail 0 0
F
# the host's scripts, run once the shares are mounted; they start containerd and the kubelet
cat >"$root/etc/systemd/system/memlens-node.service" <<U
[Unit]
Description=memlens: join the host's cluster as a node (cluster/vm/guest/boot.sh)
After=local-fs.target mnt-memlens.mount mnt-images.mount
Requires=mnt-memlens.mount
[Service]
Type=oneshot
RemainAfterExit=yes
ExecStart=/bin/bash /mnt/memlens/guest/boot.sh
StandardOutput=append:/mnt/memlens/boot.log
StandardError=inherit
[Install]
WantedBy=multi-user.target
U
cat >"$root/etc/systemd/system/memlens-commands.service" <<U
[Unit]
Description=memlens: run the host's commands dropped into the share (cluster/vm/guest/commands.sh)
After=mnt-memlens.mount
Requires=mnt-memlens.mount
[Service]
ExecStart=/bin/bash /mnt/memlens/guest/commands.sh
Restart=always
[Install]
WantedBy=multi-user.target
U
cat >"$root/etc/systemd/system/kubelet.service" <<U
[Unit]
Description=kubelet (configured by cluster/vm/guest/boot.sh)
After=containerd.service
Requires=containerd.service
[Service]
ExecStart=/usr/local/bin/kubelet --config=/etc/kubernetes/kubelet.yaml --kubeconfig=/etc/kubernetes/kubelet.kubeconfig --hostname-override=memlens-node-v2 --node-ip=127.0.0.1 --node-labels=memlens.dev/cgroup-version=v2 --register-with-taints=memlens.dev/emulated=true:PreferNoSchedule
Restart=always
RestartSec=1
U
chroot "$root" systemctl enable memlens-node.service memlens-commands.service >/dev/null 2>&1
# containerd starts from boot.sh with its config; nothing else that waits for a network
chroot "$root" systemctl disable containerd.service >/dev/null 2>&1 || true
chroot "$root" systemctl mask systemd-timesyncd.service systemd-logind.service e2scrub_reap.service apt-daily.timer apt-daily-upgrade.timer e2scrub_all.timer fstrim.timer >/dev/null 2>&1 || true
chroot "$root" passwd -d root >/dev/null

# the Node.js layer into the guest's containerd (its root on the image), by this host's containerd
# (the same Debian package), started for this alone
cat >"$work/containerd.toml" <<C
version = 2
root = "$root/var/lib/containerd"
state = "$work/containerd-state"
disabled_plugins = ["io.containerd.grpc.v1.cri", "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper", "io.containerd.snapshotter.v1.aufs"]
[grpc]
  address = "$work/containerd.sock"
[ttrpc]
  address = "$work/containerd.sock.ttrpc"
C
containerd --config "$work/containerd.toml" >"$work/containerd.log" 2>&1 &
preload_pid=$!
for _ in $(seq 100); do ctr -a "$work/containerd.sock" version >/dev/null 2>&1 && break; sleep 0.2; done
ctr -a "$work/containerd.sock" -n k8s.io images import "$runtime_image" >/dev/null
kill "$preload_pid" && wait "$preload_pid" 2>/dev/null
preload_pid=

mkdir -p "$work/out"
cp "$(ls "$root"/boot/vmlinuz-* | sort -V | tail -1)" "$work/out/vmlinuz"
cp "$(ls "$root"/boot/initrd.img-* | sort -V | tail -1)" "$work/out/initrd.img"
rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/*
truncate -s 6G "$work/out/rootfs.img"
mkfs.ext4 -q -F -L memlens-v2 -d "$root" "$work/out/rootfs.img"
mkdir -p "$(dirname "$out")"
rm -rf "$out.tmp" && mv "$work/out" "$out.tmp" && mv "$out.tmp" "$out"
# images of earlier versions of this script or of the Node.js layer are never used again
for old in "$(dirname "$out")"/vm-bookworm-*; do [ "$old" = "$out" ] || rm -rf "$old"; done
log "VM image ready in $(( $(date +%s) - started ))s: $out" >&2
echo "$out"
