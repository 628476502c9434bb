import { RULE } from "../api/names.js";
import type { Finding, Recommendation } from "../api/memoryinspection.js";
import { plural } from "./inspection-rules.js";

/**
 * One line for the status: the recent OOM kills, the other active rules and the recommendation
 * types, or that nothing was found.
 */
export function inspectionSummary(
  findings: readonly Finding[],
  activeOom: readonly Finding[],
  recommendations: readonly Recommendation[],
  pods: number,
): string {
  const totalRecent = activeOom.reduce((s, f) => s + f.count, 0);
  const activeRules = [
    ...new Set(findings.filter((f) => !f.resolved && f.rule !== RULE.OOMKilled).map((f) => f.rule)),
  ];
  const problems = [
    ...(activeOom.length
      ? [`${plural(totalRecent, "OOM kill")} (${activeOom.map((f) => `${f.pod}/${f.container}`).join(", ")})`]
      : []),
    ...activeRules,
  ];
  return problems.length
    ? `${problems.join("; ")}${recommendations.length ? `; recommend ${[...new Set(recommendations.map((r) => r.type))].join(", ")}` : ""}`
    : `No memory problems found in ${plural(pods, "pod")}.`;
}

/** OOM kills the findings count, active or not. */
export function oomKillCount(findings: readonly Finding[]): number {
  return findings.filter((f) => f.rule === RULE.OOMKilled).reduce((s, f) => s + f.count, 0);
}
