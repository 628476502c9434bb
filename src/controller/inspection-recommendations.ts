import { RULE } from "../api/names.js";
import type { Finding, MemoryInspectionStatus, Recommendation } from "../api/memoryinspection.js";
import { fixLeakReason, raiseMemoryLimit, type WorkloadRef } from "../analysis/recommend.js";
import type { Pod } from "../kube/pod.js";
import type { ContainerAnalysis } from "./cgroup-findings.js";
import { podWorkload } from "./targets.js";

export interface RecommendationInput {
  /** the merged findings of this pass */
  findings: readonly Finding[];
  /** of them, the active OOMKilled ones */
  activeOom: readonly Finding[];
  /** the target's workload, when it is one (else each pod's owner) */
  workload: WorkloadRef | undefined;
  pods: ReadonlyMap<string, Pod>;
  analyses: readonly ContainerAnalysis[];
  evictions: readonly Recommendation[];
  /** the MemoryInspection, for the commands a recommendation names */
  inspection?: { name: string; namespace: string };
}

/**
 * What to change, one per type and workload container: the cgroup rules' recommendations for
 * containers with an active finding first (a leak explains kills: fixing it comes first), then a
 * larger limit per container with recent kills, then the evictions' while one is active.
 */
export function inspectionRecommendations(input: RecommendationInput): Recommendation[] {
  const { findings } = input;
  const recommendations: Recommendation[] = [];
  const active = new Set(findings.filter((f) => !f.resolved).map((f) => `${f.pod}/${f.container ?? ""}`));
  const seen = new Set<string>();
  for (const a of input.analyses) {
    if (!active.has(`${a.pod.metadata.name}/${a.container}`)) continue;
    for (const r of a.recommendations) {
      const k = `${r.type}/${r.workload}/${r.container}`;
      if (seen.has(k)) continue;
      seen.add(k);
      recommendations.push(r.type === "FixLeak" ? withProfiledLeak(r, a, input) : r);
    }
  }
  recommendations.push(...raiseLimits(input));
  if (findings.some((f) => f.rule === RULE.Evicted && !f.resolved)) {
    for (const r of input.evictions) {
      const k = `${r.type}/${r.workload}/${r.container}`;
      if (!seen.has(k)) recommendations.push(r);
      seen.add(k);
    }
  }
  return recommendations;
}

/**
 * FixLeak where the heap profile named the code: the reason tells the profile's sentence (the
 * leak finding of this pass carries it) and where the growth is drawn, not "enable profiling".
 */
function withProfiledLeak(
  r: Recommendation,
  a: ContainerAnalysis,
  input: RecommendationInput,
): Recommendation {
  const leak = input.findings.find(
    (f) =>
      f.rule === RULE.MemoryLeak &&
      f.pod === a.pod.metadata.name &&
      f.container === a.container &&
      !f.resolved,
  );
  if (leak?.evidence.topAllocators === undefined) return r;
  const kills = a.findings.find((f) => f.rule === RULE.OOMKilled)?.count ?? 0;
  const mi = input.inspection;
  const draw = mi
    ? ` (\`memlens profile flame mi/${mi.name} -n ${mi.namespace}\` draws what grew since the baseline)`
    : "";
  return { ...r, reason: fixLeakReason(leak.message, kills, `fix the code the heap profile names${draw}`) };
}

/** RaiseMemoryLimit per workload container with active kills, all its pods' kills added up. */
function raiseLimits(input: RecommendationInput): Recommendation[] {
  const perContainer = new Map<
    string,
    { workload: WorkloadRef; finding: Finding; kills: number; limit?: string; request?: string }
  >();
  for (const f of input.activeOom) {
    const pod = input.pods.get(f.pod);
    const workload = input.workload ?? (pod ? podWorkload(pod) : undefined);
    if (!workload || !f.container) continue;
    const key = `${workload.kind}/${workload.name}/${f.container}`;
    const entry = perContainer.get(key);
    const limit = typeof f.evidence.limit === "string" ? f.evidence.limit : undefined;
    const request = typeof f.evidence.request === "string" ? f.evidence.request : undefined;
    if (entry) entry.kills += f.count;
    else perContainer.set(key, { workload, finding: f, kills: f.count, limit, request });
  }
  const out: Recommendation[] = [];
  for (const { workload, finding, kills, limit, request } of perContainer.values()) {
    const rec = raiseMemoryLimit({
      workload,
      container: finding.container!,
      pod: finding.pod,
      limit,
      request,
      kills,
    });
    if (rec) out.push(rec);
  }
  return out;
}

/**
 * The recommendations not in the previous status: another type or other suggested numbers
 * (the apiserver reorders map keys: values are compared).
 */
export function changedRecommendations(
  recommendations: readonly Recommendation[],
  previous: MemoryInspectionStatus,
): Recommendation[] {
  const recKey = (r: Recommendation) =>
    `${r.type}/${r.workload}/${r.container}/${r.suggested.requests?.memory ?? ""}/${r.suggested.limits?.memory ?? ""}`;
  const prevRecs = new Set((previous.recommendations ?? []).map(recKey));
  return recommendations.filter((r) => !prevRecs.has(recKey(r)));
}
