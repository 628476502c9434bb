import { formatBytes } from "../api/quantity.js";

/** Rule names: also the condition types and Event reasons the controller writes. */
export const RULE = {
  oomKilled: "OOMKilled",
  processOomKilled: "ProcessOOMKilled",
  memoryLeak: "MemoryLeak",
  memoryThrottled: "MemoryThrottled",
  memoryPressure: "MemoryPressure",
  /** memory grows as files in memory (tmpfs, emptyDir medium Memory, /dev/shm) */
  tmpfsGrowth: "TmpfsGrowth",
  /** kernel memory (slab, socket buffers) grows while anonymous memory is flat */
  kernelMemoryGrowth: "KernelMemoryGrowth",
  /** near the limit, but with reclaimable page cache: not a leak, not an OOM risk (Info) */
  pageCacheOnly: "PageCacheOnly",
  /** the kubelet evicted the pod under node memory pressure (from pod status) */
  evicted: "Evicted",
} as const;
export type RuleName = (typeof RULE)[keyof typeof RULE];

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
