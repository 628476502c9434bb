import type { CgroupVersion } from "../cgroup/files.js";
import type { HistoryOptions } from "../cgroup/history.js";
import type { HistoryJSON } from "../cgroup/history-wire.js";
import { ownerOf, type PodSource, type Resources } from "./pods.js";
import type { HistoryStore, TrackedCgroup } from "./store.js";

/** One entry of GET /v1/containers. */
export interface ContainerEntry {
  podUID: string;
  namespace: string;
  pod: string;
  /** container name; "" for the pod-level cgroup and the sandbox (or a container not yet reported) */
  container: string;
  containerID: string;
  kind: "container" | "pod" | "sandbox";
  qos: string;
  /** cgroup directory relative to the memory hierarchy */
  cgroup: string;
  cgroupVersion: CgroupVersion;
  requests: Resources;
  limits: Resources;
  gone: boolean;
  /** epoch seconds the cgroup was found missing */
  goneAt: number | null;
  history: HistoryJSON;
}

export interface ContainersResponse {
  node: string;
  cgroupVersion: CgroupVersion | null;
  /** seconds between raw samples */
  periodSeconds: number;
  /** how every history here is kept: a client that keeps a copy keeps it the same way */
  historyOptions: HistoryOptions;
  containers: ContainerEntry[];
}

export interface ContainersQuery {
  podUID?: string;
  /** epoch seconds: only history at or after it */
  since?: number;
}

export function containersResponse(
  store: HistoryStore,
  pods: PodSource,
  meta: {
    node: string;
    cgroupVersion: CgroupVersion | undefined;
    periodSeconds: number;
    historyOptions: HistoryOptions;
  },
  query: ContainersQuery,
): ContainersResponse {
  const containers: ContainerEntry[] = [];
  for (const entry of store.all()) {
    if (query.podUID !== undefined && entry.cgroup.podUID !== query.podUID) continue;
    containers.push(containerEntry(entry, pods, query.since));
  }
  return {
    node: meta.node,
    cgroupVersion: meta.cgroupVersion ?? null,
    periodSeconds: meta.periodSeconds,
    historyOptions: meta.historyOptions,
    containers,
  };
}

function containerEntry(entry: TrackedCgroup, pods: PodSource, since: number | undefined): ContainerEntry {
  const c = entry.cgroup;
  const owner = ownerOf(pods.byUID(c.podUID), c.kind, c.containerID);
  return {
    podUID: c.podUID,
    namespace: owner.namespace,
    pod: owner.pod,
    container: owner.container,
    containerID: c.containerID ?? "",
    kind: owner.kind,
    qos: c.qos,
    cgroup: c.relPath,
    cgroupVersion: c.version,
    requests: owner.requests,
    limits: owner.limits,
    gone: entry.goneAt !== undefined,
    goneAt: entry.goneAt ?? null,
    history: entry.history.toJSON(since),
  };
}
