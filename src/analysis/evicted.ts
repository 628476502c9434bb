import { RULE } from "../api/names.js";
import type { Recommendation } from "../api/memoryinspection.js";
import { formatBytes, parseQuantity } from "../api/quantity.js";
import type { Pod } from "../kube/pod.js";
import { PLACEHOLDER_WORKLOAD } from "./analyze.js";
import { evidence, type RuleFinding } from "./finding.js";
import { raiseMemoryRequest, type WorkloadRef } from "./recommend.js";

/** One container of an eviction message: what the kubelet saw it use against its request. */
export interface EvictedContainer {
  name: string;
  /** working set the kubelet measured, bytes, and as the kubelet printed it */
  usageBytes: number;
  usage: string;
  requestBytes: number;
  request: string;
}

/** The numbers of the kubelet's eviction message (pkg/kubelet/eviction/helpers.go evictionMessage). */
export interface EvictionMessage {
  /** "memory", "ephemeral-storage", ...: the resource the node was low on */
  resource?: string;
  /** node conditions of an admission rejection ("The node had condition: [MemoryPressure].") */
  conditions?: string[];
  /** the eviction threshold (e.g. evictionHard memory.available) and what was available, bytes */
  thresholdBytes?: number;
  threshold?: string;
  availableBytes?: number;
  available?: string;
  /** the containers the kubelet named as using more than their request */
  containers: EvictedContainer[];
}

const QTY = String.raw`(-?\d+(?:\.\d+)?(?:e\d+)?[A-Za-z]*)`;

/** A quantity as the kubelet prints it (may be negative: available below zero), in bytes. */
function bytesOf(text: string): number {
  const negative = text.startsWith("-");
  const v = parseQuantity(negative ? text.slice(1) : text);
  return v === undefined ? NaN : negative ? -v : v;
}

/**
 * Parses the kubelet's eviction message, e.g. "The node was low on resource: memory. Threshold
 * quantity: 23Gi, available: 23546668Ki. Container agent was using 1008Ki, request is 0, has
 * larger consumption of memory." (and the older "..., which exceeds its request of 0.").
 */
export function parseEvictionMessage(message: string): EvictionMessage {
  const out: EvictionMessage = { containers: [] };
  const low = /The node was low on resource: ([\w./-]+?)\.(?:\s|$)/.exec(message);
  if (low?.[1]) out.resource = low[1];
  const cond = /The node had condition: \[([^\]]*)\]/.exec(message);
  if (cond) out.conditions = (cond[1] as string).split(/[\s,]+/).filter(Boolean);
  const th = new RegExp(String.raw`Threshold quantity: ${QTY}, available: ${QTY}`).exec(message);
  if (th?.[1] && th[2]) {
    out.threshold = th[1];
    out.thresholdBytes = bytesOf(th[1]);
    out.available = th[2];
    out.availableBytes = bytesOf(th[2]);
  }
  const container = new RegExp(
    String.raw`Container (\S+) was using ${QTY}, (?:request is ${QTY}, has larger consumption of [\w./-]+?|which exceeds its request of ${QTY})\.`,
    "g",
  );
  for (const m of message.matchAll(container)) {
    const usage = m[2] as string;
    const request = (m[3] ?? m[4]) as string;
    out.containers.push({
      name: m[1] as string,
      usage,
      usageBytes: bytesOf(usage),
      request,
      requestBytes: bytesOf(request),
    });
  }
  return out;
}

export interface EvictionAnalysis {
  /** the container the finding is filed under: the largest user over its request the kubelet named, else the only one */
  container?: string;
  findings: RuleFinding[];
  recommendations: Recommendation[];
  parsed?: EvictionMessage;
}

/**
 * Evicted (pure, from pod status alone): for a pod the kubelet evicted under node memory
 * pressure (status.phase Failed, reason Evicted), the kubelet's numbers, the pod's working set
 * against its memory request, its QoS class, and a request that would have kept it off the
 * top of the kubelet's list. `workingSetBytes` is the pod's working set from cgroup data when
 * the agent has it (usage - inactive_file of the pod cgroup); without it the containers' usage
 * from the message is summed. Evictions for other resources (disk) give no finding.
 */
export function evictionFindings(
  pod: Pod,
  workingSetBytes?: number,
  workload?: WorkloadRef,
): EvictionAnalysis {
  const status = pod.status ?? {};
  const message = evictionMessage(pod);
  if (message === undefined) return { findings: [], recommendations: [] };
  const parsed = parseEvictionMessage(message);
  const memory = parsed.resource === "memory" || (parsed.conditions ?? []).includes("MemoryPressure");
  if (!memory) return { findings: [], recommendations: [], parsed };

  const specs = pod.spec?.containers ?? [];
  let request = 0;
  let requestKnown = false;
  for (const c of specs) {
    const r = parseQuantity(c.resources?.requests?.memory);
    if (r !== undefined) {
      request += r;
      requestKnown = true;
    }
  }
  const fromMessage = parsed.containers.reduce(
    (n, c) => n + (Number.isFinite(c.usageBytes) ? c.usageBytes : 0),
    0,
  );
  const ws = workingSetBytes ?? (parsed.containers.length ? fromMessage : NaN);
  const qos = status.qosClass ?? qosClassOf(pod);
  const top = [...parsed.containers].sort(
    (a, b) => b.usageBytes - b.requestBytes - (a.usageBytes - a.requestBytes),
  )[0];
  const container = top?.name ?? (specs.length === 1 ? specs[0]?.name : undefined);

  const node =
    parsed.resource === "memory"
      ? `the node was low on memory (memory.available ${parsed.available !== undefined ? formatBytes(parsed.availableBytes as number) : "unknown"}` +
        `${parsed.threshold !== undefined ? `, eviction threshold ${parsed.threshold}` : ""})`
      : `the node had condition ${(parsed.conditions ?? []).join(", ")} when the pod was admitted`;
  const users = parsed.containers
    .map((c) => `container ${c.name} used ${formatBytes(c.usageBytes)} against a request of ${c.request}`)
    .join(", ");
  const over = Number.isFinite(ws)
    ? ` The pod's working set ${formatBytes(ws)} ${ws > request ? "exceeded" : "was within"} its memory request (${requestKnown ? formatBytes(request) : "none"}).`
    : "";
  const why =
    qos === "Guaranteed"
      ? " Its QoS class is Guaranteed: it was evicted only because nothing else was left to evict; the node is short of memory for what is scheduled on it."
      : ` Its QoS class is ${qos}: under node memory pressure the kubelet evicts pods that use more than their request first, ` +
        "then by priority and by how far over the request they are.";
  const finding: RuleFinding = {
    rule: RULE.Evicted,
    severity: "Warning",
    message: `The kubelet evicted the pod: ${node}${users ? `; ${users}` : ""}.${over}${why}`,
    evidence: evidence({
      resource: parsed.resource,
      conditions: parsed.conditions?.join(","),
      thresholdBytes: parsed.thresholdBytes,
      availableBytes: parsed.availableBytes,
      workingSetBytes: ws,
      requestBytes: requestKnown ? request : 0,
      qosClass: qos,
      containers: parsed.containers.map((c) => c.name).join(",") || undefined,
      ...Object.fromEntries(parsed.containers.map((c) => [`${c.name}.usageBytes`, c.usageBytes])),
      kubeletMessage: message,
    }),
    count: 1,
  };

  const recommendations: Recommendation[] = [];
  const target = workload ?? PLACEHOLDER_WORKLOAD;
  const used: { name: string; bytes: number }[] = parsed.containers.length
    ? parsed.containers.map((c) => ({ name: c.name, bytes: c.usageBytes }))
    : specs.length === 1 && Number.isFinite(ws)
      ? [{ name: specs[0]?.name as string, bytes: ws }]
      : [];
  for (const u of used) {
    if (!(u.bytes > 0)) continue;
    const spec = specs.find((c) => c.name === u.name);
    const req = spec?.resources?.requests?.memory;
    if (req !== undefined && (parseQuantity(req) ?? 0) >= u.bytes) continue;
    const limit = spec?.resources?.limits?.memory;
    recommendations.push(
      raiseMemoryRequest({
        workload: target,
        container: u.name,
        ...(pod.metadata?.name ? { pod: pod.metadata.name } : {}),
        ...(req !== undefined ? { request: req } : {}),
        ...(limit !== undefined ? { limit } : {}),
        workingSetBytes: u.bytes,
        qosClass: qos,
      }),
    );
  }
  return { ...(container ? { container } : {}), findings: [finding], recommendations, parsed };
}

/**
 * The kubelet's message when it evicted the pod, else undefined. A pod evicted with
 * restartPolicy Never whose containers exit 0 on SIGTERM ends Succeeded, with no status.reason
 * (seen on Kubernetes 1.37): then only its DisruptionTarget condition, reason
 * TerminationByKubelet, carries the message.
 */
export function evictionMessage(pod: Pod): string | undefined {
  const status = pod.status ?? {};
  if (status.phase === "Failed" && status.reason === "Evicted") return status.message ?? "";
  return status.conditions?.find(
    (c) => c.type === "DisruptionTarget" && c.status === "True" && c.reason === "TerminationByKubelet",
  )?.message;
}

/** The QoS class from the containers' resources, when status.qosClass is missing. */
export function qosClassOf(pod: Pod): "Guaranteed" | "Burstable" | "BestEffort" {
  const cs = pod.spec?.containers ?? [];
  const set = (r?: Record<string, string>) => !!r && Object.keys(r).length > 0;
  if (cs.every((c) => !set(c.resources?.requests) && !set(c.resources?.limits))) return "BestEffort";
  const guaranteed = cs.every((c) =>
    ["cpu", "memory"].every((k) => {
      const limit = c.resources?.limits?.[k];
      const request = c.resources?.requests?.[k] ?? limit;
      return limit !== undefined && parseQuantity(request) === parseQuantity(limit);
    }),
  );
  return guaranteed ? "Guaranteed" : "Burstable";
}
