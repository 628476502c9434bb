import { createHash } from "node:crypto";
import { API_VERSION, apiPath, KIND } from "../api/group.js";
import {
  HEAP_PROFILE_KIND,
  HEAP_PROFILE_PLURAL,
  INSPECTION_UID_LABEL,
  MAX_KEPT_PROFILE_BYTES,
  type HeapProfile,
  type HeapProfileSpec,
  type KeptProfile,
} from "../api/heapprofile.js";
import type { MemoryInspection } from "../api/memoryinspection.js";
import { isConflict, isNotFound, type KubeClient } from "../kube/client.js";
import { decodeProfile, type Profile } from "../profiling/index.js";
import type { KeptState, ProfileTask } from "./profile-plan.js";

/** Decoded baselines kept in memory; more are read again from the cluster when needed. */
const DECODED_BASELINES = 32;

interface KeptRecord {
  name: string;
  state: KeptState;
}

/** The HeapProfile object of one inspection's pod: `<inspection>.<pod>`, or a digest when that is too long. */
export function heapProfileName(inspection: string, pod: string): string {
  const name = `${inspection}.${pod}`;
  if (name.length <= 253) return name;
  const digest = createHash("sha256").update(name).digest("hex").slice(0, 16);
  return `${inspection.slice(0, 200)}.${digest}`;
}

export const keptProfile = (bytes: Uint8Array, at: Date): KeptProfile => ({
  takenAt: at.toISOString(),
  size: bytes.length,
  profile: Buffer.from(bytes).toString("base64"),
});

/**
 * The heap profiles memlens keeps in the cluster, one HeapProfile object per pod of an
 * inspection, owned by the MemoryInspection. What is kept for an inspection is read once per
 * controller process (so a restarted controller or a new leader continues with the same
 * baselines), then followed by this process's own writes; only the leader writes.
 */
export class HeapProfileStore {
  /** per inspection UID: per pod UID, what is kept */
  private readonly kept = new Map<string, Map<string, KeptRecord>>();
  /** decoded baselines by object name and time taken, least recently used first */
  private readonly decoded = new Map<string, Profile>();

  constructor(private readonly client: KubeClient) {}

  private path(ns: string, name?: string): string {
    return apiPath(HEAP_PROFILE_PLURAL, ns, name);
  }

  /** What is kept for this inspection, by pod UID. Rejects when the cluster cannot be read. */
  async keptFor(mi: MemoryInspection): Promise<Map<string, KeptState>> {
    return new Map([...(await this.records(mi))].map(([uid, r]) => [uid, r.state]));
  }

  private async records(mi: MemoryInspection): Promise<Map<string, KeptRecord>> {
    let records = this.kept.get(mi.metadata.uid);
    if (records) return records;
    let list: { items: HeapProfile[] };
    try {
      list = await this.client.get(this.path(mi.metadata.namespace), {
        query: { labelSelector: `${INSPECTION_UID_LABEL}=${mi.metadata.uid}` },
      });
    } catch (err) {
      // an upgrade that skipped the CRDs (Helm never upgrades them): say what to do
      if (isNotFound(err))
        throw new Error(`the ${HEAP_PROFILE_KIND} CRD is not installed: kubectl apply -f crds/`, {
          cause: err,
        });
      throw err;
    }
    records = new Map();
    for (const o of list.items) {
      const s = o.spec;
      records.set(s.podUID, {
        name: o.metadata.name,
        state: {
          processStartedAt: s.processStartedAt,
          baselineAt: s.baseline.takenAt,
          ...(s.latest ? { latestAt: s.latest.takenAt } : {}),
        },
      });
    }
    this.kept.set(mi.metadata.uid, records);
    return records;
  }

  /**
   * Keeps a fetched profile as the pod's baseline (dropping its latest), or, when it is larger
   * than an object may hold, remembers in memory that it was too large and when.
   */
  async saveBaseline(
    mi: MemoryInspection,
    task: ProfileTask,
    bytes: Uint8Array,
    at: Date,
  ): Promise<"kept" | "too large"> {
    const records = await this.records(mi);
    const uid = task.pod.metadata.uid;
    const existing = records.get(uid);
    const name = existing?.name ?? heapProfileName(mi.metadata.name, task.pod.metadata.name);
    if (bytes.length > MAX_KEPT_PROFILE_BYTES) {
      if (existing && !existing.state.tooLarge) await this.delete(mi.metadata.namespace, name);
      records.set(uid, {
        name,
        state: {
          processStartedAt: task.process.startedAt,
          baselineAt: at.toISOString(),
          tooLarge: bytes.length,
        },
      });
      return "too large";
    }
    const spec: HeapProfileSpec = {
      inspection: mi.metadata.name,
      pod: task.pod.metadata.name,
      podUID: uid,
      ...(task.process.container ? { container: task.process.container } : {}),
      processStartedAt: task.process.startedAt,
      url: task.url,
      baseline: keptProfile(bytes, at),
    };
    if (existing && !existing.state.tooLarge) {
      // a merge patch: `latest: null` drops the old process's (or old baseline's) latest
      await this.client.request("PATCH", this.path(mi.metadata.namespace, name), {
        contentType: "application/merge-patch+json",
        body: { spec: { ...spec, container: spec.container ?? null, latest: null } },
      });
    } else {
      await this.create(mi, name, spec);
    }
    records.set(uid, {
      name,
      state: { processStartedAt: spec.processStartedAt, baselineAt: spec.baseline.takenAt },
    });
    return "kept";
  }

  private async create(mi: MemoryInspection, name: string, spec: HeapProfileSpec): Promise<void> {
    const body: HeapProfile = {
      apiVersion: API_VERSION,
      kind: HEAP_PROFILE_KIND,
      metadata: {
        name,
        namespace: mi.metadata.namespace,
        labels: { [INSPECTION_UID_LABEL]: mi.metadata.uid },
        ownerReferences: [
          {
            apiVersion: API_VERSION,
            kind: KIND,
            name: mi.metadata.name,
            uid: mi.metadata.uid,
            controller: true,
          },
        ],
      },
      spec,
    };
    try {
      await this.client.request("POST", this.path(mi.metadata.namespace), { body });
    } catch (err) {
      // left by an earlier leader whose write this process never saw: replace it
      if (!isConflict(err)) throw err;
      await this.client.request("PATCH", this.path(mi.metadata.namespace, name), {
        contentType: "application/merge-patch+json",
        body: { metadata: { labels: body.metadata.labels }, spec: { ...spec, latest: null } },
      });
    }
  }

  /** Keeps the profile a finding was compared with as the pod's latest. */
  async saveLatest(mi: MemoryInspection, podUID: string, bytes: Uint8Array, at: Date): Promise<boolean> {
    const record = (await this.records(mi)).get(podUID);
    if (!record || record.state.tooLarge || bytes.length > MAX_KEPT_PROFILE_BYTES) return false;
    const latest = keptProfile(bytes, at);
    await this.client.request("PATCH", this.path(mi.metadata.namespace, record.name), {
      contentType: "application/merge-patch+json",
      body: { spec: { latest } },
    });
    record.state = { ...record.state, latestAt: latest.takenAt };
    return true;
  }

  /** The pod's baseline, decoded; undefined when none is kept (or the object was deleted). */
  async baseline(mi: MemoryInspection, podUID: string): Promise<Profile | undefined> {
    const records = await this.records(mi);
    const record = records.get(podUID);
    if (!record || record.state.tooLarge) return undefined;
    const key = `${mi.metadata.namespace}/${record.name}@${record.state.baselineAt}`;
    let profile = this.decoded.get(key);
    if (profile) {
      this.decoded.delete(key);
    } else {
      let object: HeapProfile;
      try {
        object = await this.client.get<HeapProfile>(this.path(mi.metadata.namespace, record.name));
      } catch (err) {
        if (!isNotFound(err)) throw err;
        records.delete(podUID); // deleted by hand: the next pass takes a new one
        return undefined;
      }
      profile = decodeProfile(Buffer.from(object.spec.baseline.profile, "base64"));
    }
    this.decoded.set(key, profile);
    for (const old of this.decoded.keys()) {
      if (this.decoded.size <= DECODED_BASELINES) break;
      this.decoded.delete(old);
    }
    return profile;
  }

  /** Deletes what is kept for pods that are no longer the inspection's. */
  async prune(mi: MemoryInspection, livePodUIDs: ReadonlySet<string>): Promise<void> {
    const records = this.kept.get(mi.metadata.uid);
    if (!records) return;
    for (const [uid, record] of records) {
      if (livePodUIDs.has(uid)) continue;
      if (!record.state.tooLarge) await this.delete(mi.metadata.namespace, record.name);
      records.delete(uid);
    }
  }

  private async delete(ns: string, name: string): Promise<void> {
    try {
      await this.client.request("DELETE", this.path(ns, name));
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
  }

  /** The inspection is gone: its objects go with it (owner reference); forget them here. */
  forget(inspectionUID: string): void {
    this.kept.delete(inspectionUID);
  }
}
