import type { Finding } from "../api/memoryinspection.js";
import type { Pod } from "../kube/pod.js";
import type { ContainerAnalysis } from "./cgroup-findings.js";
import { findingKey, type Observed } from "./findings.js";
import { EVENT_RULES } from "./inspection-rules.js";

/**
 * The cgroup rules' findings of each container. Event rules (kills seen in the history window)
 * count as new only the kills after what the previous status recorded; the others are states.
 */
export function cgroupObservations(
  analyses: readonly ContainerAnalysis[],
  previous: ReadonlyMap<string, Finding>,
  now: Date,
): Observed[] {
  const observed: Observed[] = [];
  for (const a of analyses) {
    for (const rf of a.findings) {
      const prev = previous.get(
        findingKey({ rule: rf.rule, pod: a.pod.metadata.name, container: a.container }),
      );
      const at = rf.lastSeen !== undefined ? new Date(rf.lastSeen * 1000).toISOString() : undefined;
      const event = EVENT_RULES.has(rf.rule);
      const inWindow = rf.count ?? 1;
      // kills seen in the history window: the ones after what was recorded last time are new
      const fresh = !event
        ? undefined
        : !prev || prev.resolved
          ? inWindow
          : at && at > prev.lastSeen
            ? Math.max(1, inWindow - Number(prev.evidence.killsInWindow ?? 0))
            : 0;
      observed.push({
        rule: rf.rule,
        severity: rf.severity,
        pod: a.pod.metadata.name,
        container: a.container,
        ...(a.pod.spec.nodeName ? { node: a.pod.spec.nodeName } : {}),
        message: rf.message,
        evidence: event ? { ...rf.evidence, killsInWindow: inWindow } : rf.evidence,
        kind: event ? "event" : "state",
        ...(event && fresh ? { at: at ?? now.toISOString() } : {}),
        ...(event ? { newOccurrences: fresh } : {}),
      });
    }
  }
  return observed;
}

/**
 * Whether a finding's container lacks the cgroup data to judge it now: a cgroup finding not seen
 * is resolved only where the agent answered with enough history (after an agent restart it has
 * little). False when no agent was asked.
 */
export function cgroupDataMissing(
  analyses: readonly ContainerAnalysis[] | undefined,
  pods: ReadonlyMap<string, Pod>,
): (f: Finding) => boolean {
  const judged = new Set(
    (analyses ?? []).filter((a) => a.judged).map((a) => `${a.pod.metadata.name}/${a.container}`),
  );
  return (f) => analyses !== undefined && pods.has(f.pod) && !judged.has(`${f.pod}/${f.container ?? ""}`);
}
