import type { ContainerState, ContainerStatus, Pod } from "../kube/pod.js";
import { parseQuantity } from "../api/quantity.js";

/** What pod status says about a container's most recent OOM kill, as the kubelet reports it. */
export interface OomKillObservation {
  pod: string;
  podUID: string;
  container: string;
  node?: string;
  /** the killed container instance (its ID), so a kill is counted once however often it is seen */
  killID: string;
  /** terminations so far: restarts, plus one while the killed instance is still the latest (current state, or backing off) */
  terminations: number;
  restartCount: number;
  finishedAt?: string;
  exitCode?: number;
  /** "Terminated" (restartPolicy Never), "CrashLoopBackOff", "Running" or another waiting reason */
  now: string;
  limit?: string;
  request?: string;
  restartPolicy?: string;
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

/** Containers whose latest termination was an OOM kill (current state, or last state after a restart). */
export function oomKillsInPod(pod: Pod, onlyContainers?: string[]): OomKillObservation[] {
  const out: OomKillObservation[] = [];
  for (const cs of pod.status.containerStatuses ?? []) {
    if (onlyContainers?.length && !onlyContainers.includes(cs.name)) continue;
    const current = isOom(cs.state);
    const term = current ? cs.state?.terminated : isOom(cs.lastState) ? cs.lastState?.terminated : undefined;
    if (!term) continue;
    const spec = pod.spec.containers.find((c) => c.name === cs.name);
    out.push({
      pod: pod.metadata.name,
      podUID: pod.metadata.uid,
      container: cs.name,
      node: pod.spec.nodeName,
      killID: term.containerID ?? `${pod.metadata.uid}/${cs.name}/${term.finishedAt ?? cs.restartCount}`,
      // the killed instance is still the container's latest while it is the current state, or
      // while the kubelet backs off before the next start (restartCount rises only then)
      terminations: cs.restartCount + (current || backingOffAfter(cs, term.containerID) ? 1 : 0),
      restartCount: cs.restartCount,
      finishedAt: term.finishedAt,
      exitCode: term.exitCode,
      now: nowState(cs),
      limit: spec?.resources?.limits?.memory,
      request: spec?.resources?.requests?.memory,
      restartPolicy: pod.spec.restartPolicy,
    });
  }
  return out;
}

/** What is remembered of a container's kills between passes (kept in the finding's evidence). */
export interface OomKillHistory {
  count: number;
  lastKillID: string;
  terminations: number;
}

/**
 * New kills since the history: none when the latest kill is the one already counted; otherwise
 * the terminations since then (kills missed while nobody watched count too), at least one.
 */
export function newOomKills(history: OomKillHistory | undefined, obs: OomKillObservation): number {
  // before the first sighting as between two: terminations nobody saw count as kills
  if (!history) return Math.max(1, obs.terminations);
  if (history.lastKillID === obs.killID) return 0;
  return Math.max(1, obs.terminations - history.terminations);
}

export function limitBytes(obs: { limit?: string }): number | undefined {
  return parseQuantity(obs.limit);
}
