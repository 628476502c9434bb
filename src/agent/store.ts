import type { DiscoveredCgroup } from "../cgroup/scan.js";
import { CgroupHistory, type HistoryOptions } from "../cgroup/history.js";

/** One sampled cgroup: where it is, who it belongs to, and its history. */
export interface TrackedCgroup {
  cgroup: DiscoveredCgroup;
  history: CgroupHistory;
  /** seconds (epoch) when the cgroup was found missing; undefined while it exists */
  goneAt?: number;
  /** made after the agent's first scan: its counters started at 0 under the agent's eyes */
  createdSinceStart?: boolean;
}

export interface StoreOptions extends HistoryOptions {
  /** how long a vanished cgroup's history stays served, seconds (default 15 min) */
  goneRetentionS?: number;
}

// An OOM-killed container's cgroup is removed by the runtime within a second; keeping its last
// samples this long lets the controller's next pass (minutes apart at most) still see the kill.
export const DEFAULT_GONE_RETENTION_S = 15 * 60;

/** The agent's histories, keyed by cgroup path; vanished cgroups linger, then are dropped. */
export class HistoryStore {
  private readonly byPath = new Map<string, TrackedCgroup>();
  constructor(readonly opts: StoreOptions) {}

  get size(): number {
    return this.byPath.size;
  }

  get(path: string): TrackedCgroup | undefined {
    return this.byPath.get(path);
  }

  all(): IterableIterator<TrackedCgroup> {
    return this.byPath.values();
  }

  /** The entry of a cgroup seen by a scan: created on first sight, revived if it had vanished. */
  track(cgroup: DiscoveredCgroup): TrackedCgroup {
    let entry = this.byPath.get(cgroup.path);
    if (!entry) {
      entry = { cgroup, history: new CgroupHistory(this.opts) };
      this.byPath.set(cgroup.path, entry);
    }
    entry.goneAt = undefined;
    return entry;
  }

  markGone(path: string, now: number): void {
    const entry = this.byPath.get(path);
    if (entry && entry.goneAt === undefined) entry.goneAt = now;
  }

  /** Drops histories of cgroups gone for longer than the retention; returns the dropped entries. */
  prune(now: number): TrackedCgroup[] {
    const keep = this.opts.goneRetentionS ?? DEFAULT_GONE_RETENTION_S;
    const dropped: TrackedCgroup[] = [];
    for (const entry of this.byPath.values()) {
      if (entry.goneAt !== undefined && now - entry.goneAt > keep) {
        this.byPath.delete(entry.cgroup.path);
        dropped.push(entry);
      }
    }
    return dropped;
  }

  bytes(): number {
    let sum = 0;
    for (const e of this.byPath.values()) sum += e.history.bytes();
    return sum;
  }
}
