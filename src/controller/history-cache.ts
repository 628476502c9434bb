import type { ContainerEntry, ContainersResponse } from "../agent/api.js";
import { CgroupHistory } from "../cgroup/history.js";
import type { HistoryColumns } from "../cgroup/history-wire.js";

/** One cgroup of a pod as the agent listed it, with the copy's whole history, decoded. */
export type CgroupEntry = Omit<ContainerEntry, "history"> & { history: HistoryColumns };

interface Cached {
  entry: Omit<ContainerEntry, "history">;
  history: CgroupHistory;
}

/** One pod's copies, and when a pass last asked about the pod. */
interface PodCopies {
  cgroups: Map<string, Cached>;
  usedAt: number;
}

/**
 * The controller's copy of the cgroup histories of its target pods, kept in step with the agents
 * so that each pass asks an agent only for what is new: samples after the newest it has
 * (`since`). Each copy is a CgroupHistory with the agent's own options (period, raw window,
 * buckets), so it folds old samples exactly as the agent does and holds as little.
 */
export class HistoryCache {
  /** podUID -> the pod's copies, by cgroup path */
  private readonly byPod = new Map<string, PodCopies>();

  /**
   * `since` for a pod's next request (epoch seconds, exclusive of what is here), or undefined to
   * ask for everything. A cgroup the copy lacks (a restarted container) was found by the agent
   * after the last answer, so all its samples are newer than the newest here.
   */
  sinceFor(podUID: string): number | undefined {
    const cgroups = this.byPod.get(podUID)?.cgroups;
    if (!cgroups?.size) return undefined;
    let newest = -Infinity;
    for (const c of cgroups.values()) newest = Math.max(newest, c.history.lastTime);
    // the agent serves times to the millisecond and keeps t >= since
    return Number.isFinite(newest) ? newest + 0.0005 : undefined;
  }

  /**
   * Folds an agent's answer about one pod (asked with sinceFor) into the copies and returns the
   * pod's cgroups with their whole histories, as a full answer would have listed them. A cgroup
   * the agent no longer lists is dropped here too.
   */
  merge(podUID: string, answer: ContainersResponse, nowMs: number): CgroupEntry[] {
    const before = this.byPod.get(podUID)?.cgroups;
    const after = new Map<string, Cached>();
    for (const { history, ...entry } of answer.containers) {
      if (entry.podUID !== podUID) continue;
      const cached = before?.get(entry.cgroup) ?? {
        entry,
        history: new CgroupHistory(answer.historyOptions),
      };
      cached.entry = entry;
      cached.history.appendJSON(history);
      after.set(entry.cgroup, cached);
    }
    this.byPod.set(podUID, { cgroups: after, usedAt: nowMs });
    return [...after.values()].map((c) => ({ ...c.entry, history: c.history.toColumns() }));
  }

  /** Forgets the pods not asked about since `olderThanMs` (no longer a target of any inspection). */
  prune(olderThanMs: number): void {
    for (const [uid, pod] of this.byPod) if (pod.usedAt < olderThanMs) this.byPod.delete(uid);
  }

  /** bytes held by the copies' typed arrays (the fetch benchmark reports it) */
  bytes(): number {
    let n = 0;
    for (const pod of this.byPod.values()) for (const c of pod.cgroups.values()) n += c.history.bytes();
    return n;
  }
}
