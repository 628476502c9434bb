import { RULE } from "../api/names.js";
import { otherColumn, rateText, trend } from "./attribution.js";
import { evidence, type RuleFinding } from "./finding.js";
import type { KernelPart } from "../cgroup/memory-stat.js";
import type { OomKill } from "./oom-cgroup.js";
import { splitRuns, type Segment } from "./segments.js";
import type { Series } from "./series.js";
import type { Thresholds } from "./thresholds.js";

const HOUR = 3600;
/** a part is named when it makes at least this share of the kernel growth */
const PART_SHARE = 0.1;

/** Where to look, per kernel counter. */
const HINTS: Record<KernelPart, string> = {
  sock: "socket buffers: data received and not read, or sent and not acknowledged, on many or slow connections",
  slab_unreclaimable:
    "kernel objects the processes keep: open files, sockets, epoll and inotify watches, timers",
  slab_reclaimable: "dentries and inodes: many files created or looked up",
  kernel_stack: "kernel stacks: the number of threads grows",
  pagetables: "page tables: the address space grows (many mappings)",
  percpu: "per-CPU kernel data (e.g. many cgroups or BPF maps)",
  vmalloc: "vmalloc areas",
  other_kernel: "other kernel allocations (pipes, io_uring, BPF, KVM page tables, ...)",
};

/**
 * KernelMemoryGrowth: kernel memory charged to the cgroup (slab, socket buffers, stacks, page
 * tables) grows while anonymous memory is flat (and page cache and shmem too: files bring kernel
 * memory of their own, which is no finding). No heap profile shows it; the finding names the
 * memory.stat counter that grows. On v1, memory.stat has no kernel counters: the growth of
 * usage - rss - cache stands in for it (v1 charges kernel memory to usage_in_bytes too).
 */
export function kernelMemoryFindings(
  s: Series,
  kills: OomKill[],
  th: Thresholds,
  /** splitRuns(s, s.kept, kills, th.leak), when the caller has them */
  runs?: Segment[],
): RuleFinding[] {
  if (!s.hasStat) return [];
  const estimated = s.version === "v1" && !hasAny(s.kernel);
  const kernel = estimated ? otherColumn(s) : s.kernel;
  if (!hasAny(kernel)) return [];
  runs ??= splitRuns(s, s.kept, kills, th.leak);
  const k = trend(s, kernel, runs);
  const lt = th.leak;
  if (
    !(k.span * 1000 >= lt.minObservationMs) ||
    !(k.perHour >= lt.minGrowthPerHour) ||
    (k.perHour * k.span) / HOUR < lt.minGrowthBytes ||
    !(k.rising >= lt.minRisingFraction)
  )
    return [];
  // anonymous memory's trend only where the kernel's grows (most containers stop above)
  const a = trend(s, s.anon, runs);
  // flat next to the kernel growth: page cache and shmem growth bring their own kernel
  // bookkeeping (xarray nodes, inodes, dentries: a few % of the file data on a real v1 kernel)
  const flat = (x: number) => !(x >= lt.minGrowthPerHour) || x < th.kinds.flatAnonRatio * k.perHour;
  const pageCache = trend(s, s.pageCache, runs).perHour;
  const shmem = trend(s, s.shmem, runs).perHour;
  if (!flat(a.perHour) || !flat(pageCache) || !flat(shmem)) return [];

  const parts = estimated ? [] : growingParts(s, runs, k.perHour);
  const named = parts.length
    ? ` (${parts.map(([p, r]) => `${p} ${rateText(r)}`).join(", ")})`
    : estimated
      ? " (cgroup v1: usage minus rss and cache; memory.kmem.usage_in_bytes and memory.kmem.slabinfo tell which)"
      : "";
  const anonText = Number.isFinite(a.perHour) ? ` (${rateText(a.perHour)})` : "";
  const hint = parts.length ? ` Look at ${HINTS[(parts[0] as [KernelPart, number])[0]]}.` : "";
  const evidenceParts: Record<string, number> = {};
  for (const [p, r] of parts) evidenceParts[`${p}GrowthBytesPerHour`] = Math.round(r);
  return [
    {
      rule: RULE.KernelMemoryGrowth,
      severity: "Warning",
      message:
        `Kernel memory grows ${rateText(k.perHour)}${named} while anonymous memory is flat${anonText}: ` +
        `this memory is not in any heap profile.${hint}`,
      evidence: evidence({
        kernelGrowthBytesPerHour: Math.round(k.perHour),
        anonGrowthBytesPerHour: Number.isFinite(a.perHour) ? Math.round(a.perHour) : undefined,
        kernelBytes: lastOf(kernel),
        estimatedFromUsage: estimated,
        growingCounters: parts.map(([p]) => p).join(",") || undefined,
        observedSeconds: Math.round(k.span),
        grownBytes: Math.round((k.perHour * k.span) / HOUR),
        ...evidenceParts,
      }),
      firstSeen: s.t[0],
      lastSeen: s.t[s.n - 1],
    },
  ];
}

/** The memory.stat kernel counters that grow, fastest first, with their rates. */
function growingParts(s: Series, runs: Segment[], total: number): [KernelPart, number][] {
  const cols = s.kernelParts();
  const out: [KernelPart, number][] = [];
  for (const [key, col] of cols) {
    if (!hasAny(col)) continue;
    const r = trend(s, col, runs).perHour;
    if (r >= PART_SHARE * total) out.push([key, r]);
  }
  return out.sort((x, y) => y[1] - x[1]);
}

function hasAny(col: Float64Array): boolean {
  for (let i = 0; i < col.length; i++) if (!Number.isNaN(col[i])) return true;
  return false;
}

function lastOf(col: Float64Array): number {
  for (let i = col.length - 1; i >= 0; i--) if (!Number.isNaN(col[i])) return col[i] as number;
  return NaN;
}
