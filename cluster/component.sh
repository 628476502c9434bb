#!/usr/bin/env bash
# Faults for the running local cluster's components (tests of recovery):
#   cluster/component.sh restart NAME          stops NAME and starts it again with the same command line
#   cluster/component.sh pause NAME SECONDS    SIGSTOPs NAME, and SIGCONTs it after SECONDS
# NAME: etcd kube-apiserver kube-controller-manager kube-scheduler containerd kubelet
set -euo pipefail
source "$(dirname "$0")/env.sh"
action=${1:-} name=${2:-}
pidfile=$STATE/pids/$name
[ -n "$name" ] && [ -f "$pidfile" ] || { echo "usage: $0 restart|pause NAME [SECONDS] (NAME: $(ls "$STATE/pids" 2>/dev/null | tr '\n' ' '))" >&2; exit 2; }
# one fault at a time per component: two restarts at once would each start one, and one of them
# would be left running with its PID in no file
exec 9>"$STATE/$name.fault.lock"
flock 9
pid=$(cat "$pidfile")
case $action in
restart)
  mapfile -d '' argv <"/proc/$pid/cmdline"
  stop_pid "$name" 30
  # (not holding the lock: 9>&-)
  setsid "${argv[@]}" >>"$LOG_DIR/$name.log" 2>&1 </dev/null 9>&- &
  echo $! >"$pidfile"
  log "$name restarted (pid $!)"
  ;;
pause)
  kill -STOP "$pid"
  sleep "${3:?seconds}"
  kill -CONT "$pid"
  log "$name paused for ${3}s"
  ;;
*) echo "usage: $0 restart|pause NAME [SECONDS]" >&2; exit 2 ;;
esac
