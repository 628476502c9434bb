import { RULE } from "../api/names.js";

/** Rules about what happens (kills): counted per occurrence. The others hold for a while (a leak). */
export const EVENT_RULES = new Set<string>([RULE.OOMKilled, RULE.ProcessOOMKilled, RULE.Evicted]);
/** Facts read from pod status: they stay true for the window, whether or not the pod is still there. */
export const POD_STATUS_RULES = new Set<string>([RULE.OOMKilled, RULE.Evicted]);

/** "1 pod", "3 pods" */
export const plural = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;
