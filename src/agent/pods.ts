import { parseQuantity } from "../api/quantity.js";
import type { KubeObject, ObjectMeta } from "../kube/informer.js";

/**
 * What the agent knows about a pod on its node: names for the cgroups it finds, and the memory
 * requests/limits from the spec. Only these fields are cached (the agent's informer transform).
 */
export interface AgentPod extends KubeObject {
  metadata: ObjectMeta;
  containers: { name: string; requests?: string; limits?: string }[];
  /** runtime container ID (without "<runtime>://") -> container name, current and previous instances */
  ids: Record<string, string>;
  /** every container of the spec has a current ID: any other cgroup of the pod is its sandbox */
  allStarted: boolean;
}

export interface Resources {
  memory: string | null;
}

export interface CgroupOwner {
  namespace: string;
  pod: string;
  container: string;
  kind: "container" | "pod" | "sandbox";
  requests: Resources;
  limits: Resources;
}

type Raw = Record<string, unknown>;
interface RawContainer {
  name?: string;
  resources?: { requests?: { memory?: string }; limits?: { memory?: string } };
}
interface RawStatus {
  name?: string;
  containerID?: string;
  lastState?: { terminated?: { containerID?: string } };
}

export function agentPod(raw: Raw): AgentPod {
  const m = (raw.metadata ?? {}) as ObjectMeta;
  const spec = (raw.spec ?? {}) as { containers?: RawContainer[]; initContainers?: RawContainer[] };
  const status = (raw.status ?? {}) as {
    containerStatuses?: RawStatus[];
    initContainerStatuses?: RawStatus[];
    ephemeralContainerStatuses?: RawStatus[];
  };
  const ids: Record<string, string> = {};
  const current = new Set<string>();
  const statuses = [
    ...(status.containerStatuses ?? []),
    ...(status.initContainerStatuses ?? []),
    ...(status.ephemeralContainerStatuses ?? []),
  ];
  for (const s of statuses) {
    const id = bareID(s.containerID);
    if (id && s.name) {
      ids[id] = s.name;
      current.add(s.name);
    }
    const previous = bareID(s.lastState?.terminated?.containerID);
    if (previous && s.name) ids[previous] = s.name;
  }
  const containers = (spec.containers ?? []).map((c) => ({
    name: c.name ?? "",
    requests: c.resources?.requests?.memory,
    limits: c.resources?.limits?.memory,
  }));
  return {
    metadata: { name: m.name, namespace: m.namespace, uid: m.uid, resourceVersion: m.resourceVersion },
    containers,
    ids,
    allStarted: containers.every((c) => current.has(c.name)),
  };
}

function bareID(id: string | undefined): string | undefined {
  if (!id) return undefined;
  const at = id.indexOf("://");
  return at >= 0 ? id.slice(at + 3) : id;
}

/**
 * Names a cgroup from its pod. The pod sandbox ("pause") has a cgroup but no container status:
 * a container cgroup whose ID is in no status of a pod whose containers have all started is the
 * sandbox; before that it may just be a container the kubelet has not reported yet.
 */
export function ownerOf(
  pod: AgentPod | undefined,
  kind: "pod" | "container",
  containerID?: string,
): CgroupOwner {
  const none: Resources = { memory: null };
  if (!pod) return { namespace: "", pod: "", container: "", kind, requests: none, limits: none };
  const base = { namespace: pod.metadata.namespace ?? "", pod: pod.metadata.name };
  if (kind === "pod") {
    return {
      ...base,
      container: "",
      kind,
      requests: { memory: podTotal(pod, "requests") },
      limits: { memory: podTotal(pod, "limits") },
    };
  }
  const name = containerID ? pod.ids[containerID] : undefined;
  if (name === undefined) {
    return {
      ...base,
      container: "",
      kind: pod.allStarted ? "sandbox" : "container",
      requests: none,
      limits: none,
    };
  }
  const spec = pod.containers.find((c) => c.name === name);
  return {
    ...base,
    container: name,
    kind: "container",
    requests: { memory: spec?.requests ?? null },
    limits: { memory: spec?.limits ?? null },
  };
}

/** The pod-level figure the kubelet sets on the pod cgroup: the sum, if every container has one. */
function podTotal(pod: AgentPod, which: "requests" | "limits"): string | null {
  const values = pod.containers.map((c) => c[which]);
  if (values.length === 0 || values.some((v) => v === undefined)) return null;
  if (values.length === 1) return values[0] ?? null;
  const bytes = values.map((v) => parseQuantity(v));
  return bytes.some((b) => b === undefined)
    ? null
    : String(bytes.reduce<number>((sum, b) => sum + (b ?? 0), 0));
}

/** The agent's view of pods: the informer in production, a fixed map in tests. */
export interface PodSource {
  byUID(uid: string): AgentPod | undefined;
}

export class PodIndex implements PodSource {
  private readonly pods = new Map<string, AgentPod>();
  /**
   * A status names only the current and the previous instance of a container: IDs seen in
   * earlier updates are kept, so older instances (their cgroups linger) are not taken for the sandbox.
   */
  set(pod: AgentPod): void {
    const known = this.pods.get(pod.metadata.uid)?.ids;
    this.pods.set(pod.metadata.uid, known ? { ...pod, ids: { ...known, ...pod.ids } } : pod);
  }
  delete(pod: AgentPod): void {
    this.pods.delete(pod.metadata.uid);
  }
  byUID(uid: string): AgentPod | undefined {
    return this.pods.get(uid);
  }
}
