import { expect } from "chai";
import { Gauge, Registry } from "prom-client";
import { AgentMetrics, type Labels } from "../../../src/agent/metrics.js";
import { HistoryStore, type TrackedCgroup } from "../../../src/agent/store.js";
import { workingSet } from "../../../src/cgroup/memory-stat.js";
import { S, emptyRow, type ColumnName } from "../../../src/cgroup/reading.js";

/** A store of cgroups with the readings given (NaN: not read), one sample each. */
function storeOf(cgroups: { id: string; reading: Partial<Record<ColumnName, number>>; gone?: boolean }[]) {
  const store = new HistoryStore({ periodS: 5, retentionS: 3600 });
  for (const { id, reading, gone } of cgroups) {
    const entry = store.track({
      kind: "container",
      podUID: `uid-${id}`,
      containerID: id,
      qos: "burstable",
      path: `/sys/fs/cgroup/kubepods/burstable/pod-${id}/${id}`,
      relPath: `kubepods/burstable/pod-${id}/${id}`,
      version: "v2",
    });
    const row = emptyRow();
    for (const [name, v] of Object.entries(reading)) row[S[name as ColumnName]] = v;
    entry.history.append(100, row);
    if (gone) store.markGone(entry.cgroup.path, 105);
  }
  return store;
}

/** The per-container gauges as prom-client wrote them before AgentMetrics wrote them itself. */
async function promClientText(store: HistoryStore, labels: (e: TrackedCgroup) => Labels): Promise<string> {
  const registry = new Registry();
  const latest = (name: ColumnName) => (e: TrackedCgroup) => e.history.latest(name);
  const gauges: [string, string, (e: TrackedCgroup) => number | undefined][] = [
    [
      "memlens_container_memory_usage_bytes",
      "cgroup memory usage (memory.current / usage_in_bytes)",
      latest("usage"),
    ],
    [
      "memlens_container_memory_working_set_bytes",
      "usage minus inactive file cache (as the kubelet computes it)",
      (e) => workingSet(e.history.latest("usage") ?? NaN, e.history.latest("inactive_file") ?? NaN),
    ],
    [
      "memlens_container_memory_anon_bytes",
      "anonymous memory (memory.stat anon / total_rss)",
      latest("anon"),
    ],
    ["memlens_container_memory_file_bytes", "page cache (memory.stat file / total_cache)", latest("file")],
    ["memlens_container_memory_shmem_bytes", "shared memory and tmpfs (memory.stat shmem)", latest("shmem")],
    ["memlens_container_memory_limit_bytes", "cgroup memory limit (absent when unlimited)", latest("limit")],
  ];
  for (const [name, help, value] of gauges) {
    new Gauge({
      name,
      help,
      labelNames: ["namespace", "pod", "container", "kind"],
      registers: [registry],
      collect() {
        this.reset();
        for (const entry of store.all()) {
          if (entry.goneAt !== undefined) continue;
          const v = value(entry);
          if (v !== undefined && Number.isFinite(v)) this.set(labels(entry), v);
        }
      },
    });
  }
  return (await registry.metrics()).trimEnd();
}

describe("AgentMetrics.scrape", () => {
  const names: Record<string, Partial<Labels>> = {
    a: { namespace: "shop", pod: "web-1", container: "app" },
    b: { namespace: "shop", pod: "web-1", container: "side" },
    // two cgroups with the same labels (a restart's two instances): one line, the last value
    c1: { namespace: "shop", pod: "web-2", container: "app" },
    c2: { namespace: "shop", pod: "web-2", container: "app" },
    d: { namespace: 'odd"ns\\', pod: "line\nbreak", container: "" },
    gone: { namespace: "shop", pod: "web-3", container: "app" },
  };
  const labels = (e: TrackedCgroup): Labels => ({
    namespace: "",
    pod: "",
    container: "",
    ...names[e.cgroup.containerID ?? ""],
    kind: e.cgroup.kind,
  });
  const store = storeOf([
    {
      id: "a",
      reading: { usage: 100e6, limit: 256e6, anon: 60e6, file: 30e6, shmem: 1e6, inactive_file: 20e6 },
    },
    { id: "b", reading: { usage: 5e6, limit: Infinity } }, // unlimited: no limit line; no memory.stat
    { id: "c1", reading: { usage: 1, limit: 2 } },
    { id: "c2", reading: { usage: 3, anon: 4 } },
    { id: "d", reading: { usage: 0.5e6, inactive_file: 1e6 } },
    { id: "gone", reading: { usage: 7 }, gone: true },
  ]);

  it("writes the per-container gauges as prom-client did, before the agent's own metrics", async () => {
    const metrics = new AgentMetrics(store, labels);
    const text = await metrics.scrape();
    const expected = await promClientText(store, labels);
    // then the agent's own metrics from its registry, the OOM kill counter first
    expect(text.slice(0, expected.length + 2)).to.equal(`${expected}\n\n`);
    expect(text.slice(expected.length + 2)).to.match(/^# HELP memlens_container_oom_kills_total /);
    expect(text).to.include(
      'memlens_container_memory_usage_bytes{namespace="odd\\"ns\\\\",pod="line\\nbreak",container="",kind="container"} 500000',
    );
    expect(text).not.to.include('pod="web-3"');
  });
});
