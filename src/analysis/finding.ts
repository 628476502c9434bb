import { formatBytes } from "../api/quantity.js";

import type { RuleName } from "../api/names.js";

export type Severity = "Critical" | "Warning" | "Info";

/** What a rule found in one container's cgroup history; maps onto the CR status Finding. */
export interface RuleFinding {
  rule: RuleName;
  severity: Severity;
  /** one sentence with the numbers */
  message: string;
  /** the numbers behind the message */
  evidence: Record<string, string | number | boolean>;
  /** sample time (MemorySample.t) the problem was first / last seen at */
  firstSeen?: number;
  lastSeen?: number;
  /** how many times it happened (OOM kills) */
  count?: number;
}

/** "once", "3 times" */
export function times(count: number): string {
  return count === 1 ? "once" : `${count} times`;
}

/** Bytes for messages; "unknown" for a reading the kernel did not offer. */
export function fmt(bytes: number): string {
  return Number.isFinite(bytes) ? formatBytes(bytes) : "unknown";
}

/** Evidence without the numbers the kernel did not offer (NaN) or that are unlimited (Infinity). */
export function evidence(
  fields: Record<string, string | number | boolean | undefined>,
): Record<string, string | number | boolean> {
  const out: Record<string, string | number | boolean> = {};
  for (const [k, v] of Object.entries(fields)) {
    if (v === undefined || (typeof v === "number" && !Number.isFinite(v))) continue;
    out[k] = v;
  }
  return out;
}
