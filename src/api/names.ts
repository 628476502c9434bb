/**
 * The names memlens writes into the cluster, in one place: rules (a finding's rule and its Event
 * reason), the condition types (Ready, and three rules by their own names) and the conditions'
 * reasons (CamelCase, as metav1.Condition wants them). Nothing else spells them.
 */

/** Every rule memlens has (DESIGN.md): a finding's `rule`, and the reason of its Warning Event. */
export const RULE = {
  /** the kernel killed the container's main process (from pod status, or a cgroup history) */
  OOMKilled: "OOMKilled",
  /** the kernel killed a process while others of the container lived on */
  ProcessOOMKilled: "ProcessOOMKilled",
  MemoryLeak: "MemoryLeak",
  MemoryThrottled: "MemoryThrottled",
  MemoryPressure: "MemoryPressure",
  /** memory grows as files in memory (tmpfs, emptyDir medium Memory, /dev/shm) */
  TmpfsGrowth: "TmpfsGrowth",
  /** kernel memory (slab, socket buffers) grows while anonymous memory is flat */
  KernelMemoryGrowth: "KernelMemoryGrowth",
  /** near the limit, but with reclaimable page cache: not a leak, not an OOM risk (Info) */
  PageCacheOnly: "PageCacheOnly",
  /** the kubelet evicted the pod under node memory pressure (from pod status) */
  Evicted: "Evicted",
} as const;
export type RuleName = (typeof RULE)[keyof typeof RULE];

/** Condition types of a MemoryInspection (DESIGN.md): Ready, and three rules by their names. */
export const ConditionType = {
  Ready: "Ready",
  OOMKilled: RULE.OOMKilled,
  MemoryLeak: RULE.MemoryLeak,
  MemoryThrottled: RULE.MemoryThrottled,
} as const;

/** Reasons, CamelCase as metav1.Condition wants them. */
export const Reason = {
  Inspected: "Inspected",
  TargetNotFound: "TargetNotFound",
  InvalidSpec: "InvalidSpec",
  Suspended: "Suspended",
  NoPods: "NoPods",
  AgentUnavailable: "AgentUnavailable",
  OOMKillsSeen: "OOMKillsSeen",
  NoOOMKills: "NoOOMKills",
  NoRecentOOMKills: "NoRecentOOMKills",
  LeakDetected: "LeakDetected",
  NoLeak: "NoLeak",
  LeakStopped: "LeakStopped",
  ThrottledAtMemoryHigh: "ThrottledAtMemoryHigh",
  NotThrottled: "NotThrottled",
  ThrottlingStopped: "ThrottlingStopped",
} as const;
