import type { Recommendation, Resources } from "../api/memoryinspection.js";
import type { Analysis } from "./analyze.js";

/** The JSON `memlens analyze --format json` prints: findings without their sample times. */
export function analysisJson(a: Analysis): { findings: object[]; recommendations: Recommendation[] } {
  return {
    findings: a.findings.map(({ rule, severity, message, evidence }) => ({
      rule,
      severity,
      message,
      evidence,
    })),
    recommendations: a.recommendations,
  };
}

/** A report a person reads in ten seconds: one line per finding, then what to change. */
export function formatAnalysisText(a: Analysis): string {
  if (a.findings.length === 0) return "No findings.\n";
  const lines = a.findings.map((f) => `${f.severity.padEnd(8)} ${f.rule}: ${f.message}`);
  if (a.recommendations.length > 0) {
    lines.push("", "Recommendations:");
    a.recommendations.forEach((r, i) => {
      lines.push(
        `${i + 1}. ${r.type} (${r.workload}, container ${r.container}): ${change(r.current, r.suggested)}`,
      );
      lines.push(`   ${r.reason}`);
      lines.push(
        "   patch:",
        ...r.patch
          .trimEnd()
          .split("\n")
          .map((l) => `     ${l}`),
      );
    });
  }
  return `${lines.join("\n")}\n`;
}

function change(current: Resources, suggested: Resources): string {
  const parts: string[] = [];
  for (const section of ["requests", "limits"] as const) {
    const before = current[section]?.memory;
    const after = suggested[section]?.memory;
    if (before === after) continue;
    parts.push(`${section}.memory ${before ?? "unset"} -> ${after ?? "unset"}`);
  }
  return parts.length > 0 ? parts.join(", ") : "no resource change";
}
