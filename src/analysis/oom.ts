import type { ContainerState, ContainerStatus, Pod } from "../kube/pod.js";
import { parseQuantity } from "../api/quantity.js";

/** What pod status and spec say of a container, whether or not it was killed. */
export interface ContainerFacts {
  pod: string;
  podUID: string;
  container: string;
  node?: string;
  /** the current instance ("<runtime>://<id>"), once the kubelet reported one */
  containerID?: string;
  restartCount: number;
  /** "Terminated" (restartPolicy Never), "CrashLoopBackOff", "Running" or another waiting reason */
  now: string;
  limit?: string;
  request?: string;
  restartPolicy?: string;
  /**
   * the pod's only container, in its first instance (no restart, no last state): a kill the
   * kernel reports in the pod before status names the instance, or without a container ID (its
   * cgroup gone before the agent read it), is this instance's
   */
  firstInstance: boolean;
  /** the pod's only container: a kill the kernel counted in the pod, naming no container, is its */
  soleContainer: boolean;
  /**
   * the container's latest end, whatever its reason (the runtime can miss an OOM kill and say
   * Error, exit code 137): the instance, when, and its terminations as OomKillObservation counts them
   */
  lastEnd?: { containerID: string; finishedAt?: string; exitCode?: number; terminations: number };
}

/** What pod status says about a container's most recent OOM kill, as the kubelet reports it. */
export interface OomKillObservation extends ContainerFacts {
  /** the killed container instance (its ID), so a kill is counted once however often it is seen */
  killID: string;
  /** terminations so far: restarts, plus one while the killed instance is still the latest (current state, or backing off) */
  terminations: number;
  finishedAt?: string;
  exitCode?: number;
}

export const OOM_REASON = "OOMKilled";

const isOom = (s: ContainerState | undefined) => s?.terminated?.reason === OOM_REASON;

function nowState(cs: ContainerStatus): string {
  if (cs.state?.running) return "Running";
  if (cs.state?.terminated) return "Terminated";
  return cs.state?.waiting?.reason ?? "Unknown";
}

function backingOffAfter(cs: ContainerStatus, killedID: string | undefined): boolean {
  return cs.state?.waiting !== undefined && killedID !== undefined && cs.containerID === killedID;
}

/**
 * Terminations so far when `ended` is the container's latest end: its restarts, plus one while
 * that instance is still the latest (current state, or backing off: restartCount rises only at
 * the next start).
 */
function terminationsWith(cs: ContainerStatus, ended: { containerID?: string }): number {
  return cs.restartCount + (cs.state?.terminated === ended || backingOffAfter(cs, ended.containerID) ? 1 : 0);
}

export function containerFacts(pod: Pod, cs: ContainerStatus): ContainerFacts {
  const spec = pod.spec.containers.find((c) => c.name === cs.name);
  const end = cs.state?.terminated ?? cs.lastState?.terminated;
  const soleContainer = pod.spec.containers.length === 1 && !pod.spec.initContainers;
  return {
    pod: pod.metadata.name,
    podUID: pod.metadata.uid,
    container: cs.name,
    node: pod.spec.nodeName,
    ...(cs.containerID ? { containerID: cs.containerID } : {}),
    restartCount: cs.restartCount,
    now: nowState(cs),
    limit: spec?.resources?.limits?.memory,
    request: spec?.resources?.requests?.memory,
    restartPolicy: pod.spec.restartPolicy,
    soleContainer,
    firstInstance: soleContainer && cs.restartCount === 0 && !cs.lastState?.terminated,
    ...(end?.containerID
      ? {
          lastEnd: {
            containerID: end.containerID,
            finishedAt: end.finishedAt,
            exitCode: end.exitCode,
            terminations: terminationsWith(cs, end),
          },
        }
      : {}),
  };
}

/** The container's latest termination, when it was an OOM kill (current state, or last state after a restart). */
export function oomKillInContainer(pod: Pod, cs: ContainerStatus): OomKillObservation | undefined {
  const current = isOom(cs.state);
  const term = current ? cs.state?.terminated : isOom(cs.lastState) ? cs.lastState?.terminated : undefined;
  if (!term) return undefined;
  return {
    ...containerFacts(pod, cs),
    killID: term.containerID ?? `${pod.metadata.uid}/${cs.name}/${term.finishedAt ?? cs.restartCount}`,
    terminations: terminationsWith(cs, term),
    finishedAt: term.finishedAt,
    exitCode: term.exitCode,
  };
}

/** What is remembered of a container's kills between passes (kept in the finding's evidence). */
export interface OomKillHistory {
  count: number;
  lastKillID: string;
  terminations: number;
}

/**
 * A node agent's word that the kernel killed a container instance's main process (kills of
 * children, which leave the container running, are ProcessOOMKilled from its cgroup history).
 */
export interface KernelKill {
  /** without the "<runtime>://" prefix */
  containerID: string;
  /** epoch seconds the agent learnt of it */
  at: number;
  node: string;
}

/** A container's kills this pass, from pod status and the kernel together. */
export interface CountedKills {
  fresh: number;
  history: Omit<OomKillHistory, "count">;
  /** the kernel told of the newest kill before pod status did */
  kernelFirst?: KernelKill;
}

export const bareID = (id: string | undefined) => id?.replace(/^[a-z0-9.+-]+:\/\//, "");

/**
 * The ID of a kill the kernel counted in a pod but in none of its containers' cgroups (gone
 * before the agent read them): the instance status names later, when it shows the kill.
 */
export const UNNAMED_INSTANCE = "unnamed-instance";

/**
 * New kills of one container from both witnesses, each kill counted once whichever speaks
 * first. Both name the killed instance by its container ID, and an instance dies once. A
 * kernel report about the current instance that status does not show yet is a kill the kubelet
 * has not reported: counted now, and recognised by its ID when status catches up.
 */
export function countKills(
  facts: ContainerFacts,
  history: OomKillHistory | undefined,
  status: OomKillObservation | undefined,
  kernel: readonly KernelKill[],
): CountedKills {
  let fresh = 0;
  let h: CountedKills["history"] | undefined = history && {
    lastKillID: history.lastKillID,
    terminations: history.terminations,
  };
  // the instance a kill was counted for before anything named it, named now by status
  if (h?.lastKillID === UNNAMED_INSTANCE && status && status.terminations === h.terminations)
    h = { lastKillID: status.killID, terminations: status.terminations };
  // a kill older than the one counted last (the kernel told of a newer one first): not news
  const behind =
    status && h && bareID(status.killID) !== bareID(h.lastKillID) && status.terminations <= h.terminations;
  if (status && !behind) {
    const n = newOomKills(h && { count: 0, ...h }, status);
    fresh += n;
    h =
      n > 0 || !h
        ? { lastKillID: status.killID, terminations: status.terminations }
        : { ...h, terminations: status.terminations };
  }
  // the same when status does not call it OOMKilled (the runtime missed it: Error, 137), by the
  // current instance being the one that was killed: no restart since
  if (h?.lastKillID === UNNAMED_INSTANCE && facts.containerID && h.terminations === facts.restartCount + 1)
    h = { ...h, lastKillID: facts.containerID };
  const lastID = bareID(h?.lastKillID);
  const currentID = bareID(facts.containerID);
  const ofCurrent =
    currentID !== undefined && currentID !== lastID
      ? kernel.find((k) => k.containerID === currentID)
      : undefined;
  // a kill of the instance that ended last, exit code 137, that status does not call OOMKilled
  // (the runtime missed it), told by its ID or, when its cgroup was gone before the agent read
  // it, by the pod's counter at about the time it ended; the kubelet may have started the next
  // instance already. Only an end after the last kill counted: an older one is counted or not a kill.
  const end = facts.lastEnd;
  const endedID = end?.exitCode === 137 ? bareID(end.containerID) : undefined;
  const ofEnded =
    !ofCurrent &&
    end &&
    endedID !== undefined &&
    endedID !== lastID &&
    end.terminations > (h?.terminations ?? 0)
      ? kernel.find(
          (k) =>
            k.containerID === endedID ||
            (k.containerID === UNNAMED_INSTANCE && facts.soleContainer && endedAbout(end, k.at)),
        )
      : undefined;
  // nothing counted yet of a first instance: a kill in the pod that names no other instance is its
  const ofFirst =
    !ofCurrent && facts.firstInstance && lastID === undefined
      ? kernel
          .filter((k) => currentID === undefined || k.containerID === UNNAMED_INSTANCE)
          .sort((a, b) => a.at - b.at)[0] // the earliest: a later one is a restart status will count
      : undefined;
  const kernelFirst = ofCurrent ?? ofFirst ?? ofEnded;
  if (kernelFirst) {
    fresh += 1;
    // the killed instance is the latest until the kubelet restarts it, as status will count it
    h =
      kernelFirst === ofEnded && end
        ? { lastKillID: end.containerID, terminations: end.terminations }
        : { lastKillID: facts.containerID ?? kernelFirst.containerID, terminations: facts.restartCount + 1 };
  }
  return {
    fresh,
    history: h ?? { lastKillID: "", terminations: 0 },
    ...(kernelFirst ? { kernelFirst } : {}),
  };
}

/**
 * A pod's counter rose at `at` (epoch seconds, the agent's clock) for a container that had ended
 * by then: the runtime saw this end at most a few seconds later (its exit handling), or up to two
 * minutes earlier when the agent reading the counter had just started (its restart gap).
 */
function endedAbout(end: NonNullable<ContainerFacts["lastEnd"]>, at: number): boolean {
  const ended = Date.parse(end.finishedAt ?? "") / 1000;
  return ended <= at + 5 && ended >= at - 120;
}

/**
 * New kills since the history: none when the latest kill is the one already counted; otherwise
 * the terminations since then (kills missed while nobody watched count too), at least one.
 */
export function newOomKills(history: OomKillHistory | undefined, obs: OomKillObservation): number {
  // before the first sighting as between two: terminations nobody saw count as kills
  if (!history) return Math.max(1, obs.terminations);
  if (bareID(history.lastKillID) === bareID(obs.killID)) return 0;
  return Math.max(1, obs.terminations - history.terminations);
}

export function limitBytes(obs: { limit?: string }): number | undefined {
  return parseQuantity(obs.limit);
}
