import type { Finding } from "../api/memoryinspection.js";

/** Findings are identified across passes by rule, pod and container. */
export const findingKey = (f: Pick<Finding, "rule" | "pod" | "container">) =>
  `${f.rule}/${f.pod}/${f.container ?? ""}`;

/** A finding as one pass sees it, before it is merged with what earlier passes recorded. */
export type Observed = Omit<Finding, "firstSeen" | "lastSeen" | "count" | "resolved"> & {
  /** when it happened (e.g. the kill's finishedAt); defaults to the pass time */
  at?: string;
  /** occurrences new since the last pass (OOM kills); default 1 for a newly seen finding, 0 for a repeat */
  newOccurrences?: number;
  /**
   * "event" (default): something that happens (a kill): counted per occurrence, news each time.
   * "state": something that holds (a leak): counted per pass that sees it, news only when it starts.
   */
  kind?: "event" | "state";
};

export interface Merged {
  findings: Finding[];
  /**
   * findings that are new or happened again in this pass, each with its occurrences new in it
   * (kills since the last pass; 1 for a state that began): each gets an Event occurrence per one
   */
  happened: { finding: Finding; occurrences: number }[];
}

/** Status stays far below etcd's object size limit whatever the workload does. */
export const MAX_FINDINGS = 50;

/**
 * Merges one pass's observations into the recorded findings: seen again -> lastSeen and count
 * change; no longer seen -> resolved (kept for `keepResolvedMs`, then dropped). Findings about
 * facts in the past (OOM kills) are owned by their rule: `stillTrue` tells whether an unobserved
 * one still counts.
 */
export function mergeFindings(
  previous: Finding[],
  observed: Observed[],
  now: Date,
  opts: { stillTrue: (f: Finding) => boolean; keepResolvedMs: number },
): Merged {
  const nowIso = now.toISOString();
  const byKey = new Map(previous.map((f) => [findingKey(f), f]));
  const happened: Merged["happened"] = [];
  const out = new Map<string, Finding>();
  for (const o of observed) {
    const key = findingKey(o);
    const prev = byKey.get(key);
    const { at, newOccurrences, kind, ...rest } = o;
    const fresh = !prev || prev.resolved;
    const state = kind === "state";
    const increment = state ? 1 : (newOccurrences ?? (fresh ? 1 : 0));
    const f: Finding = {
      ...rest,
      firstSeen: prev && !prev.resolved ? prev.firstSeen : (at ?? nowIso),
      lastSeen: state ? nowIso : increment > 0 ? (at ?? nowIso) : (prev?.lastSeen ?? nowIso),
      count: (prev && !prev.resolved ? prev.count : 0) + increment,
    };
    out.set(key, f);
    if (state ? fresh : increment > 0) happened.push({ finding: f, occurrences: state ? 1 : increment });
  }
  for (const [key, prev] of byKey) {
    if (out.has(key)) continue;
    if (!prev.resolved && opts.stillTrue(prev)) {
      out.set(key, prev);
      continue;
    }
    const resolvedAt = prev.resolved ? prev.lastSeen : nowIso;
    if (now.getTime() - Date.parse(resolvedAt) < opts.keepResolvedMs) {
      out.set(key, prev.resolved ? prev : { ...prev, resolved: true });
    }
  }
  const findings = [...out.values()]
    .sort(
      (a, b) =>
        Number(a.resolved ?? false) - Number(b.resolved ?? false) || b.lastSeen.localeCompare(a.lastSeen),
    )
    .slice(0, MAX_FINDINGS);
  return { findings, happened };
}
