/**
 * What kind of memory a cgroup holds, per sample and over time.
 *
 * The kernel's memory.stat counts the same pages twice, by type and by LRU list, and the two
 * views must not be added up:
 *   - by type: `anon` (heap, stacks, anonymous mmap), `file` (ALL page cache, and that includes
 *     tmpfs / shmem: cgroup-v2.rst "file: Amount of memory used to cache filesystem data,
 *     including tmpfs and shared memory"; cgroup-v1/memory.rst §5.2 `cache` likewise counts
 *     shmem, listed again as `shmem`), `shmem` (a part of `file`), kernel counters.
 *   - by LRU list: active_file + inactive_file hold the page cache the kernel can reclaim.
 *     shmem pages are swap-backed and sit on the ANON lists (cgroup-v2.rst: "shmem pages are on
 *     anon memory management lists ... inactive_foo + active_foo may not be equal to the value
 *     for the foo counter, since the foo counter is type-based, not list-based").
 * So: file ≈ pageCache + shmem, and pageCache = active_file + inactive_file (never file alone).
 *
 * Which figure decides what (MEMORY_FIGURES says it in words for messages and docs):
 *   - OOM kill: the cgroup's usage (memory.current / usage_in_bytes) reaching its limit after
 *     the kernel reclaimed what it could (page cache; anon and shmem only to swap). Effectively
 *     `unreclaimable` = anon + shmem + kernel memory that cannot be reclaimed.
 *   - eviction: the kubelet's working set (usage - inactive_file, as cAdvisor computes it) of
 *     each pod, compared with its memory request, when the NODE is under memory pressure
 *     (memory.available below the eviction threshold). Active page cache counts in it.
 */
import type { MemorySample } from "../cgroup/sample.js";
import { formatBytes } from "../api/quantity.js";
import type { RuleFinding } from "./finding.js";
import type { OomKill } from "./oom-cgroup.js";
import { findOomKills } from "./oom-cgroup.js";
import { splitRuns, type Segment } from "./segments.js";
import {
  kernelOf,
  kernelPartsOf,
  pageCacheOf,
  workingSetOf,
  type KernelPart,
} from "../cgroup/memory-stat.js";
import { toSeries } from "./history-series.js";
import type { Series } from "./series.js";
import {
  addWindows,
  makePoints,
  makeWindows,
  minimaOver,
  risingFraction,
  theilSen,
  type Points,
} from "./stats.js";
import { DEFAULT_THRESHOLDS, resolveThresholds, type Thresholds } from "./thresholds.js";

/** What each figure means and which one decides an OOM kill or an eviction. */
export const MEMORY_FIGURES = {
  anon: "Anonymous memory: heap, thread stacks, anonymous mmap (memory.stat anon; v1 total_rss). Only swap can free it.",
  pageCache:
    "Page cache: file data the kernel caches (active_file + inactive_file). The kernel reclaims it before it OOM-kills; it is neither a leak nor an OOM risk.",
  shmem:
    "Files in memory: tmpfs, emptyDir medium Memory, /dev/shm, shared anonymous mmap (memory.stat shmem). Counted inside file / cache by the kernel, but not reclaimable without swap, and on a pod's memory-backed volume it outlives container restarts.",
  kernel:
    "Kernel memory charged to the cgroup: slab (dentries, inodes, other objects), socket buffers (sock), kernel stacks, page tables. Not in any heap profile.",
  swap: "Memory swapped out (memory.swap.current; v1 memory.stat swap).",
  workingSet:
    "The kubelet's working set (container_memory_working_set_bytes, kubectl top): usage - inactive_file, floored at 0 (cAdvisor: v1 total_inactive_file, v2 inactive_file). Active page cache and shmem count in it.",
  rss: "cAdvisor's RSS (container_memory_rss): v1 total_rss, v2 anon.",
  oomKill:
    "An OOM kill comes when the cgroup's usage reaches its memory limit and reclaim cannot free enough: page cache is reclaimed first, so what decides it is effectively anon + shmem + unreclaimable kernel memory (`unreclaimable`).",
  eviction:
    "An eviction comes when the NODE runs short (memory.available below the kubelet's eviction threshold, condition MemoryPressure): the kubelet evicts pods whose working set exceeds their memory request first (BestEffort, then Burstable), by priority and by how far over the request they are.",
} as const;

/** One sample broken down by kind. Bytes; NaN where the kernel did not offer the number. */
export interface MemoryBreakdown {
  t: number;
  version: "v1" | "v2";
  /** memory.current / usage_in_bytes */
  usage: number;
  /** anonymous memory: heap and stacks (memory.stat anon; v1 total_rss) */
  anon: number;
  /** reclaimable page cache: activeFile + inactiveFile (shmem is not in it) */
  pageCache: number;
  activeFile: number;
  inactiveFile: number;
  /** tmpfs, memory-backed emptyDir, /dev/shm */
  shmem: number;
  /** the kernel's `file` (v1 total_cache): pageCache + shmem, plus file pages on no LRU list yet */
  file: number;
  /** kernel memory: v2 `kernel` + sock, or the sum of the parts; NaN on v1 */
  kernel: number;
  /** the parts of `kernel` memory.stat names (slab_reclaimable, slab_unreclaimable, sock, ...) */
  kernelParts: Partial<Record<KernelPart, number>>;
  swap: number;
  /** the kubelet's working set: usage - inactiveFile, floored at 0 */
  workingSet: number;
  /** cAdvisor's RSS: v1 total_rss, v2 anon */
  rss: number;
  /** what decides an OOM kill: anon + shmem + kernel - slab_reclaimable */
  unreclaimable: number;
  /**
   * usage not in anon + file + kernel: on v1 mostly kernel memory (v1 charges kmem to
   * usage_in_bytes too, but memory.stat does not show it), plus per-CPU charge batches
   */
  other: number;
}

/** The breakdown of one sample. */
export function breakdown(sample: MemorySample): MemoryBreakdown {
  const stat = sample.stat ?? {};
  const usage = sample.usage ?? NaN;
  const anon = stat.anon ?? NaN;
  const shmem = stat.shmem ?? NaN;
  const file = stat.file ?? NaN;
  const kernel = kernelOf(stat);
  const knownKernel = Number.isNaN(kernel) ? 0 : kernel;
  return {
    t: sample.t,
    version: sample.version,
    usage,
    anon,
    pageCache: pageCacheOf(stat),
    activeFile: stat.active_file ?? NaN,
    inactiveFile: stat.inactive_file ?? NaN,
    shmem,
    file,
    kernel,
    kernelParts: kernelPartsOf(stat),
    swap: sample.swapCurrent ?? stat.swap ?? NaN,
    workingSet: workingSetOf(usage, sample.stat),
    rss: anon,
    unreclaimable:
      anon + (Number.isNaN(shmem) ? 0 : shmem) + Math.max(0, knownKernel - (stat.slab_reclaimable ?? 0)),
    other: usage - anon - file - knownKernel,
  };
}

/** Growth of each kind over a history, bytes per hour (NaN: the kernel did not offer it). */
export interface GrowthByKind {
  anon: number;
  pageCache: number;
  shmem: number;
  /** kernel memory; on v1, usage - anon - file (v1 memory.stat has no kernel counters) */
  kernel: number;
}

const HOUR = 3600;
const WINDOWS = 32;

/**
 * The trend of each kind, bytes/h: a Theil–Sen slope over the lower envelope (per-window
 * minima) within each run between restarts, as the leak rule fits, so a GC sawtooth or a
 * restart's fall is not a trend. Pass thresholds to split runs the way the rules do.
 */
export function growthByKind(samples: readonly MemorySample[], th?: Thresholds): GrowthByKind {
  const t = th ?? resolveThresholds();
  const s = toSeries(samples, true);
  return growthOfSeries(s, findOomKills(s, t.oom), t);
}

/** growthByKind over a Series (the rules' columns). */
export function growthOfSeries(s: Series, kills: OomKill[], th: Thresholds, runs?: Segment[]): GrowthByKind {
  const r = runs ?? splitRuns(s, s.hasStat ? s.kept : s.usage, kills, th.leak);
  const kernel = s.version === "v1" && allNaN(s.kernel) ? otherColumn(s) : s.kernel;
  return {
    anon: trendPerHour(s, s.anon, r),
    pageCache: trendPerHour(s, s.pageCache, r),
    shmem: trendPerHour(s, s.shmem, r),
    kernel: trendPerHour(s, kernel, r),
  };
}

/** v1: usage - anon - file, the kernel memory memory.stat does not show (NaN without memory.stat). */
export function otherColumn(s: Series): Float64Array {
  const out = new Float64Array(s.n);
  for (let i = 0; i < s.n; i++)
    out[i] = (s.usage[i] as number) - (s.anon[i] as number) - (s.file[i] as number);
  return out;
}

function allNaN(col: Float64Array): boolean {
  for (let i = 0; i < col.length; i++) if (!Number.isNaN(col[i])) return false;
  return true;
}

/** Theil–Sen slope of y's per-window minima within runs, bytes/h; NaN without two points in a run. */
export function trendPerHour(s: Series, y: Float64Array, runs: Segment[]): number {
  return trend(s, y, runs).perHour;
}

export interface Trend {
  /** Theil–Sen slope of the lower envelope, bytes/h */
  perHour: number;
  /** share of consecutive envelope steps that rise */
  rising: number;
  /** seconds covered by the runs */
  span: number;
}

/**
 * What the trends over one set of runs share: the windows of the lower envelope, and the trends
 * computed so far. The rules of one analysis share their runs (analyze.ts splits them once) and
 * ask for the same columns' trends (anon, shmem, kernel) more than once, over the same windows.
 * One analysis at a time: the next set of runs (the next analysis) takes the place of the last,
 * reusing its buffers.
 */
const shared = {
  s: undefined as Series | undefined,
  runs: undefined as Segment[] | undefined,
  /** seconds covered by the runs of two samples or more */
  span: 0,
  /** WINDOWS windows over those runs, in proportion to each run's span (at least 2 a run) */
  windows: makeWindows(64),
  /** the trends computed so far, and their columns */
  columns: [] as Float64Array[],
  trends: [] as Trend[],
};

/** The lower envelope of y (per-window minima, within runs) and its robust slope. Do not modify the result. */
export function trend(s: Series, y: Float64Array, runs: Segment[]): Trend {
  if (shared.runs !== runs || shared.s !== s) share(s, runs);
  const known = shared.columns.indexOf(y);
  if (known >= 0) return shared.trends[known] as Trend;
  const out = computeTrend(s, y);
  shared.columns.push(y);
  shared.trends.push(out);
  return out;
}

function share(s: Series, runs: Segment[]): void {
  const t = s.t;
  let span = 0;
  for (const g of runs) if (g.to - g.from >= 2) span += (t[g.to - 1] as number) - (t[g.from] as number);
  shared.s = s;
  shared.runs = runs;
  shared.span = span;
  shared.windows.n = 0;
  shared.columns.length = 0;
  shared.trends.length = 0;
  if (span <= 0) return;
  let group = 0;
  for (const g of runs) {
    if (g.to - g.from < 2) continue;
    const count = Math.max(
      2,
      Math.round((WINDOWS * ((t[g.to - 1] as number) - (t[g.from] as number))) / span),
    );
    addWindows(t, g.from, g.to, count, group++, shared.windows);
  }
}

/** The envelope points of the column being fitted: reused, a trend is computed to the end before the next. */
let points = makePoints(64);

function computeTrend(s: Series, y: Float64Array): Trend {
  const { span, windows } = shared;
  if (span <= 0) return { perHour: NaN, rising: NaN, span: 0 };
  if (points.t.length < windows.n) points = makePoints(Math.max(windows.n, 2 * points.t.length));
  points.n = 0;
  minimaOver(s.t, y, windows, points);
  if (flat(points)) {
    // a column that does not move (no shmem, a fixed page cache): every slope is exactly 0 and
    // every step flat, which is what Theil–Sen and risingFraction would find; with no two
    // points in a run there is neither
    return hasStep(points) ? { perHour: 0, rising: 0.5, span } : { perHour: NaN, rising: NaN, span };
  }
  return { perHour: theilSen(points) * HOUR, rising: risingFraction(points), span };
}

/** Whether two neighbouring points are in one run. */
function hasStep(p: Points): boolean {
  for (let i = 1; i < p.n; i++) if (p.g[i] === p.g[i - 1]) return true;
  return false;
}

/** Whether every point has the same finite y (and there is one). */
function flat(p: Points): boolean {
  if (p.n === 0) return false;
  const y0 = p.y[0] as number;
  if (!Number.isFinite(y0)) return false;
  for (let i = 1; i < p.n; i++) if (p.y[i] !== y0) return false;
  return true;
}

const KIND_NAMES: Record<keyof GrowthByKind, string> = {
  anon: "anonymous memory",
  pageCache: "page cache",
  shmem: "shmem (files in memory)",
  kernel: "kernel memory",
};

/** Next to the fastest kind, a kind growing less than this share of it reads "flat". */
const RELATIVE_FLAT = 0.05;

/** Below this rate a kind reads "flat": the larger of `flatPerHour` and 5 % of the fastest kind. */
function flatBelow(g: GrowthByKind, flatPerHour: number): number {
  let fastest = 0;
  for (const kind of Object.keys(KIND_NAMES) as (keyof GrowthByKind)[])
    if (Math.abs(g[kind]) > fastest) fastest = Math.abs(g[kind]);
  return Math.max(flatPerHour, RELATIVE_FLAT * fastest);
}

/**
 * "anonymous memory +38 MiB/h; page cache flat; shmem (files in memory) flat; kernel memory flat".
 * Rates below `flatPerHour` (the leak rule's smallest growth worth a finding), or below 5 % of
 * the fastest kind, read "flat"; kinds the kernel did not offer are left out.
 */
export function describeGrowth(
  g: GrowthByKind,
  flatPerHour: number = DEFAULT_THRESHOLDS.leak.minGrowthPerHour,
): string {
  const flat = flatBelow(g, flatPerHour);
  const parts: string[] = [];
  for (const kind of Object.keys(KIND_NAMES) as (keyof GrowthByKind)[]) {
    const rate = g[kind];
    if (Number.isNaN(rate)) continue;
    parts.push(`${KIND_NAMES[kind]} ${Math.abs(rate) < flat ? "flat" : rateText(rate)}`);
  }
  return parts.join("; ");
}

/** "+38 MiB/h", "-5 MiB/h" */
export function rateText(bytesPerHour: number): string {
  return `${bytesPerHour >= 0 ? "+" : "-"}${formatBytes(Math.abs(bytesPerHour))}/h`;
}

/** The kinds whose growth is worth naming (not "flat" in describeGrowth), fastest first. */
export function growingKinds(
  g: GrowthByKind,
  flatPerHour: number = DEFAULT_THRESHOLDS.leak.minGrowthPerHour,
): (keyof GrowthByKind)[] {
  const flat = flatBelow(g, flatPerHour);
  return (Object.keys(KIND_NAMES) as (keyof GrowthByKind)[])
    .filter((k) => g[k] >= flat)
    .sort((a, b) => g[b] - g[a]);
}

/** Evidence fields for a finding: growth per kind, bytes/h, rounded. */
export function growthEvidence(g: GrowthByKind): Record<string, number> {
  const out: Record<string, number> = {};
  for (const kind of Object.keys(KIND_NAMES) as (keyof GrowthByKind)[]) {
    const v = g[kind];
    if (Number.isFinite(v)) out[`${kind}GrowthBytesPerHour`] = Math.round(v);
  }
  return out;
}

/**
 * Adds the growth by kind to a MemoryLeak finding: evidence `<kind>GrowthBytesPerHour`, and the
 * clause "By kind: anonymous memory +38 MiB/h; page cache flat; ..." at the end of the message.
 * A message that already names the only kind that grows ("Anonymous memory grows ...", with
 * every other kind flat) keeps its single sentence; the evidence carries the rates.
 */
export function withGrowthByKind(
  f: RuleFinding,
  s: Series,
  kills: OomKill[],
  th: Thresholds,
  runs?: Segment[],
): RuleFinding {
  const g = growthOfSeries(s, kills, th, runs);
  Object.assign(f.evidence, growthEvidence(g));
  const clause = describeGrowth(g, th.leak.minGrowthPerHour);
  const growing = growingKinds(g, th.leak.minGrowthPerHour);
  const saidAlready = f.message.startsWith("Anonymous memory") && growing.every((k) => k === "anon");
  if (clause && !saidAlready) f.message = `${f.message} By kind: ${clause}.`;
  return f;
}
