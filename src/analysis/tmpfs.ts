import { RULE } from "../api/names.js";
import type { Recommendation } from "../api/memoryinspection.js";
import { formatBytes } from "../api/quantity.js";
import { rateText, trend } from "./attribution.js";
import { evidence, fmt, times, type RuleFinding } from "./finding.js";
import type { OomKill } from "./oom-cgroup.js";
import { formatQuantity, limitMemoryVolume, type VolumeRef, type WorkloadRef } from "./recommend.js";
import { splitRuns, type Segment } from "./segments.js";
import { lastKnown, type Series } from "./series.js";
import type { Thresholds } from "./thresholds.js";

const HOUR = 3600;
/** samples before a kill to look for the shmem level the kill found */
const BEFORE = 3;
/** headroom over the process's own memory when sizing a memory-backed volume */
const HEADROOM = 1.5;

/** An emptyDir of the pod spec: `{name, medium, sizeLimit}` (medium "Memory" = tmpfs). */
export type MemoryVolume = VolumeRef;

/** The pod spec's volumes in the rule's shape (pass `pod.spec.volumes`). */
export function podVolumes(
  volumes: readonly { name: string; emptyDir?: { medium?: string; sizeLimit?: string } }[] | undefined,
): MemoryVolume[] {
  return (volumes ?? [])
    .filter((v) => v.emptyDir)
    .map((v) => ({
      name: v.name,
      ...(v.emptyDir?.medium ? { medium: v.emptyDir.medium } : {}),
      ...(v.emptyDir?.sizeLimit ? { sizeLimit: v.emptyDir.sizeLimit } : {}),
    }));
}

export interface TmpfsInput {
  /** the pod's emptyDir volumes; the memory-backed ones (medium Memory) are named and patched */
  volumes?: readonly MemoryVolume[];
  /**
   * "pod" when the samples are the pod-level cgroup's: files in a pod's volume stay charged there
   * after the container that wrote them is gone (on cgroup v1 the container's charges go to
   * the pod cgroup), so that is where shmem is seen across restarts
   */
  scope?: "container" | "pod";
  workload: WorkloadRef;
  container: string;
  pod?: string;
  request?: number;
  /**
   * OOM kills of the container the kubelet reported (pod status): on a v1 pod cgroup a poller
   * rarely sees the kill itself, but the restarts are certain
   */
  statusKills?: number;
}

export interface TmpfsResult {
  findings: RuleFinding[];
  recommendations: Recommendation[];
}

/**
 * TmpfsGrowth: memory that grows as shmem (files in tmpfs, emptyDir medium Memory, /dev/shm), or
 * shmem that is a large part of usage near the limit or at OOM kills. Shmem is not page cache
 * the kernel can drop: without swap it stays until the files are deleted, and in a pod's
 * volume it outlives the container, so when kills repeat and the shmem stays across them the
 * finding says that restarts cannot free it.
 */
export function tmpfsFindings(
  s: Series,
  kills: OomKill[],
  th: Thresholds,
  limit: number,
  input: TmpfsInput,
  /** splitRuns(s, s.hasStat ? s.kept : s.usage, kills, th.leak), when the caller has them */
  runs?: Segment[],
): TmpfsResult {
  const none = { findings: [], recommendations: [] };
  if (Number.isNaN(lastKnown(s.shmem))) return none;
  runs ??= splitRuns(s, s.hasStat ? s.kept : s.usage, kills, th.leak);
  // shmem a large share of usage near the limit (or just before a kill)
  const k = th.kinds;
  let nearIdx = -1;
  let shmemMax = 0;
  let shmemMin = Infinity;
  let shmemLast = NaN;
  // a v1 pod cgroup holds no process itself (they are in its container cgroups): its
  // cgroup.procs says nothing about whether the container runs
  const procsTell = input.scope !== "pod" && listsProcesses(s);
  // columns and thresholds in locals: this loop looks at every sample
  const { n, shmem, procs, usage: usageCol } = s;
  const limited = Number.isFinite(limit);
  const near = k.nearLimitRatio * limit;
  const { minShmemShare } = k;
  const minBytes = th.leak.minGrowthBytes;
  for (let i = 0; i < n; i++) {
    const sh = shmem[i] as number;
    if (Number.isNaN(sh)) continue;
    if (!procsTell || procs[i] !== 0) shmemLast = sh;
    shmemMax = Math.max(shmemMax, sh);
    if (sh < shmemMin) shmemMin = sh;
    const usage = usageCol[i] as number;
    if (limited && usage >= near && sh >= minShmemShare * usage && sh >= minBytes) nearIdx = i;
  }

  // shmem that never moved (most containers have none at all) has a flat envelope (slope 0, or
  // none): it grows by no positive threshold, and its trend is wanted only for a finding's
  // evidence (below)
  const still = shmemMin === shmemMax && th.leak.minGrowthPerHour > 0;
  let growth = still ? undefined : trend(s, s.shmem, runs);
  const grows =
    growth !== undefined &&
    growth.span * 1000 >= th.leak.minObservationMs &&
    growth.perHour >= th.leak.minGrowthPerHour &&
    (growth.perHour * growth.span) / HOUR >= th.leak.minGrowthBytes &&
    growth.rising >= th.leak.minRisingFraction;

  // the shmem a main-process kill found, and what was left when the container ran again
  // plain loops: filter/map over arrays that are sometimes empty made V8 deoptimize this
  // function on every call
  const statusKills = input.statusKills ?? 0;
  let mainKills = 0;
  const checks: ShmemAcross[] = [];
  for (const x of kills) {
    if (!x.main) continue;
    mainKills += x.count;
    const c = shmemAcross(s, x, procsTell);
    if (c !== undefined) checks.push(c);
  }
  const killCount = Math.max(mainKills, statusKills);
  // the kubelet counted the kills; the files are still there now that the container runs again
  const lastUsage = lastKnown(s.usage);
  const heldAfterRestarts =
    statusKills >= 2 && shmemLast >= th.leak.minGrowthBytes && shmemLast >= k.minShmemShare * lastUsage;
  const survives =
    heldAfterRestarts ||
    (killCount >= 2 &&
      checks.length > 0 &&
      checks.every(
        (c) =>
          c.before >= th.leak.minGrowthBytes &&
          c.after >= k.shmemKeptRatio * c.before &&
          c.before >= k.minShmemShare * c.usageBefore,
      ));
  if (!grows && nearIdx < 0 && !survives) return none;
  growth ??= trend(s, s.shmem, runs);

  const memVolumes = (input.volumes ?? []).filter((v) => v.medium === "Memory");
  const held = Number.isNaN(shmemLast) ? shmemMax : shmemLast;
  const share = Number.isFinite(limit)
    ? ` (${Math.round((100 * held) / limit)}% of the ${fmt(limit)} limit)`
    : "";
  const clauses: string[] = [];
  if (grows) clauses.push(`grow ${rateText(growth.perHour)}`);
  if (nearIdx >= 0 && !survives) {
    const u = s.usage[nearIdx] as number;
    clauses.push(
      `were ${formatBytes(s.shmem[nearIdx] as number)} of the ${formatBytes(u)} in use at ${Math.round((100 * u) / limit)}% of the limit`,
    );
  }
  let restarts = "";
  if (survives) {
    const last = checks[checks.length - 1];
    const numbers = last
      ? `${formatBytes(last.before)} at the last kill, ${formatBytes(last.after)} after it`
      : `${formatBytes(shmemLast)} still held after the last restart`;
    restarts =
      `: the container was OOM-killed ${times(killCount)} and the shmem stayed across the restarts ` +
      `(${numbers}), so restarts cannot free it and each run starts with less room`;
  }
  const scope =
    input.scope === "pod"
      ? " Seen on the pod cgroup: files in a pod's volume stay charged to it after the container that wrote them is gone."
      : "";
  const volumesText = memVolumes.length
    ? ` Memory-backed volumes of the pod: ${memVolumes
        .map(
          (v) =>
            `${v.name} (emptyDir medium Memory, ${v.sizeLimit ? `sizeLimit ${v.sizeLimit}` : "no sizeLimit"})`,
        )
        .join(", ")}.`
    : input.volumes
      ? " The pod has no emptyDir with medium Memory: the shmem is /dev/shm or the application's own tmpfs or shared memory."
      : "";
  const what = clauses.length ? ` and ${clauses.join(" and ")}` : "";
  const finding: RuleFinding = {
    rule: RULE.TmpfsGrowth,
    severity: survives ? "Critical" : "Warning",
    message:
      `Files in memory (shmem: tmpfs, emptyDir medium Memory, /dev/shm) hold ${formatBytes(held)}${share}${what}${restarts}.` +
      ` Shmem is not page cache the kernel can drop: it stays until the files are deleted.${scope}${volumesText}`,
    evidence: evidence({
      shmemBytes: held,
      shmemMaxBytes: shmemMax,
      shmemGrowthBytesPerHour: Number.isFinite(growth.perHour) ? Math.round(growth.perHour) : undefined,
      limitBytes: limit,
      oomKills: killCount || undefined,
      survivesRestarts: survives,
      memoryVolumes: memVolumes.map((v) => v.name).join(",") || undefined,
      scope: input.scope ?? "container",
    }),
    firstSeen: s.t[0],
    lastSeen: s.t[s.n - 1],
    ...(killCount ? { count: killCount } : {}),
  };

  const sizeLimit = suggestSizeLimit(s, limit, shmemMax);
  const rec = limitMemoryVolume({
    workload: input.workload,
    container: input.container,
    ...(input.pod ? { pod: input.pod } : {}),
    ...(Number.isFinite(limit) ? { limit: formatQuantity(limit) } : {}),
    ...(input.request !== undefined ? { request: formatQuantity(input.request) } : {}),
    volumes: memVolumes,
    sizeLimitBytes: sizeLimit,
    shmemBytes: held,
    survivesRestarts: survives,
  });
  finding.evidence.suggestedSizeLimitBytes = sizeLimit;
  return { findings: [finding], recommendations: [rec] };
}

interface ShmemAcross {
  before: number;
  usageBefore: number;
  after: number;
}

/** shmem before a kill (highest of the few samples before it) and at the first sample after it with processes. */
/** Whether the cgroup ever listed a process of its own (a v1 pod cgroup never does). */
function listsProcesses(s: Series): boolean {
  for (let i = 0; i < s.n; i++) if ((s.procs[i] as number) > 0) return true;
  return false;
}

function shmemAcross(s: Series, kill: OomKill, procsTell: boolean): ShmemAcross | undefined {
  let before = NaN;
  let usageBefore = NaN;
  for (let i = Math.max(0, kill.index - BEFORE); i < kill.index; i++) {
    const sh = s.shmem[i] as number;
    if (!(sh <= before)) {
      before = sh;
      usageBefore = s.usage[i] as number;
    }
  }
  for (let i = kill.index; i < s.n; i++) {
    if (procsTell && (s.procs[i] === 0 || (i === kill.index && kill.procsAfter === 0))) continue;
    const after = s.shmem[i] as number;
    if (Number.isNaN(after) || Number.isNaN(before)) return undefined;
    return { before, usageBefore, after };
  }
  return undefined;
}

/**
 * A sizeLimit that leaves the process its own memory: the limit minus 1.5 × the median of
 * what the processes held besides shmem (anon + kernel), at most half the limit. Without a
 * limit: the largest shmem seen, so the files cannot grow further.
 */
function suggestSizeLimit(s: Series, limit: number, shmemMax: number): number {
  if (!Number.isFinite(limit)) return Math.max(MI, shmemMax);
  const own: number[] = [];
  for (let i = 0; i < s.n; i++) {
    if (s.procs[i] === 0) continue;
    const kept = s.hasStat ? (s.kept[i] as number) : (s.usage[i] as number);
    const v = kept - ((s.shmem[i] as number) || 0);
    if (Number.isFinite(v)) own.push(v);
  }
  own.sort((a, b) => a - b);
  const median = own.length ? (own[own.length >> 1] as number) : 0;
  return Math.max(MI, Math.min(limit - HEADROOM * median, limit / 2));
}

const MI = 2 ** 20;
