#!/usr/bin/env bash
# Commands for the running cgroup v2 node (memlens-node-v2, a VM without a network of its own):
#   cluster/vm.sh run 'COMMAND'     runs COMMAND as root in the guest (bash), prints its output,
#                                   exits with its exit code (through the 9p share: cluster/vm/guest/commands.sh)
#   cluster/vm.sh freeze SECONDS    stops the VM's CPUs (SIGSTOP to qemu), resumes them after SECONDS
#   cluster/vm.sh status            prints "ready" or why the node is not part of the cluster
set -euo pipefail
source "$(dirname "$0")/env.sh"
source "$CLUSTER_DIR/vm/node.sh"
pidfile=$STATE/pids/qemu-system-x86_64
running() { [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null; }

case "${1:-}" in
run)
  [ $# -eq 2 ] || { echo "usage: $0 run 'COMMAND'" >&2; exit 2; }
  running || { echo "$V2_NODE_NAME is not running" >&2; exit 1; }
  id=$$-$(date +%s%N)
  cmd=$V2_SHARE/cmd
  printf '%s\n' "$2" >"$cmd/$id.tmp"
  mv "$cmd/$id.tmp" "$cmd/$id.sh"
  until [ -f "$cmd/$id.rc" ]; do
    running || { echo "$V2_NODE_NAME stopped" >&2; exit 1; }
    sleep 0.2
  done
  cat "$cmd/$id.out"
  rc=$(cat "$cmd/$id.rc")
  rm -f "$cmd/$id".*
  exit "$rc"
  ;;
freeze)
  running || { echo "$V2_NODE_NAME is not running" >&2; exit 1; }
  pid=$(cat "$pidfile")
  kill -STOP "$pid"
  sleep "${2:?seconds}"
  kill -CONT "$pid"
  log "$V2_NODE_NAME frozen for ${2}s"
  ;;
status)
  if [ -f "$MEMLENS_DIR/v2-node.reason" ]; then cat "$MEMLENS_DIR/v2-node.reason"; exit 1; fi
  running || { echo "$V2_NODE_NAME is not running"; exit 1; }
  echo ready
  ;;
*)
  echo "usage: $0 run 'COMMAND' | freeze SECONDS | status" >&2
  exit 2
  ;;
esac
