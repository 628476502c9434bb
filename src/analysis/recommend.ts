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

/** The opening lines of a patch down to the workload's pod spec, and the indent inside it. */
function podTemplate(workload: WorkloadRef): { lines: string[]; ind: string } {
  const path = TEMPLATE_PATH[workload.kind] ?? ["spec", "template", "spec"];
  return { lines: path.map((p, i) => `${"  ".repeat(i)}${p}:`), ind: "  ".repeat(path.length) };
}

/** A strategic-merge patch (YAML) that sets one container's memory resources in the workload manifest. */
export function resourcesPatch(workload: WorkloadRef, container: string, resources: Resources): string {
  const { lines, ind } = podTemplate(workload);
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

/** The container a recommendation is for: every builder below takes these. */
export interface RecommendationTarget {
  workload: WorkloadRef;
  container: string;
  pod?: string;
}

/**
 * The frame every recommendation shares: whose it is (pod, container, workload), the resources
 * now and suggested, why, the patch, and (`command`) the kubectl line that applies it.
 */
function recommendation(
  type: string,
  target: RecommendationTarget,
  r: { current: Resources; suggested: Resources; reason: string; patch: string; command: boolean },
): Recommendation {
  return {
    type,
    ...(target.pod ? { pod: target.pod } : {}),
    container: target.container,
    workload: `${target.workload.kind}/${target.workload.name}`,
    current: r.current,
    suggested: r.suggested,
    reason: r.reason,
    patch: r.patch,
    ...(r.command ? { command: patchCommand(target.workload, r.patch) } : {}),
  };
}

/**
 * After OOM kills: a larger limit, as the VPA recommender bumps memory after an OOM:
 * max(limit × 1.2, limit + 100Mi), from the larger of the limit and the highest usage seen.
 */
export function raiseMemoryLimit(
  input: RecommendationTarget & {
    limit?: string;
    request?: string;
    kills: number;
    peakBytes?: number;
  },
): Recommendation | undefined {
  const limit = parseQuantity(input.limit);
  const base = Math.max(limit ?? 0, input.peakBytes ?? 0);
  if (!base) return undefined;
  const suggested = Math.ceil(Math.max(base * 1.2, base + 100 * MI) / MI) * MI;
  const request = parseQuantity(input.request);
  // Guaranteed pods (request = limit) stay Guaranteed; otherwise the request is left as it is
  const keepGuaranteed = request !== undefined && limit !== undefined && request === limit;
  const current = memoryResources(input.request, input.limit);
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
  return recommendation("RaiseMemoryLimit", input, {
    current,
    suggested: suggestedResources,
    reason:
      `Container ${input.container} was OOM-killed ${times} at its ${input.limit ?? "unset"} memory limit; ` +
      `raise the limit to ${formatMi(suggested)} (max(limit × 1.2, limit + 100Mi), the VPA's bump after an OOM kill)` +
      (keepGuaranteed ? " and the request with it, to stay in the Guaranteed QoS class" : "") +
      ". If memory keeps growing after restarts it is a leak, and a larger limit only delays the next kill.",
    patch,
    command: true,
  });
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

/** How to find the code that keeps the memory, where no heap profile has named it. */
export const FIND_THE_LEAK =
  "find what keeps the memory (enable profiling in the MemoryInspection, or take two heap profiles some time apart and diff them) and fix it";

/** Why FixLeak: the leak finding's sentence, the kills so far, and what to do instead of a larger limit. */
export function fixLeakReason(finding: string, kills: number, whatToDo = FIND_THE_LEAK): string {
  const killed = kills > 0 ? ` It was OOM-killed ${kills === 1 ? "once" : `${kills} times`} already.` : "";
  return `${finding}${killed} A larger limit only delays the next OOM kill: ${whatToDo}.`;
}

/**
 * A leak: no resource setting fixes it, a larger limit only moves the next OOM kill later.
 * The patch keeps the current resources (applying it changes nothing) so the recommendation
 * stays copyable; the reason says what to do instead.
 */
export function fixLeak(
  input: RecommendationTarget & {
    limit?: string;
    request?: string;
    /** the leak finding's message: the growth rate, fit and time to the limit */
    finding: string;
    kills: number;
  },
): Recommendation {
  const current = memoryResources(input.request, input.limit);
  const patch =
    "# FixLeak: no resource change fixes a leak; these are the current resources, unchanged\n" +
    resourcesPatch(input.workload, input.container, current);
  return recommendation("FixLeak", input, {
    current,
    suggested: current,
    reason: fixLeakReason(input.finding, input.kills),
    patch,
    command: false,
  });
}

/**
 * Throttled at memory.high: with requests = limits the pod is Guaranteed and the kubelet's
 * MemoryQoS sets no memory.high, so only memory.max applies (an OOM kill instead of an
 * indefinite stall, and the scheduler reserves the whole limit).
 */
export function setRequestsEqualLimits(
  input: RecommendationTarget & {
    limit: string;
    request?: string;
    highBytes: number;
    stallPercent?: number;
  },
): Recommendation {
  const current = memoryResources(input.request, input.limit);
  const suggested = memoryResources(input.limit, input.limit);
  const patch = resourcesPatch(input.workload, input.container, suggested);
  const stall =
    input.stallPercent === undefined
      ? ""
      : ` and tasks stalled ${Math.round(input.stallPercent)}% of the time`;
  return recommendation("SetRequestsEqualLimits", input, {
    current,
    suggested,
    reason:
      `memory.high (${formatBytes(input.highBytes)}) below the ${input.limit} limit throttled allocations${stall}. ` +
      `Set the memory request equal to the limit (${input.limit}): the kubelet sets no memory.high for a container ` +
      "whose memory request is its limit, so only the limit applies (with CPU requests = limits too, the pod is " +
      "Guaranteed QoS). Check it still fits the node: the scheduler reserves all of it.",
    patch,
    command: true,
  });
}

/** An emptyDir volume of the pod spec, as the tmpfs rule sees it. */
export interface VolumeRef {
  name: string;
  /** "Memory" for tmpfs; "" or absent for the node's disk */
  medium?: string;
  sizeLimit?: string;
}

/** A strategic-merge patch (YAML) that sets emptyDir volumes of the pod template (merged by name). */
export function volumesPatch(workload: WorkloadRef, volumes: VolumeRef[]): string {
  const { lines, ind } = podTemplate(workload);
  lines.push(`${ind}volumes:`);
  for (const v of volumes) {
    lines.push(`${ind}- name: ${v.name}`, `${ind}  emptyDir:`);
    if (v.medium) lines.push(`${ind}    medium: ${v.medium}`);
    if (v.sizeLimit) lines.push(`${ind}    sizeLimit: ${v.sizeLimit}`);
    if (!v.medium && !v.sizeLimit) lines[lines.length - 1] += " {}";
  }
  return `${lines.join("\n")}\n`;
}

/**
 * Files in a memory-backed volume fill the memory limit: cap the volume (sizeLimit, so a write
 * fails with ENOSPC instead of the container being OOM-killed), clean up, or move the files to
 * the node's disk. The patch sets `sizeLimit` on each memory-backed emptyDir of the pod.
 */
export function limitMemoryVolume(
  input: RecommendationTarget & {
    limit?: string;
    request?: string;
    /** the pod's memory-backed emptyDir volumes (medium: Memory) */
    volumes: VolumeRef[];
    /** suggested sizeLimit, bytes (rounded down to whole Mi here) */
    sizeLimitBytes: number;
    /** shmem held, bytes */
    shmemBytes: number;
    /** the shmem stayed across OOM kills and restarts */
    survivesRestarts: boolean;
  },
): Recommendation {
  const size = `${Math.max(1, Math.floor(input.sizeLimitBytes / MI))}Mi`;
  const resources = memoryResources(input.request, input.limit);
  const named = input.volumes.map((v) => v.name);
  const patch = named.length
    ? volumesPatch(
        input.workload,
        input.volumes.map((v) => ({ name: v.name, medium: "Memory", sizeLimit: size })),
      )
    : "# LimitMemoryVolume: the pod spec has no emptyDir with medium: Memory; the shmem is /dev/shm or the\n" +
      "# application's own tmpfs / shared memory. Current resources, unchanged:\n" +
      resourcesPatch(input.workload, input.container, resources);
  const stays = input.survivesRestarts
    ? " The files outlive the container: restarts cannot free them, so every restart starts with less room and dies sooner."
    : "";
  const which = named.length
    ? `the memory-backed volume${named.length > 1 ? "s" : ""} ${named.join(", ")}`
    : "files in memory";
  return recommendation("LimitMemoryVolume", input, {
    current: resources,
    suggested: resources,
    reason:
      `${formatBytes(input.shmemBytes)} of ${which} count against the ${input.limit ?? "unset"} memory limit.${stays} ` +
      (named.length
        ? `Set sizeLimit: ${size} on ${named.join(", ")} (writes beyond it then fail with "no space left" instead of an OOM kill), `
        : "Bound what the application writes to /dev/shm or tmpfs, ") +
      "delete files the application no longer needs, or use a disk-backed emptyDir (no medium) for data that does not have to be in memory.",
    patch,
    command: named.length > 0,
  });
}

/**
 * After an eviction for node memory pressure: a memory request that covers the working set the
 * kubelet saw (rounded up to whole Mi), so the pod is no longer among the first evicted; where
 * that reaches the limit, requests = limits (Guaranteed QoS, evicted last).
 */
export function raiseMemoryRequest(
  input: RecommendationTarget & {
    limit?: string;
    request?: string;
    /** the container's working set at the eviction, bytes */
    workingSetBytes: number;
    qosClass?: string;
  },
): Recommendation {
  const current = memoryResources(input.request, input.limit);
  const suggestedBytes = Math.ceil(input.workingSetBytes / MI) * MI;
  const limit = parseQuantity(input.limit);
  const guaranteed = limit !== undefined && suggestedBytes >= limit;
  const request = guaranteed ? (input.limit as string) : formatMi(suggestedBytes);
  const suggested = memoryResources(request, input.limit);
  const patch = resourcesPatch(input.workload, input.container, suggested);
  const qos = input.qosClass ? ` (QoS ${input.qosClass})` : "";
  return recommendation(guaranteed ? "SetRequestsEqualLimits" : "RaiseMemoryRequest", input, {
    current,
    suggested,
    reason:
      `The kubelet evicted the pod under node memory pressure while container ${input.container} used ` +
      `${formatBytes(input.workingSetBytes)} (working set) against a memory request of ${input.request ?? "0"}${qos}: ` +
      "pods over their request are evicted first. " +
      (guaranteed
        ? `Set the request equal to the ${input.limit} limit: the pod becomes Guaranteed QoS and is evicted last (the scheduler reserves all of it).`
        : `Raise the request to ${request}, the working set rounded up, so the scheduler reserves it and the pod is no longer over its request.`),
    patch,
    command: true,
  });
}
