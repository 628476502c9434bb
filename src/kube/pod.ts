import type { KubeObject, ObjectMeta } from "./informer.js";

/**
 * The fields of a Pod memlens reads, and nothing else: the controller caches every pod of the
 * cluster, so each field kept costs memory at scale.
 */
export interface ContainerState {
  running?: { startedAt?: string };
  waiting?: { reason?: string; message?: string };
  terminated?: {
    reason?: string;
    exitCode?: number;
    startedAt?: string;
    finishedAt?: string;
    containerID?: string;
    message?: string;
  };
}
export interface ContainerStatus {
  name: string;
  containerID?: string;
  restartCount: number;
  ready?: boolean;
  state?: ContainerState;
  lastState?: ContainerState;
}
export interface ContainerSpec {
  name: string;
  /** the declared containerPorts: which container serves the heap profile */
  ports?: number[];
  resources?: { requests?: Record<string, string>; limits?: Record<string, string> };
}
export interface OwnerRef {
  kind: string;
  name: string;
  uid: string;
  controller?: boolean;
}
export interface Pod extends KubeObject {
  metadata: ObjectMeta & {
    ownerReferences?: OwnerRef[];
    deletionTimestamp?: string;
    creationTimestamp?: string;
  };
  spec: {
    nodeName?: string;
    restartPolicy?: string;
    containers: ContainerSpec[];
    /** how many init containers (sidecars among them) the pod has, when it has any */
    initContainers?: number;
    volumes?: { name: string; emptyDir?: { medium?: string; sizeLimit?: string } }[];
  };
  status: {
    phase?: string;
    reason?: string;
    message?: string;
    qosClass?: string;
    podIP?: string;
    containerStatuses?: ContainerStatus[];
    /**
     * only DisruptionTarget (the kubelet's reason and message when it terminated the pod) and a
     * Ready that is False (since when the pod has been NotReady)
     */
    conditions?: PodCondition[];
  };
}
export interface PodCondition {
  type: string;
  status: string;
  reason?: string;
  message?: string;
  lastTransitionTime?: string;
}

/**
 * Since when (epoch seconds) a running container has been kept out of the Service by its
 * readiness probe: the pod's Ready condition is False and this container runs but is not ready.
 */
export function notReadySince(pod: Pod, container: string): number | undefined {
  const cs = pod.status.containerStatuses?.find((c) => c.name === container);
  if (!cs?.state?.running || cs.ready !== false) return undefined;
  const since = pod.status.conditions?.find(
    (c) => c.type === "Ready" && c.status === "False",
  )?.lastTransitionTime;
  return since ? Date.parse(since) / 1000 : undefined;
}

type Raw = Record<string, unknown>;
const pick = <T extends object>(o: unknown, keys: (keyof T)[]): T | undefined => {
  if (!o || typeof o !== "object") return undefined;
  const out: Partial<T> = {};
  for (const k of keys) if ((o as T)[k] !== undefined) out[k] = (o as T)[k];
  return out as T;
};

function state(s: unknown): ContainerState | undefined {
  if (!s || typeof s !== "object") return undefined;
  const st = s as ContainerState;
  return {
    ...(st.running ? { running: pick(st.running, ["startedAt"]) } : {}),
    ...(st.waiting ? { waiting: pick(st.waiting, ["reason", "message"]) } : {}),
    ...(st.terminated
      ? {
          terminated: pick(st.terminated, [
            "reason",
            "exitCode",
            "startedAt",
            "finishedAt",
            "containerID",
            "message",
          ]),
        }
      : {}),
  };
}

export function slimPod(raw: Raw): Pod {
  const m = (raw.metadata ?? {}) as Pod["metadata"];
  const spec = (raw.spec ?? {}) as Pod["spec"];
  const status = (raw.status ?? {}) as Pod["status"];
  const inits = (raw.spec as { initContainers?: unknown[] } | undefined)?.initContainers;
  return {
    metadata: {
      name: m.name,
      namespace: m.namespace,
      uid: m.uid,
      resourceVersion: m.resourceVersion,
      labels: m.labels,
      ownerReferences: m.ownerReferences?.map((o) => ({
        kind: o.kind,
        name: o.name,
        uid: o.uid,
        controller: o.controller,
      })),
      deletionTimestamp: m.deletionTimestamp,
      creationTimestamp: m.creationTimestamp,
    },
    spec: {
      nodeName: spec.nodeName,
      restartPolicy: spec.restartPolicy,
      containers: (spec.containers ?? []).map((c) => {
        const ports = (c as { ports?: { containerPort: number }[] }).ports?.map((p) => p.containerPort);
        return { name: c.name, ...(ports?.length ? { ports } : {}), resources: c.resources };
      }),
      ...(inits?.length ? { initContainers: inits.length } : {}),
      volumes: spec.volumes
        ?.filter((v) => v.emptyDir)
        .map((v) => ({ name: v.name, emptyDir: pick(v.emptyDir, ["medium", "sizeLimit"]) })),
    },
    status: {
      phase: status.phase,
      reason: status.reason,
      message: status.message,
      qosClass: status.qosClass,
      podIP: status.podIP,
      containerStatuses: status.containerStatuses?.map((c) => ({
        name: c.name,
        containerID: c.containerID,
        restartCount: c.restartCount,
        ready: c.ready,
        state: state(c.state),
        lastState: state(c.lastState),
      })),
      conditions: status.conditions
        ?.filter((c) => c.type === "DisruptionTarget" || (c.type === "Ready" && c.status === "False"))
        .map(
          (c) =>
            pick<PodCondition>(c, [
              "type",
              "status",
              "reason",
              "message",
              "lastTransitionTime",
            ]) as PodCondition,
        ),
    },
  };
}
