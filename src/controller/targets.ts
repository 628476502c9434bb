import {
  TARGET_API_VERSIONS,
  type LabelSelector,
  type MemoryInspectionSpec,
  type TargetKind,
} from "../api/memoryinspection.js";
import type { WorkloadRef } from "../analysis/recommend.js";
import { isNotFound, type KubeClient } from "../kube/client.js";
import type { OwnerRef, Pod } from "../kube/pod.js";

/** The target does not exist: a condition for the user, not a retry. */
export class TargetNotFoundError extends Error {
  override readonly name = "TargetNotFoundError";
}

export interface ResolvedTarget {
  /** for the printer column: Deployment/catalog, or selector app=catalog */
  description: string;
  /** what a patch applies to: the target itself, or for a selector each pod's top owner */
  workload?: WorkloadRef;
  pods: Pod[];
}

const PLURALS: Record<TargetKind, string> = {
  Deployment: "deployments",
  StatefulSet: "statefulsets",
  DaemonSet: "daemonsets",
  ReplicaSet: "replicasets",
  Job: "jobs",
  CronJob: "cronjobs",
  Pod: "pods",
};

/** The API path of a target kind's object (or of its list in the namespace). */
export function objectPath(kind: TargetKind, namespace: string, name?: string) {
  const apiVersion = TARGET_API_VERSIONS[kind];
  const base = apiVersion === "v1" ? "/api/v1" : `/apis/${apiVersion}`;
  return `${base}/namespaces/${namespace}/${PLURALS[kind]}${name ? `/${name}` : ""}`;
}

const ownedBy = (refs: OwnerRef[] | undefined, uids: Set<string>) =>
  (refs ?? []).some((r) => uids.has(r.uid));

/**
 * The pod cache's index (Informer `index`): a pod is filed under its namespace, each of its
 * labels in that namespace, each owner's UID, and its own UID, so that a pass finds its target's
 * pods, and an agent's kill report its pod, without a look at every pod of the cluster (at 1000
 * inspections x 10 pods, matching every inspection's selector against every pod was the
 * controller's largest cost).
 */
export const podsIn = (namespace: string) => `ns:${namespace}`;
export const podsLabelled = (namespace: string, key: string, value: string) =>
  `label:${namespace}/${key}=${value}`;
const podsOwnedBy = (uid: string) => `owner:${uid}`;
export const podWithUID = (uid: string) => `uid:${uid}`;
export function podIndexValues(pod: Pod): string[] {
  const ns = pod.metadata.namespace ?? "";
  return [
    podsIn(ns),
    podWithUID(pod.metadata.uid),
    ...Object.entries(pod.metadata.labels ?? {}).map(([k, v]) => podsLabelled(ns, k, v)),
    ...(pod.metadata.ownerReferences ?? []).map((o) => podsOwnedBy(o.uid)),
  ];
}
/** the pod cache, looked up through that index */
export interface PodLookup {
  indexed(value: string): Pod[];
}

export function matchesSelector(labels: Record<string, string> | undefined, sel: LabelSelector): boolean {
  const l = labels ?? {};
  for (const [k, v] of Object.entries(sel.matchLabels ?? {})) if (l[k] !== v) return false;
  for (const e of sel.matchExpressions ?? []) {
    const has = e.key in l;
    const val = l[e.key];
    const inValues = val !== undefined && (e.values ?? []).includes(val);
    if (e.operator === "In" && !inValues) return false;
    if (e.operator === "NotIn" && inValues) return false;
    if (e.operator === "Exists" && !has) return false;
    if (e.operator === "DoesNotExist" && has) return false;
  }
  return true;
}

export function describeSelector(sel: LabelSelector): string {
  const parts = [
    ...Object.entries(sel.matchLabels ?? {}).map(([k, v]) => `${k}=${v}`),
    ...(sel.matchExpressions ?? []).map(
      (e) => `${e.key} ${e.operator}${e.values ? ` (${e.values.join(",")})` : ""}`,
    ),
  ];
  return `selector ${parts.join(",") || "(all pods)"}`;
}

/** A pod's top-level workload by owner references; a ReplicaSet with a pod-template-hash is its Deployment's. */
export function podWorkload(pod: Pod): WorkloadRef {
  const ns = pod.metadata.namespace ?? "default";
  const owner = pod.metadata.ownerReferences?.find((o) => o.controller) ?? pod.metadata.ownerReferences?.[0];
  if (!owner) return { kind: "Pod", name: pod.metadata.name, namespace: ns };
  const hash = pod.metadata.labels?.["pod-template-hash"];
  if (owner.kind === "ReplicaSet" && hash && owner.name.endsWith(`-${hash}`)) {
    return { kind: "Deployment", name: owner.name.slice(0, -hash.length - 1), namespace: ns };
  }
  return { kind: owner.kind, name: owner.name, namespace: ns };
}

/**
 * The pods a MemoryInspection targets, through owner references from the workload down
 * (Deployment -> ReplicaSets -> Pods, CronJob -> Jobs -> Pods), or by label selector.
 * Pods come from the informer cache; only the workload objects are read from the API.
 */
export async function resolveTarget(
  client: KubeClient,
  namespace: string,
  spec: MemoryInspectionSpec,
  pods: PodLookup,
): Promise<ResolvedTarget> {
  if (spec.selector) {
    // the pods with the selector's first matchLabels pair, or (none) every pod of the namespace
    const first = Object.entries(spec.selector.matchLabels ?? {})[0];
    const candidates = pods.indexed(first ? podsLabelled(namespace, first[0], first[1]) : podsIn(namespace));
    return {
      description: describeSelector(spec.selector),
      pods: candidates.filter((p) => matchesSelector(p.metadata.labels, spec.selector!)),
    };
  }
  const ref = spec.targetRef!;
  const description = `${ref.kind}/${ref.name}`;
  const workload: WorkloadRef = { kind: ref.kind, name: ref.name, namespace };
  if (ref.kind === "Pod") {
    // from the cache: the controller lists and watches pods, it has no need to get them
    const pod = pods.indexed(podsIn(namespace)).find((p) => p.metadata.name === ref.name);
    if (!pod) throw new TargetNotFoundError(`Pod ${namespace}/${ref.name} does not exist`);
    return { description, workload, pods: [pod] };
  }
  let target: { metadata: { uid: string } };
  try {
    target = await client.get(objectPath(ref.kind, namespace, ref.name));
  } catch (err) {
    if (isNotFound(err)) throw new TargetNotFoundError(`${ref.kind} ${namespace}/${ref.name} does not exist`);
    throw err;
  }
  let owners = new Set([target.metadata.uid]);
  const middle: TargetKind | undefined =
    ref.kind === "Deployment" ? "ReplicaSet" : ref.kind === "CronJob" ? "Job" : undefined;
  if (middle) {
    const list = await client.get<{ items: { metadata: { uid: string; ownerReferences?: OwnerRef[] } }[] }>(
      objectPath(middle, namespace),
    );
    owners = new Set(
      list.items.filter((o) => ownedBy(o.metadata.ownerReferences, owners)).map((o) => o.metadata.uid),
    );
  }
  const owned = new Map<string, Pod>();
  for (const uid of owners) for (const p of pods.indexed(podsOwnedBy(uid))) owned.set(p.metadata.uid, p);
  return { description, workload, pods: [...owned.values()] };
}
