import type { KernelPart } from "../cgroup/memory-stat.js";

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
  /** of the previous reading's processes, how many are still there (procs.ts survivors) */
  procsKept: Float64Array;
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

const COLUMNS = 21;
/**
 * One buffer reused by every call: an inspection pass analyses containers one after another,
 * and 20 fresh arrays per container would cost more than the rules themselves. A Series lives
 * until the next seriesFromHistories (or toSeries) call; pass `own: true` to keep it longer.
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
    procsKept: col(),
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
