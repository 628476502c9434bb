import { formatBytes, formatMi, parseQuantity } from "../api/quantity.js";
import type { Recommendation, Resources } from "../api/memoryinspection.js";

const MI = 2 ** 20;

/** Where a workload kind keeps its pod template, for patches. */
const TEMPLATE_PATH: Record<string, string[]> = {
  Pod: ["spec"],
  CronJob: ["spec", "jobTemplate", "spec", "template", "spec"],
};

export interface WorkloadRef {
  kind: string;
  name: string;
  namespace: string;
}

/** A strategic-merge patch (YAML) that sets one container's memory resources in the workload manifest. */
export function resourcesPatch(workload: WorkloadRef, container: string, resources: Resources): string {
  const path = TEMPLATE_PATH[workload.kind] ?? ["spec", "template", "spec"];
  const lines: string[] = [];
  path.forEach((p, i) => lines.push(`${"  ".repeat(i)}${p}:`));
  const ind = "  ".repeat(path.length);
  lines.push(`${ind}containers:`, `${ind}- name: ${container}`, `${ind}  resources:`);
  for (const section of ["requests", "limits"] as const) {
    const memory = resources[section]?.memory;
    if (memory) lines.push(`${ind}    ${section}:`, `${ind}      memory: ${memory}`);
  }
  return `${lines.join("\n")}\n`;
}

export function patchCommand(workload: WorkloadRef, patch: string): string {
  return `kubectl -n ${workload.namespace} patch ${workload.kind.toLowerCase()} ${workload.name} --type strategic --patch '${patch.trimEnd().replaceAll("'", "'\\''")}'`;
}

/**
 * After OOM kills: a larger limit, as the VPA recommender bumps memory after an OOM:
 * max(limit × 1.2, limit + 100Mi), from the larger of the limit and the highest usage seen.
 */
export function raiseMemoryLimit(input: {
  workload: WorkloadRef;
  container: string;
  pod?: string;
  limit?: string;
  request?: string;
  kills: number;
  peakBytes?: number;
}): Recommendation | undefined {
  const limit = parseQuantity(input.limit);
  const base = Math.max(limit ?? 0, input.peakBytes ?? 0);
  if (!base) return undefined;
  const suggested = Math.ceil(Math.max(base * 1.2, base + 100 * MI) / MI) * MI;
  const request = parseQuantity(input.request);
  // Guaranteed pods (request = limit) stay Guaranteed; otherwise the request is left as it is
  const keepGuaranteed = request !== undefined && limit !== undefined && request === limit;
  const current: Resources = {
    ...(input.request ? { requests: { memory: input.request } } : {}),
    ...(input.limit ? { limits: { memory: input.limit } } : {}),
  };
  const suggestedResources: Resources = {
    ...(keepGuaranteed
      ? { requests: { memory: formatMi(suggested) } }
      : input.request
        ? { requests: { memory: input.request } }
        : {}),
    limits: { memory: formatMi(suggested) },
  };
  const patch = resourcesPatch(input.workload, input.container, suggestedResources);
  const times = input.kills === 1 ? "once" : `${input.kills} times`;
  return {
    type: "RaiseMemoryLimit",
    ...(input.pod ? { pod: input.pod } : {}),
    container: input.container,
    workload: `${input.workload.kind}/${input.workload.name}`,
    current,
    suggested: suggestedResources,
    reason:
      `Container ${input.container} was OOM-killed ${times} at its ${input.limit ?? "unset"} memory limit; ` +
      `raise the limit to ${formatMi(suggested)} (max(limit × 1.2, limit + 100Mi), the VPA's bump after an OOM kill)` +
      (keepGuaranteed ? " and the request with it, to stay in the Guaranteed QoS class" : "") +
      ". If memory keeps growing after restarts it is a leak, and a larger limit only delays the next kill.",
    patch,
    command: patchCommand(input.workload, patch),
  };
}

/** Bytes as an exact quantity: "200Mi", "1536Ki", "100000000" (whole Mi/Ki when they divide). */
export function formatQuantity(bytes: number): string {
  if (bytes % MI === 0) return `${bytes / MI}Mi`;
  if (bytes % 1024 === 0) return `${bytes / 1024}Ki`;
  return String(Math.ceil(bytes));
}

function memoryResources(request?: string, limit?: string): Resources {
  return {
    ...(request ? { requests: { memory: request } } : {}),
    ...(limit ? { limits: { memory: limit } } : {}),
  };
}

/**
 * A leak: no resource setting fixes it, a larger limit only moves the next OOM kill later.
 * The patch keeps the current resources (applying it changes nothing) so the recommendation
 * stays copyable; the reason says what to do instead.
 */
export function fixLeak(input: {
  workload: WorkloadRef;
  container: string;
  pod?: string;
  limit?: string;
  request?: string;
  /** the leak finding's message: the growth rate, fit and time to the limit */
  finding: string;
  kills: number;
}): Recommendation {
  const current = memoryResources(input.request, input.limit);
  const patch =
    "# FixLeak: no resource change fixes a leak; these are the current resources, unchanged\n" +
    resourcesPatch(input.workload, input.container, current);
  const killed =
    input.kills > 0
      ? ` It was OOM-killed ${input.kills === 1 ? "once" : `${input.kills} times`} already.`
      : "";
  return {
    type: "FixLeak",
    ...(input.pod ? { pod: input.pod } : {}),
    container: input.container,
    workload: `${input.workload.kind}/${input.workload.name}`,
    current,
    suggested: current,
    reason:
      `${input.finding}${killed} A larger limit only delays the next OOM kill: find what keeps the memory ` +
      "(enable profiling in the MemoryInspection, or take two heap profiles some time apart and diff them) and fix it.",
    patch,
  };
}

/**
 * Throttled at memory.high: with requests = limits the pod is Guaranteed and the kubelet's
 * MemoryQoS sets no memory.high, so only memory.max applies (an OOM kill instead of an
 * indefinite stall, and the scheduler reserves the whole limit).
 */
export function setRequestsEqualLimits(input: {
  workload: WorkloadRef;
  container: string;
  pod?: string;
  limit: string;
  request?: string;
  highBytes: number;
  stallPercent?: number;
}): Recommendation {
  const current = memoryResources(input.request, input.limit);
  const suggested = memoryResources(input.limit, input.limit);
  const patch = resourcesPatch(input.workload, input.container, suggested);
  const stall =
    input.stallPercent === undefined
      ? ""
      : ` and tasks stalled ${Math.round(input.stallPercent)}% of the time`;
  return {
    type: "SetRequestsEqualLimits",
    ...(input.pod ? { pod: input.pod } : {}),
    container: input.container,
    workload: `${input.workload.kind}/${input.workload.name}`,
    current,
    suggested,
    reason:
      `memory.high (${formatBytes(input.highBytes)}) below the ${input.limit} limit throttled allocations${stall}. ` +
      `Set the memory request equal to the limit (${input.limit}): the pod becomes Guaranteed QoS and the kubelet ` +
      "sets no memory.high, so only the limit applies (check it still fits the node: the scheduler reserves all of it).",
    patch,
    command: patchCommand(input.workload, patch),
  };
}
