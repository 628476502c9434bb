import type { ContainerEntry } from "../agent/api.js";
import type { HistoryJSON } from "../agent/history.js";
import { analyzeContainer } from "../analysis/analyze.js";
import type { RuleFinding } from "../analysis/finding.js";
import type { ThresholdOverrides } from "../analysis/thresholds.js";
import type { WorkloadRef } from "../analysis/recommend.js";
import type { EffectiveSpec } from "../api/defaults.js";
import type { Recommendation } from "../api/memoryinspection.js";
import { parseQuantity } from "../api/quantity.js";
import type { MemorySample } from "../cgroup/sample.js";
import type { Pod } from "../kube/pod.js";
import { podVolumes } from "../analysis/tmpfs.js";

const num = (v: number | null | undefined) => (v === null || v === undefined ? undefined : v);

/** An agent's history columns back into samples for the rules (the same rules `memlens analyze` runs). */
export function samplesFromHistory(h: HistoryJSON, version: "v1" | "v2"): MemorySample[] {
  const out: MemorySample[] = [];
  for (let i = 0; i < h.t.length; i++) {
    const at = (k: keyof HistoryJSON) => num((h[k] as (number | null)[] | undefined)?.[i]);
    const stat: Record<string, number> = {};
    for (const k of [
      "anon",
      "file",
      "shmem",
      "active_file",
      "inactive_file",
      "sock",
      "slab_unreclaimable",
    ] as const) {
      const v = at(k);
      if (v !== undefined) stat[k] = v;
    }
    const some = at("psi_some_total");
    const full = at("psi_full_total");
    const oomKill = at("oom_kill");
    out.push({
      t: h.t[i]!,
      version,
      usage: at("usage"),
      // the agent writes null both for "no limit" and "not read"; without a limit file there is no limit
      limit: h.limit?.[i] ?? null,
      high: version === "v2" ? (h.high?.[i] ?? null) : undefined,
      peak: at("peak"),
      failcnt: at("failcnt"),
      procs: at("procs"),
      ...(version === "v2"
        ? {
            events: {
              high: at("events_high") ?? 0,
              max: at("events_max") ?? 0,
              oom: at("events_oom") ?? 0,
              oom_kill: oomKill ?? 0,
            },
          }
        : { oomKill }),
      ...(Object.keys(stat).length ? { stat } : {}),
      ...(some !== undefined && full !== undefined
        ? {
            pressure: {
              some: { avg10: 0, avg60: 0, avg300: 0, total: some },
              full: { avg10: 0, avg60: 0, avg300: 0, total: full },
            },
          }
        : {}),
    });
  }
  return out;
}

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
const FROM_POD_STATUS = new Set(["OOMKilled"]);
/**
 * What the pod-level cgroup adds to its containers': memory charged to the pod that outlives a
 * container (files in memory-backed volumes), and kernel memory.
 */
const POD_LEVEL_RULES = new Set(["TmpfsGrowth", "KernelMemoryGrowth"]);
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
  entries: ContainerEntry[],
  spec: EffectiveSpec,
  workload: WorkloadRef,
  nowS: number,
): ContainerAnalysis[] {
  const out: ContainerAnalysis[] = [];
  const since = nowS - spec.windowMs / 1000;
  const volumes = podVolumes(pod.spec.volumes);
  for (const c of pod.spec.containers) {
    if (spec.spec.containers?.length && !spec.spec.containers.includes(c.name)) continue;
    const samples = windowSamples(
      entries.filter((e) => e.kind === "container" && e.container === c.name),
      since,
    );
    if (!samples.length) continue;
    const requests = parseQuantity(c.resources?.requests?.memory);
    const limits = parseQuantity(c.resources?.limits?.memory);
    const analysis = analyzeContainer({
      samples,
      ...(requests !== undefined ? { requests } : {}),
      ...(limits !== undefined ? { limits } : {}),
      thresholds: thresholds(spec),
      workload,
      container: c.name,
      pod: pod.metadata.name,
      volumes,
      statusKills: pod.status.containerStatuses?.find((s) => s.name === c.name)?.restartCount ?? 0,
    });
    const spanMs = (samples.at(-1)!.t - samples[0]!.t) * 1000;
    out.push({
      pod,
      container: c.name,
      judged: spanMs >= spec.rules.leak.minObservationMs,
      findings: analysis.findings.filter((f) => !FROM_POD_STATUS.has(f.rule)),
      recommendations: analysis.recommendations.filter((r) => r.type !== "RaiseMemoryLimit"),
    });
  }
  const podSamples = windowSamples(
    entries.filter((e) => e.kind === "pod"),
    since,
  );
  const main = pod.spec.containers[0]?.name;
  if (podSamples.length && main) {
    const analysis = analyzeContainer({
      samples: podSamples,
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
        judged: (podSamples.at(-1)!.t - podSamples[0]!.t) * 1000 >= spec.rules.leak.minObservationMs,
        findings,
        recommendations: analysis.recommendations.filter((r) => POD_LEVEL_RECOMMENDATIONS.has(r.type)),
      });
    }
  }
  return out;
}

/** Every instance of a cgroup (one per container restart) joined in time order, within the window. */
function windowSamples(instances: ContainerEntry[], since: number): MemorySample[] {
  return instances
    .flatMap((e) => samplesFromHistory(e.history, e.cgroupVersion))
    .filter((s) => s.t >= since)
    .sort((a, b) => a.t - b.t);
}
