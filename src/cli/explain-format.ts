// A MemoryInspection as a person reads it in a terminal: what is inspected, how it stands, each
// finding in one line, each recommendation with its reason and the patch to copy. Pure.
import type { MemoryInspection } from "../api/memoryinspection.js";
import { formatDuration } from "../api/duration.js";

const SEVERITY_ORDER = { Critical: 0, Warning: 1, Info: 2 } as const;

/** Unresolved findings that ask for action (Warning or Critical): what exit code 3 means. */
export function actionableFindings(mi: MemoryInspection): number {
  return (mi.status?.findings ?? []).filter((f) => !f.resolved && f.severity !== "Info").length;
}

export function formatInspection(mi: MemoryInspection, now: Date): string {
  const st = mi.status ?? {};
  const out: string[] = [];
  const ago = (iso: string) => `${formatDuration(Math.max(0, now.getTime() - Date.parse(iso)))} ago`;
  const last = st.lastInspectionTime ? `last inspected ${ago(st.lastInspectionTime)}` : "not inspected yet";
  out.push(
    `mi/${mi.metadata.name} in ${mi.metadata.namespace}: ${st.target ?? "target not resolved yet"}, ` +
      `${st.pods ?? 0} pod${st.pods === 1 ? "" : "s"}, ${last}`,
  );
  for (const c of st.conditions ?? []) out.push(`  ${c.type}=${c.status} (${c.reason}): ${c.message}`);
  if (st.summary) out.push(`Summary: ${st.summary}`);
  const open = (st.findings ?? [])
    .filter((f) => !f.resolved)
    .sort((a, b) => SEVERITY_ORDER[a.severity] - SEVERITY_ORDER[b.severity]);
  out.push("", open.length ? "Findings:" : "Findings: none");
  for (const f of open) {
    const where = `${f.pod}${f.container ? `/${f.container}` : ""}`;
    const times = f.count > 1 ? `, ${f.count}×` : "";
    out.push(`  [${f.severity}] ${f.rule} ${where} (since ${ago(f.firstSeen)}${times})`, `    ${f.message}`);
  }
  const resolved = (st.findings ?? []).filter((f) => f.resolved).length;
  if (resolved) out.push(`  (${resolved} resolved finding${resolved === 1 ? "" : "s"} not shown)`);
  const recs = st.recommendations ?? [];
  if (recs.length) out.push("", "Recommendations:");
  recs.forEach((r, i) => {
    out.push(`  ${i + 1}. ${r.type} for ${r.workload} (${r.container}): ${r.reason}`);
    out.push(
      "     patch for the manifest in Git:",
      ...r.patch
        .trimEnd()
        .split("\n")
        .map((l) => `       ${l}`),
    );
    if (r.command) out.push(`     or now: ${r.command}`);
  });
  return `${out.join("\n")}\n`;
}
