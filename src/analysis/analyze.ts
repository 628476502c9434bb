import { RULE } from "../api/names.js";
import type { Recommendation } from "../api/memoryinspection.js";
import type { MemorySample } from "../cgroup/sample.js";
import { type RuleFinding } from "./finding.js";
import { kernelMemoryFindings } from "./kernel-memory.js";
import { leakFindings } from "./leak.js";
import { findOomKills, oomFindings } from "./oom-cgroup.js";
import { pageCacheOnlyFindings } from "./page-cache.js";
import { pressureFindings } from "./pressure.js";
import { splitRuns } from "./segments.js";
import {
  fixLeak,
  formatQuantity,
  raiseMemoryLimit,
  setRequestsEqualLimits,
  type WorkloadRef,
} from "./recommend.js";
import { toSeries } from "./history-series.js";
import { counterIncrease, lastKnown, maxKnown, type Series } from "./series.js";
import { resolveThresholds, type ThresholdOverrides } from "./thresholds.js";
import { throttleFindings } from "./throttle.js";
import { tmpfsFindings, type MemoryVolume } from "./tmpfs.js";

/** Where patches go when the workload is not known (offline analysis of a recording). */
export const PLACEHOLDER_WORKLOAD: WorkloadRef = {
  kind: "Deployment",
  name: "<your-workload>",
  namespace: "<namespace>",
};
export const PLACEHOLDER_CONTAINER = "<your-container>";

export interface AnalyzeInput {
  /** one container's cgroup history, oldest first */
  samples: readonly MemorySample[];
  /** memory request and limit, bytes; the limit defaults to the cgroup's own (memory.max / limit_in_bytes) */
  requests?: number;
  limits?: number;
  thresholds?: ThresholdOverrides;
  workload?: WorkloadRef;
  container?: string;
  pod?: string;
  /**
   * the pod's emptyDir volumes `{name, medium, sizeLimit}` (podVolumes(pod.spec.volumes)):
   * TmpfsGrowth names the memory-backed ones and patches their sizeLimit
   */
  volumes?: readonly MemoryVolume[];
  /** "pod" when the samples are the pod-level cgroup's (shmem of a pod's volumes is charged there) */
  scope?: "container" | "pod";
  /** OOM kills of the container the kubelet reported in pod status (the controller knows them) */
  statusKills?: number;
  /** since when (epoch s) the running container has been NotReady, from pod status (the controller knows it) */
  notReadySince?: number;
}

export interface Analysis {
  findings: RuleFinding[];
  recommendations: Recommendation[];
}

/** All cgroup rules over one container's history, and what to change. Pure. */
export function analyzeContainer(input: AnalyzeInput): Analysis {
  return analyzeSeries(toSeries(input.samples), input);
}

/**
 * The same over a history already in columns (see Series): for callers that keep history that
 * way, the rules then run without touching one object per sample.
 */
export function analyzeSeries(s: Series, input: Omit<AnalyzeInput, "samples"> = {}): Analysis {
  if (s.n === 0) return { findings: [], recommendations: [] };
  const th = resolveThresholds(input.thresholds);
  const limit = input.limits ?? lastKnown(s.limit);

  const kills = findOomKills(s, th.oom);
  // the runs between restarts of the memory the kernel cannot reclaim, split once for every rule
  const runs = splitRuns(s, s.hasStat ? s.kept : s.usage, kills, th.leak);
  const oom = oomFindings(s, kills, limit);
  const leak = leakFindings(s, kills, th, limit, runs);
  // memory.events high over the history: both v2 rules ask for it
  const highEvents = s.version === "v2" ? counterIncrease(s.highEvents, s.n) : 0;
  const throttle = throttleFindings(
    s,
    th.throttle,
    { request: input.requests, limit, notReadySince: input.notReadySince },
    highEvents,
  );
  const pressure = pressureFindings(s, th.pressure, limit, highEvents);
  const tmpfs = tmpfsFindings(
    s,
    kills,
    th,
    limit,
    {
      workload: input.workload ?? PLACEHOLDER_WORKLOAD,
      container: input.container ?? PLACEHOLDER_CONTAINER,
      ...(input.pod ? { pod: input.pod } : {}),
      ...(input.requests !== undefined ? { request: input.requests } : {}),
      ...(input.volumes ? { volumes: input.volumes } : {}),
      ...(input.scope ? { scope: input.scope } : {}),
      ...(input.statusKills ? { statusKills: input.statusKills } : {}),
    },
    runs,
  );
  const kernel = kernelMemoryFindings(s, kills, th, runs);
  const found = [...oom, ...leak, ...throttle, ...pressure, ...tmpfs.findings, ...kernel];
  const findings = [...found, ...pageCacheOnlyFindings(s, kills, th, limit, found)];
  return { findings, recommendations: [...recommend(s, input, findings, limit), ...tmpfs.recommendations] };
}

function recommend(s: Series, input: Omit<AnalyzeInput, "samples">, findings: RuleFinding[], limit: number) {
  const base = {
    workload: input.workload ?? PLACEHOLDER_WORKLOAD,
    container: input.container ?? PLACEHOLDER_CONTAINER,
    ...(input.pod ? { pod: input.pod } : {}),
    ...(Number.isFinite(limit) ? { limit: formatQuantity(limit) } : {}),
    ...(input.requests !== undefined ? { request: formatQuantity(input.requests) } : {}),
  };
  const killed = findings.find((f) => f.rule === RULE.OOMKilled);
  const leaked = findings.find((f) => f.rule === RULE.MemoryLeak);
  const throttled = findings.find((f) => f.rule === RULE.MemoryThrottled);
  const kills = killed?.count ?? 0;
  const out: Recommendation[] = [];
  // a leak explains the kills: fixing it comes first, a larger limit only delays the next kill
  if (leaked) out.push(fixLeak({ ...base, finding: leaked.message, kills }));
  if (killed) {
    const peak = Math.max(maxKnown(s.peak), maxKnown(s.usage));
    const raise = raiseMemoryLimit({ ...base, kills, ...(Number.isFinite(peak) ? { peakBytes: peak } : {}) });
    if (raise) out.push(raise);
  }
  if (throttled && base.limit !== undefined) {
    const stall = throttled.evidence.stallPercent;
    out.push(
      setRequestsEqualLimits({
        ...base,
        limit: base.limit,
        highBytes: Number(throttled.evidence.highBytes),
        ...(typeof stall === "number" ? { stallPercent: stall } : {}),
      }),
    );
  }
  return out;
}
