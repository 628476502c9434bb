import { RULE } from "../api/names.js";
import type { EffectiveSpec } from "../api/defaults.js";
import type { Finding, MemoryInspectionStatus, Recommendation } from "../api/memoryinspection.js";
import type { Pod } from "../kube/pod.js";
import type { KernelKill } from "../analysis/oom.js";
import type { ContainerAnalysis } from "./cgroup-findings.js";
import { cgroupDataMissing, cgroupObservations } from "./cgroup-observations.js";
import { evictionObservations } from "./eviction-observations.js";
import { findingKey, mergeFindings } from "./findings.js";
import { inspectionConditions } from "./inspection-conditions.js";
import { changedRecommendations, inspectionRecommendations } from "./inspection-recommendations.js";
import { POD_STATUS_RULES } from "./inspection-rules.js";
import { inspectionSummary, oomKillCount } from "./inspection-summary.js";
import { oomKillObservations } from "./oom-kill-observations.js";
import { withProfiles, type HeapProfileReport } from "./profiles.js";
import type { ResolvedTarget } from "./targets.js";

/**
 * A cgroup finding kept because its node's agent did not answer says so (and since when it was
 * last seen), rather than standing as if checked; the next pass that judges it drops the note.
 */
function unverifiedReason(
  unavailable: readonly { node: string; reason: string }[],
  pods: ReadonlyMap<string, Pod>,
  dataMissing: (f: Finding) => boolean,
): (f: Finding) => Finding {
  const why = new Map(unavailable.map((u) => [u.node, u.reason]));
  return (f) => {
    const rest = { ...f };
    delete rest.unverified;
    if (f.resolved || POD_STATUS_RULES.has(f.rule) || !dataMissing(f)) return rest;
    const node = f.node ?? pods.get(f.pod)?.spec.nodeName;
    const reason = node === undefined ? undefined : why.get(node);
    return reason === undefined
      ? rest
      : { ...rest, unverified: `not checked since ${f.lastSeen}: ${reason}` };
  };
}

/** What the node agents contributed to this pass. */
export interface CgroupInput {
  analyses: ContainerAnalysis[];

  unavailable: { node: string; reason: string }[];
}

export interface InspectionInput {
  generation?: number;
  spec: EffectiveSpec;
  previous: MemoryInspectionStatus;
  target: ResolvedTarget;
  now: Date;
  cgroups?: CgroupInput;
  /** the MemoryInspection's name and namespace, for the commands recommendations name */
  inspection?: { name: string; namespace: string };
  /** what the node agents learnt from the kernel of the pods' OOM kills, by pod UID */
  kernelKills?: (podUID: string) => readonly KernelKill[];
  /** what the heap profiles of pods with findings said (planProfiles of a pass without them), by pod */
  profiles?: ReadonlyMap<string, HeapProfileReport>;
}

export interface InspectionResult {
  status: MemoryInspectionStatus;
  /** findings that are new or happened again: one Warning Event each */
  happened: { finding: Finding; pod?: Pod; occurrences: number }[];
  /** recommendations that appeared or changed: one Normal Event each */
  newRecommendations: Recommendation[];
}

/**
 * One inspection pass, pure: from the target's pods and what earlier passes recorded to the new
 * status, and what deserves an Event. OOM kills are counted once each (by the killed container's
 * ID), across resyncs and controller restarts, because their history lives in the status.
 */
export function inspect(input: InspectionInput): InspectionResult {
  const { spec, previous, target, now } = input;
  const windowMs = spec.windowMs;
  const prevFindings = previous.findings ?? [];
  const prevByKey = new Map(prevFindings.map((f) => [findingKey(f), f]));
  const withinWindow = (f: Finding) => now.getTime() - Date.parse(f.lastSeen) < windowMs;
  const podByName = new Map(target.pods.map((p) => [p.metadata.name, p]));
  const analyses = input.cgroups?.analyses ?? [];

  const evictions = evictionObservations(target.pods, target.workload, prevByKey);
  const seen = [
    ...oomKillObservations(target.pods, spec, prevByKey, withinWindow, input.kernelKills),
    ...evictions.observed,
    ...cgroupObservations(analyses, prevByKey, now),
  ];
  // the profile's sentence joins this pass's observation, never an earlier pass's message
  const observed = input.profiles ? withProfiles(seen, input.profiles, now) : seen;
  const dataMissing = cgroupDataMissing(input.cgroups?.analyses, podByName);
  const merged = mergeFindings(prevFindings, observed, now, {
    // a kill stays a fact for the window; a cgroup finding stays while its agent cannot tell
    stillTrue: (f) => (POD_STATUS_RULES.has(f.rule) ? withinWindow(f) : dataMissing(f)),
    keepResolvedMs: Math.max(windowMs, 24 * 3_600_000),
  });
  const unverified = unverifiedReason(input.cgroups?.unavailable ?? [], podByName, dataMissing);
  const findings = merged.findings.map((f) =>
    POD_STATUS_RULES.has(f.rule) && !f.resolved && !withinWindow(f)
      ? { ...f, resolved: true }
      : unverified(f),
  );
  const activeOom = findings.filter((f) => f.rule === RULE.OOMKilled && !f.resolved);

  const recommendations = inspectionRecommendations({
    findings,
    activeOom,
    workload: target.workload,
    pods: podByName,
    analyses,
    evictions: evictions.recommendations,
    ...(input.inspection ? { inspection: input.inspection } : {}),
  });
  const conditions = inspectionConditions({
    previous: previous.conditions,
    target,
    unavailable: input.cgroups?.unavailable ?? [],
    findings,
    activeOom,
    windowMs,
    now,
    generation: input.generation,
  });

  return {
    status: {
      observedGeneration: input.generation,
      lastInspectionTime: now.toISOString(),
      target: target.description,
      pods: target.pods.length,
      oomKills: oomKillCount(findings),
      summary: inspectionSummary(findings, activeOom, recommendations, target.pods.length),
      conditions,
      findings,
      recommendations,
    },
    happened: merged.happened.map((h) => ({ ...h, pod: podByName.get(h.finding.pod) })),
    newRecommendations: changedRecommendations(recommendations, previous),
  };
}
