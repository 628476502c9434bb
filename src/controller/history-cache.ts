import type { ContainerEntry, ContainersResponse } from "../agent/api.js";
import { CgroupHistory } from "../cgroup/history.js";
import type { HistoryView } from "../cgroup/history-wire.js";

/**
 * One cgroup of a pod as the agent listed it, with the copy's whole history: a view, read in
 * place, valid until the copy next changes (the pod's next merge).
 */
export type CgroupEntry = Omit<ContainerEntry, "history"> & { history: HistoryView };

interface Cached {
  entry: Omit<ContainerEntry, "history">;
  history: CgroupHistory;
}

/** One pod's copies, how far back they reach, and when a pass last asked about the pod. */
interface PodCopies {
  cgroups: Map<string, Cached>;
  /** the copies' retention: the longest window asked for, or all the agent keeps */
  retentionS: number;
  /** the copies hold all the agent keeps: any window is covered */
  whole: boolean;
  usedAt: number;
}

/**
 * The controller's copy of the cgroup histories of its target pods, kept in step with the agents
 * so that each pass asks an agent only for what is new: samples after the newest it has
 * (`since`). Each copy is a CgroupHistory with the agent's own options (period, raw window,
 * buckets), so it folds old samples exactly as the agent does, but reaches back only as far as
 * the inspections asking look (`window`, default 1 h, where the agent keeps 6 h): the rest is
 * never analysed, and would cost the controller memory per target container and the first pass
 * the bytes. A pod's sandbox (pause) cgroup is not copied: no rule reads it.
 */
export class HistoryCache {
  /** podUID -> the pod's copies, by cgroup path */
  private readonly byPod = new Map<string, PodCopies>();

  /**
   * `since` for a pod's next request by an inspection looking `windowS` back (epoch seconds,
   * exclusive of what is here): the start of the window while no copy reaches back that far,
   * undefined to ask for everything (no window). A cgroup the copy lacks (a restarted container)
   * was found by the agent after the last answer, so all its samples are newer than the newest here.
   */
  sinceFor(podUID: string, windowS = Infinity, nowS = Date.now() / 1000): number | undefined {
    const pod = this.covering(podUID, windowS);
    // no copy reaching back that far: the window, or everything the agent has
    const whole = Number.isFinite(windowS) ? nowS - windowS : undefined;
    if (!pod?.cgroups.size) return whole;
    let newest = -Infinity;
    for (const c of pod.cgroups.values()) newest = Math.max(newest, c.history.lastTime);
    // the agent serves times to the millisecond and keeps t >= since
    return Number.isFinite(newest) ? newest + 0.0005 : whole;
  }

  /** the pod's copies if they reach back `windowS` */
  private covering(podUID: string, windowS: number): PodCopies | undefined {
    const pod = this.byPod.get(podUID);
    return pod && (pod.whole || pod.retentionS >= windowS) ? pod : undefined;
  }

  /**
   * Folds an agent's answer about one pod (asked with sinceFor, same window) into the copies and
   * returns the pod's cgroups (but the sandbox) with their histories as far back as the copies
   * reach, as views of the copies: read them before the pod's next merge (no await between).
   * Views, not copies: a pass would otherwise allocate ~70 KB of columns per pod only to copy
   * them again into the rules' Series, and the allocator keeps much of what such churn frees
   * between the copies that live on (measured offline at 2000 pods: ~35 MiB of RSS; make
   * bench-scale: external memory 108 -> 30 MiB with the copies held smaller too).
   * A cgroup the agent no longer lists is dropped here too.
   */
  merge(podUID: string, answer: ContainersResponse, nowMs: number, windowS = Infinity): CgroupEntry[] {
    // copies too short for this window were asked for again, in full: they are replaced
    const kept = this.covering(podUID, windowS);
    const agentRetentionS = answer.historyOptions.retentionS;
    const retentionS = Math.min(agentRetentionS, Math.max(windowS, kept?.retentionS ?? 0));
    const before = kept?.cgroups;
    const after = new Map<string, Cached>();
    for (const { history, ...entry } of answer.containers) {
      if (entry.podUID !== podUID || entry.kind === "sandbox") continue;
      const cached = before?.get(entry.cgroup) ?? {
        entry,
        history: new CgroupHistory({ ...answer.historyOptions, retentionS, foldConstants: true }),
      };
      cached.entry = entry;
      cached.history.appendJSON(history);
      after.set(entry.cgroup, cached);
    }
    this.byPod.set(podUID, {
      cgroups: after,
      retentionS: kept?.retentionS ?? retentionS,
      whole: kept?.whole ?? retentionS >= agentRetentionS,
      usedAt: nowMs,
    });
    return [...after.values()].map((c) => ({ ...c.entry, history: c.history.view() }));
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
