import { Counter, Gauge, Histogram, Registry } from "prom-client";
import { collectProcessMetrics } from "../process-metrics.js";
import { workingSet } from "../cgroup/memory-stat.js";
import type { ColumnName } from "../cgroup/reading.js";
import type { HistoryStore, TrackedCgroup } from "./store.js";

export interface Labels {
  namespace: string;
  pod: string;
  container: string;
  kind: string;
}
/** Names a tracked cgroup for metric labels (from the pod watch). */
export type LabelFn = (entry: TrackedCgroup) => Labels;

const LABELS = ["namespace", "pod", "container", "kind"] as const;

/**
 * The agent's Prometheus registry. Per-container gauges are computed from the history store at
 * scrape time (so a vanished container's series disappears with it); OOM kills are a counter
 * fed by the sampler as it sees oom_kill rise.
 */
export class AgentMetrics {
  readonly registry = new Registry();
  readonly sampleErrors: Counter<"file">;
  readonly sampleDuration: Histogram;
  readonly cpuPerCgroup: Gauge;
  readonly certificateExpiry: Gauge;
  private readonly oomKills: Counter<(typeof LABELS)[number]>;

  constructor(store: HistoryStore, labels: LabelFn) {
    const registers = [this.registry];
    const perContainer = (name: string, help: string, value: (e: TrackedCgroup) => number | undefined) =>
      new Gauge({
        name,
        help,
        labelNames: LABELS,
        registers,
        collect() {
          this.reset();
          for (const entry of store.all()) {
            if (entry.goneAt !== undefined) continue;
            const v = value(entry);
            if (v !== undefined && Number.isFinite(v)) this.set(labels(entry), v);
          }
        },
      });
    const latest = (name: ColumnName) => (e: TrackedCgroup) => e.history.latest(name);
    perContainer(
      "memlens_container_memory_usage_bytes",
      "cgroup memory usage (memory.current / usage_in_bytes)",
      latest("usage"),
    );
    perContainer(
      "memlens_container_memory_working_set_bytes",
      "usage minus inactive file cache (as the kubelet computes it)",
      (e) => workingSet(e.history.latest("usage") ?? NaN, e.history.latest("inactive_file") ?? NaN),
    );
    perContainer(
      "memlens_container_memory_anon_bytes",
      "anonymous memory (memory.stat anon / total_rss)",
      latest("anon"),
    );
    perContainer(
      "memlens_container_memory_file_bytes",
      "page cache (memory.stat file / total_cache)",
      latest("file"),
    );
    perContainer(
      "memlens_container_memory_shmem_bytes",
      "shared memory and tmpfs (memory.stat shmem)",
      latest("shmem"),
    );
    perContainer(
      "memlens_container_memory_limit_bytes",
      "cgroup memory limit (absent when unlimited)",
      latest("limit"),
    );
    this.oomKills = new Counter({
      name: "memlens_container_oom_kills_total",
      help: "OOM kills seen in the cgroup (memory.events oom_kill / memory.oom_control oom_kill) since the agent started",
      labelNames: LABELS,
      registers,
    });
    this.sampleErrors = new Counter({
      name: "memlens_agent_sample_errors_total",
      help: "cgroup files that could not be read or parsed (the rest of the sample was kept)",
      labelNames: ["file"],
      registers,
    });
    this.sampleDuration = new Histogram({
      name: "memlens_agent_sample_duration_seconds",
      help: "wall time of one sampling pass over all cgroups of the node (scan included)",
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers,
    });
    this.cpuPerCgroup = new Gauge({
      name: "memlens_agent_sample_cpu_seconds_per_cgroup",
      help: "CPU time of the last sampling pass divided by the cgroups read",
      registers,
    });
    this.certificateExpiry = new Gauge({
      name: "memlens_agent_serving_certificate_expiry_timestamp_seconds",
      help: "when the serving certificate from the memlens signer expires (absent until one is issued)",
      registers,
    });
    new Gauge({
      name: "memlens_agent_cgroups",
      help: "tracked cgroups; state=gone are vanished ones kept for their last samples",
      labelNames: ["state"],
      registers,
      collect() {
        let gone = 0;
        for (const e of store.all()) if (e.goneAt !== undefined) gone++;
        this.set({ state: "live" }, store.size - gone);
        this.set({ state: "gone" }, gone);
      },
    });
    new Gauge({
      name: "memlens_agent_history_bytes",
      help: "memory held by the per-cgroup history arrays",
      registers,
      collect() {
        this.set(store.bytes());
      },
    });
    collectProcessMetrics(this.registry);
    this.labels = labels;
  }

  private readonly labels: LabelFn;

  oomKilled(entry: TrackedCgroup, count: number): void {
    this.oomKills.inc(this.labels(entry), count);
  }

  forget(entry: TrackedCgroup): void {
    this.oomKills.remove(this.labels(entry));
  }
}
