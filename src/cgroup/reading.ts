import { KERNEL_PARTS, kernelOf, pageCacheOf, unreclaimable, type StatValues } from "./memory-stat.js";
import { survivors } from "./procs.js";
import type { MemorySample } from "./sample.js";

/**
 * A reading of one memory cgroup as a row of numbers in one fixed column order: the one form
 * every consumer sees. The agent's fast reader fills rows from the interface files, its history
 * keeps them, GET /v1/containers serves them as columns (history-wire.ts), the controller and
 * `memlens analyze` copy those columns into the rules' Series. Every quantity derived from
 * memory.stat (kept, page cache, kernel) is computed here, once, by setStatColumns.
 *
 * In a row, NaN = not offered / not read; Infinity = no limit (`max`, v1's near-2^63).
 *
 * kind "gauge": a level; "counter": cumulative, kept monotonic across resets by the history.
 * agg: how the downsampled (older) part of the history folds a bucket of samples:
 *   "max"  - the worst level in the bucket (memory analysis cares about peaks near the limit)
 *   "min"  - the fewest (processes that lived through a period)
 *   "last" - settings and counts where the latest reading is the truth (limits, procs, counters)
 */
export const COLUMNS = [
  { name: "usage", kind: "gauge", agg: "max" },
  { name: "limit", kind: "gauge", agg: "last" },
  { name: "high", kind: "gauge", agg: "last" },
  { name: "peak", kind: "gauge", agg: "max" },
  { name: "swap", kind: "gauge", agg: "max" },
  { name: "procs", kind: "gauge", agg: "last" },
  // of the previous reading's processes, how many are still there (procs.ts survivors); a
  // bucket keeps its fewest, so that a turnover of every process inside it still shows
  { name: "procs_kept", kind: "gauge", agg: "min" },
  { name: "anon", kind: "gauge", agg: "max" },
  { name: "file", kind: "gauge", agg: "max" },
  { name: "shmem", kind: "gauge", agg: "max" },
  { name: "inactive_file", kind: "gauge", agg: "max" },
  // derived from memory.stat by setStatColumns
  { name: "kept", kind: "gauge", agg: "max" },
  { name: "page_cache", kind: "gauge", agg: "max" },
  { name: "kernel", kind: "gauge", agg: "max" },
  // the kernel memory parts KernelMemoryGrowth names (KERNEL_PARTS)
  { name: "slab_unreclaimable", kind: "gauge", agg: "max" },
  { name: "slab_reclaimable", kind: "gauge", agg: "max" },
  { name: "sock", kind: "gauge", agg: "max" },
  { name: "kernel_stack", kind: "gauge", agg: "max" },
  { name: "pagetables", kind: "gauge", agg: "max" },
  { name: "percpu", kind: "gauge", agg: "max" },
  { name: "vmalloc", kind: "gauge", agg: "max" },
  { name: "failcnt", kind: "counter", agg: "last" },
  { name: "oom_kill", kind: "counter", agg: "last" },
  { name: "events_high", kind: "counter", agg: "last" },
  { name: "events_max", kind: "counter", agg: "last" },
  { name: "events_oom", kind: "counter", agg: "last" },
  { name: "psi_some_total", kind: "counter", agg: "last" },
  { name: "psi_full_total", kind: "counter", agg: "last" },
  { name: "psi_some_avg10", kind: "gauge", agg: "max" },
] as const;

export type ColumnName = (typeof COLUMNS)[number]["name"];
export const COLUMN_COUNT = COLUMNS.length;

/** Column index of every quantity, for the hot paths that fill a row. */
export const S = Object.fromEntries(COLUMNS.map((c, i) => [c.name, i])) as Record<ColumnName, number>;

export function emptyRow(): Float64Array {
  return new Float64Array(COLUMN_COUNT).fill(NaN);
}

/**
 * The memory.stat columns of a row, from memory.stat in v2 key names (v1's `total_*` renamed by
 * v1-stat.ts), holding at least the keys the columns need. The only place the derived
 * quantities are computed (formulas and their sources in memory-stat.ts).
 */
export function setStatColumns(row: Float64Array, stat: StatValues): void {
  const anon = stat.anon;
  row[S.anon] = anon ?? NaN;
  row[S.file] = stat.file ?? NaN;
  row[S.shmem] = stat.shmem ?? NaN;
  row[S.inactive_file] = stat.inactive_file ?? NaN;
  row[S.kept] = anon === undefined ? NaN : unreclaimable(stat, anon);
  row[S.page_cache] = pageCacheOf(stat);
  row[S.kernel] = kernelOf(stat);
  for (const part of KERNEL_PARTS) row[S[part]] = stat[part] ?? NaN;
}

/** The memory.stat keys setStatColumns reads: all a reader needs to pick from the file. */
export const STAT_KEYS_READ: readonly string[] = [
  "anon",
  "file",
  "shmem",
  "active_file",
  "inactive_file",
  "kernel",
  ...KERNEL_PARTS,
];

/** The row of one MemorySample (the full parse of sample-from-files.ts), taken after `previous`. */
export function rowFromSample(sample: MemorySample, previous?: MemorySample): Float64Array {
  const row = emptyRow();
  const set = (i: number, v: number | null | undefined) => {
    if (v !== undefined) row[i] = v === null ? Infinity : v;
  };
  set(S.usage, sample.usage);
  set(S.limit, sample.limit);
  set(S.high, sample.high);
  set(S.peak, sample.peak);
  set(S.swap, sample.swapCurrent);
  set(S.procs, sample.procs);
  if (previous?.pids && sample.pids) set(S.procs_kept, survivors(previous.pids, sample.pids));
  if (sample.stat) setStatColumns(row, sample.stat);
  set(S.failcnt, sample.failcnt);
  set(S.oom_kill, sample.version === "v2" ? sample.events?.oom_kill : sample.oomKill);
  set(S.events_high, sample.events?.high);
  set(S.events_max, sample.events?.max);
  set(S.events_oom, sample.events?.oom);
  set(S.psi_some_total, sample.pressure?.some.total);
  set(S.psi_full_total, sample.pressure?.full.total);
  set(S.psi_some_avg10, sample.pressure?.some.avg10);
  return row;
}
