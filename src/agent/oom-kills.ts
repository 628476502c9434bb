import type { TrackedCgroup } from "./store.js";

/** One kernel OOM kill in a container's cgroup, as GET /v1/oom-kills streams it. */
export interface KernelOomKill {
  /** rises by one per record within one agent process (see OomKillsHello.agentStartedAt) */
  seq: number;
  /** epoch seconds the agent learnt of it */
  at: number;
  podUID: string;
  /**
   * without the "<runtime>://" prefix; "" for kills the pod's counter showed (v2) that no
   * container cgroup did: a container gone before the agent read its counter
   */
  containerID: string;
  /** the cgroup's oom_kill counter after it: kills of this container instance so far (for "":
   * the pod's kills no container accounted for, so far) */
  kills: number;
  /**
   * how the agent learnt of it; "agent start": the counters first read when the agent started
   * showed kills no agent process may have told of (containers killed while none watched, e.g.
   * during the agent's own restart): a pod's kills that none of its containers' cgroups still
   * there account for (containerID ""), or a container that has ended with kills in its
   * cgroup; `at` is then the start
   */
  source: "memory.events notification" | "sampling" | "agent start";
  /**
   * main: the container's processes were gone within a second (its main process was killed,
   * the container ended); child: some lived on, the container runs and its status never shows it
   */
  process: "main" | "child";
}

/** The first line of a GET /v1/oom-kills stream. */
export interface OomKillsHello {
  node: string;
  /** a new value means a new process whose seq started again from 1 */
  agentStartedAt: number;
  /** the newest seq so far */
  seq: number;
}

/** A pod's first counter values, read by the agent's first pass (OomKillFeed.firstValues). */
interface FirstValues {
  /** the pod's own counter (v2 only: it counts its containers' kills) */
  inPod?: number;
  /** its containers' counters, summed */
  inContainers: number;
  /** its containers whose counters showed kills */
  killed: { path: string; containerID: string; kills: number }[];
}

/** Kills kept for a client that reconnects: far more than a node produces between two reconnects. */
const KEPT = 1024;
/**
 * How long a pod's kill waits for a container's counter to account for it: the pod's
 * notification already re-read the pod's containers; this covers their own notifications only.
 */
const POD_GRACE_MS = 200;

/**
 * The OOM kills the agent has seen in container cgroups, in order, for the controller's stream.
 * Fed from two places that may both see the same kill: the kernel's notification on v2
 * memory.events and the sampler's periodic read (v1's only source). Both report the cgroup's
 * counter, and a kill is announced only when the counter passes the highest value seen, so it
 * is announced once whichever comes first; announced once `victim` has told whether the
 * container ended with it.
 */
export class OomKillFeed {
  readonly startedAt = Date.now() / 1000;
  private readonly recent: KernelOomKill[] = [];
  private readonly highest = new Map<string, number>();
  private readonly listeners = new Set<(kill: KernelOomKill) => void>();
  private seq = 0;
  /** per pod UID: kills its containers' counters rose by, its own counter rose by, and "" kills told */
  private readonly pods = new Map<string, { inContainers: number; inPod: number; told: number }>();
  /**
   * per pod UID, until the first pass is over: the first values read of cgroups older than the
   * agent, the pod's own (v2 only: it counts its containers' kills) and its containers' summed
   */
  private firstValues: Map<string, FirstValues> | undefined = new Map();

  constructor(private readonly victim: (cgroupPath: string) => Promise<KernelOomKill["process"]>) {}

  get lastSeq(): number {
    return this.seq;
  }

  /**
   * The counter as read now. The first value seen of a cgroup older than the agent only sets
   * where counting starts: kills before the agent looked are for pod status to tell.
   */
  observe(
    entry: TrackedCgroup,
    kills: number,
    source: KernelOomKill["source"],
    now = Date.now() / 1000,
  ): void {
    const { path, kind, podUID, containerID } = entry.cgroup;
    // a pod cgroup's counter is hierarchical (v2): its containers' kills are announced by them
    if (kind !== "container" || !containerID) return;
    const rise = this.rise(entry, kills);
    if (rise === "first") {
      const first = this.firstValue(entry);
      if (first) first.inContainers += kills;
      if (first && kills > 0) first.killed.push({ path, containerID, kills });
    }
    if (typeof rise !== "number") return;
    this.podCounts(podUID).inContainers += rise;
    void this.victim(path).then((process) =>
      this.announce({ at: now, podUID, containerID, kills, source, process }),
    );
  }

  /**
   * The pod's own counter as notified (v2); true when it rose, for its containers to be read
   * again. A grace later, the kills none of its containers' counters showed are announced for
   * the pod, containerID "": the cgroup of a container killed in its first instants can be gone
   * before the agent reads it, but the pod's outlives it.
   */
  observePod(pod: TrackedCgroup, kills: number, now = Date.now() / 1000): boolean {
    const rise = this.rise(pod, kills);
    if (rise === "first") {
      const first = this.firstValue(pod);
      if (first) first.inPod = kills;
    }
    if (typeof rise !== "number") return false;
    const counts = this.podCounts(pod.cgroup.podUID);
    counts.inPod += rise;
    setTimeout(() => {
      const unexplained = counts.inPod - counts.inContainers;
      if (unexplained <= counts.told) return;
      counts.told = unexplained;
      this.announce({
        at: now,
        podUID: pod.cgroup.podUID,
        containerID: "",
        kills: unexplained,
        source: "memory.events notification",
        process: "main",
      });
    }, POD_GRACE_MS).unref();
    return true;
  }

  /**
   * The agent's first pass has read every cgroup there when it started: each pod's kills that
   * its containers' cgroups do not account for are of containers that are gone, killed while no
   * agent watched (a previous agent process may have told of them, or no one: the runtime can
   * miss a fast death, and pod status then says Error, exit code 137). Announced for the pod,
   * containerID "": the controller counts such a kill only for a pod's first container instance
   * with no kill counted yet, so one the previous agent told of is not counted twice. Likewise
   * a container that has ended with kills in its cgroup (still there: the runtime has not
   * removed it yet, e.g. restarting itself; v1's only trace, as its pod cgroup counts none), by
   * its ID: the controller counts it only while no kill of that instance is counted.
   */
  firstPassDone(now = Date.now() / 1000): void {
    const firstValues = this.firstValues;
    this.firstValues = undefined;
    for (const [podUID, { inPod, inContainers, killed }] of firstValues ?? []) {
      // a container whose cgroup is still there, its processes gone, and kills counted: its
      // main process was killed (one that still runs had a worker killed, in its history)
      for (const { path, containerID, kills } of killed)
        void this.victim(path).then((process) => {
          if (process === "main")
            this.announce({ at: now, podUID, containerID, kills, source: "agent start", process });
        });
      if (inPod === undefined || inPod <= inContainers) continue;
      this.announce({
        at: now,
        podUID,
        containerID: "",
        kills: inPod - inContainers,
        source: "agent start",
        process: "main",
      });
    }
  }

  private firstValue(entry: TrackedCgroup) {
    const { firstValues } = this;
    if (!firstValues || entry.createdSinceStart) return undefined;
    const uid = entry.cgroup.podUID;
    let first = firstValues.get(uid);
    if (!first) firstValues.set(uid, (first = { inContainers: 0, killed: [] }));
    return first;
  }

  /**
   * How far a cgroup's counter rose past the highest value seen; undefined when it did not;
   * "first" for the first value of a cgroup older than the agent (it only sets the start; read
   * again, by a notification and a pass, it is no longer the first).
   */
  private rise(entry: TrackedCgroup, kills: number): number | "first" | undefined {
    const { path } = entry.cgroup;
    // a cgroup made since the agent started counted from 0 while watched: all of it is news
    const before = this.highest.get(path) ?? (entry.createdSinceStart ? 0 : undefined);
    if (before !== undefined && kills <= before) return undefined;
    this.highest.set(path, kills);
    return before === undefined ? "first" : kills - before;
  }

  private podCounts(podUID: string) {
    let counts = this.pods.get(podUID);
    if (!counts) this.pods.set(podUID, (counts = { inContainers: 0, inPod: 0, told: 0 }));
    return counts;
  }

  private announce(k: Omit<KernelOomKill, "seq">): void {
    const kill: KernelOomKill = { seq: ++this.seq, ...k };
    this.recent.push(kill);
    if (this.recent.length > KEPT) this.recent.shift();
    for (const listener of this.listeners) listener(kill);
  }

  /** The cgroup's history was dropped: its counter is not compared with again. */
  forget(entry: TrackedCgroup): void {
    this.highest.delete(entry.cgroup.path);
    if (entry.cgroup.kind === "pod") this.pods.delete(entry.cgroup.podUID);
  }

  /** Kills after `seq` still kept. */
  since(seq: number): KernelOomKill[] {
    return this.recent.filter((k) => k.seq > seq);
  }

  subscribe(listener: (kill: KernelOomKill) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}
