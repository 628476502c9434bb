#!/bin/bash
# Runs in the guest (memlens-commands.service): the host's command channel without a network.
# The host drops cmd/ID.sh into the share (cluster/vm.sh run); this runs it, side by side with
# others, and writes ID.out and then ID.rc, which the host waits for.
cd /mnt/memlens/cmd || exit 1
# waits without starting a process each time (a fork is expensive under emulation)
exec {nothing}<> <(:)
while :; do
  for f in *.sh; do
    [ -e "$f" ] || continue
    id=${f%.sh}
    mv "$f" "$id.running"
    (
      bash "$id.running" >"$id.out" 2>&1
      echo $? >"$id.rc.tmp"
      mv "$id.rc.tmp" "$id.rc"
      rm -f "$id.running"
    ) &
  done
  read -r -t 0.5 -u "$nothing" || true
done
