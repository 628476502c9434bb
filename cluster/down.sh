#!/usr/bin/env bash
# Stops the local cluster and leaves nothing behind: no process, mount or cgroup, and the kernel
# settings the kubelet changed are restored. Safe to run twice and after a crashed run.
set -uo pipefail
source "$(dirname "$0")/env.sh"
source "$CLUSTER_DIR/vm/node.sh"
[ -d "$STATE" ] || { log "no local cluster state at $STATE: nothing to stop"; rm -f "$REPO/config/local/cluster.env"; exit 0; }
log "stopping the local cluster ($STATE)"

# the VM first (its state is thrown away: the disk is a snapshot); its logs are kept
if [ -f "$STATE/pids/qemu-system-x86_64" ]; then
  timeout 20 "$CLUSTER_DIR/vm.sh" run 'journalctl --no-pager -o short-precise -u memlens-node -u containerd -u kubelet' >"$LOG_DIR/vm-journal.log" 2>&1
  v2_stop
fi
[ -f "$V2_SHARE/boot.log" ] && cp "$V2_SHARE/boot.log" "$LOG_DIR/vm-boot.log"

stop_pid kubelet 10
if [ -S "$STATE/containerd.sock" ]; then
  ctr() { command ctr -a "$STATE/containerd.sock" -n k8s.io "$@"; }
  for t in $(ctr tasks ls -q 2>/dev/null); do ctr tasks kill -s SIGKILL "$t" >/dev/null 2>&1; done
  sleep 0.5
  for t in $(ctr tasks ls -q 2>/dev/null); do ctr tasks delete -f "$t" >/dev/null 2>&1; done
  for c in $(ctr containers ls -q 2>/dev/null); do ctr containers delete "$c" >/dev/null 2>&1; done
fi
stop_pid containerd 10
# shims outlive containerd by design; ours name our socket on their command line
for pid in $(pgrep -f "containerd-shim-runc-v2 .*$STATE" 2>/dev/null); do kill -KILL "$pid" 2>/dev/null; done
# container processes left in our cgroups (a shim killed before its task) go too
for h in $CGROUP_HIERARCHIES; do
  d=/sys/fs/cgroup/$h$CGROUP_ROOT
  [ -d "$d" ] || continue
  find "$d" -name cgroup.procs -exec cat {} + 2>/dev/null | sort -u | while read -r p; do kill -KILL "$p" 2>/dev/null; done
done
stop_pid kube-scheduler 10
stop_pid kube-controller-manager 10
stop_pid kube-apiserver 20   # before etcd: with etcd gone first it can hang in shutdown
stop_pid etcd 10

# mounts under our state dir (kubelet root is rshared, pods add tmpfs, overlay and shm mounts)
for _ in 1 2 3; do
  mps=$(awk -v s="$STATE" 'index($2, s) == 1 {print $2}' /proc/mounts | sort -r)
  [ -z "$mps" ] && break
  for m in $mps; do umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null; done
done

# cgroups: everything under our root, leaf first, then the parents we created
sleep 0.3
for h in $CGROUP_HIERARCHIES; do
  d=/sys/fs/cgroup/$h$CGROUP_ROOT
  [ -d "$d" ] && find "$d" -depth -type d -exec rmdir {} \; 2>/dev/null
done
if [ -f "$STATE/cgroups.created" ]; then
  tac "$STATE/cgroups.created" | while read -r d; do [ -d "$d" ] && rmdir "$d" 2>/dev/null; done
fi

# kernel settings the kubelet changed
if [ -f "$STATE/sysctl.saved" ]; then
  while read -r key value; do sysctl -qw "$key=$value" 2>/dev/null; done <"$STATE/sysctl.saved"
fi

rm -rf "$STATE" 2>/dev/null || { sleep 1; rm -rf "$STATE"; }
rm -f "$KUBECONFIG_PATH" "$REPO/config/local/cluster.env"

# prove it: no process of ours, no mount, no cgroup left
problems=()
# (each of our processes names the state directory on its command line; others may run the same binaries)
procs=$(pgrep -f "$STATE[/ ]" 2>/dev/null | tr '\n' ' ')
[ -n "$procs" ] && problems+=("processes $procs")
grep -q " $STATE" /proc/mounts && problems+=("mounts under $STATE")
for h in $CGROUP_HIERARCHIES; do [ -d "/sys/fs/cgroup/$h$CGROUP_ROOT" ] && problems+=("cgroup /sys/fs/cgroup/$h$CGROUP_ROOT"); done
[ -d "$STATE" ] && problems+=("state dir $STATE")
if [ ${#problems[@]} -gt 0 ]; then
  log "FAILED to leave nothing behind: ${problems[*]}"
  exit 1
fi
log "stopped; nothing left behind (no process, mount or cgroup)"
