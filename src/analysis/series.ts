import type { MemorySample } from "../cgroup/sample.js";
import { KERNEL_PARTS, kernelOf, kernelPartsOf, pageCacheOf, type KernelPart } from "./memory-stat.js";

/**
 * A container's history as columns (one typed array per quantity, NaN where the kernel did not
 * offer the file), read once so that every rule runs over plain numbers: the rules see
 * thousands of samples per container and an operator inspects many containers.
 */
export interface Series {
  n: number;
  version: "v1" | "v2";
  /** seconds */
  t: Float64Array;
  usage: Float64Array;
  /** memory.max / limit_in_bytes; Infinity = unlimited */
  limit: Float64Array;
  /** memory.high; Infinity = unlimited */
  high: Float64Array;
  peak: Float64Array;
  failcnt: Float64Array;
  /** oom_kill counter: memory.events (v2) or memory.oom_control (v1) */
  oomKill: Float64Array;
  /** memory.events high */
  highEvents: Float64Array;
  procs: Float64Array;
  /** memory the kernel cannot reclaim without swap (see unreclaimable); NaN without memory.stat */
  kept: Float64Array;
  /** memory.stat anon */
  anon: Float64Array;
  /** page cache (memory.stat file) */
  file: Float64Array;
  /** memory.stat shmem: tmpfs, memory-backed emptyDir, /dev/shm (inside `file`) */
  shmem: Float64Array;
  /** reclaimable page cache: active_file + inactive_file (shmem not in it; see memory-stat.ts) */
  pageCache: Float64Array;
  inactiveFile: Float64Array;
  /** kernel memory incl. sock (see memory-stat.ts kernelOf); NaN on v1 */
  kernel: Float64Array;
  /** swap used: memory.swap.current (v2), memory.stat swap (v1) */
  swap: Float64Array;
  /** PSI totals, seconds */
  someTotal: Float64Array;
  fullTotal: Float64Array;
  someAvg10: Float64Array;
  /** true when `kept` came from memory.stat in at least one sample */
  hasStat: boolean;
  /**
   * The memory.stat kernel counters (KERNEL_PARTS order, then other_kernel), one column each, NaN
   * where not offered; read only when a rule needs them (KernelMemoryGrowth names what grows).
   */
  kernelParts: () => Map<KernelPart, Float64Array>;
}

const COLUMNS = 20;
/**
 * One buffer reused by every call: an inspection pass analyses containers one after another,
 * and 20 fresh arrays per container would cost more than the rules themselves. A Series lives
 * until the next toSeries (or seriesFromHistories) call; pass `own: true` to keep it longer.
 */
let pool = new Float64Array(0);

/** A Series of n samples whose columns are still to be filled (hasStat false, no kernel parts). */
export function emptySeries(n: number, version: "v1" | "v2", own = false): Series {
  let buf: Float64Array;
  if (own) buf = new Float64Array(n * COLUMNS);
  else {
    if (pool.length < n * COLUMNS) pool = new Float64Array(Math.max(n * COLUMNS, pool.length * 2));
    buf = pool;
  }
  let next = 0;
  const col = () => buf.subarray(n * next, n * ++next);
  return {
    n,
    version,
    t: col(),
    usage: col(),
    limit: col(),
    high: col(),
    peak: col(),
    failcnt: col(),
    oomKill: col(),
    highEvents: col(),
    procs: col(),
    kept: col(),
    anon: col(),
    file: col(),
    shmem: col(),
    pageCache: col(),
    inactiveFile: col(),
    kernel: col(),
    swap: col(),
    someTotal: col(),
    fullTotal: col(),
    someAvg10: col(),
    hasStat: false,
    kernelParts: () => new Map(),
  };
}

/** Columns of a history, in time order (sorted here if it is not). */
export function toSeries(samples: readonly MemorySample[], own = false): Series {
  const n = samples.length;
  const s = emptySeries(n, samples[0]?.version ?? "v2", own);
  s.kernelParts = () => kernelPartColumns(samples);
  // columns in locals: the loop below is the one pass over every sample's objects
  const { t, usage, limit: limitCol, high: highCol, peak, failcnt, procs, oomKill, highEvents } = s;
  const { kept, anon: anonCol, file, shmem, pageCache, inactiveFile, kernel, swap } = s;
  const { someTotal, someAvg10, fullTotal } = s;
  let hasStat = false;
  for (let i = 0; i < n; i++) {
    const x = samples[i] as MemorySample;
    const ti = x.t;
    if (i > 0 && ti < (t[i - 1] as number))
      return toSeries(
        [...samples].sort((a, b) => a.t - b.t),
        own,
      );
    t[i] = ti;
    usage[i] = x.usage ?? NaN;
    const limit = x.limit;
    limitCol[i] = limit === null ? Infinity : (limit ?? NaN);
    const high = x.high;
    highCol[i] = high === null ? Infinity : (high ?? NaN);
    peak[i] = x.peak ?? NaN;
    failcnt[i] = x.failcnt ?? NaN;
    procs[i] = x.procs ?? NaN;
    const events = x.events;
    if (events !== undefined) {
      oomKill[i] = events.oom_kill ?? NaN;
      highEvents[i] = events.high ?? NaN;
    } else {
      oomKill[i] = x.oomKill ?? NaN;
      highEvents[i] = NaN;
    }
    const stat = x.stat;
    if (stat !== undefined) {
      const anon = stat.anon;
      const fileV = stat.file;
      const shmemV = stat.shmem;
      if (anon !== undefined) {
        kept[i] = unreclaimable(stat, anon);
        anonCol[i] = anon;
        hasStat = true;
      } else {
        kept[i] = NaN;
        anonCol[i] = NaN;
      }
      file[i] = fileV ?? NaN;
      shmem[i] = shmemV ?? NaN;
      pageCache[i] = pageCacheOf(stat);
      inactiveFile[i] = stat.inactive_file ?? NaN;
      kernel[i] = kernelOf(stat);
      swap[i] = x.swapCurrent ?? stat.swap ?? NaN;
    } else {
      kept[i] = NaN;
      anonCol[i] = NaN;
      file[i] = NaN;
      shmem[i] = NaN;
      pageCache[i] = NaN;
      inactiveFile[i] = NaN;
      kernel[i] = NaN;
      swap[i] = x.swapCurrent ?? NaN;
    }
    const psi = x.pressure;
    if (psi !== undefined) {
      someTotal[i] = psi.some.total;
      someAvg10[i] = psi.some.avg10;
      fullTotal[i] = psi.full.total;
    } else {
      someTotal[i] = NaN;
      someAvg10[i] = NaN;
      fullTotal[i] = NaN;
    }
  }
  s.hasStat = hasStat;
  return s;
}

/** kernelPartsOf of every sample, as columns (see Series.kernelParts). */
function kernelPartColumns(samples: readonly MemorySample[]): Map<KernelPart, Float64Array> {
  const cols = new Map<KernelPart, Float64Array>();
  for (const key of [...KERNEL_PARTS, "other_kernel"] as const)
    cols.set(key, new Float64Array(samples.length).fill(NaN));
  samples.forEach((x, i) => {
    if (!x.stat) return;
    for (const [key, v] of Object.entries(kernelPartsOf(x.stat)))
      (cols.get(key as KernelPart) as Float64Array)[i] = v;
  });
  return cols;
}

/**
 * Memory the kernel cannot give back without swap: anonymous pages, tmpfs/shmem (counted in
 * `file` but not reclaimable), and unreclaimable kernel memory. Page cache (active_file,
 * inactive_file) is left out on purpose: the kernel reclaims it before it OOM-kills
 * (Documentation/admin-guide/cgroup-v2.rst "memory.stat"; mm/vmscan.c reclaims file LRUs first).
 * v2 `kernel` already sums kernel_stack, pagetables, percpu, vmalloc and slab; only
 * slab_reclaimable (dentries, inodes) comes back under pressure. v1's memory.stat has no kernel
 * memory at all (kmem lives in memory.kmem.*), so there it is anon + shmem.
 */
export function unreclaimable(stat: Record<string, number>, anon: number): number {
  const kernel =
    stat.kernel !== undefined
      ? stat.kernel - (stat.slab_reclaimable ?? 0)
      : (stat.kernel_stack ?? 0) +
        (stat.pagetables ?? 0) +
        (stat.percpu ?? 0) +
        (stat.slab_unreclaimable ?? 0);
  return anon + (stat.shmem ?? 0) + Math.max(0, kernel);
}

/**
 * Increase of a kernel counter between two readings. A counter that went down was reset (the
 * cgroup was created anew, e.g. by a container restart): everything it counts now is new.
 */
export function counterDelta(prev: number, cur: number): number {
  const d = cur - prev;
  if (d >= 0) return d;
  // NaN (a reading missing) fails both comparisons: no increase known
  return cur < prev ? cur : 0;
}

/** Sum of counterDelta over consecutive readings of a counter column (its increase over the history). */
export function counterIncrease(col: Float64Array, n = col.length): number {
  let sum = 0;
  for (let i = 1; i < n; i++) sum += counterDelta(col[i - 1] as number, col[i] as number);
  return sum;
}

/** The last reading that is not NaN, or NaN. */
export function lastKnown(col: Float64Array, end = col.length): number {
  for (let i = end - 1; i >= 0; i--) if (!Number.isNaN(col[i])) return col[i] as number;
  return NaN;
}

/** The largest reading that is not NaN, or NaN. */
export function maxKnown(col: Float64Array, from = 0, to = col.length): number {
  let m = NaN;
  for (let i = from; i < to; i++) {
    const v = col[i] as number;
    if (v > m || (Number.isNaN(m) && !Number.isNaN(v))) m = v;
  }
  return m;
}
