import { RULE } from "../api/names.js";
import { analyzeSeries } from "../analysis/analyze.js";
import type { RuleFinding } from "../analysis/finding.js";
import type { ThresholdOverrides } from "../analysis/thresholds.js";
import type { WorkloadRef } from "../analysis/recommend.js";
import type { EffectiveSpec } from "../api/defaults.js";
import type { Recommendation } from "../api/memoryinspection.js";
import { parseQuantity } from "../api/quantity.js";
import { notReadySince, type Pod } from "../kube/pod.js";
import { podVolumes } from "../analysis/tmpfs.js";
import { seriesFromHistories } from "../analysis/history-series.js";
import type { CgroupEntry } from "./history-cache.js";

function thresholds(spec: EffectiveSpec): ThresholdOverrides {
  const r = spec.rules;
  return {
    leak: {
      minObservationMs: r.leak.minObservationMs,
      minGrowthPerHour: r.leak.minGrowthPerHour,
      minFit: r.leak.minFit,
    },
    throttle: { minStallPercent: r.throttle.minStallPercent, qosFactor: r.throttle.qosFactor },
  };
}

/** Rules decided from pod status (OOMKilled, counted by restarts) are not taken again from cgroup data. */
const FROM_POD_STATUS = new Set<string>([RULE.OOMKilled]);
/**
 * What the pod-level cgroup adds to its containers': memory charged to the pod that outlives a
 * container (files in memory-backed volumes), and kernel memory.
 */
const POD_LEVEL_RULES = new Set<string>([RULE.TmpfsGrowth, RULE.KernelMemoryGrowth]);
const POD_LEVEL_RECOMMENDATIONS = new Set(["LimitMemoryVolume"]);

export interface ContainerAnalysis {
  pod: Pod;
  container: string;
  /** the history spans the leak rule's minimum observation: absence of a finding means something */
  judged: boolean;
  findings: RuleFinding[];
  recommendations: Recommendation[];
}

/**
 * The cgroup rules for each container of a pod, over the window: every instance of a container
 * (one cgroup per restart) joined in time order, so a restart is a segment boundary within one
 * history rather than a new container.
 */
export function analyzePodCgroups(
  pod: Pod,
  entries: CgroupEntry[],
  spec: EffectiveSpec,
  workload: WorkloadRef,
  nowS: number,
): ContainerAnalysis[] {
  const out: ContainerAnalysis[] = [];
  const since = nowS - spec.windowMs / 1000;
  const volumes = podVolumes(pod.spec.volumes);
  for (const c of pod.spec.containers) {
    if (spec.spec.containers?.length && !spec.spec.containers.includes(c.name)) continue;
    const series = seriesFromHistories(
      entries.filter((e) => e.kind === "container" && e.container === c.name),
      since,
    );
    if (!series.n) continue;
    const requests = parseQuantity(c.resources?.requests?.memory);
    const limits = parseQuantity(c.resources?.limits?.memory);
    const analysis = analyzeSeries(series, {
      ...(requests !== undefined ? { requests } : {}),
      ...(limits !== undefined ? { limits } : {}),
      thresholds: thresholds(spec),
      workload,
      container: c.name,
      pod: pod.metadata.name,
      volumes,
      statusKills: pod.status.containerStatuses?.find((s) => s.name === c.name)?.restartCount ?? 0,
      notReadySince: notReadySince(pod, c.name),
    });
    const spanMs = ((series.t[series.n - 1] as number) - (series.t[0] as number)) * 1000;
    out.push({
      pod,
      container: c.name,
      judged: spanMs >= spec.rules.leak.minObservationMs,
      findings: analysis.findings.filter((f) => !FROM_POD_STATUS.has(f.rule)),
      recommendations: analysis.recommendations.filter((r) => r.type !== "RaiseMemoryLimit"),
    });
  }
  const podSeries = seriesFromHistories(
    entries.filter((e) => e.kind === "pod"),
    since,
  );
  const main = pod.spec.containers[0]?.name;
  if (podSeries.n && main) {
    const podSpanMs = ((podSeries.t[podSeries.n - 1] as number) - (podSeries.t[0] as number)) * 1000;
    const analysis = analyzeSeries(podSeries, {
      thresholds: thresholds(spec),
      workload,
      container: main,
      pod: pod.metadata.name,
      volumes,
      scope: "pod",
      statusKills: pod.status.containerStatuses?.find((s) => s.name === main)?.restartCount ?? 0,
    });
    // the pod cgroup is where memory that outlives a container shows: its finding replaces the container's
    const findings = analysis.findings.filter((f) => POD_LEVEL_RULES.has(f.rule));
    for (const o of out) o.findings = o.findings.filter((x) => !findings.some((f) => f.rule === x.rule));
    if (findings.length) {
      out.push({
        pod,
        container: main,
        judged: podSpanMs >= spec.rules.leak.minObservationMs,
        findings,
        recommendations: analysis.recommendations.filter((r) => POD_LEVEL_RECOMMENDATIONS.has(r.type)),
      });
    }
  }
  return out;
}
