# Pinned versions of the local cluster and where their binaries are cached (sourced).
K8S_VERSION=v1.37.2
ETCD_VERSION=$(awk '$1=="require"{print $3}' "$(dirname "${BASH_SOURCE[0]}")/etcd/go.mod")
memlens_cache_dir() { echo "${MEMLENS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/memlens}"; }
memlens_bin_dir() { echo "$(memlens_cache_dir)/cluster-$K8S_VERSION-etcd-$ETCD_VERSION/bin"; }
# The field's tools the tests check memlens' artefacts with (cluster/tools.sh builds them).
HELM_VERSION=v3.22.0
# github.com/prometheus/prometheus tags its Go module v0.3MM.P for Prometheus v3.MM.P
PROMETHEUS_MODULE_VERSION=v0.316.0
memlens_tools_dir() { echo "$(memlens_cache_dir)/tools-helm-$HELM_VERSION-prometheus-$PROMETHEUS_MODULE_VERSION/bin"; }
# cAdvisor's library, as the kubelet embeds it, for the side-by-side bench (bench/cadvisor/build.sh)
CADVISOR_VERSION=$(awk '$1=="github.com/google/cadvisor/lib"{print $2} $2=="github.com/google/cadvisor/lib"{print $3}' \
  "$(dirname "${BASH_SOURCE[0]}")/../bench/cadvisor/go.mod")
memlens_cadvisor_dir() { echo "$(memlens_cache_dir)/cadvisor-$CADVISOR_VERSION"; }
