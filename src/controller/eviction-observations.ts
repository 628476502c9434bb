import type { Finding, Recommendation } from "../api/memoryinspection.js";
import { evictionFindings } from "../analysis/evicted.js";
import type { WorkloadRef } from "../analysis/recommend.js";
import type { Pod } from "../kube/pod.js";
import { findingKey, type Observed } from "./findings.js";
import { podWorkload } from "./targets.js";

/**
 * Evictions from pod status, new unless the previous status holds them active, and what to
 * change for each (used only while an Evicted finding is active).
 */
export function evictionObservations(
  pods: readonly Pod[],
  workload: WorkloadRef | undefined,
  previous: ReadonlyMap<string, Finding>,
): { observed: Observed[]; recommendations: Recommendation[] } {
  const observed: Observed[] = [];
  const recommendations: Recommendation[] = [];
  for (const pod of pods) {
    const ev = evictionFindings(pod, undefined, workload ?? podWorkload(pod));
    for (const rf of ev.findings) {
      const prev = previous.get(
        findingKey({ rule: rf.rule, pod: pod.metadata.name, container: ev.container }),
      );
      observed.push({
        rule: rf.rule,
        severity: rf.severity,
        pod: pod.metadata.name,
        ...(ev.container ? { container: ev.container } : {}),
        ...(pod.spec.nodeName ? { node: pod.spec.nodeName } : {}),
        message: rf.message,
        evidence: rf.evidence,
        newOccurrences: prev && !prev.resolved ? 0 : 1,
      });
    }
    recommendations.push(...ev.recommendations);
  }
  return { observed, recommendations };
}
