# memlens — the two commands for a fresh machine:
#   make demo   the main job: a real local cluster, memlens deployed in it, memory stories live
#   make test   every test: lint, unit, and the cluster tests on one real local cluster
# The first run builds Kubernetes from source (~15 min on 2 cores); later runs reuse the cache.
SHELL := /bin/bash
.DEFAULT_GOAL := help
export PATH := $(CURDIR)/node_modules/.bin:$(PATH)

node_modules: package.json package-lock.json
	npm ci --no-audit --no-fund
	@touch node_modules

.PHONY: help
help:
	@echo "make demo          run the demo on a local cluster (DURATION=10m to stop by itself)"
	@echo "make test          lint + all tests (unit and on a real local cluster)"
	@echo "make build         compile TypeScript into dist/"
	@echo "make crds          regenerate crds/, config/crd/ and the chart's crds/ from the zod schemas"
	@echo "make images        build the local OCI images (and import them into a running cluster)"
	@echo "make cluster-up    start the local single-node cluster (.memlens/kubeconfig)"
	@echo "make cluster-down  stop it and leave nothing behind"
	@echo "make tools         build helm and promtool (pinned, cached) that the tests check the chart and rules with"
	@echo "make bench         run the benchmarks in bench/ and print their tables"
	@echo "make bench-scale   the controller at 1000 MemoryInspections x 10 pods on kwok (LOAD_MINUTES=10)"
	@echo "make chaos-soak    overlapping faults on the two-node cluster, kills counted against the kernel (DURATION=10m)"

.PHONY: build
build: node_modules
	tsc -p tsconfig.json

.PHONY: crds
crds: build
	node dist/src/cli/main.js crds

.PHONY: lint
lint: node_modules
	eslint .
	prettier --check .

.PHONY: images
images: build
	cluster/images.sh

.PHONY: cluster-binaries
cluster-binaries:
	cluster/build.sh

# helm and promtool from their Go modules, pinned, cached beside the cluster's binaries
.PHONY: tools
tools:
	cluster/tools.sh

.PHONY: cluster-up
cluster-up: images cluster-binaries
	cluster/up.sh

.PHONY: cluster-down
cluster-down:
	cluster/down.sh

.PHONY: test-unit
test-unit: build
	mocha 'dist/test/unit/**/*.test.js'

# One cluster for the whole run, shared by the cluster tests, always stopped at the end.
.PHONY: test
test: lint build cluster-binaries tools images
	cluster/with-cluster.sh mocha --timeout 600000 'dist/test/unit/**/*.test.js' 'dist/test/cluster/**/*.test.js'

.PHONY: demo
demo: build cluster-binaries images
	cluster/with-cluster.sh node dist/src/cli/main.js demo $(if $(DURATION),--duration $(DURATION))

.PHONY: bench
bench: build
	@for b in dist/bench/*.bench.js; do echo "== $$b"; node --expose-gc $$b || exit 1; done

# Not part of `make test`: ~8 min on the local cluster (started and stopped here), 20 kernel OOM
# kills per node, kill -> agent / Event / kubelet status. On a running cluster: node dist/bench/oom-latency.js
.PHONY: bench-oom
bench-oom: build cluster-binaries images
	cluster/with-cluster.sh node dist/bench/oom-latency.js

# Not part of `make test`: DURATION (default 10m) of overlapping faults on the local cluster
# (started and stopped here), then kernel OOM kills against memlens' counts. On a running
# cluster: DURATION=10m node dist/bench/chaos-soak.js
.PHONY: chaos-soak
chaos-soak: build cluster-binaries images
	cluster/with-cluster.sh node dist/bench/chaos-soak.js

# Not part of `make test`: ~15 min, a control plane of its own with nodes and pods simulated by kwok.
.PHONY: bench-scale
bench-scale: build
	bench/scale/run.sh
