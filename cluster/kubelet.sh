#!/usr/bin/env bash
# The running local cluster's kubelet, for tests that need it:
#   cluster/kubelet.sh restart   restarts it (MEMLENS_EVICTION_HARD, when set, replaces its
#                                evictionHard thresholds; unset restores the default ones)
#   cluster/kubelet.sh summary   prints its /stats/summary node memory figures (JSON)
set -euo pipefail
source "$(dirname "$0")/env.sh"
[ -d "$STATE" ] || { log "the local cluster is not running"; exit 1; }
config=$STATE/kubelet/config.yaml
port=$(awk '$1=="port:"{print $2}' "$config")
pki=$STATE/pki

case "${1:-}" in
restart)
  eviction_hard=${MEMLENS_EVICTION_HARD:-$DEFAULT_EVICTION_HARD}
  sed -i "s|^evictionHard: .*|evictionHard: $eviction_hard|" "$config"
  "$CLUSTER_DIR/component.sh" restart kubelet >/dev/null
  for _ in $(seq 60); do
    curl -sf "http://127.0.0.1:$(awk '$1=="healthzPort:"{print $2}' "$config")/healthz" -o /dev/null && break
    sleep 1
  done
  kubectl_ wait --for=condition=Ready "node/$NODE_NAME" --timeout=60s >/dev/null
  log "kubelet restarted, evictionHard: $eviction_hard"
  ;;
summary)
  curl -sf --cacert "$pki/ca.crt" --cert "$pki/apiserver-kubelet-client.crt" --key "$pki/apiserver-kubelet-client.key" \
    "https://127.0.0.1:$port/stats/summary?only_cpu_and_memory=true" |
    node -e 'process.stdout.write(JSON.stringify(JSON.parse(require("fs").readFileSync(0, "utf8")).node.memory) + "\n")'
  ;;
*)
  echo "usage: $0 restart|summary" >&2
  exit 2
  ;;
esac
