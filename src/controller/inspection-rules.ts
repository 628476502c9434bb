/** The rules an inspection pass reads from pod status and names in conditions. */
export const Rule = {
  OOMKilled: "OOMKilled",
  MemoryLeak: "MemoryLeak",
  MemoryThrottled: "MemoryThrottled",
} as const;

/** Rules about what happens (kills): counted per occurrence. The others hold for a while (a leak). */
export const EVENT_RULES = new Set(["OOMKilled", "ProcessOOMKilled", "Evicted"]);
/** Facts read from pod status: they stay true for the window, whether or not the pod is still there. */
export const POD_STATUS_RULES = new Set(["OOMKilled", "Evicted"]);

/** "1 pod", "3 pods" */
export const plural = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;
