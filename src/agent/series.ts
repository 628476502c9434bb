import type { MemorySample } from "../cgroup/sample.js";

/**
 * The per-cgroup time series the agent keeps, in one fixed order so that a sample is a plain
 * Float64Array row (NaN = not offered / not read this tick) and history columns are indexed,
 * not keyed. Names are the JSON keys of GET /v1/containers.
 *
 * kind "gauge": a level; "counter": cumulative, kept monotonic across resets by the history.
 * agg: how the downsampled (older) part of the history folds a bucket of samples:
 *   "max"  - the worst level in the bucket (memory analysis cares about peaks near the limit)
 *   "last" - settings and counts where the latest reading is the truth (limits, procs, counters)
 */
export const SERIES = [
  { name: "usage", kind: "gauge", agg: "max" },
  { name: "limit", kind: "gauge", agg: "last" },
  { name: "high", kind: "gauge", agg: "last" },
  { name: "anon", kind: "gauge", agg: "max" },
  { name: "file", kind: "gauge", agg: "max" },
  { name: "shmem", kind: "gauge", agg: "max" },
  { name: "active_file", kind: "gauge", agg: "max" },
  { name: "inactive_file", kind: "gauge", agg: "max" },
  { name: "kernel", kind: "gauge", agg: "max" },
  { name: "sock", kind: "gauge", agg: "max" },
  { name: "slab_unreclaimable", kind: "gauge", agg: "max" },
  { name: "swap", kind: "gauge", agg: "max" },
  { name: "peak", kind: "gauge", agg: "max" },
  { name: "procs", kind: "gauge", agg: "last" },
  { name: "failcnt", kind: "counter", agg: "last" },
  { name: "oom_kill", kind: "counter", agg: "last" },
  { name: "events_high", kind: "counter", agg: "last" },
  { name: "events_max", kind: "counter", agg: "last" },
  { name: "events_oom", kind: "counter", agg: "last" },
  { name: "psi_some_total", kind: "counter", agg: "last" },
  { name: "psi_full_total", kind: "counter", agg: "last" },
] as const;

export type SeriesName = (typeof SERIES)[number]["name"];
export const SERIES_COUNT = SERIES.length;

/** Column index of every series, for the hot paths that fill a row. */
export const S = Object.fromEntries(SERIES.map((s, i) => [s.name, i])) as Record<SeriesName, number>;

export function emptyRow(): Float64Array {
  return new Float64Array(SERIES_COUNT).fill(NaN);
}

/**
 * v2's memory.stat has a `kernel` total (6.x); older v2 kernels only have its parts. Kernel
 * memory = slab + sock + kernel_stack + pagetables is the part a container cannot see in its
 * own heap (Documentation/admin-guide/cgroup-v2.rst, memory.stat).
 */
export function kernelBytes(stat: Record<string, number>): number | undefined {
  if (stat.kernel !== undefined) return stat.kernel;
  const parts = [stat.slab, stat.sock, stat.kernel_stack, stat.pagetables];
  if (parts.every((p) => p === undefined)) return undefined;
  return parts.reduce<number>((sum, p) => sum + (p ?? 0), 0);
}

/**
 * The row of one MemorySample (the reference parse of src/cgroup). The sampler fills rows with
 * its own faster reader; tests hold both to the same answer on the real recordings.
 * A "no limit" limit/high is NaN too: JSON has no infinity, and null reads as "no limit".
 */
export function rowFromSample(sample: MemorySample): Float64Array {
  const row = emptyRow();
  const set = (i: number, v: number | null | undefined) => {
    if (v !== undefined && v !== null) row[i] = v;
  };
  const stat = sample.stat ?? {};
  set(S.usage, sample.usage);
  set(S.limit, sample.limit);
  set(S.high, sample.high);
  set(S.anon, stat.anon);
  set(S.file, stat.file);
  set(S.shmem, stat.shmem);
  set(S.active_file, stat.active_file);
  set(S.inactive_file, stat.inactive_file);
  if (sample.version === "v2") set(S.kernel, kernelBytes(stat));
  set(S.sock, stat.sock);
  set(S.slab_unreclaimable, stat.slab_unreclaimable);
  set(S.swap, sample.swapCurrent);
  set(S.peak, sample.peak);
  set(S.procs, sample.procs);
  set(S.failcnt, sample.failcnt);
  set(S.oom_kill, sample.version === "v2" ? sample.events?.oom_kill : sample.oomKill);
  set(S.events_high, sample.events?.high);
  set(S.events_max, sample.events?.max);
  set(S.events_oom, sample.events?.oom);
  set(S.psi_some_total, sample.pressure?.some.total);
  set(S.psi_full_total, sample.pressure?.full.total);
  return row;
}

/** The kubelet's working set: usage minus inactive file cache (what eviction and OOM decisions see). */
export function workingSet(usage: number, inactiveFile: number): number {
  if (Number.isNaN(usage)) return NaN;
  return Number.isNaN(inactiveFile) ? usage : Math.max(0, usage - inactiveFile);
}
